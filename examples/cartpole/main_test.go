package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rlgo/rlgo/train/config"
)

// TestRun solves CartPole as the README's Go example does, and checks the
// run directory is one the CLI can use (config.yaml loads back).
func TestRun(t *testing.T) {
	dir := t.TempDir()
	out, err := run(context.Background(), dir, 300_000)
	if err != nil {
		t.Fatal(err)
	}
	if !out.TargetMet {
		t.Fatalf("stopped by %s at %d env steps with return %.1f; want 475", out.StopReason, out.Last.EnvSteps, out.Last.EpisodeReturnMean)
	}
	if _, err := config.Load(filepath.Join(dir, "config.yaml"), nil); err != nil {
		t.Errorf("config.yaml: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "result.json")); err != nil {
		t.Error(err)
	}
}
