package external

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rlgo/rlgo/envs"
)

// TestSupervisorRestarts kills (SIGKILL) or freezes (SIGSTOP, so the call
// misses its deadline) the server mid-run, for the Go helper server and
// the Python one. The next Step restarts it and returns a step on which
// every episode ends truncated with its last observation, the restart is
// counted, and from then on the envs are fresh ones seeded from
// restartSeed: no transition crosses the restart.
func TestSupervisorRestarts(t *testing.T) {
	servers := []struct {
		name string
		cmd  func(t testing.TB) ([]string, []string)
	}{
		{"go", func(t testing.TB) ([]string, []string) { return goHelperCommand(t, "CartPole-v1") }},
		{"python", pythonCartPole},
	}
	for _, srv := range servers {
		for _, tr := range []Transport{TransportSocket, TransportStream, TransportUnary} {
			for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP} {
				t.Run(srv.name+"/"+tr.String()+"/"+sig.String(), func(t *testing.T) {
					cmd, env := srv.cmd(t)
					testRestart(t, cmd, env, sig, tr)
				})
			}
		}
	}
}

func testRestart(t *testing.T, cmd, env []string, sig syscall.Signal, transport Transport) {
	const n, seed = 4, 7
	log := &logWriter{}
	ctx := context.Background()
	got, err := Start(ctx, cmd, Options{NumEnvs: n, EnvID: "CartPole-v1", Env: env, Log: log, CallTimeout: time.Second, StartTimeout: 30 * time.Second, Transport: transport})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		got.Close()
		t.Logf("log:\n%s", log.text())
	}()
	want := nativeVector(t, "CartPole-v1", n)
	if err := want.Reset(seed); err != nil {
		t.Fatal(err)
	}
	if err := got.Reset(seed); err != nil {
		t.Fatal(err)
	}
	compareVectors(t, want, got, n, 30, 1)
	before := append([]float32(nil), got.Obs()...)
	pid := got.Process().Pid()
	// Returns and lengths of the unfinished episodes, from the native twin.
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatal(err)
	}
	if sig == syscall.SIGSTOP {
		waitStopped(t, pid)
	}
	acts := make([]envs.Action, n)
	s, err := got.Step(acts)
	if err != nil {
		t.Fatalf("Step after %v: %v", sig, err)
	}
	if got.Restarts() != 1 {
		t.Errorf("Restarts() = %d; want 1", got.Restarts())
	}
	if p := got.Process().Pid(); p == pid || p == 0 {
		t.Errorf("Pid() after restart = %d; want a new process (was %d)", p, pid)
	}
	if len(s.Episodes) != n {
		t.Errorf("cut step: %d episodes; want %d", len(s.Episodes), n)
	}
	for i := range n {
		if s.Terminated[i] || !s.Truncated[i] || s.Rewards[i] != 0 {
			t.Errorf("cut step env %d: terminated, truncated, reward = %v, %v, %v; want false, true, 0", i, s.Terminated[i], s.Truncated[i], s.Rewards[i])
		}
		if !sameObs(s.FinalObs[i], before[i*4:(i+1)*4]) {
			t.Errorf("cut step env %d: FinalObs = %v; want the last observation %v", i, s.FinalObs[i], before[i*4:(i+1)*4])
		}
		if s.Infos[i][RestartInfoKey] != 1.0 {
			t.Errorf("cut step env %d: Infos = %v; want %s = 1", i, s.Infos[i], RestartInfoKey)
		}
	}
	for _, ep := range s.Episodes {
		if !ep.Truncated || ep.Terminated || ep.Length < 1 {
			t.Errorf("cut episode %+v: want truncated, length >= 1", ep)
		}
	}
	// The restarted envs are fresh: a native vector reset with the
	// restart's seeds has the same observations and goes on identically.
	fresh := nativeVector(t, "CartPole-v1", n)
	if err := fresh.Reset(restartSeed(seed, 1)); err != nil {
		t.Fatal(err)
	}
	compareVectors(t, fresh, got, n, 200, 2)
	if !strings.Contains(log.text(), "restart 1 of the env server") {
		t.Errorf("log lacks the restart notice:\n%s", log.text())
	}
}

// TestSupervisorGivesUp: a server that cannot come back makes Step fail
// after MaxRestarts, with an error naming the env, instead of looping.
func TestSupervisorGivesUp(t *testing.T) {
	cmd, env := goHelperCommand(t, "CartPole-v1")
	got, err := Start(context.Background(), cmd, Options{NumEnvs: 2, Env: env, CallTimeout: time.Second, StartTimeout: 5 * time.Second, MaxRestarts: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if err := got.Reset(1); err != nil {
		t.Fatal(err)
	}
	// From now on every start fails: the helper is told to serve an
	// unknown env.
	got.Process().opts.Env = append(got.Process().opts.Env, helperEnv+"=NoSuchEnv-v0")
	syscall.Kill(got.Process().Pid(), syscall.SIGKILL)
	_, err = got.Step(make([]envs.Action, 2))
	if err == nil || !strings.Contains(err.Error(), "CartPole-v1") || !strings.Contains(err.Error(), "NoSuchEnv-v0") {
		t.Errorf("Step after a failed restart: error %v; want one naming CartPole-v1 and the server's complaint about NoSuchEnv-v0", err)
	}
	if got.Restarts() < 1 || got.Restarts() > 2 {
		t.Errorf("Restarts() = %d; want 1 or 2 (MaxRestarts 2)", got.Restarts())
	}
}

// TestStartFailsClearly: a command that exits at once is reported with
// its output, not after the start timeout.
func TestStartFailsClearly(t *testing.T) {
	t0 := time.Now()
	_, err := Start(context.Background(), []string{"sh", "-c", "echo bad env >&2; exit 3"}, Options{NumEnvs: 1, StartTimeout: 30 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "bad env") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Start error = %v; want the exit status and the output", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("Start took %v to notice the exit", d)
	}
	_, err = Start(context.Background(), []string{"/no/such/program"}, Options{NumEnvs: 1})
	if err == nil {
		t.Error("Start(/no/such/program) succeeded")
	}
}

// TestNumEnvsMismatch: a server fixed to another number of envs is a
// clear error.
func TestNumEnvsMismatch(t *testing.T) {
	addr := serveGo(t, "CartPole-v1", 3, ServeOptions{})
	_, err := Dial(context.Background(), addr, Options{NumEnvs: 4, StartTimeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "serves 3 envs, want 4") {
		t.Errorf("Dial error = %v; want one about 3 envs served, 4 wanted", err)
	}
}

// waitStopped waits until every thread of pid is stopped. kill(SIGSTOP)
// returns before the group stop completes: the signal waits for one
// thread to be scheduled and take it, and until then the others run. On
// a loaded machine that window let the server answer the next Step
// (measured: State R with SIGSTOP shared-pending right after kill).
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stats, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "stat"))
		stopped := len(stats) > 0
		for _, f := range stats {
			b, err := os.ReadFile(f)
			// The state is the field after the ")" that ends the name.
			i := strings.LastIndexByte(string(b), ')')
			if err != nil || i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
				stopped = false
				break
			}
		}
		if stopped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d not stopped 10 s after SIGSTOP", pid)
		}
		time.Sleep(time.Millisecond)
	}
}
