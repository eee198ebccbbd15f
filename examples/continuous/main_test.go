package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rlgo/rlgo/train/config"
)

// TestRun trains a few iterations and checks the run records the Box
// policy's setup (wrappers included) in config.yaml.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	out, err := run(context.Background(), dir, 3*4096)
	if err != nil {
		t.Fatal(err)
	}
	if out.Last.Iteration != 3 || !out.Last.HasEpisodes {
		t.Fatalf("iteration %d, episodes %v; want 3 iterations with finished 200-step episodes", out.Last.Iteration, out.Last.HasEpisodes)
	}
	cfg, err := config.Load(filepath.Join(dir, "config.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Env.Wrappers) != 2 || cfg.Env.ID != "Pendulum-v1" {
		t.Errorf("config.yaml env = %+v; want Pendulum-v1 with two wrappers", cfg.Env)
	}
}
