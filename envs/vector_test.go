package envs_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

func newVector(t *testing.T, es ...*counterEnv) *envs.VectorEnv {
	t.Helper()
	list := make([]envs.Env, len(es))
	for i, e := range es {
		list[i] = e
	}
	v, err := envs.NewVectorEnv(list)
	if err != nil {
		t.Fatalf("NewVectorEnv error: %v", err)
	}
	return v
}

// segment returns sub-env i's observation in v.Obs().
func segment(v *envs.VectorEnv, i int) []float32 {
	return v.Obs()[i*v.ObsDim() : (i+1)*v.ObsDim()]
}

func actions(n int) []envs.Action {
	a := make([]envs.Action, n)
	for i := range a {
		a[i] = envs.DiscreteAction(i % 3)
	}
	return a
}

func TestNewVectorEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		envs []envs.Env
	}{
		{"no envs", nil},
		{"empty", []envs.Env{}},
		{"discrete obs space", []envs.Env{&discreteEnv{}}},
		{"sizes differ", []envs.Env{&counterEnv{}, &wideEnv{}}},
		{"second not a box", []envs.Env{&counterEnv{}, &counterEnv{}, &discreteEnv{}}},
	}
	for _, tt := range tests {
		if v, err := envs.NewVectorEnv(tt.envs); err == nil {
			t.Errorf("%s: NewVectorEnv = %v, nil; want an error", tt.name, v)
		}
	}
}

func TestVectorEnvResetSeedsEachEnv(t *testing.T) {
	es := []*counterEnv{{id: 10}, {id: 11}, {id: 12}}
	v := newVector(t, es...)
	if v.Len() != 3 || v.ObsDim() != 4 {
		t.Fatalf("Len(), ObsDim() = %d, %d; want 3, 4", v.Len(), v.ObsDim())
	}
	for _, seed := range []uint64{100, 7} {
		if err := v.Reset(seed); err != nil {
			t.Fatalf("Reset(%d) error: %v", seed, err)
		}
		for i, e := range es {
			if v.Env(i) != envs.Env(e) {
				t.Errorf("Env(%d) = %v; want sub-env %d", i, v.Env(i), i)
			}
			if got, want := e.seeds[len(e.seeds)-1], int64(seed)+int64(i); got != want {
				t.Errorf("Reset(%d): sub-env %d seeded with %d; want %d", seed, i, got, want)
			}
			want := []float32{e.id, float32(e.resets), 0, float32(seed) + float32(i)}
			if got := segment(v, i); !slices.Equal(got, want) {
				t.Errorf("Reset(%d): Obs()[sub-env %d] = %v; want %v", seed, i, got, want)
			}
		}
	}
}

