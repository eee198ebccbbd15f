package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// roleEnv makes this test binary act as `rltrain ARGS...` (the arguments
// in roleArgsEnv, separated by newlines), so the tests can start real
// worker processes built from this repository.
const (
	roleEnv     = "RLGO_CLI_TEST_ROLE"
	roleArgsEnv = "RLGO_CLI_TEST_ARGS"
)

func init() {
	if os.Getenv(roleEnv) == "" {
		return
	}
	args := strings.Split(os.Getenv(roleArgsEnv), "\n")
	os.Exit(remoteMain(args, os.Stdout, os.Stderr))
}

// remoteRun is Main with the given output streams.
func remoteRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return Main(ctx, args, Options{Stdout: stdout, Stderr: stderr})
}

func remoteMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return remoteRun(ctx, args, stdout, stderr)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is an `rltrain` process (this test binary in a role).
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan error
}

func startRltrain(t *testing.T, args ...string) *proc {
	t.Helper()
	return startRltrainCmd(t, exec.Command(os.Args[0], "-test.run=^$"), args...)
}

// startRltrainCmd starts cmd (this test binary, possibly behind a
// wrapper such as `ip netns exec NS`) as `rltrain ARGS...`.
func startRltrainCmd(t *testing.T, cmd *exec.Cmd, args ...string) *proc {
	t.Helper()
	cmd.Env = append(os.Environ(), roleEnv+"=1", roleArgsEnv+"="+strings.Join(args, "\n"))
	p := &proc{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-p.done:
			p.done <- err
		default:
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("rltrain %v (pid %d) stderr:\n%s", args, cmd.Process.Pid, p.stderr.String())
		}
	})
	return p
}

// wait returns the process's exit code, or -1 after d.
func (p *proc) wait(d time.Duration) int {
	select {
	case err := <-p.done:
		p.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			return -2
		}
		return 0
	case <-time.After(d):
		return -1
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// progressColumn returns column name of progress.csv, one value a row.
func progressColumn(t *testing.T, dir, name string) []float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "progress.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("progress.csv: %v", err)
	}
	col := -1
	for i, h := range rows[0] {
		if h == name {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("progress.csv has no column %s: %v", name, rows[0])
	}
	var out []float64
	for _, r := range rows[1:] {
		v, _ := strconv.ParseFloat(r[col], 64)
		out = append(out, v)
	}
	return out
}

// TestLearnerWithWorkerProcesses: `rltrain learner` (in this process)
// trains PPO on CartPole-v1 with two `rltrain worker` processes on
// loopback, writes the run directory like `rltrain train`, and the
// workers exit 0 when the run ends.
func TestLearnerWithWorkerProcesses(t *testing.T) {
	addr := freeAddr(t)
	dir := filepath.Join(t.TempDir(), "run")
	w1 := startRltrain(t, "worker", "--learner", addr)
	w2 := startRltrain(t, "worker", "--learner", addr)
	var out, errb lockedBuffer
	code := remoteRun(t.Context(), []string{"learner", shipped, "--listen", addr, "--min-workers", "2",
		"--set", "stop.iterations=5", "--out", dir}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("rltrain learner = %d; want 0\nstderr:\n%s", code, errb.String())
	}
	if n := strings.Count(out.String(), "iter "); n != 5 {
		t.Errorf("stdout has %d iteration lines; want 5:\n%s", n, out.String())
	}
	r := readResult(t, dir)
	if r.Status != "finished" || r.Iterations != 5 || r.EnvSteps != 5*512 {
		t.Errorf("result.json = %+v; want finished after 5 iterations and 2560 steps", r)
	}
	for i, n := range progressColumn(t, dir, "fleet/workers") {
		if n != 2 {
			t.Errorf("iteration %d: fleet/workers = %v; want 2", i+1, n)
		}
	}
	for _, w := range []*proc{w1, w2} {
		if c := w.wait(15 * time.Second); c != 0 {
			t.Errorf("worker exit = %d; want 0 when the run ends\nstderr:\n%s", c, w.stderr.String())
		}
	}
}

