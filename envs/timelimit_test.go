package envs_test

import (
	"errors"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

func TestTimeLimitTruncates(t *testing.T) {
	c := &counterEnv{}
	tl := envs.NewTimeLimit(c, 3)
	if tl.MaxSteps != 3 {
		t.Fatalf("NewTimeLimit(env, 3).MaxSteps = %d; want 3", tl.MaxSteps)
	}
	for episode := range 2 {
		obs, _, err := tl.Reset(envs.Seed(uint64(10 + episode)))
		if err != nil {
			t.Fatal(err)
		}
		if obs[3] != float32(10+episode) {
			t.Errorf("Reset(seed %d) obs = %v; want the seed passed through", 10+episode, obs)
		}
		if tl.Elapsed() != 0 {
			t.Errorf("after Reset: Elapsed() = %d; want 0", tl.Elapsed())
		}
		// Steps past the limit stay truncated, as in Gymnasium.
		for step := 1; step <= 4; step++ {
			r, err := tl.Step(envs.DiscreteAction(0))
			if err != nil {
				t.Fatal(err)
			}
			if want := step >= 3; r.Truncated != want || r.Terminated {
				t.Errorf("episode %d: Step %d: Truncated, Terminated = %v, %v; want %v, false", episode, step, r.Truncated, r.Terminated, want)
			}
			if r.Reward != float64(step) || r.Obs[2] != float32(step) {
				t.Errorf("episode %d: Step %d = reward %v, obs %v; want the wrapped env's (reward %d)", episode, step, r.Reward, r.Obs, step)
			}
			if tl.Elapsed() != step {
				t.Errorf("episode %d: after Step %d: Elapsed() = %d; want %d", episode, step, tl.Elapsed(), step)
			}
		}
	}
}

func TestTimeLimitKeepsTerminated(t *testing.T) {
	tests := []struct {
		name                      string
		env                       *counterEnv
		limit, steps              int
		wantTerminated, wantTrunc bool
	}{
		{"terminates before limit", &counterEnv{k: 2}, 3, 2, true, false},
		{"terminates at limit", &counterEnv{k: 3}, 3, 3, true, true},
		{"env truncates itself", &counterEnv{truncAt: 2}, 5, 2, false, true},
		{"limit 1", &counterEnv{}, 1, 1, false, true},
	}
	for _, tt := range tests {
		tl := envs.NewTimeLimit(tt.env, tt.limit)
		if _, _, err := tl.Reset(nil); err != nil {
			t.Fatal(err)
		}
		var r envs.StepResult
		for range tt.steps {
			var err error
			if r, err = tl.Step(envs.DiscreteAction(1)); err != nil {
				t.Fatal(err)
			}
		}
		if r.Terminated != tt.wantTerminated || r.Truncated != tt.wantTrunc {
			t.Errorf("%s: Step %d = Terminated %v, Truncated %v; want %v, %v",
				tt.name, tt.steps, r.Terminated, r.Truncated, tt.wantTerminated, tt.wantTrunc)
		}
	}
}

// A failed step is not counted.
func TestTimeLimitError(t *testing.T) {
	tl := envs.NewTimeLimit(&counterEnv{stepFail: failErr, stepFailAt: 2}, 3)
	if _, _, err := tl.Reset(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.Step(envs.DiscreteAction(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.Step(envs.DiscreteAction(0)); !errors.Is(err, errFake) {
		t.Errorf("Step 2 error = %v; want the wrapped env's %v", err, errFake)
	}
	if tl.Elapsed() != 1 {
		t.Errorf("after a failed step: Elapsed() = %d; want 1", tl.Elapsed())
	}
}

func TestTimeLimitDelegatesAndUnwraps(t *testing.T) {
	c := &counterEnv{closeErr: errFake}
	inner := envs.NewTimeLimit(c, 5)
	outer := envs.NewTimeLimit(inner, 3)
	if got := outer.ObservationSpace().String(); got != c.ObservationSpace().String() {
		t.Errorf("ObservationSpace() = %v; want the wrapped env's %v", got, c.ObservationSpace())
	}
	if got := outer.ActionSpace(); got != c.ActionSpace() {
		t.Errorf("ActionSpace() = %v; want the wrapped env's %v", got, c.ActionSpace())
	}
	if err := outer.Close(); !errors.Is(err, errFake) || c.closed != 1 {
		t.Errorf("Close() = %v (closed %d times); want the wrapped env's %v, once", err, c.closed, errFake)
	}
	if got := outer.Unwrap(); got != envs.Env(inner) {
		t.Errorf("Unwrap() = %v; want the inner TimeLimit", got)
	}
	if got := envs.Unwrapped(outer); got != envs.Env(c) {
		t.Errorf("Unwrapped(TimeLimit(TimeLimit(env))) = %v; want env", got)
	}
	if got := envs.Unwrapped(c); got != envs.Env(c) {
		t.Errorf("Unwrapped(env) = %v; want env itself", got)
	}
	// The shorter, outer limit wins.
	if _, _, err := outer.Reset(nil); err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 3; step++ {
		r, err := outer.Step(envs.DiscreteAction(0))
		if err != nil {
			t.Fatal(err)
		}
		if r.Truncated != (step == 3) {
			t.Errorf("Step %d: Truncated = %v; want %v", step, r.Truncated, step == 3)
		}
	}
}
