package algorithms

import (
	"fmt"
	"math"
	"testing"
)

// TestScheduleAt checks the three pieces of a schedule: held at the
// initial value up to Start, linear between Start and Steps, held at Final
// after; and Steps 0 as constant.
func TestScheduleAt(t *testing.T) {
	for _, c := range []struct {
		s    Schedule
		t    int64
		want float64
	}{
		{Schedule{Final: 0, Steps: 0}, 1000, 1},
		{Schedule{Final: 0, Steps: 100}, 0, 1},
		{Schedule{Final: 0, Steps: 100}, 25, 0.75},
		{Schedule{Final: 0, Steps: 100}, 100, 0},
		{Schedule{Final: 0, Steps: 100}, 1e6, 0},
		{Schedule{Final: 0.5, Steps: 100}, 50, 0.75},
		{Schedule{Final: 0, Steps: 100, Start: 60}, 0, 1},
		{Schedule{Final: 0, Steps: 100, Start: 60}, 60, 1},
		{Schedule{Final: 0, Steps: 100, Start: 60}, 70, 0.75},
		{Schedule{Final: 0, Steps: 100, Start: 60}, 80, 0.5},
		{Schedule{Final: 0, Steps: 100, Start: 60}, 100, 0},
		{Schedule{Final: 0, Steps: 100, Start: 60}, 500, 0},
		{Schedule{Final: 2, Steps: 100, Start: 60}, 90, 1.75},
	} {
		if got := c.s.At(1, c.t); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v.At(1, %d) = %v; want %v", c.s, c.t, got, c.want)
		}
	}
}

// TestScheduleChecks names the failing key: final below 0 (or above the
// bound), negative steps, and a start outside [0, steps).
func TestScheduleChecks(t *testing.T) {
	for _, c := range []struct {
		s       Schedule
		bounded bool
		key     string
	}{
		{Schedule{Final: 0, Steps: 10}, false, ""},
		{Schedule{Final: 0, Steps: 10, Start: 9}, false, ""},
		{Schedule{Final: 3, Steps: 10}, false, ""},
		{Schedule{Final: -0.1, Steps: 10}, false, "s.final"},
		{Schedule{Final: 3, Steps: 10}, true, "s.final"},
		{Schedule{Final: 0, Steps: -1}, false, "s.steps"},
		{Schedule{Final: 0, Steps: 10, Start: -1}, false, "s.start"},
		{Schedule{Final: 0, Steps: 10, Start: 10}, false, "s.start"},
		{Schedule{Final: 0, Steps: 0, Start: 5}, true, "s.start"},
	} {
		checks := c.s.Checks("s")
		if c.bounded {
			checks = c.s.BoundedChecks("s", 1)
		}
		err := FirstFailed(checks)
		got := ""
		if fe, ok := err.(*FieldError); ok {
			got = fe.Key
		} else if err != nil {
			t.Fatalf("%+v: error %T %v; want a *FieldError", c.s, err, err)
		}
		if got != c.key {
			t.Errorf("%+v (bounded %v): failed key %q (%v); want %q", c.s, c.bounded, got, err, c.key)
		}
	}
}

// A schedule that holds entropy_coeff 0.01 for 5M env steps, then anneals
// it to 0 by 8M.
func ExampleSchedule_At() {
	s := Schedule{Final: 0, Start: 5_000_000, Steps: 8_000_000}
	for _, t := range []int64{0, 5_000_000, 6_500_000, 8_000_000, 10_000_000} {
		fmt.Printf("%d: %.4f\n", t, s.At(0.01, t))
	}
	// Output:
	// 0: 0.0100
	// 5000000: 0.0100
	// 6500000: 0.0050
	// 8000000: 0.0000
	// 10000000: 0.0000
}