func TestRemoteUsageErrors(t *testing.T) {
	ctx := t.Context()
	t.Setenv("RLGO_TOKEN", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"learner", shipped, "--listen", "0.0.0.0:0"}, "needs a token"},
		{[]string{"learner", shipped, "--listen", "0.0.0.0:0", "--token", "t"}, "needs TLS"},
		{[]string{"learner", shipped, "--listen", "0.0.0.0:0", "--token", "t", "--tls-cert", "c.pem"}, "both a certificate and a key"},
		{[]string{"learner", shipped, "--min-workers", "0"}, "--min-workers"},
		{[]string{"worker"}, "learner"},
		{[]string{"worker", "--learner", "10.1.2.3:7071", "--token", "t"}, "without TLS"},
		{[]string{"worker", "--learner", "127.0.0.1:1", "--on-env-error", "ignore"}, "on-env-error"},
		{[]string{"worker", "--learner", "127.0.0.1:1", "--token-file", "/nonexistent/token"}, "token file"},
	} {
		var out, errb bytes.Buffer
		code := remoteRun(ctx, tc.args, &out, &errb)
		if code != ExitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("rltrain %v = %d, %q; want %d and %q", tc.args, code, errb.String(), ExitUsage, tc.want)
		}
	}
}

// TestWorkerExitsOnSIGTERM: a worker waiting for an absent learner exits 0
// on SIGTERM.
func TestWorkerExitsOnSIGTERM(t *testing.T) {
	w := startRltrain(t, "worker", "--learner", freeAddr(t))
	time.Sleep(300 * time.Millisecond)
	w.cmd.Process.Signal(syscall.SIGTERM)
	if c := w.wait(10 * time.Second); c != 0 {
		t.Errorf("worker after SIGTERM: exit %d; want 0", c)
	}
}

// TestLongLearnerSurvivesKilledWorker is the acceptance run (with
// 3 fragments an iteration and CleanRL's 500k budget, see docs/remote.md): a
// learner and three worker processes reach the CartPole target; one
// worker is killed with SIGKILL mid-run and a replacement started; the run
// still reaches the target, the fleet is back to three workers (the
// replacement is a new worker, not a restart: fleet/restarts counts only a
// lost worker that comes back with its id), and every iteration counted
// exactly its own steps (no batch twice).
func TestLongLearnerSurvivesKilledWorker(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	addr := freeAddr(t)
	dir := filepath.Join(t.TempDir(), "run")
	var ws []*proc
	for range 3 {
		ws = append(ws, startRltrain(t, "worker", "--learner", addr))
	}
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- remoteRun(t.Context(), []string{"learner", shipped, "--listen", addr, "--min-workers", "3", "--worker-timeout", "2s",
			// A fixed number of iterations rather than the target: CartPole
			// now solves in ~3 s, before a replacement worker could join.
			"--set", "rollout.workers=3", "--set", "stop.iterations=600", "--set", "stop.env_steps=1000000", "--set", "stop.episode_return_mean=1e9", "--out", dir}, &out, &errb)
	}()
	for strings.Count(out.String(), "iter ") < 20 {
		select {
		case code := <-done:
			t.Fatalf("learner ended (%d) before the kill\n%s", code, errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	ws[0].cmd.Process.Signal(syscall.SIGKILL)
	time.Sleep(3 * time.Second)
	startRltrain(t, "worker", "--learner", addr)
	var code int
	select {
	case code = <-done:
	case <-time.After(8 * time.Minute):
		t.Fatal("learner did not finish in 8 minutes")
	}
	if code != ExitOK {
		t.Fatalf("rltrain learner = %d; want 0\nstderr:\n%s", code, errb.String())
	}
	steps := progressColumn(t, dir, "env_steps")
	for i, s := range steps {
		if want := float64((i + 1) * 768); s != want {
			t.Fatalf("iteration %d: env_steps %v; want %v (each iteration counts its own fragments once)", i+1, s, want)
		}
	}
	restarts := progressColumn(t, dir, "fleet/restarts")
	workers := progressColumn(t, dir, "fleet/workers")
	if restarts[len(restarts)-1] != 0 || workers[len(workers)-1] != 3 {
		t.Errorf("at the end: fleet/restarts %v, fleet/workers %v; want 0 (a new process is no restart) and 3 (the replacement joined)", restarts[len(restarts)-1], workers[len(workers)-1])
	}
	r := readResult(t, dir)
	if r.Iterations != 600 || r.BestEpisodeReturnMean == nil || *r.BestEpisodeReturnMean < 475 {
		t.Errorf("result.json = %d iterations, best return %v; want 600 and a solved CartPole (>= 475) despite the kill", r.Iterations, derefOr(r.BestEpisodeReturnMean))
	}
	t.Logf("%d iterations in %.1f s, best return mean %.1f, restarts %v", r.Iterations, r.TimeS, derefOr(r.BestEpisodeReturnMean), restarts[len(restarts)-1])
}

func derefOr(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
