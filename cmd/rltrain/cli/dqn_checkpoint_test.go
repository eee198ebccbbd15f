package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

const shippedDQN = "../../../configs/cartpole-dqn.yaml"

// TestDQNResumeIsExact stops configs/cartpole-dqn.yaml at iteration 5 (its
// budget), resumes it with a larger budget, and compares progress.csv with
// a run that was never stopped: the learning columns are byte for byte the
// same. A small buffer and an early learning_starts make the replay wrap
// around and gradient steps and target updates fall due on both sides of
// the checkpoint.
func TestDQNResumeIsExact(t *testing.T) {
	ctx := context.Background()
	set := []string{"--set", "dqn.learning_starts=300", "--set", "dqn.buffer_size=1000", "--set", "checkpoint.every=2"}
	full := filepath.Join(t.TempDir(), "full")
	if code, _, stderr := run(t, ctx, append([]string{"train", shippedDQN, "--set", "stop.iterations=8", "--out", full}, set...)...); code != 0 {
		t.Fatalf("uninterrupted run = %d: %s", code, stderr)
	}
	split := filepath.Join(t.TempDir(), "split")
	if code, _, stderr := run(t, ctx, append([]string{"train", shippedDQN, "--set", "stop.iterations=5", "--out", split}, set...)...); code != 0 {
		t.Fatalf("first part = %d: %s", code, stderr)
	}
	code, _, stderr := run(t, ctx, "train", "--resume", split, "--set", "stop.iterations=8")
	if code != 0 {
		t.Fatalf("resume = %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "continuing from") || !strings.Contains(stderr, "iteration 5,") {
		t.Errorf("resume log %q does not say it continued from iteration 5", stderr)
	}
	if strings.Contains(stderr, "not exact") || strings.Contains(stderr, "fresh episodes") {
		t.Errorf("resume log %q has notes; want an exact resume", stderr)
	}
	a, b := learningRows(t, full), learningRows(t, split)
	if len(a) != 9 || len(b) != 9 {
		t.Fatalf("rows: %d uninterrupted, %d resumed; want 9 each", len(a), len(b))
	}
	for i := range a {
		if strings.Join(a[i], ",") != strings.Join(b[i], ",") {
			t.Errorf("row %d differs after resume:\n got %v\nwant %v", i, b[i], a[i])
		}
	}
	if r := readResult(t, split); r.LastCheckpoint != filepath.Join(split, "checkpoints", "iter-000008") {
		t.Errorf("last_checkpoint = %q; want the iteration-8 checkpoint", r.LastCheckpoint)
	}
	// A DQN acts greedily: a stochastic evaluation of it is a usage error
	// that says why.
	if code, _, stderr := run(t, ctx, "evaluate", split, "--stochastic"); code != ExitUsage || !strings.Contains(stderr, "greedily") {
		t.Errorf("evaluate --stochastic of a DQN run = %d, %q; want 2 and why", code, stderr)
	}
}
