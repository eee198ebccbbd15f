package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRun checks the callback's column is in progress.csv with a value
// in [0, 1] on the rows of iterations that completed episodes.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	out, longest, err := run(context.Background(), dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	if longest <= 0 || out.Last.Iteration != 4 {
		t.Fatalf("longest %d after %d iterations", longest, out.Last.Iteration)
	}
	f, err := os.Open(filepath.Join(dir, "progress.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "custom/long_episode_frac")
	if col < 0 {
		t.Fatalf("no custom/long_episode_frac column in %v", rows[0])
	}
	if v, ok := out.Last.CustomValue("long_episode_frac"); !ok || v < 0 || v > 1 {
		t.Errorf("last iteration's long_episode_frac = %v, %v; want a fraction", v, ok)
	}
}
