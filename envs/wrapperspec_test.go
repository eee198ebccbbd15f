package envs_test

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic"
)

// makePendulum makes Pendulum-v1 (Box observations and actions) with a
// short time limit, so that episodes end within a test.
func makePendulum(t *testing.T, limit int) envs.Env {
	t.Helper()
	e, err := envs.Make("Pendulum-v1", envs.Options{envs.MaxEpisodeStepsOption: limit})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// chainTypes lists the types of env's wrappers, outermost first, down to
// (and including) the innermost env.
func chainTypes(env envs.Env) []string {
	var out []string
	for env != nil {
		out = append(out, fmt.Sprintf("%T", env))
		w, ok := env.(envs.Wrapper)
		if !ok {
			break
		}
		env = w.Unwrap()
	}
	return out
}

// TestWrapSpecBuildsEveryWrapper proves that every name in
// envs.WrapperNames builds through Wrap (and passes Validate) with valid
// options, that the options reach the wrapper, and that the result steps.
func TestWrapSpecBuildsEveryWrapper(t *testing.T) {
	tests := []struct {
		spec envs.WrapperSpec
		// check inspects the wrapped env (nil: only the outer type is checked).
		outer string
		check func(t *testing.T, env envs.Env)
	}{
		{spec: envs.WrapperSpec{Name: envs.WrapClipAction}, outer: "*envs.ClipAction"},
		{spec: envs.WrapperSpec{Name: envs.WrapFrameStack}, outer: "*envs.FrameStack", check: func(t *testing.T, env envs.Env) {
			if fs := env.(*envs.FrameStack); fs.N != 4 {
				t.Errorf("frame_stack default n = %d, want 4", fs.N)
			}
		}},
		{spec: envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"n": 3, "padding": "zero"}}, outer: "*envs.FrameStack", check: func(t *testing.T, env envs.Env) {
			box := env.ObservationSpace().(*envs.Box)
			if fs := env.(*envs.FrameStack); fs.N != 3 || !slices.Equal(box.Shape(), []int{3, 3}) {
				t.Errorf("frame_stack n=3: N = %d, shape %v; want 3, [3 3]", fs.N, box.Shape())
			}
			obs := mustReset(t, env)
			if !slices.Equal(obs[:6], make([]float32, 6)) {
				t.Errorf("padding zero: older frames %v, want zeros", obs[:6])
			}
		}},
		{spec: envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"n": 2.0, "padding": "reset"}}, outer: "*envs.FrameStack"},
		{spec: envs.WrapperSpec{Name: envs.WrapNormalizeObservation, Options: envs.Options{"clip": 5, "epsilon": 1e-6}}, outer: "*envs.NormalizeObservation", check: func(t *testing.T, env envs.Env) {
			n := env.(*envs.NormalizeObservation)
			if n.Clip != 5 || n.Epsilon != 1e-6 {
				t.Errorf("normalize_observation clip, epsilon = %v, %v; want 5, 1e-6", n.Clip, n.Epsilon)
			}
		}},
		{spec: envs.WrapperSpec{Name: envs.WrapNormalizeObservation}, outer: "*envs.NormalizeObservation", check: func(t *testing.T, env envs.Env) {
			n := env.(*envs.NormalizeObservation)
			if n.Clip != envs.DefaultNormalizeClip || n.Epsilon != envs.DefaultNormalizeEpsilon {
				t.Errorf("normalize_observation defaults clip, epsilon = %v, %v; want 10, 1e-8", n.Clip, n.Epsilon)
			}
		}},
		{spec: envs.WrapperSpec{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": 0.9, "epsilon": 1e-4}}, outer: "*envs.NormalizeReward", check: func(t *testing.T, env envs.Env) {
			if n := env.(*envs.NormalizeReward); n.Epsilon != 1e-4 {
				t.Errorf("normalize_reward epsilon = %v, want 1e-4", n.Epsilon)
			}
		}},
		// With clip, normalize_reward is a NormalizeReward inside a TransformReward.
		{spec: envs.WrapperSpec{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": 1, "clip": 0.001}}, outer: "*envs.TransformReward", check: func(t *testing.T, env envs.Env) {
			if _, ok := envs.Find[*envs.NormalizeReward](env); !ok {
				t.Error("normalize_reward with clip has no NormalizeReward in its chain")
			}
			mustReset(t, env)
			for range 5 {
				if r := mustStep(t, env, envs.ContinuousAction(2)).Reward; math.Abs(r) > 0.001 {
					t.Errorf("normalize_reward clip 0.001 gave reward %v", r)
				}
			}
		}},
		{spec: envs.WrapperSpec{Name: envs.WrapTransformReward, Options: envs.Options{"scale": -2, "clip": 0.5}}, outer: "*envs.TransformReward", check: func(t *testing.T, env envs.Env) {
			mustReset(t, env)
			// Pendulum's rewards are ≤ 0, so -2·r is ≥ 0, then clipped to 0.5.
			for range 5 {
				if r := mustStep(t, env, envs.ContinuousAction(2)).Reward; r < 0 || r > 0.5 {
					t.Errorf("transform_reward scale -2 clip 0.5 gave reward %v, want in [0, 0.5]", r)
				}
			}
		}},
		{spec: envs.WrapperSpec{Name: envs.WrapEpisodeStatistics}, outer: "*envs.EpisodeStatistics"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v", tt.spec.Name, tt.spec.Options), func(t *testing.T) {
			covered[tt.spec.Name] = true
			if err := tt.spec.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			env, err := envs.Wrap(makePendulum(t, 20), []envs.WrapperSpec{tt.spec})
			if err != nil {
				t.Fatalf("Wrap = %v", err)
			}
			defer env.Close()
			if got := fmt.Sprintf("%T", env); got != tt.outer {
				t.Fatalf("Wrap made %s (chain %v), want %s", got, chainTypes(env), tt.outer)
			}
			if tt.check != nil {
				tt.check(t, env)
			}
			mustReset(t, env)
			for range 3 {
				r := mustStep(t, env, envs.ContinuousAction(0.5))
				if len(r.Obs) != env.ObservationSpace().(*envs.Box).Size() {
					t.Errorf("observation of %d values, space of %d", len(r.Obs), env.ObservationSpace().(*envs.Box).Size())
				}
			}
		})
	}
	for _, name := range envs.WrapperNames {
		if !covered[name] {
			t.Errorf("wrapper %q is not covered by this test", name)
		}
	}
}

