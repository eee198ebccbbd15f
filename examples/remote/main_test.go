package main

import (
	"context"
	"testing"
	"time"
)

// TestRun trains a few iterations on two loopback workers.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := run(ctx, t.TempDir(), 5*512)
	if err != nil {
		t.Fatal(err)
	}
	if out.Last.Iteration != 5 || out.Last.FleetWorkers != 2 {
		t.Fatalf("iteration %d with %d workers; want 5 with 2", out.Last.Iteration, out.Last.FleetWorkers)
	}
}
