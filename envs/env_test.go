package envs_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

func TestStepResultDone(t *testing.T) {
	tests := []struct {
		terminated, truncated, want bool
	}{
		{false, false, false},
		{true, false, true},
		{false, true, true},
		{true, true, true},
	}
	for _, tt := range tests {
		r := envs.StepResult{Terminated: tt.terminated, Truncated: tt.truncated}
		if got := r.Done(); got != tt.want {
			t.Errorf("StepResult{Terminated: %v, Truncated: %v}.Done() = %v; want %v", tt.terminated, tt.truncated, got, tt.want)
		}
	}
}

func TestActionConstructors(t *testing.T) {
	if a := envs.DiscreteAction(3); a.Discrete != 3 || a.Continuous != nil {
		t.Errorf("DiscreteAction(3) = %+v; want {Discrete: 3}", a)
	}
	if a := envs.ContinuousAction(0.5, -1); a.Discrete != 0 || !slices.Equal(a.Continuous, []float32{0.5, -1}) {
		t.Errorf("ContinuousAction(0.5, -1) = %+v; want {Continuous: [0.5 -1]}", a)
	}
	a, b := envs.Seed(7), envs.Seed(7)
	if *a != 7 || a == b {
		t.Errorf("Seed(7) = %p -> %d, %p; want distinct pointers to 7", a, *a, b)
	}
}

func TestCheckDiscreteAction(t *testing.T) {
	tests := []struct {
		a, n  int
		valid bool
	}{
		{0, 2, true},
		{1, 2, true},
		{2, 2, false},
		{-1, 2, false},
		{0, 1, true},
		{0, 0, false},
	}
	for _, tt := range tests {
		err := envs.CheckDiscreteAction(envs.DiscreteAction(tt.a), tt.n)
		if tt.valid && err != nil {
			t.Errorf("CheckDiscreteAction(%d, %d) = %v; want nil", tt.a, tt.n, err)
		}
		if !tt.valid && !errors.Is(err, envs.ErrInvalidAction) {
			t.Errorf("CheckDiscreteAction(%d, %d) = %v; want an error wrapping ErrInvalidAction", tt.a, tt.n, err)
		}
	}
}
