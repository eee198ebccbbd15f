package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestResumeIsExactWithWrappersAndContinuousActions is TestResumeIsExact
// for configs/pendulum-ppo.yaml: a Gaussian policy, fleet-wide observation
// normalisation (statistics in the weights) and reward normalisation (in
// each env's wrapper state). A resumed run continues byte for byte like
// one that never stopped, so all of that state is in the checkpoint.
func TestResumeIsExactWithWrappersAndContinuousActions(t *testing.T) {
	ctx := context.Background()
	const cfg = "../../../configs/pendulum-ppo.yaml"
	small := []string{"--set", "rollout.fragment_length=128", "--set", "ppo.minibatches=8", "--set", "checkpoint.every=2"}
	full := filepath.Join(t.TempDir(), "full")
	if code, _, stderr := run(t, ctx, append([]string{"train", cfg, "--set", "stop.iterations=6", "--out", full}, small...)...); code != 0 {
		t.Fatalf("uninterrupted run = %d: %s", code, stderr)
	}
	split := filepath.Join(t.TempDir(), "split")
	if code, _, stderr := run(t, ctx, append([]string{"train", cfg, "--set", "stop.iterations=3", "--out", split}, small...)...); code != 0 {
		t.Fatalf("first half = %d: %s", code, stderr)
	}
	code, _, stderr := run(t, ctx, "train", "--resume", split, "--set", "stop.iterations=6")
	if code != 0 {
		t.Fatalf("resume = %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "fresh episodes") {
		t.Errorf("resume did not restore the envs: %s", stderr)
	}
	a, b := learningRows(t, full), learningRows(t, split)
	if len(a) != 7 || len(b) != 7 {
		t.Fatalf("rows: %d uninterrupted, %d resumed; want 7 each", len(a), len(b))
	}
	for i := range a {
		if strings.Join(a[i], ",") != strings.Join(b[i], ",") {
			t.Errorf("row %d differs after resume:\n got %v\nwant %v", i, b[i], a[i])
		}
	}
}
