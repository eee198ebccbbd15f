package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/ppo"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/external"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/rollout/remote"
)

// python returns a Python 3 that has the bridge's Debian packages
// (python3-grpcio, python3-msgpack, python3-numpy), or skips the test
// naming what is missing; .ci/run installs them.
func python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("RLGO_PYTHON"), "/usr/bin/python3", "python3"} {
		if p == "" {
			continue
		}
		if exec.Command(p, "-c", "import grpc, msgpack, numpy").Run() == nil {
			return p
		}
	}
	t.Skip("no python3 with grpc, msgpack and numpy: apt-get install python3-grpcio python3-msgpack python3-numpy")
	return ""
}

// repoRoot is the repository's root, for the Python package's path.
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// pythonCartPole is the server command of python/tests/cartpole.py,
// Gymnasium's CartPole line for line with Go's random stream and
// trigonometry (rng "go"), so that its transitions equal CartPole-v1's.
func pythonCartPole(t *testing.T) *external.Config {
	root := repoRoot(t)
	return &external.Config{
		Command: []string{python(t), "-m", "rlgo_env", "serve", "--entry", "cartpole:CartPole", "--kwargs", `{"rng": "go"}`, "--max-episode-steps", "500"},
		Env:     []string{"PYTHONPATH=" + filepath.Join(root, "python") + ":" + filepath.Join(root, "python", "tests")},
	}
}

// learningColumns reads progress.csv without its wall-time columns.
func learningColumns(t *testing.T, dir string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "progress.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var keep []int
	for i, c := range rows[0] {
		if !strings.HasSuffix(c, "time_s") && c != "env_steps_per_s" && !strings.HasPrefix(c, "fleet/") {
			keep = append(keep, i)
		}
	}
	out := make([][]string, len(rows))
	for r, row := range rows {
		for _, i := range keep {
			out[r] = append(out[r], row[i])
		}
	}
	return out
}

// TestExternalEnvTrainsLikeNative trains configs/cartpole-ppo.yaml with
// its env stepped by the Python bridge (one server process per worker, a
// vector of its envs per call) and natively, and checks that the
// learning columns of progress.csv are identical: the algorithms cannot
// tell a bridged env from a native one.
func TestExternalEnvTrainsLikeNative(t *testing.T) {
	ext := pythonCartPole(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "external.yaml")
	data, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	var cmd []string
	for _, c := range ext.Command {
		cmd = append(cmd, q(c))
	}
	block := fmt.Sprintf("env:\n  id: CartPole-v1\n  external:\n    command: [%s]\n    env: [%s]\n", strings.Join(cmd, ", "), q(ext.Env[0]))
	yaml := strings.Replace(string(data), "env: {id: CartPole-v1}\n", block, 1)
	if yaml == string(data) {
		t.Fatal("configs/cartpole-ppo.yaml no longer has the line env: {id: CartPole-v1}")
	}
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range []struct{ name, cfg string }{{"native", shipped}, {"external", cfg}} {
		if code, _, stderr := run(t, ctx, "train", r.cfg, "--set", "stop.iterations=12", "--out", filepath.Join(dir, r.name)); code != ExitOK {
			t.Fatalf("%s: exit %d: %s", r.name, code, stderr)
		}
	}
	native, bridged := learningColumns(t, filepath.Join(dir, "native")), learningColumns(t, filepath.Join(dir, "external"))
	if len(native) != 13 || !slices.EqualFunc(native, bridged, slices.Equal) {
		t.Fatalf("progress.csv through the bridge differs from native:\nnative   %v\nexternal %v", native, bridged)
	}
	// rltrain evaluate steps the run's env as it trained: through the bridge.
	code, evNative, stderr := run(t, ctx, "evaluate", filepath.Join(dir, "native"), "--episodes", "3")
	if code != ExitOK {
		t.Fatalf("evaluate native: exit %d: %s", code, stderr)
	}
	code, evBridged, stderr := run(t, ctx, "evaluate", filepath.Join(dir, "external"), "--episodes", "3")
	_, evNative, _ = strings.Cut(evNative, " on ")
	_, evBridged, _ = strings.Cut(evBridged, " on ")
	if code != ExitOK || evBridged != evNative {
		t.Fatalf("evaluate through the bridge: exit %d, %q; want %q as natively (%s)", code, evBridged, evNative, stderr)
	}
}