// TestVectorEnvAutoReset steps sub-envs whose episodes terminate after 2, 3
// and never, and checks every VectorStep field against a simulation.
func TestVectorEnvAutoReset(t *testing.T) {
	ks := []int{2, 3, 0}
	es := make([]*counterEnv, len(ks))
	for i, k := range ks {
		es[i] = &counterEnv{id: float32(20 + i), k: k}
	}
	v := newVector(t, es...)
	const seed = 50
	if err := v.Reset(seed); err != nil {
		t.Fatal(err)
	}
	// Expected state of each sub-env: episode number, step in it, seed seen.
	type sim struct {
		episode, t int
		seed       float32
	}
	sims := make([]sim, len(es))
	for i := range sims {
		sims[i] = sim{1, 0, float32(seed + i)}
	}
	for step := 1; step <= 7; step++ {
		acts := actions(len(es))
		s, err := v.Step(acts)
		if err != nil {
			t.Fatalf("Step %d error: %v", step, err)
		}
		var wantEpisodes []envs.Episode
		for i, e := range es {
			sm := &sims[i]
			sm.t++
			if got := e.actions[len(e.actions)-1]; got.Discrete != acts[i].Discrete {
				t.Errorf("step %d: sub-env %d got action %v; want %v", step, i, got, acts[i])
			}
			if s.Rewards[i] != float64(sm.t) {
				t.Errorf("step %d: Rewards[%d] = %v; want %v", step, i, s.Rewards[i], sm.t)
			}
			if got, ok := s.Infos[i]["t"]; !ok || got != sm.t {
				t.Errorf("step %d: Infos[%d] = %v; want t=%d", step, i, s.Infos[i], sm.t)
			}
			done := ks[i] > 0 && sm.t == ks[i]
			if s.Terminated[i] != done || s.Truncated[i] {
				t.Errorf("step %d: Terminated[%d], Truncated[%d] = %v, %v; want %v, false", step, i, i, s.Terminated[i], s.Truncated[i], done)
			}
			if !done {
				if s.FinalObs[i] != nil {
					t.Errorf("step %d: FinalObs[%d] = %v; want nil on a non-final step", step, i, s.FinalObs[i])
				}
				want := []float32{e.id, float32(sm.episode), float32(sm.t), sm.seed}
				if got := segment(v, i); !slices.Equal(got, want) {
					t.Errorf("step %d: Obs()[sub-env %d] = %v; want %v", step, i, got, want)
				}
				continue
			}
			// The episode ended: FinalObs is its last observation and Obs
			// is already the first of the next, reset without a seed.
			wantFinal := []float32{e.id, float32(sm.episode), float32(sm.t), sm.seed}
			if !slices.Equal(s.FinalObs[i], wantFinal) {
				t.Errorf("step %d: FinalObs[%d] = %v; want %v (the ended episode's last obs)", step, i, s.FinalObs[i], wantFinal)
			}
			wantEpisodes = append(wantEpisodes, envs.Episode{
				EnvIndex: i, Return: float64(sm.t * (sm.t + 1) / 2), Length: sm.t, Terminated: true,
			})
			*sm = sim{sm.episode + 1, 0, -1}
			wantObs := []float32{e.id, float32(sm.episode), 0, -1}
			if got := segment(v, i); !slices.Equal(got, wantObs) {
				t.Errorf("step %d: Obs()[sub-env %d] = %v; want %v (the new episode's first obs)", step, i, got, wantObs)
			}
			if got := e.seeds[len(e.seeds)-1]; got != -1 {
				t.Errorf("step %d: sub-env %d auto-reset with seed %d; want nil", step, i, got)
			}
		}
		if !slices.Equal(s.Episodes, wantEpisodes) {
			t.Errorf("step %d: Episodes = %+v; want %+v", step, s.Episodes, wantEpisodes)
		}
	}
	// 7 steps: sub-env 0 finished 3 episodes, sub-env 1 two, sub-env 2 none.
	for i, want := range []int{4, 3, 1} {
		if es[i].resets != want {
			t.Errorf("sub-env %d was reset %d times; want %d", i, es[i].resets, want)
		}
	}
}

func TestVectorEnvTruncation(t *testing.T) {
	tests := []struct {
		name                 string
		env                  *counterEnv
		length               int
		terminated, truncted bool
	}{
		{"truncated", &counterEnv{truncAt: 2}, 2, false, true},
		{"terminated", &counterEnv{k: 2}, 2, true, false},
		{"both", &counterEnv{k: 3, truncAt: 3}, 3, true, true},
	}
	for _, tt := range tests {
		v := newVector(t, tt.env)
		if err := v.Reset(0); err != nil {
			t.Fatal(err)
		}
		for step := 1; step <= tt.length; step++ {
			s, err := v.Step(actions(1))
			if err != nil {
				t.Fatal(err)
			}
			last := step == tt.length
			if s.Terminated[0] != (last && tt.terminated) || s.Truncated[0] != (last && tt.truncted) {
				t.Errorf("%s: step %d: Terminated, Truncated = %v, %v; want %v, %v",
					tt.name, step, s.Terminated[0], s.Truncated[0], last && tt.terminated, last && tt.truncted)
			}
			if (s.FinalObs[0] != nil) != last {
				t.Errorf("%s: step %d: FinalObs[0] = %v; want non-nil only on step %d", tt.name, step, s.FinalObs[0], tt.length)
			}
			var want []envs.Episode
			if last {
				want = []envs.Episode{{EnvIndex: 0, Return: float64(step * (step + 1) / 2), Length: step,
					Terminated: tt.terminated, Truncated: tt.truncted}}
			}
			if !slices.Equal(s.Episodes, want) {
				t.Errorf("%s: step %d: Episodes = %+v; want %+v", tt.name, step, s.Episodes, want)
			}
		}
	}
}