// TestWrapSpecRejectsBadSpecs proves that Validate, Wrap and MakeWrapped
// reject an unknown wrapper, an unknown option, an option of the wrong
// type and an out-of-range option, with a message naming the culprit.
func TestWrapSpecRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		name string
		spec envs.WrapperSpec
		want []string // substrings of the error
	}{
		{"unknown wrapper", envs.WrapperSpec{Name: "normalise_reward"}, []string{`unknown wrapper "normalise_reward"`, "normalize_reward"}},
		{"empty name", envs.WrapperSpec{}, []string{`unknown wrapper ""`}},
		{"clip_action option", envs.WrapperSpec{Name: envs.WrapClipAction, Options: envs.Options{"low": -1}}, []string{"unknown option", "low"}},
		{"frame_stack unknown option", envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"size": 4}}, []string{"unknown option", "size", "known: n, padding"}},
		{"frame_stack n string", envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"n": "four"}}, []string{"option n", "want a number"}},
		{"frame_stack n zero", envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"n": 0}}, []string{"option n", "[1, 1024]"}},
		{"frame_stack n fraction", envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"n": 2.5}}, []string{"option n", "integer"}},
		{"frame_stack n huge", envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"n": 1025}}, []string{"option n"}},
		{"frame_stack padding", envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"padding": "edge"}}, []string{"option padding", "edge"}},
		{"frame_stack padding type", envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"padding": 1}}, []string{"option padding"}},
		{"normalize_observation unknown option", envs.WrapperSpec{Name: envs.WrapNormalizeObservation, Options: envs.Options{"gamma": 0.9}}, []string{"unknown option", "gamma"}},
		{"normalize_observation clip type", envs.WrapperSpec{Name: envs.WrapNormalizeObservation, Options: envs.Options{"clip": "ten"}}, []string{"option clip", "want a number"}},
		{"normalize_observation clip negative", envs.WrapperSpec{Name: envs.WrapNormalizeObservation, Options: envs.Options{"clip": -1}}, []string{"clip -1"}},
		{"normalize_observation clip infinite", envs.WrapperSpec{Name: envs.WrapNormalizeObservation, Options: envs.Options{"clip": math.Inf(1)}}, []string{"clip +Inf"}},
		{"normalize_observation epsilon zero", envs.WrapperSpec{Name: envs.WrapNormalizeObservation, Options: envs.Options{"epsilon": 0}}, []string{"epsilon 0"}},
		{"normalize_reward gamma high", envs.WrapperSpec{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": 1.5}}, []string{"option gamma", "[0, 1]"}},
		{"normalize_reward gamma NaN", envs.WrapperSpec{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": math.NaN()}}, []string{"option gamma"}},
		{"normalize_reward gamma type", envs.WrapperSpec{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": true}}, []string{"option gamma", "want a number"}},
		{"normalize_reward clip negative", envs.WrapperSpec{Name: envs.WrapNormalizeReward, Options: envs.Options{"clip": -10}}, []string{"clip -10"}},
		{"normalize_reward unknown option", envs.WrapperSpec{Name: envs.WrapNormalizeReward, Options: envs.Options{"scale": 1}}, []string{"unknown option", "scale"}},
		{"transform_reward scale NaN", envs.WrapperSpec{Name: envs.WrapTransformReward, Options: envs.Options{"scale": math.NaN()}}, []string{"scale NaN"}},
		{"transform_reward scale type", envs.WrapperSpec{Name: envs.WrapTransformReward, Options: envs.Options{"scale": "x"}}, []string{"option scale", "want a number"}},
		{"transform_reward clip negative", envs.WrapperSpec{Name: envs.WrapTransformReward, Options: envs.Options{"clip": -1}}, []string{"clip -1"}},
		{"episode_statistics option", envs.WrapperSpec{Name: envs.WrapEpisodeStatistics, Options: envs.Options{"deque_size": 100}}, []string{"unknown option", "deque_size"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Errorf("%s accepted %+v", what, tt.spec)
					return
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s = %q; want it to contain %q", what, err, w)
					}
				}
			}
			check("Validate", tt.spec.Validate())
			env := makePendulum(t, 20)
			w, err := envs.Wrap(env, []envs.WrapperSpec{{Name: envs.WrapClipAction}, tt.spec})
			check("Wrap", err)
			if err == nil {
				w.Close()
			} else if !strings.Contains(err.Error(), "wrapper 1") {
				t.Errorf("Wrap = %q; want it to name the wrapper's position (wrapper 1)", err)
			}
			_, err = envs.MakeWrapped("Pendulum-v1", nil, []envs.WrapperSpec{tt.spec})
			check("MakeWrapped", err)
			if err != nil && !strings.Contains(err.Error(), "Pendulum-v1") {
				t.Errorf("MakeWrapped = %q; want it to name the env", err)
			}
		})
	}
}

// TestWrapSpecOrder proves that the first spec is innermost, and that an
// EpisodeStatistics is put innermost exactly when a reward-changing
// wrapper has no episode statistics inside it.
func TestWrapSpecOrder(t *testing.T) {
	stack := envs.WrapperSpec{Name: envs.WrapFrameStack, Options: envs.Options{"n": 2}}
	tests := []struct {
		name  string
		specs []envs.WrapperSpec
		want  []string // outermost first
	}{
		{"none", nil, []string{"*envs.TimeLimit", "*classic.Pendulum"}},
		{"frame_stack then clip_action", []envs.WrapperSpec{stack, {Name: envs.WrapClipAction}},
			[]string{"*envs.ClipAction", "*envs.FrameStack", "*envs.TimeLimit", "*classic.Pendulum"}},
		{"frame_stack then transform_reward", []envs.WrapperSpec{stack, {Name: envs.WrapTransformReward, Options: envs.Options{"scale": 0.1}}},
			[]string{"*envs.TransformReward", "*envs.FrameStack", "*envs.EpisodeStatistics", "*envs.TimeLimit", "*classic.Pendulum"}},
		{"normalize_reward then frame_stack", []envs.WrapperSpec{{Name: envs.WrapNormalizeReward}, stack},
			[]string{"*envs.FrameStack", "*envs.NormalizeReward", "*envs.EpisodeStatistics", "*envs.TimeLimit", "*classic.Pendulum"}},
		{"episode_statistics inside the reward wrapper: none added", []envs.WrapperSpec{{Name: envs.WrapEpisodeStatistics}, {Name: envs.WrapNormalizeReward}},
			[]string{"*envs.NormalizeReward", "*envs.EpisodeStatistics", "*envs.TimeLimit", "*classic.Pendulum"}},
		{"no reward wrapper: none added", []envs.WrapperSpec{{Name: envs.WrapNormalizeObservation}, {Name: envs.WrapClipAction}},
			[]string{"*envs.ClipAction", "*envs.NormalizeObservation", "*envs.TimeLimit", "*classic.Pendulum"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := envs.Wrap(makePendulum(t, 20), tt.specs)
			if err != nil {
				t.Fatal(err)
			}
			defer env.Close()
			if got := chainTypes(env); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chain = %v, want %v", got, tt.want)
			}
		})
	}
	// The frame stack inside a reward wrapper still stacks: the reward
	// wrapper passes the stacked observation through.
	env, err := envs.Wrap(makePendulum(t, 20), []envs.WrapperSpec{stack, {Name: envs.WrapNormalizeReward}})
	if err != nil {
		t.Fatal(err)
	}
	obs := mustReset(t, env)
	if len(obs) != 6 || !slices.Equal(obs[:3], obs[3:]) {
		t.Errorf("reset observation %v; want two equal stacked frames of 3", obs)
	}
}