// fragment is what the kill test reads of a batch (the fleet reuses its
// batches, so the recorder copies).
type fragment struct {
	ID                    string
	Steps, NumEnvs        int
	ObsDim                int
	Obs                   []float32
	Terminated, Truncated []bool
}

// recorder keeps a copy of every batch the fleet returns.
type recorder struct {
	rollout.Fleet
	batches []fragment
}

func (r *recorder) Sample(ctx context.Context) ([]*rollout.SampleBatch, error) {
	bs, err := r.Fleet.Sample(ctx)
	for _, b := range bs {
		r.batches = append(r.batches, fragment{ID: b.ID, Steps: b.Steps, NumEnvs: b.NumEnvs, ObsDim: b.ObsDim,
			Obs: slices.Clone(b.Obs), Terminated: slices.Clone(b.Terminated), Truncated: slices.Clone(b.Truncated)})
	}
	return bs, err
}

// serverPids returns the pids of this process's rlgo_env servers.
func serverPids(t *testing.T) []int {
	out, _ := exec.Command("pgrep", "-P", fmt.Sprint(os.Getpid()), "-f", "rlgo_env").Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		var pid int
		fmt.Sscan(f, &pid)
		pids = append(pids, pid)
	}
	return pids
}

// TestExternalEnvServerKilled kills a worker's Python env server with
// SIGKILL in the middle of training: the run goes on, the restart is
// counted in fleet/env_restarts, and no batch holds a transition across
// the restart — the cut episode ends truncated and the next observation
// is a fresh episode's first.
func TestExternalEnvServerKilled(t *testing.T) {
	ext := pythonCartPole(t)
	var rec *recorder
	s := algorithms.Setup{
		EnvID: "CartPole-v1", Seed: 3, External: ext,
		Model:   policy.ModelConfig{Hidden: []int{16}, Activation: policy.Tanh},
		Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 4, FragmentLength: 64, MinWorkers: 1},
	}
	s.NewFleet = func(fs rollout.FleetSpec, w *policy.Weights) (rollout.Fleet, error) {
		ws := s.WorkerSpec()
		ws.Columns = fs.Columns
		f, err := rollout.NewLocalFleet(s.Rollout, ws, func() (rollout.Policy, error) { return rollout.NewPolicy(fs.Policy, w) })
		rec = &recorder{Fleet: f}
		return rec, err
	}
	p, err := ppo.New(ppo.DefaultConfig(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	killedAt := -1
	var r algorithms.Result
	for it := 0; it < 12; it++ {
		if it == 4 {
			pids := serverPids(t)
			if len(pids) != 2 {
				t.Fatalf("%d env servers (%v); want one per worker", len(pids), pids)
			}
			if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			killedAt = len(rec.batches)
		}
		if r, err = p.Train(ctx); err != nil {
			t.Fatalf("iteration %d: %v", it+1, err)
		}
	}
	if r.Fleet.EnvRestarts != 1 {
		t.Errorf("fleet/env_restarts = %d; want 1", r.Fleet.EnvRestarts)
	}
	// Every truncation after the kill — the cut of the killed server's
	// envs, or a time limit — is followed by a fresh episode.
	cuts := 0
	for _, b := range rec.batches[killedAt:] {
		N, D := b.NumEnvs, b.ObsDim
		for k := range b.Truncated {
			i, step := k%N, k/N
			if !b.Truncated[k] || b.Terminated[k] {
				continue
			}
			cuts++
			if step+1 < b.Steps { // the next observation starts a fresh episode: |x| ≤ 0.05 (CartPole's reset)
				next := b.Obs[(k+N)*D : (k+N+1)*D]
				for _, x := range next {
					if math.Abs(float64(x)) > 0.05 {
						t.Errorf("batch %s step %d env %d: observation %v after the cut is not a fresh reset", b.ID, step, i, next)
						break
					}
				}
			}
		}
	}
	if cuts < 4 {
		t.Errorf("%d truncated steps after the kill; want at least the 4 envs of the killed server cut", cuts)
	}
}

// TestCheckEnvExternal runs rltrain check-env on the Python CartPole
// through the bridge.
func TestCheckEnvExternal(t *testing.T) {
	ext := pythonCartPole(t)
	t.Setenv("PYTHONPATH", strings.TrimPrefix(ext.Env[0], "PYTHONPATH="))
	args := append([]string{"check-env", "CartPole-v1", "--steps", "500", "--"}, ext.Command...)
	code, stdout, stderr := run(t, context.Background(), args...)
	if code != ExitOK || !strings.Contains(stdout, "0 error(s)") {
		t.Fatalf("check-env through the bridge: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestServeEnvAgreesWithInProcess serves CartPole-v1 with rltrain
// serve-env on a Unix socket and steps it through the protocol next to an
// in-process envs.VectorEnv with the same seeds.
func TestServeEnvAgreesWithInProcess(t *testing.T) {
	sock := "unix://" + filepath.Join(t.TempDir(), "env.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, stderr := run(t, ctx, "serve-env", "CartPole-v1", "--address", sock, "--num-envs", "3")
		if code != ExitOK {
			t.Errorf("serve-env: exit %d: %s", code, stderr)
		}
		done <- code
	}()
	defer func() { cancel(); <-done }()
	var v *external.VectorEnv
	var err error
	for try := 0; try < 100; try++ { // until the server listens
		if v, err = external.Open(ctx, external.Config{Address: sock}, 3, external.Options{EnvID: "CartPole-v1"}); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	spec := rollout.WorkerSpec{EnvID: "CartPole-v1"}
	var list []envs.Env
	for range 3 {
		e, err := rollout.MakeEnv(spec)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, e)
	}
	native, err := envs.NewVectorEnv(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Reset(42); err != nil {
		t.Fatal(err)
	}
	if err := native.Reset(42); err != nil {
		t.Fatal(err)
	}
	acts := make([]envs.Action, 3)
	for step := range 1500 {
		for i := range acts {
			acts[i] = envs.DiscreteAction((step*7 + i*3) % 2)
		}
		a, err := v.Step(acts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := native.Step(acts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(v.Obs(), native.Obs()) || !slices.Equal(a.Rewards, b.Rewards) || !slices.Equal(a.Terminated, b.Terminated) || !slices.Equal(a.Truncated, b.Truncated) {
			t.Fatalf("step %d: served %v %v %v %v; in process %v %v %v %v", step, v.Obs(), a.Rewards, a.Terminated, a.Truncated, native.Obs(), b.Rewards, b.Terminated, b.Truncated)
		}
	}
}

// TestExternalEnvRemoteWorkers trains on two remote workers (gRPC on
// loopback) that each start their own Python env server, and checks that
// a worker not allowed to run the learner's env command refuses with a
// message that says how to allow it.
func TestExternalEnvRemoteWorkers(t *testing.T) {
	ext := pythonCartPole(t)
	s := algorithms.Setup{EnvID: "CartPole-v1", Seed: 1, External: ext,
		Model:   policy.ModelConfig{Hidden: []int{16}, Activation: policy.Tanh},
		Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 4, FragmentLength: 32, MinWorkers: 2}}
	srv, err := remote.Listen(remote.Config{Listen: "127.0.0.1:0", MinWorkers: 2, StartTimeout: time.Minute},
		remote.Run{EnvID: s.EnvID, Rollout: s.Rollout, Seed: s.Seed, External: ext})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s.NewFleet = srv.NewFleet
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	wctx, stopWorkers := context.WithCancel(ctx)
	// A worker that does not allow env commands refuses the run.
	refused := make(chan error, 1)
	go func() { refused <- remote.RunWorker(wctx, remote.WorkerConfig{Learner: srv.Addr().String()}) }()
	done := make(chan error, 2)
	for range 2 {
		go func() {
			done <- remote.RunWorker(wctx, remote.WorkerConfig{Learner: srv.Addr().String(), AllowEnvCommand: true})
		}()
	}
	defer func() {
		stopWorkers()
		for range 2 {
			<-done
		}
	}()
	p, err := ppo.New(ppo.DefaultConfig(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var r algorithms.Result
	for range 4 {
		if r, err = p.Train(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if r.EnvSteps != 4*2*4*32 || r.FleetWorkers < 1 || !r.HasEpisodes {
		t.Fatalf("after 4 iterations: %d env steps, %d workers, episodes %v; want 1024 steps with episodes", r.EnvSteps, r.FleetWorkers, r.HasEpisodes)
	}
	select {
	case err := <-refused:
		if err == nil || !strings.Contains(err.Error(), "--allow-env-command") {
			t.Fatalf("a worker without AllowEnvCommand: %v; want a refusal naming --allow-env-command", err)
		}
	case <-ctx.Done():
		t.Fatal("a worker without AllowEnvCommand is still running")
	}
}
