package envs_test

import (
	"math"
	"slices"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

// scriptEnv is a deterministic env for wrapper tests: after Reset its
// observation is obs(0), after step t it is obs(t), where obs(t) = (t, 10+t)
// unless obsFn is set. Step t gives reward rewards[t-1] (or t), info
// {"t": t} in one map it reuses, and terminates at step k (0: never). It
// records the actions it gets and reuses its observation buffer.
type scriptEnv struct {
	k       int
	rewards []float64
	obsFn   func(t int) []float32
	space   *envs.Box
	act     envs.Space

	t       int
	actions []envs.Action
	buf     []float32
	info    envs.Info
}

func newScriptEnv(k int) *scriptEnv {
	return &scriptEnv{k: k, space: envs.UniformBox(2, -1000, 1000), act: envs.Discrete{N: 2}, info: envs.Info{}}
}

func (s *scriptEnv) ObservationSpace() envs.Space { return s.space }
func (s *scriptEnv) ActionSpace() envs.Space      { return s.act }
func (s *scriptEnv) Close() error                 { return nil }

func (s *scriptEnv) observe() []float32 {
	if s.obsFn != nil {
		s.buf = append(s.buf[:0], s.obsFn(s.t)...)
	} else {
		s.buf = append(s.buf[:0], float32(s.t), float32(10+s.t))
	}
	return s.buf
}

func (s *scriptEnv) Reset(*uint64) ([]float32, envs.Info, error) {
	s.t = 0
	return s.observe(), nil, nil
}

func (s *scriptEnv) Step(a envs.Action) (envs.StepResult, error) {
	a.Continuous = slices.Clone(a.Continuous)
	s.actions = append(s.actions, a)
	s.t++
	reward := float64(s.t)
	if s.t <= len(s.rewards) {
		reward = s.rewards[s.t-1]
	}
	s.info["t"] = s.t
	return envs.StepResult{Obs: s.observe(), Reward: reward, Terminated: s.k > 0 && s.t >= s.k, Info: s.info}, nil
}

func mustReset(t *testing.T, env envs.Env) []float32 {
	t.Helper()
	obs, _, err := env.Reset(envs.Seed(1))
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	return obs
}

func mustStep(t *testing.T, env envs.Env, a envs.Action) envs.StepResult {
	t.Helper()
	r, err := env.Step(a)
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	return r
}

func TestFind(t *testing.T) {
	inner := newScriptEnv(0)
	tl := envs.NewTimeLimit(inner, 5)
	es := envs.NewEpisodeStatistics(tl)
	fs, err := envs.NewFrameStack(es, 2, envs.PadReset)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := envs.Find[*envs.TimeLimit](fs); !ok || got != tl {
		t.Errorf("Find[*TimeLimit] = %v, %v; want the TimeLimit", got, ok)
	}
	if got, ok := envs.Find[*envs.FrameStack](fs); !ok || got != fs {
		t.Errorf("Find[*FrameStack] = %v, %v; want the env itself", got, ok)
	}
	if got, ok := envs.Find[*scriptEnv](fs); !ok || got != inner {
		t.Errorf("Find[*scriptEnv] = %v, %v; want the innermost env", got, ok)
	}
	if _, ok := envs.Find[*envs.NormalizeObservation](fs); ok {
		t.Error("Find[*NormalizeObservation] found one in a chain without it")
	}
	if envs.Unwrapped(fs) != inner {
		t.Error("Unwrapped does not see through the wrappers")
	}
}

func TestClipAction(t *testing.T) {
	inner := newScriptEnv(0)
	inner.act = envs.NewBox([]float32{-1, -2}, []float32{1, 0.5})
	env, err := envs.NewClipAction(inner)
	if err != nil {
		t.Fatal(err)
	}
	if env.ActionSpace() != inner.act {
		t.Errorf("ActionSpace = %v, want the wrapped env's %v", env.ActionSpace(), inner.act)
	}
	mustReset(t, env)
	a := []float32{3, -5}
	mustStep(t, env, envs.ContinuousAction(a...))
	mustStep(t, env, envs.ContinuousAction(0.25, 0.125))
	mustStep(t, env, envs.ContinuousAction(1, 2, 3)) // wrong length: passed through
	want := [][]float32{{1, -2}, {0.25, 0.125}, {1, 2, 3}}
	for i, w := range want {
		if got := inner.actions[i].Continuous; !slices.Equal(got, w) {
			t.Errorf("action %d reached the env as %v, want %v", i, got, w)
		}
	}
	if !slices.Equal(a, []float32{3, -5}) {
		t.Errorf("ClipAction modified the caller's action: %v", a)
	}
	if _, err := envs.NewClipAction(newScriptEnv(0)); err == nil {
		t.Error("NewClipAction accepted a Discrete action space")
	}
}

func TestFrameStackPadReset(t *testing.T) {
	inner := newScriptEnv(0)
	env, err := envs.NewFrameStack(inner, 3, envs.PadReset)
	if err != nil {
		t.Fatal(err)
	}
	box := env.ObservationSpace().(*envs.Box)
	if !slices.Equal(box.Shape(), []int{3, 2}) || box.Size() != 6 || box.Low[5] != -1000 || box.High[4] != 1000 {
		t.Errorf("observation space %v, want Box(-1000, 1000, [3 2])", box)
	}
	// Gymnasium 1.0 FrameStackObservation(env, 3) (padding_type="reset"):
	// reset repeats the first observation, each step drops the oldest frame.
	want := [][]float32{
		{0, 10, 0, 10, 0, 10},
		{0, 10, 0, 10, 1, 11},
		{0, 10, 1, 11, 2, 12},
		{1, 11, 2, 12, 3, 13},
		{2, 12, 3, 13, 4, 14},
	}
	got := [][]float32{slices.Clone(mustReset(t, env))}
	for range 4 {
		got = append(got, slices.Clone(mustStep(t, env, envs.DiscreteAction(0)).Obs))
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("observation %d = %v, want %v", i, got[i], want[i])
		}
		if !box.Contains(got[i]) {
			t.Errorf("observation %d = %v is outside the stacked space", i, got[i])
		}
	}
	if !slices.Equal(inner.buf, []float32{4, 14}) {
		t.Errorf("FrameStack wrote into the wrapped env's buffer: %v", inner.buf)
	}
	// A new episode starts from a full stack of its own first observation.
	if got := mustReset(t, env); !slices.Equal(got, want[0]) {
		t.Errorf("second reset = %v, want %v", got, want[0])
	}
}

