package algorithms_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// scriptedFleet is a rollout.Fleet whose Sample returns batches the test
// wrote, and which records the weights it was sent.
type scriptedFleet struct {
	next     []*rollout.SampleBatch
	versions []uint64
	obsCount []float64 // the broadcast weights' ObsNorm.Count
}

func (f *scriptedFleet) SetWeights(_ context.Context, w *policy.Weights) error {
	f.versions = append(f.versions, w.Version)
	if w.ObsNorm != nil {
		f.obsCount = append(f.obsCount, w.ObsNorm.Count)
	}
	return nil
}
func (f *scriptedFleet) Sample(context.Context) ([]*rollout.SampleBatch, error) { return f.next, nil }
func (f *scriptedFleet) Health() rollout.Health                                 { return rollout.Health{Workers: 2} }
func (f *scriptedFleet) Close() error                                           { return nil }

// statsOf returns the statistics of rows of 2-wide observations.
func statsOf(rows ...float32) *policy.ObsStats {
	s := policy.NewObsStats(2)
	s.Update(rows)
	return s
}

// TestLoopSampleAndBroadcast checks the shared loop's pieces on batches
// written here: the on-policy weights-version check, env-step counting,
// observation statistics merged from every fragment into the next
// broadcast, and the versions broadcast.
func TestLoopSampleAndBroadcast(t *testing.T) {
	f := &scriptedFleet{}
	s := algorithms.Setup{EnvID: "CartPole-v1", NewFleet: func(rollout.FleetSpec, *policy.Weights) (rollout.Fleet, error) { return f, nil }}
	w := &policy.Weights{ObsNorm: policy.NewObsNorm(2, 10)}
	l, err := algorithms.NewLoop(context.Background(), "test", nil, s.WithDefaults(), rollout.FleetSpec{}, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.versions) != 1 || f.versions[0] != 1 || l.Version != 1 {
		t.Fatalf("after NewLoop the fleet got versions %v (loop at v%d); want [1]", f.versions, l.Version)
	}
	batch := func(version uint64, stats *policy.ObsStats) *rollout.SampleBatch {
		return &rollout.SampleBatch{ID: "b", NumEnvs: 2, Steps: 3, WeightsVersion: version, ObsStats: stats}
	}

	// An on-policy iteration refuses a fragment acted with other weights;
	// an off-policy one takes it.
	f.next = []*rollout.SampleBatch{batch(1, statsOf(0, 0)), batch(0, statsOf(0, 0))}
	l.Begin()
	if _, _, err := l.Sample(context.Background(), true); err == nil || !strings.Contains(err.Error(), "v0") {
		t.Errorf("on-policy Sample of a v0 fragment at v1: error %v; want one naming v0", err)
	}
	// The statistics merged: rows (1, 2), (3, 4) then (5, 6) → mean (3, 4),
	// population variance (8/3, 8/3), count 3.
	w.ObsNorm = policy.NewObsNorm(2, 10)
	f.next = []*rollout.SampleBatch{batch(1, statsOf(1, 2, 3, 4)), batch(0, statsOf(5, 6))}
	before := l.EnvSteps
	got, n, err := l.Sample(context.Background(), false)
	if err != nil {
		t.Fatalf("off-policy Sample: %v", err)
	}
	if len(got) != 2 || n != 12 || l.EnvSteps-before != 12 {
		t.Errorf("Sample = %d batches, %d steps (EnvSteps +%d); want 2, 12, +12", len(got), n, l.EnvSteps-before)
	}
	on := w.ObsNorm
	for j, want := range []float64{3, 4} {
		if math.Abs(on.Mean[j]-want) > 1e-9 || math.Abs(on.Var[j]-8.0/3) > 1e-9 {
			t.Errorf("merged ObsNorm mean %v var %v; want mean (3, 4), variance 8/3", on.Mean, on.Var)
			break
		}
	}
	if err := l.Broadcast(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.versions) != 2 || f.versions[1] != 2 || l.Version != 2 {
		t.Errorf("broadcast versions %v (loop at v%d); want [1 2]", f.versions, l.Version)
	}
	if c := f.obsCount[len(f.obsCount)-1]; math.Abs(c-3) > 1e-9 {
		t.Errorf("broadcast ObsNorm count %v; want the 3 observations merged", c)
	}
}