// TestVectorEnvResetClearsEpisode: an episode cut short by Reset is dropped,
// and the next one's Return and Length count from the Reset.
func TestVectorEnvResetClearsEpisode(t *testing.T) {
	e := &counterEnv{k: 3}
	v := newVector(t, e)
	if err := v.Reset(0); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := v.Step(actions(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Reset(1); err != nil {
		t.Fatal(err)
	}
	var s *envs.VectorStep
	for step := 1; step <= 3; step++ {
		var err error
		if s, err = v.Step(actions(1)); err != nil {
			t.Fatal(err)
		}
		if step < 3 && len(s.Episodes) != 0 {
			t.Errorf("step %d after Reset: Episodes = %+v; want none", step, s.Episodes)
		}
	}
	want := []envs.Episode{{EnvIndex: 0, Return: 6, Length: 3, Terminated: true}}
	if !slices.Equal(s.Episodes, want) {
		t.Errorf("Episodes = %+v; want %+v", s.Episodes, want)
	}
}

// TestVectorEnvStepErrors makes sub-env 1 of 3 misbehave on its 2nd step.
func TestVectorEnvStepErrors(t *testing.T) {
	tests := []struct {
		kind     failKind
		panicked bool
		wrapped  error // want errors.Is(err, wrapped)
		contains string
	}{
		{failErr, false, errFake, "env 1 failed at step 2"},
		{failPanic, true, nil, "env 1 panicked at step 2: counter boom"},
		{failNaNObs, false, envs.ErrNonFinite, "NaN"},
		{failInfObs, false, envs.ErrNonFinite, "Inf"},
		{failNaNReward, false, envs.ErrNonFinite, "reward"},
		{failInfReward, false, envs.ErrNonFinite, "reward"},
		{failObsLen, false, nil, "3 values, want 4"},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			bad := &counterEnv{id: 1, stepFail: tt.kind, stepFailAt: 2}
			v := newVector(t, &counterEnv{}, bad, &counterEnv{})
			if err := v.Reset(0); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Step(actions(3)); err != nil {
				t.Fatalf("Step 1 error: %v", err)
			}
			s, err := v.Step(actions(3))
			checkEnvError(t, "Step 2", s, err, 1, 2, tt.panicked, tt.wrapped, tt.contains)
		})
	}
}

// checkEnvError checks that err is an *envs.EnvError with the given fields.
func checkEnvError(t *testing.T, call string, s *envs.VectorStep, err error, index int, step int64, panicked bool, wrapped error, contains string) {
	t.Helper()
	if s != nil {
		t.Errorf("%s = %v, %v; want a nil VectorStep with the error", call, s, err)
	}
	var ee *envs.EnvError
	if !errors.As(err, &ee) {
		t.Fatalf("%s error = %v (%T); want an *envs.EnvError", call, err, err)
	}
	if ee.EnvIndex != index || ee.Step != step || ee.Panicked != panicked {
		t.Errorf("%s error = {EnvIndex: %d, Step: %d, Panicked: %v}; want {%d, %d, %v}",
			call, ee.EnvIndex, ee.Step, ee.Panicked, index, step, panicked)
	}
	if wrapped != nil && !errors.Is(err, wrapped) {
		t.Errorf("%s error = %v; want one wrapping %v", call, err, wrapped)
	}
	if wrapped != envs.ErrNonFinite && errors.Is(err, envs.ErrNonFinite) {
		t.Errorf("%s error = %v; want one not wrapping ErrNonFinite", call, err)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Errorf("%s error = %q; want it to contain %q", call, err, contains)
	}
}

// TestVectorEnvResetErrors makes sub-env 2 of 3 misbehave in its first
// Reset (from VectorEnv.Reset) or its second (the auto-reset after its
// one-step episode).
func TestVectorEnvResetErrors(t *testing.T) {
	tests := []struct {
		kind     failKind
		panicked bool
		wrapped  error
		contains string
	}{
		{failErr, false, errFake, "env 2 failed"},
		{failPanic, true, nil, "counter boom"},
		{failNaNObs, false, envs.ErrNonFinite, "NaN"},
		{failInfObs, false, envs.ErrNonFinite, "Inf"},
		{failObsLen, false, nil, "3 values, want 4"},
	}
	for _, tt := range tests {
		t.Run("reset/"+tt.kind.String(), func(t *testing.T) {
			bad := &counterEnv{resetFail: tt.kind, resetFailAt: 1}
			v := newVector(t, &counterEnv{}, &counterEnv{}, bad)
			err := v.Reset(0)
			checkEnvError(t, "Reset(0)", nil, err, 2, 0, tt.panicked, tt.wrapped, tt.contains)
		})
		t.Run("auto-reset/"+tt.kind.String(), func(t *testing.T) {
			bad := &counterEnv{k: 1, resetFail: tt.kind, resetFailAt: 2}
			v := newVector(t, &counterEnv{}, &counterEnv{}, bad)
			if err := v.Reset(0); err != nil {
				t.Fatal(err)
			}
			s, err := v.Step(actions(3))
			checkEnvError(t, "Step 1", s, err, 2, 1, tt.panicked, tt.wrapped, tt.contains)
		})
	}
}

