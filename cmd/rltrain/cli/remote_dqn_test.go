package cli

import (
	"path/filepath"
	"testing"
	"time"
)

// TestLearnerDQNWithWorkerProcesses: `rltrain learner` trains DQN on
// CartPole-v1 with two `rltrain worker` processes acting ε-greedily with
// the Q-network the learner sends (RegisterReply.Spec of kind q), and
// gradient steps happen once learning_starts have passed.
func TestLearnerDQNWithWorkerProcesses(t *testing.T) {
	addr := freeAddr(t)
	dir := filepath.Join(t.TempDir(), "run")
	w1 := startRltrain(t, "worker", "--learner", addr)
	w2 := startRltrain(t, "worker", "--learner", addr)
	const iters = 6
	l := startRltrain(t, "learner", shippedDQN, "--listen", addr, "--min-workers", "2",
		"--set", "stop.iterations=6", "--set", "rollout.workers=2", "--set", "dqn.learning_starts=600",
		"--out", dir)
	if c := l.wait(2 * time.Minute); c != ExitOK {
		t.Fatalf("rltrain learner = %d; want 0\nstderr:\n%s", c, l.stderr.String())
	}
	r := readResult(t, dir)
	if r.Status != "finished" || r.Iterations != iters || r.EnvSteps != iters*2*4*64 {
		t.Errorf("result.json = %+v; want finished after %d iterations and %d steps", r, iters, iters*2*4*64)
	}
	workers := progressColumn(t, dir, "fleet/workers")
	if len(workers) != iters {
		t.Fatalf("progress.csv has %d rows; want %d", len(workers), iters)
	}
	for i, n := range workers {
		if n != 2 {
			t.Errorf("iteration %d: fleet/workers = %v; want 2", i+1, n)
		}
	}
	steps := progressColumn(t, dir, "learner/gradient_steps")
	if last := steps[len(steps)-1]; last <= 0 {
		t.Errorf("learner/gradient_steps in the last iteration = %v; want > 0 (all: %v)", last, steps)
	}
	for i, s := range progressColumn(t, dir, "fleet/stale") {
		if s != 0 {
			t.Errorf("iteration %d: fleet/stale = %v; want 0 (workers act with the weights sent)", i+1, s)
		}
	}
	for _, w := range []*proc{w1, w2} {
		if c := w.wait(15 * time.Second); c != 0 {
			t.Errorf("worker exit = %d; want 0 when the run ends\nstderr:\n%s", c, w.stderr.String())
		}
	}
}