func TestFrameStackPadZero(t *testing.T) {
	inner := newScriptEnv(0)
	// Zero lies outside element 1's bounds: Gymnasium's create_zero_array
	// moves it to the nearest bound, 5.
	inner.space = envs.NewBox([]float32{-1, 5}, []float32{100, 100})
	env, err := envs.NewFrameStack(inner, 3, envs.PadZero)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{
		{0, 5, 0, 5, 0, 10},
		{0, 5, 0, 10, 1, 11},
		{0, 10, 1, 11, 2, 12},
	}
	got := [][]float32{slices.Clone(mustReset(t, env))}
	for range 2 {
		got = append(got, slices.Clone(mustStep(t, env, envs.DiscreteAction(0)).Obs))
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("observation %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestFrameStackOne(t *testing.T) {
	env, err := envs.NewFrameStack(newScriptEnv(0), 1, envs.PadReset)
	if err != nil {
		t.Fatal(err)
	}
	mustReset(t, env)
	if got := mustStep(t, env, envs.DiscreteAction(0)).Obs; !slices.Equal(got, []float32{1, 11}) {
		t.Errorf("FrameStack(1) step = %v, want [1 11]", got)
	}
	if _, err := envs.NewFrameStack(newScriptEnv(0), 0, envs.PadReset); err == nil {
		t.Error("NewFrameStack accepted a stack of 0")
	}
}

func TestEpisodeStatistics(t *testing.T) {
	inner := newScriptEnv(3)
	env := envs.NewEpisodeStatistics(envs.NewTimeLimit(inner, 5))
	for episode := range 2 {
		mustReset(t, env)
		var r envs.StepResult
		for step := 1; step <= 3; step++ {
			r = mustStep(t, env, envs.DiscreteAction(0))
			_, has := r.Info[envs.EpisodeInfoKey]
			if has != (step == 3) {
				t.Errorf("episode %d step %d: info has %q = %v", episode, step, envs.EpisodeInfoKey, has)
			}
		}
		st, ok := r.Info[envs.EpisodeInfoKey].(envs.EpisodeStats)
		if !ok {
			t.Fatalf("info[%q] = %#v, want an EpisodeStats", envs.EpisodeInfoKey, r.Info[envs.EpisodeInfoKey])
		}
		if st.Return != 6 || st.Length != 3 || st.Time < 0 {
			t.Errorf("episode %d: stats %+v, want return 1+2+3 = 6, length 3", episode, st)
		}
		if r.Info["t"] != 3 {
			t.Errorf("the env's own info was lost: %v", r.Info)
		}
		if _, ok := inner.info[envs.EpisodeInfoKey]; ok {
			t.Error("EpisodeStatistics wrote into the wrapped env's info map")
		}
	}
	// A truncated episode is recorded too.
	inner.k = 0
	mustReset(t, env)
	var r envs.StepResult
	for range 5 {
		r = mustStep(t, env, envs.DiscreteAction(0))
	}
	if st, ok := r.Info[envs.EpisodeInfoKey].(envs.EpisodeStats); !ok || st.Return != 15 || st.Length != 5 || !r.Truncated {
		t.Errorf("truncated episode: info %v truncated %v, want return 15 length 5", r.Info, r.Truncated)
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*max(1, math.Abs(b)) }

func TestRunningMeanStdUpdate(t *testing.T) {
	r := envs.NewRunningMeanStd(2)
	if r.Count != 0 || r.Mean[0] != 0 || r.Var[1] != 1 {
		t.Errorf("new statistics %+v, want count 0, mean 0, var 1", r)
	}
	r.Update([]float32{1, 10, 3, 30}) // rows (1, 10), (3, 30)
	if r.Count != 2 || r.Mean[0] != 2 || r.Mean[1] != 20 || r.Var[0] != 1 || r.Var[1] != 100 {
		t.Errorf("after (1,10),(3,30): %+v, want mean (2, 20), var (1, 100), count 2", r)
	}
	r.Update([]float32{5, 50})
	// (1, 3, 5): mean 3, population variance (4+0+4)/3; (10, 30, 50): mean 30, variance 800/3.
	if r.Count != 3 || !near(r.Mean[0], 3, 1e-15) || !near(r.Mean[1], 30, 1e-15) || !near(r.Var[0], 8.0/3, 1e-15) || !near(r.Var[1], 800.0/3, 1e-15) {
		t.Errorf("after (5, 50): %+v, want mean (3, 30), var (8/3, 800/3), count 3", r)
	}
	defer func() {
		if recover() == nil {
			t.Error("Update with a partial vector did not panic")
		}
	}()
	r.Update([]float32{1, 2, 3})
}

func TestRunningMeanStdMerge(t *testing.T) {
	rng := envs.NewRand(3, 0)
	const dim = 3
	data := make([]float32, 0, 3000)
	for range 1000 {
		data = append(data, float32(rng.NormFloat64()*5+2), float32(rng.Float64()), float32(rng.ExpFloat64()*100))
	}
	all := envs.NewRunningMeanStd(dim)
	all.Update(data)
	// Three "workers" see uneven parts, in batches of their own sizes.
	parts := [][2]int{{0, 17}, {17, 600}, {600, 1000}}
	merged := envs.NewRunningMeanStd(dim)
	for w, p := range parts {
		worker := envs.NewRunningMeanStd(dim)
		for i := p[0]; i < p[1]; i += w + 1 {
			end := min(i+w+1, p[1])
			worker.Update(data[i*dim : end*dim])
		}
		merged.Merge(worker)
	}
	merged.Merge(envs.NewRunningMeanStd(dim)) // merging nothing changes nothing
	if merged.Count != all.Count {
		t.Errorf("merged count %v, want %v", merged.Count, all.Count)
	}
	for j := range dim {
		if !near(merged.Mean[j], all.Mean[j], 1e-12) || !near(merged.Var[j], all.Var[j], 1e-12) {
			t.Errorf("element %d: merged mean %v var %v, concatenated mean %v var %v", j, merged.Mean[j], merged.Var[j], all.Mean[j], all.Var[j])
		}
	}
	// Merging into empty statistics copies them.
	c := envs.NewRunningMeanStd(dim)
	c.Merge(all)
	if !slices.Equal(c.Mean, all.Mean) || !slices.Equal(c.Var, all.Var) || c.Count != all.Count {
		t.Errorf("empty.Merge(all) = %+v, want %+v", c, all)
	}
	cl := all.Clone()
	cl.Mean[0] = 99
	if all.Mean[0] == 99 {
		t.Error("Clone shares its slices")
	}
}

func TestNormalizeObservation(t *testing.T) {
	inner := newScriptEnv(0)
	seq := map[int][]float32{0: {2, 7}, 1: {4, 7}, 2: {30, 7}, 3: {30, 7}}
	inner.obsFn = func(t int) []float32 { return seq[t] }
	env, err := envs.NewNormalizeObservation(inner)
	if err != nil {
		t.Fatal(err)
	}
	box := env.ObservationSpace().(*envs.Box)
	if box.Size() != 2 || box.Low[0] != -10 || box.High[1] != 10 {
		t.Errorf("observation space %v, want Box(-10, 10, [2])", box)
	}
	eps := 1e-8
	// Each observation updates the statistics first, then is normalised
	// with them (Gymnasium's NormalizeObservation.observation).
	obs := mustReset(t, env) // x = 2: mean 2, var 0
	if obs[0] != 0 || obs[1] != 0 {
		t.Errorf("reset observation %v, want (0, 0)", obs)
	}
	obs = mustStep(t, env, envs.DiscreteAction(0)).Obs // x = 2, 4: mean 3, var 1
	if want := float32(1 / math.Sqrt(1+eps)); obs[0] != want || obs[1] != 0 {
		t.Errorf("step 1 observation %v, want (%v, 0)", obs, want)
	}
	obs = mustStep(t, env, envs.DiscreteAction(0)).Obs // x = 2, 4, 30: mean 12, var (100+64+324)/3
	if want := float32(18 / math.Sqrt(488.0/3+eps)); obs[0] != want {
		t.Errorf("step 2 observation %v, want (%v, 0)", obs, want)
	}
	if !slices.Equal(inner.buf, []float32{30, 7}) {
		t.Errorf("NormalizeObservation wrote into the wrapped env's buffer: %v", inner.buf)
	}
	// Frozen: the statistics stay, the observation is normalised with them.
	env.Frozen = true
	before := env.RMS.Clone()
	obs = mustStep(t, env, envs.DiscreteAction(0)).Obs // x = 30 again
	if want := float32(18 / math.Sqrt(488.0/3+eps)); obs[0] != want || env.RMS.Count != before.Count || env.RMS.Mean[0] != before.Mean[0] {
		t.Errorf("frozen: observation %v (want %v), statistics %+v (want %+v)", obs, want, env.RMS, before)
	}
	// Clip bounds the output, and the space follows it.
	env.Clip = 1
	env.RMS = &envs.RunningMeanStd{Mean: []float64{0, 7}, Var: []float64{1, 1}, Count: 5}
	mustReset(t, env)
	obs = mustStep(t, env, envs.DiscreteAction(0)).Obs
	if obs[0] != 1 {
		t.Errorf("clip 1: observation %v, want 4 clipped to 1", obs)
	}
	if b := env.ObservationSpace().(*envs.Box); b.High[0] != 1 || b.Low[1] != -1 {
		t.Errorf("clip 1: observation space %v, want Box(-1, 1)", b)
	}
	env.Clip = 0
	if b := env.ObservationSpace().(*envs.Box); !math.IsInf(float64(b.High[0]), 1) {
		t.Errorf("clip 0: observation space %v, want unbounded", b)
	}
}

func TestNormalizeReward(t *testing.T) {
	inner := newScriptEnv(4)
	inner.rewards = []float64{1, 1, 1, 2, 3}
	env, err := envs.NewNormalizeReward(inner, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	eps := 1e-8
	mustReset(t, env)
	// G: 1, 1.5, 1.75, then step 4 terminates so G = 2 (G·γ·(1-terminated) + r).
	// The population variances of the Gs so far, by hand: (1) 0;
	// (1, 1.5) 0.0625; (1, 1.5, 1.75) 7/72; (1, 1.5, 1.75, 2) 0.546875/4.
	gs := []float64{1, 1.5, 1.75, 2}
	vars := []float64{0, 0.0625, 7.0 / 72, 0.546875 / 4}
	rewards := []float64{1, 1, 1, 2}
	for i := range gs {
		r := mustStep(t, env, envs.DiscreteAction(0))
		want := rewards[i] / math.Sqrt(vars[i]+eps)
		if !near(r.Reward, want, 1e-12) || env.G != gs[i] {
			t.Errorf("step %d: reward %v, G %v; want %v, G %v", i+1, r.Reward, env.G, want, gs[i])
		}
	}
	// As in Gymnasium, Reset keeps G; only termination clears it.
	mustReset(t, env)
	env.Frozen = true
	before := env.RMS.Clone()
	r := mustStep(t, env, envs.DiscreteAction(0))
	if env.G != 2*0.5+1 || env.RMS.Count != before.Count {
		t.Errorf("after reset: G %v (want 2), count %v (want %v)", env.G, env.RMS.Count, before.Count)
	}
	if want := 1 / math.Sqrt(before.Var[0]+eps); r.Reward != want {
		t.Errorf("frozen reward %v, want %v", r.Reward, want)
	}
	if _, err := envs.NewNormalizeReward(inner, 1.5); err == nil {
		t.Error("NewNormalizeReward accepted gamma 1.5")
	}
}

func TestTransformReward(t *testing.T) {
	env, err := envs.NewTransformReward(newScriptEnv(0), func(r float64) float64 { return r / 100 })
	if err != nil {
		t.Fatal(err)
	}
	mustReset(t, env)
	mustStep(t, env, envs.DiscreteAction(0))
	if r := mustStep(t, env, envs.DiscreteAction(0)); r.Reward != 0.02 {
		t.Errorf("reward %v, want 2/100", r.Reward)
	}
	if _, err := envs.NewTransformReward(newScriptEnv(0), nil); err == nil {
		t.Error("NewTransformReward accepted a nil function")
	}
}

// TestFrameStackImagesAlongChannels checks that an (H, W, C) image stacks
// to (H, W, N·C) with each pixel's channels frame by frame, oldest first.
func TestFrameStackImagesAlongChannels(t *testing.T) {
	const h, w, c, n = 2, 3, 2, 3
	img := &imageEnv{box: &envs.Box{Low: make([]float32, h*w*c), High: ones(h * w * c), Dims: []int{h, w, c}}}
	f, err := envs.NewFrameStack(img, n, envs.PadZero)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.ObservationSpace().Shape(); !slices.Equal(got, []int{h, w, n * c}) {
		t.Fatalf("stacked shape %v; want [%d %d %d]", got, h, w, n*c)
	}
	f.Reset(nil)
	f.Step(envs.DiscreteAction(0))
	r, _ := f.Step(envs.DiscreteAction(0)) // frames 0 (reset), 1, 2
	for p := range h * w {
		for k := range n {
			for ch := range c {
				if got, want := r.Obs[(p*n+k)*c+ch], float32(100*k+10*p+ch); got != want {
					t.Fatalf("pixel %d frame %d channel %d = %v; want %v", p, k, ch, got, want)
				}
			}
		}
	}
}

// imageEnv returns, at its t-th observation, 100·t + 10·pixel + channel.
type imageEnv struct {
	box *envs.Box
	t   int
}

func (e *imageEnv) obs() []float32 {
	o := make([]float32, e.box.Size())
	c := e.box.Dims[2]
	for i := range o {
		o[i] = float32(100*e.t + 10*(i/c) + i%c)
	}
	return o
}
func (e *imageEnv) ObservationSpace() envs.Space { return e.box }
func (e *imageEnv) ActionSpace() envs.Space      { return envs.Discrete{N: 1} }
func (e *imageEnv) Reset(*uint64) ([]float32, envs.Info, error) {
	e.t = 0
	return e.obs(), nil, nil
}
func (e *imageEnv) Step(envs.Action) (envs.StepResult, error) {
	e.t++
	return envs.StepResult{Obs: e.obs()}, nil
}
func (e *imageEnv) Close() error { return nil }

func ones(n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = 1
	}
	return o
}
