package main

import (
	"context"
	"testing"
)

// TestRun trains briefly: past learning_starts, so gradient steps and
// target updates run, and the greedy policy is evaluated by train.
func TestRun(t *testing.T) {
	out, err := run(context.Background(), t.TempDir(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if out.Last.EnvSteps < 4096 || out.StopReason != "env_steps" {
		t.Fatalf("stopped by %s at %d env steps; want env_steps at 4096", out.StopReason, out.Last.EnvSteps)
	}
	var steps float64
	for _, m := range out.Last.Learner {
		if m.Name == "learner/gradient_steps" {
			steps = m.Value
		}
	}
	if steps == 0 {
		t.Errorf("no gradient steps in the last iteration: %v", out.Last.Learner)
	}
}
