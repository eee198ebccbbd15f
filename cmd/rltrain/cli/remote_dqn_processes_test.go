package cli

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// remoteDQNMoreProcesses runs configs/cartpole-dqn.yaml (rollout.workers
// 1) on rltrain learner with three rltrain worker processes, kills one
// with SIGKILL once the run is under way and starts another, and returns
// the run directory and the learner's exit code.
func remoteDQNMoreProcesses(t *testing.T, sets ...string) (string, int, string) {
	addr := freeAddr(t)
	dir := filepath.Join(t.TempDir(), "run")
	var workers []*proc
	for range 3 {
		workers = append(workers, startRltrain(t, "worker", "--learner", addr))
	}
	args := append([]string{"learner", shippedDQN, "--listen", addr, "--min-workers", "2", "--out", dir}, sets...)
	l := startRltrain(t, args...)
	// Once progress.csv has a few rows: kill one worker, start another.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "progress.csv")); err == nil && countLines(b) > 5 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := workers[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	startRltrain(t, "worker", "--learner", addr) // stopped by the test's cleanup
	code := l.wait(10 * time.Minute)
	return dir, code, l.stderr.String()
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// TestRemoteDQNMoreProcessesThanFragments: DQN keeps its n-step queues
// per worker process (SampleBatch.Source), so three processes for
// rollout.workers 1, one killed and one added mid-run, train on (the
// learner ended with "batch from worker 1 has 4 envs, want worker < 1"
// before).
func TestRemoteDQNMoreProcessesThanFragments(t *testing.T) {
	dir, code, stderr := remoteDQNMoreProcesses(t, "--set", "stop.iterations=30", "--set", "dqn.learning_starts=1000")
	if code != ExitOK {
		t.Fatalf("rltrain learner = %d; want 0\nstderr:\n%s", code, stderr)
	}
	r := readResult(t, dir)
	if r.Status != "finished" || r.Iterations != 30 {
		t.Fatalf("result.json = %+v; want finished after 30 iterations", r)
	}
	steps := progressColumn(t, dir, "learner/gradient_steps")
	if steps[len(steps)-1] <= 0 {
		t.Errorf("no gradient steps in the last iteration: %v", steps)
	}
}

// TestLongRemoteDQNSolvesWithMoreProcesses: the same fleet solves
// CartPole. The remote fleet is not deterministic, and the killed
// worker's episodes and fragment are lost. Measured with slots sticking
// to processes (8 runs of this scenario, 2026-12-02): 7 solved within the
// config's 150k (86k-131k); one peaked at 447 near 120k and fell back to
// 384 by 150k, as DQN sometimes does on a local seed too. Before, with
// the slot rotating among the processes, 2 of 4 ran past 150k. So the
// budget here is 300k, not the config's 150k: a test that fails one run
// in eight would fail CI, not the fleet.
func TestLongRemoteDQNSolvesWithMoreProcesses(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	dir, code, stderr := remoteDQNMoreProcesses(t, "--as-test", "--set", "stop.env_steps=300000")
	if code != ExitOK {
		t.Fatalf("rltrain learner --as-test = %d; want 0 (475 within the budget)\nstderr:\n%s", code, stderr)
	}
	r := readResult(t, dir)
	t.Logf("solved at %v env steps", *r.EnvStepsToTarget)
}
