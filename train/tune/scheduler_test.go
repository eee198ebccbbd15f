package tune

import (
	"math"
	"reflect"
	"testing"
)

func TestASHARungs(t *testing.T) {
	a := NewASHA(1, 3, 30, 1)
	if got, want := a.Milestones(), []int{1, 3, 9, 27}; !reflect.DeepEqual(got, want) {
		t.Errorf("milestones = %v; want %v", got, want)
	}
}

// TestASHAStopsBelowTopFraction follows Ray Tune's _Bracket.on_result:
// the first trial at a rung passes; later ones pass only at or above the
// (1-1/η) quantile of the values recorded there before them.
func TestASHAStopsBelowTopFraction(t *testing.T) {
	a := NewASHA(2, 2, 16, 1)
	steps := []struct {
		trial, it int
		v         float64
		stop      bool
		rung      int
	}{
		{0, 1, 5, false, 0},  // below the first rung
		{0, 2, 10, false, 2}, // first at rung 2
		{1, 2, 20, false, 2}, // above the median of {10}
		{2, 2, 12, true, 2},  // below the median of {10, 20} = 15
		{3, 2, 16, false, 2}, // above the median of {10, 20, 12} = 12
		{1, 3, 21, false, 0}, // between rungs
		{1, 4, 30, false, 4}, // first at rung 4
		{0, 4, 11, true, 4},  // below 30
		{3, 4, math.NaN(), true, 4},
	}
	for _, s := range steps {
		stop, rung := a.OnResult(s.trial, s.it, s.v)
		if stop != s.stop || rung != s.rung {
			t.Errorf("OnResult(trial %d, iteration %d, %v) = %v, %d; want %v, %d", s.trial, s.it, s.v, stop, rung, s.stop, s.rung)
		}
	}
	// Minimising: the sign flips the comparison.
	m := NewASHA(1, 2, 8, -1)
	m.OnResult(0, 1, 1)
	if stop, _ := m.OnResult(1, 1, 0.5); stop {
		t.Errorf("mode min: a smaller loss was stopped")
	}
	if stop, _ := m.OnResult(2, 1, 2); !stop {
		t.Errorf("mode min: the largest loss went on")
	}
}

func TestMedianStoppingRule(t *testing.T) {
	m := NewScheduler(SchedulerConfig{Type: SchedulerMedian, GracePeriod: 2, MinSamplesRequired: 2}, "max", 0)
	for trial, vals := range [][]float64{{1, 2, 3}, {2, 4, 6}} {
		for i, v := range vals {
			if stop, _ := m.OnResult(trial, i+1, v); stop {
				t.Errorf("trial %d stopped at iteration %d with fewer than 2 others", trial, i+1)
			}
		}
	}
	// Others' running means at iteration 2: 1.5 and 3; median 2.25.
	if stop, _ := m.OnResult(2, 1, 0); stop {
		t.Errorf("stopped within the grace period")
	}
	if stop, rung := m.OnResult(2, 2, 2); !stop || rung != 2 {
		t.Errorf("best 2 < median 2.25: OnResult = %v, %d; want true, 2", stop, rung)
	}
	if stop, _ := m.OnResult(3, 2, 2.5); stop {
		t.Errorf("best 2.5 > median: stopped")
	}
}

func TestQuantile(t *testing.T) {
	// numpy.percentile([1, 2, 3, 4], 75) = 3.25
	if got := quantile([]float64{4, 1, 3, 2}, 0.75); got != 3.25 {
		t.Errorf("quantile(.75) = %v; want 3.25", got)
	}
}