// TestVectorEnvErrorStepCountsFromReset: EnvError.Step counts the steps
// since the last Reset.
func TestVectorEnvErrorStepCountsFromReset(t *testing.T) {
	bad := &counterEnv{stepFail: failErr, stepFailAt: 5}
	v := newVector(t, bad)
	if err := v.Reset(0); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := v.Step(actions(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Reset(0); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Step(actions(1)); err != nil {
		t.Fatal(err)
	}
	s, err := v.Step(actions(1))
	checkEnvError(t, "Step 2 after Reset", s, err, 0, 2, false, errFake, "env 0 failed at step 2")
}

func TestVectorEnvWrongActionCount(t *testing.T) {
	v := newVector(t, &counterEnv{}, &counterEnv{})
	if err := v.Reset(0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 3} {
		s, err := v.Step(actions(n))
		var ee *envs.EnvError
		if err == nil || errors.As(err, &ee) || s != nil {
			t.Errorf("Step(%d actions) = %v, %v; want nil and a non-EnvError error", n, s, err)
		}
	}
}

func TestVectorEnvResetEnv(t *testing.T) {
	old := &counterEnv{id: 1}
	v := newVector(t, &counterEnv{id: 0}, old)
	if err := v.Reset(0); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Step(actions(2)); err != nil {
		t.Fatal(err)
	}
	repl := &counterEnv{id: 9, k: 2}
	if err := v.ResetEnv(1, repl, 55); err != nil {
		t.Fatalf("ResetEnv error: %v", err)
	}
	if v.Env(1) != envs.Env(repl) {
		t.Errorf("Env(1) = %v; want the replacement", v.Env(1))
	}
	if want := []float32{9, 1, 0, 55}; !slices.Equal(segment(v, 1), want) {
		t.Errorf("Obs()[sub-env 1] = %v; want %v", segment(v, 1), want)
	}
	// The replacement's episode counts from its reset.
	var s *envs.VectorStep
	for range 2 {
		var err error
		if s, err = v.Step(actions(2)); err != nil {
			t.Fatal(err)
		}
	}
	want := []envs.Episode{{EnvIndex: 1, Return: 3, Length: 2, Terminated: true}}
	if !slices.Equal(s.Episodes, want) {
		t.Errorf("Episodes = %+v; want %+v", s.Episodes, want)
	}
	if old.steps != 1 {
		t.Errorf("the replaced env was stepped %d times; want 1", old.steps)
	}
	bad := &counterEnv{resetFail: failErr, resetFailAt: 1}
	err := v.ResetEnv(0, bad, 3)
	checkEnvError(t, "ResetEnv(0, failing env)", nil, err, 0, 3, false, errFake, "env 0 failed")
}

func TestVectorEnvClose(t *testing.T) {
	errA, errB := errors.New("close a"), errors.New("close b")
	es := []*counterEnv{{}, {closeErr: errA}, {closeErr: errB}}
	v := newVector(t, es...)
	err := v.Close()
	if !errors.Is(err, errA) || !strings.Contains(err.Error(), "env 1") {
		t.Errorf("Close() = %v; want the first error (env 1's %v)", err, errA)
	}
	for i, e := range es {
		if e.closed != 1 {
			t.Errorf("sub-env %d closed %d times; want 1", i, e.closed)
		}
	}
	if err := newVector(t, &counterEnv{}).Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
}

func TestEnvErrorError(t *testing.T) {
	tests := []struct {
		err  *envs.EnvError
		want string
	}{
		{&envs.EnvError{EnvIndex: 3, Step: 17, Err: errFake}, "env 3 failed at step 17: " + errFake.Error()},
		{&envs.EnvError{EnvIndex: 0, Step: 0, Panicked: true, Err: fmt.Errorf("boom")}, "env 0 panicked at step 0: boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
		if got := tt.err.Unwrap(); got != tt.err.Err {
			t.Errorf("Unwrap() = %v; want %v", got, tt.err.Err)
		}
	}
}
