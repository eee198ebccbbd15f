package cli

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/policy"
)

// TestExportServesTheTrainedPolicy exports a trained checkpoint and checks
// that policy.Load acts exactly like the checkpoint's greedy policy.
func TestExportServesTheTrainedPolicy(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=30", "--out", dir); code != 0 {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "policy.msgpack")
	if code, _, stderr := run(t, ctx, "export", dir, "--out", out); code != 0 {
		t.Fatalf("export = %d: %s", code, stderr)
	}
	p, err := policy.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	served, err := algorithms.Evaluate(ctx, "CartPole-v1", nil, greedyFunc(func(obs []float32, n int, actions []int) {
		a, err := p.Act(obs)
		if err != nil {
			t.Fatal(err)
		}
		actions[0] = a
	}), 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := evaluate(ctx, dir, 5, 3, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if served.ReturnMean != direct.ReturnMean {
		t.Errorf("exported policy's return %v; the checkpoint's greedy policy %v: want equal", served.ReturnMean, direct.ReturnMean)
	}
	if code, _, _ := run(t, ctx, "export", dir); code != ExitUsage {
		t.Errorf("export without --out = %d; want 2", code)
	}
}

type greedyFunc func(obs []float32, n int, actions []int)

func (f greedyFunc) Greedy(obs []float32, n int, actions []int) { f(obs, n, actions) }