// TestVectorEnvReturnsRawUnderRewardWrappers proves that a VectorEnv over
// envs wrapped with normalize_reward (or transform_reward) reports each
// episode's return and length as the env itself earned them, while the
// step rewards it returns are the wrapped ones.
func TestVectorEnvReturnsRawUnderRewardWrappers(t *testing.T) {
	const n, limit, steps = 2, 15, 40
	build := func(specs []envs.WrapperSpec) *envs.VectorEnv {
		t.Helper()
		list := make([]envs.Env, n)
		for i := range list {
			e, err := envs.MakeWrapped("Pendulum-v1", envs.Options{envs.MaxEpisodeStepsOption: limit}, specs)
			if err != nil {
				t.Fatal(err)
			}
			list[i] = e
		}
		v, err := envs.NewVectorEnv(list)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Reset(3); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	}
	// run steps v with a fixed action sequence and returns the episodes
	// and the step rewards.
	run := func(v *envs.VectorEnv) ([]envs.Episode, []float64) {
		var eps []envs.Episode
		var rewards []float64
		acts := make([]envs.Action, n)
		for s := range steps {
			for i := range acts {
				acts[i] = envs.ContinuousAction(float32(math.Sin(float64(s+i))) * 2)
			}
			st, err := v.Step(acts)
			if err != nil {
				t.Fatal(err)
			}
			eps = append(eps, st.Episodes...)
			rewards = append(rewards, st.Rewards...)
		}
		return eps, rewards
	}
	rawEps, rawRewards := run(build(nil))
	if len(rawEps) != n*(steps/limit) {
		t.Fatalf("raw run finished %d episodes, want %d", len(rawEps), n*(steps/limit))
	}
	tests := []struct {
		name  string
		specs []envs.WrapperSpec
	}{
		{"normalize_reward", []envs.WrapperSpec{{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": 0.9}}}},
		{"normalize_reward clipped", []envs.WrapperSpec{{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": 0.99, "clip": 1}}}},
		{"transform_reward", []envs.WrapperSpec{{Name: envs.WrapTransformReward, Options: envs.Options{"scale": 0.01}}}},
		{"clip_action and normalize_reward", []envs.WrapperSpec{{Name: envs.WrapClipAction}, {Name: envs.WrapNormalizeReward}}},
		// An outer episode_statistics keeps the inner record Wrap inserted.
		{"normalize_reward then episode_statistics", []envs.WrapperSpec{{Name: envs.WrapNormalizeReward}, {Name: envs.WrapEpisodeStatistics}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps, rewards := run(build(tt.specs))
			if len(eps) != len(rawEps) {
				t.Fatalf("%d episodes, want %d", len(eps), len(rawEps))
			}
			for i := range eps {
				if eps[i].Return != rawEps[i].Return || eps[i].Length != rawEps[i].Length || eps[i].EnvIndex != rawEps[i].EnvIndex {
					t.Errorf("episode %d = %+v; want the raw env's %+v", i, eps[i], rawEps[i])
				}
			}
			// The wrapper is active: the step rewards are not the raw ones.
			var sum, rawSum float64
			for i := range rewards {
				sum += rewards[i]
				rawSum += rawRewards[i]
			}
			if sum == rawSum || slices.Equal(rewards, rawRewards) {
				t.Errorf("step rewards equal the raw ones (sum %v): the reward wrapper did nothing", sum)
			}
		})
	}
}
