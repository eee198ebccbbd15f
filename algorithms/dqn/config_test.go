package dqn

import (
	"errors"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
)

// TestMaxStaleness: dqn.max_staleness defaults to 4 versions, 0 is
// allowed (the current version only) and a negative bound names its key.
func TestMaxStaleness(t *testing.T) {
	c := DefaultConfig()
	if c.MaxStaleness != 4 {
		t.Errorf("default max_staleness = %d; want 4", c.MaxStaleness)
	}
	c.MaxStaleness = 0
	if err := c.Validate(); err != nil {
		t.Errorf("max_staleness 0: %v", err)
	}
	c.MaxStaleness = -1
	var fe *algorithms.FieldError
	if err := c.Validate(); !errors.As(err, &fe) || fe.Key != "max_staleness" {
		t.Errorf("max_staleness -1: Validate = %v; want a max_staleness field error", err)
	}
}

// TestEpsilonScheduleValidate: ε's schedule must end in [0, 1], and its
// errors name the schedule's keys.
func TestEpsilonScheduleValidate(t *testing.T) {
	for _, c := range []struct {
		s   algorithms.Schedule
		key string
	}{
		{algorithms.Schedule{Final: 1.5, Steps: 10}, "epsilon_schedule.final"},
		{algorithms.Schedule{Final: -0.1, Steps: 10}, "epsilon_schedule.final"},
		{algorithms.Schedule{Final: 0.05, Steps: -1}, "epsilon_schedule.steps"},
		{algorithms.Schedule{Final: 0.05, Steps: 10, Start: 20}, "epsilon_schedule.start"},
	} {
		cfg := DefaultConfig()
		cfg.EpsilonSchedule = c.s
		var fe *algorithms.FieldError
		if err := cfg.Validate(); !errors.As(err, &fe) || fe.Key != c.key {
			t.Errorf("Validate(%+v) = %v; want an error for %s", c.s, err, c.key)
		}
	}
}
