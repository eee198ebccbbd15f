package rollout

import (
	"strings"
	"testing"

	"github.com/rlgo/rlgo/policy"
)

// TestMergeObsStats checks the learner's merge of fragments' observation
// statistics: in order, into the broadcast statistics; nothing without
// normalisation; and, when a batch lacks statistics, an error naming it
// with nothing merged.
func TestMergeObsStats(t *testing.T) {
	stats := func(vals ...float32) *policy.ObsStats {
		s := policy.NewObsStats(1)
		s.Update(vals)
		return s
	}
	a := &SampleBatch{ID: "w0-0", ObsStats: stats(1, 3)}
	b := &SampleBatch{ID: "w1-0", ObsStats: stats(5, 7)}
	if err := MergeObsStats(nil, []*SampleBatch{a, {ID: "none"}}); err != nil {
		t.Fatalf("without normalisation: %v", err)
	}
	norm := policy.NewObsNorm(1, 10)
	if err := MergeObsStats(norm, []*SampleBatch{a, b}); err != nil {
		t.Fatal(err)
	}
	if norm.Count != 4 || norm.Mean[0] != 4 || norm.Var[0] != 5 {
		t.Errorf("merged count %v mean %v var %v; want 4, 4, 5", norm.Count, norm.Mean[0], norm.Var[0])
	}
	err := MergeObsStats(norm, []*SampleBatch{a, {ID: "w2-0"}})
	if err == nil || !strings.Contains(err.Error(), "w2-0") {
		t.Errorf("batch without statistics: err = %v; want one naming w2-0", err)
	}
	if norm.Count != 4 {
		t.Errorf("count %v after a failed merge; want 4 (nothing merged)", norm.Count)
	}
}
