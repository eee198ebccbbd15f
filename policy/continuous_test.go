package policy

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// gaussSpec is a small Gaussian actor-critic: 3 observations, 2 actions.
var gaussSpec = ActorCriticSpec{ObsDim: 3, ActionDim: 2, Model: ModelConfig{Hidden: []int{8}, Activation: Tanh, LogStdInit: -0.5}}

// gaussWeights returns gaussSpec's weights with every tensor redrawn so
// that the means are far from zero, and log σ = (−0.5, 0.3).
func gaussWeights(t *testing.T) *Weights {
	t.Helper()
	w := gaussSpec.Init(testRand())
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range w.Tensors {
		for j := range w.Tensors[i].Data {
			w.Tensors[i].Data[j] = float32(rng.NormFloat64())
		}
	}
	ls := w.Get(LogStdName)
	if ls == nil {
		t.Fatalf("weights lack %s", LogStdName)
	}
	copy(ls.Data, []float32{-0.5, 0.3})
	return w
}

func randomObs(rng *rand.Rand, n, dim int, scale float64) []float32 {
	obs := make([]float32, n*dim)
	for i := range obs {
		obs[i] = float32(rng.NormFloat64() * scale)
	}
	return obs
}

func newAC(t *testing.T, spec ActorCriticSpec, w *Weights) *ActorCritic {
	t.Helper()
	p, err := NewActorCritic(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestActContinuousLogProb proves that ActContinuous's log-probability of
// each row is the closed-form diagonal-Gaussian log density of the action
// it returned, with μ from GreedyContinuous and σ from pi/log_std, and
// that its values are the critic's.
func TestActContinuousLogProb(t *testing.T) {
	w := gaussWeights(t)
	p := newAC(t, gaussSpec, w)
	const n = 6
	obs := randomObs(testRand(), n, gaussSpec.ObsDim, 2)
	actions := make([]float32, n*2)
	logp := make([]float32, n)
	values := make([]float32, n)
	p.ActContinuous(obs, n, rand.New(rand.NewPCG(3, 4)), actions, logp, values)

	mean := make([]float32, n*2)
	p.GreedyContinuous(obs, n, mean)
	logStd := w.Get(LogStdName).Data
	for i := range n {
		want := 0.0
		for j := range 2 {
			sigma := math.Exp(float64(logStd[j]))
			z := (float64(actions[i*2+j]) - float64(mean[i*2+j])) / sigma
			want += -0.5*z*z - float64(logStd[j]) - 0.5*math.Log(2*math.Pi)
		}
		if math.Abs(float64(logp[i])-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("row %d: action %v, mean %v: log-prob %v, closed form %v", i, actions[i*2:i*2+2], mean[i*2:i*2+2], logp[i], want)
		}
	}
	wantValues := make([]float32, n)
	p.Values(obs, n, wantValues)
	if !slices.Equal(values, wantValues) {
		t.Errorf("values %v, want the critic's %v", values, wantValues)
	}
	// values may be nil.
	p.ActContinuous(obs, n, rand.New(rand.NewPCG(3, 4)), actions, logp, nil)
}

// TestActContinuousSampling proves that the same rng seed gives the same
// actions, another seed other actions, and that the samples have mean μ
// and standard deviation exp(log σ) per element.
func TestActContinuousSampling(t *testing.T) {
	p := newAC(t, gaussSpec, gaussWeights(t))
	const n = 4000
	row := []float32{0.3, -1, 2}
	obs := make([]float32, 0, n*3)
	for range n {
		obs = append(obs, row...)
	}
	sample := func(seed uint64) []float32 {
		a := make([]float32, n*2)
		p.ActContinuous(obs, n, rand.New(rand.NewPCG(seed, 0)), a, make([]float32, n), nil)
		return a
	}
	a, b, c := sample(11), sample(11), sample(12)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave different actions")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same actions")
	}
	mean := make([]float32, 2)
	p.GreedyContinuous(row, 1, mean)
	for j, ls := range []float64{-0.5, 0.3} {
		var s, s2 float64
		for i := range n {
			x := float64(a[i*2+j])
			s += x
			s2 += x * x
		}
		m := s / n
		sd := math.Sqrt(s2/n - m*m)
		sigma := math.Exp(ls)
		if math.Abs(m-float64(mean[j])) > 5*sigma/math.Sqrt(n) || math.Abs(sd/sigma-1) > 0.05 {
			t.Errorf("element %d: sample mean %.4f sd %.4f; want μ %.4f σ %.4f", j, m, sd, mean[j], sigma)
		}
	}
}

// TestLogStdInit proves that Init fills pi/log_std ([1, ActionDim]) with
// model.log_std_init (0 by default), that a discrete spec has no such
// tensor, that NewActorCritic needs it for a continuous spec, and that
// Validate bounds log_std_init.
func TestLogStdInit(t *testing.T) {
	for _, init := range []float64{0, -1.2, 0.7} {
		spec := ActorCriticSpec{ObsDim: 3, ActionDim: 4, Model: ModelConfig{Hidden: []int{5}, Activation: Tanh, LogStdInit: init}}
		w := spec.Init(testRand())
		ls := w.Get(LogStdName)
		if ls == nil || !slices.Equal(ls.Shape, []int{1, 4}) {
			t.Fatalf("log_std_init %v: tensor %v, want shape [1 4]", init, ls)
		}
		for _, v := range ls.Data {
			if v != float32(init) {
				t.Errorf("log_std_init %v: pi/log_std = %v", init, ls.Data)
				break
			}
		}
	}
	if w := (ActorCriticSpec{ObsDim: 3, NumActions: 2, Model: DefaultModelConfig()}).Init(testRand()); w.Get(LogStdName) != nil {
		t.Error("a discrete spec has a pi/log_std tensor")
	}
	w := gaussSpec.Init(testRand())
	w.Tensors = slices.DeleteFunc(w.Tensors, func(t Tensor) bool { return t.Name == LogStdName })
	if _, err := NewActorCritic(gaussSpec, w); err == nil || !strings.Contains(err.Error(), LogStdName) {
		t.Errorf("NewActorCritic without %s = %v; want an error naming it", LogStdName, err)
	}
	for _, bad := range []float64{-21, 6, math.NaN()} {
		m := ModelConfig{Hidden: []int{4}, Activation: Tanh, LogStdInit: bad}
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "log_std_init") {
			t.Errorf("Validate(log_std_init %v) = %v; want an error naming log_std_init", bad, err)
		}
	}
}

// testNorm is an ObsNorm whose shift is large enough to change what the
// networks output.
func testNorm(dim int) *ObsNorm {
	n := NewObsNorm(dim, 4)
	for i := range n.Mean {
		n.Mean[i] = 3 - float64(i)*2.5
		n.Var[i] = 0.5 + float64(i)
	}
	n.Count = 100
	return n
}

// TestGreedyNormalisesRawObservations proves that Greedy (actor-critic
// and ε-greedy Q) and GreedyContinuous normalise raw observations with the
// weights' ObsNorm: they act as the same network without statistics acts
// on observations normalised by hand with Apply. Act and ActContinuous do
// not normalise (the rollout worker does); Sample and SampleContinuous
// normalise, then draw exactly as they do.
func TestGreedyNormalisesRawObservations(t *testing.T) {
	const n = 64
	raw := randomObs(testRand(), n, 3, 4)
	norm := testNorm(3)
	normed := make([]float32, len(raw))
	norm.Apply(normed, raw)

	t.Run("actor-critic discrete", func(t *testing.T) {
		spec := ActorCriticSpec{ObsDim: 3, NumActions: 4, Model: ModelConfig{Hidden: []int{8}, Activation: Tanh}}
		w := spec.Init(testRand())
		for i := range w.Tensors { // larger output layer, so actions differ between rows
			for j := range w.Tensors[i].Data {
				w.Tensors[i].Data[j] *= 50
			}
		}
		plain := newAC(t, spec, w)
		w.ObsNorm = norm
		withNorm := newAC(t, spec, w)
		if withNorm.ObsNorm() == nil || plain.ObsNorm() != nil {
			t.Fatal("ObsNorm() does not report the weights' statistics")
		}
		got, want, unnormed := make([]int, n), make([]int, n), make([]int, n)
		withNorm.Greedy(raw, n, got)
		plain.Greedy(normed, n, want)
		plain.Greedy(raw, n, unnormed)
		if !slices.Equal(got, want) {
			t.Errorf("Greedy(raw) = %v\nwant Greedy of the normalised observations %v", got, want)
		}
		if slices.Equal(got, unnormed) {
			t.Error("normalisation changed no action: the test proves nothing")
		}
		// Act takes observations as they are.
		a1, a2 := make([]int, n), make([]int, n)
		lp1, lp2 := make([]float32, n), make([]float32, n)
		withNorm.Act(normed, n, rand.New(rand.NewPCG(1, 1)), a1, lp1, nil)
		plain.Act(normed, n, rand.New(rand.NewPCG(1, 1)), a2, lp2, nil)
		if !slices.Equal(a1, a2) || !slices.Equal(lp1, lp2) {
			t.Error("Act normalised observations again")
		}
		// Sample takes raw observations, normalises them, then draws as Act.
		s1, s2 := make([]int, n), make([]int, n)
		withNorm.Sample(raw, n, rand.New(rand.NewPCG(1, 1)), s1)
		plain.Sample(raw, n, rand.New(rand.NewPCG(1, 1)), s2)
		if !slices.Equal(s1, a1) {
			t.Errorf("Sample(raw) = %v\nwant Act on the normalised observations %v", s1, a1)
		}
		if slices.Equal(s1, s2) {
			t.Error("normalisation changed no sampled action")
		}
	})

	t.Run("actor-critic continuous", func(t *testing.T) {
		w := gaussWeights(t)
		plain := newAC(t, gaussSpec, w)
		w.ObsNorm = norm
		withNorm := newAC(t, gaussSpec, w)
		got, want, unnormed := make([]float32, n*2), make([]float32, n*2), make([]float32, n*2)
		withNorm.GreedyContinuous(raw, n, got)
		plain.GreedyContinuous(normed, n, want)
		plain.GreedyContinuous(raw, n, unnormed)
		if !slices.Equal(got, want) {
			t.Errorf("GreedyContinuous(raw) = %v\nwant the means of the normalised observations %v", got[:4], want[:4])
		}
		if slices.Equal(got, unnormed) {
			t.Error("normalisation changed no mean")
		}
		a1, a2 := make([]float32, n*2), make([]float32, n*2)
		withNorm.ActContinuous(normed, n, rand.New(rand.NewPCG(1, 1)), a1, make([]float32, n), nil)
		plain.ActContinuous(normed, n, rand.New(rand.NewPCG(1, 1)), a2, make([]float32, n), nil)
		if !slices.Equal(a1, a2) {
			t.Error("ActContinuous normalised observations again")
		}
		s1 := make([]float32, n*2)
		withNorm.SampleContinuous(raw, n, rand.New(rand.NewPCG(1, 1)), s1)
		if !slices.Equal(s1, a1) {
			t.Errorf("SampleContinuous(raw) = %v\nwant ActContinuous on the normalised observations %v", s1[:4], a1[:4])
		}
	})

	t.Run("epsilon-greedy Q", func(t *testing.T) {
		spec := QSpec{ObsDim: 3, NumActions: 4, Model: ModelConfig{Hidden: []int{8}, Activation: Tanh}}
		w := spec.Init(testRand())
		plain, err := NewEpsilonGreedy(spec, w)
		if err != nil {
			t.Fatal(err)
		}
		w.ObsNorm = norm
		withNorm, err := NewEpsilonGreedy(spec, w)
		if err != nil {
			t.Fatal(err)
		}
		got, want, unnormed := make([]int, n), make([]int, n), make([]int, n)
		withNorm.Greedy(raw, n, got)
		plain.Greedy(normed, n, want)
		plain.Greedy(raw, n, unnormed)
		if !slices.Equal(got, want) {
			t.Errorf("Greedy(raw) = %v\nwant Greedy of the normalised observations %v", got, want)
		}
		if slices.Equal(got, unnormed) {
			t.Error("normalisation changed no action: the test proves nothing")
		}
	})
}

// pendulumExport is an exported Gaussian policy with 3 observations and 2
// bounded actions whose output biases push the means far outside the
// bounds (+100 and −100), with observation statistics.
func pendulumExport(t *testing.T) *Exported {
	t.Helper()
	w := gaussWeights(t)
	w.ObsNorm = testNorm(3)
	copy(w.Get(gaussSpec.Actor().BiasName(1)).Data, []float32{100, -100})
	return &Exported{
		Kind: "actor_critic", EnvID: "Pendulum-v1", Model: gaussSpec.Model,
		ObsLow: []float32{-1, -1, -8}, ObsHigh: []float32{1, 1, 8},
		ActionLow: []float32{-2, -1}, ActionHigh: []float32{2, 0.5},
		Weights: w,
	}
}

// TestExportContinuousRoundTrip proves that an exported Gaussian policy
// survives Encode and Decode with its bounds and observation statistics,
// that ActContinuous returns the normalised-observation mean clipped to
// the bounds, and that Act refuses it (and ActContinuous a discrete one).
func TestExportContinuousRoundTrip(t *testing.T) {
	exp := pendulumExport(t)
	data, err := exp.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Continuous() || p.EnvID() != "Pendulum-v1" || p.NumActions() != 0 || len(p.ObsLow()) != 3 {
		t.Errorf("decoded policy: continuous %v env %q actions %d obs %d", p.Continuous(), p.EnvID(), p.NumActions(), len(p.ObsLow()))
	}
	if lo, hi := p.ActionBounds(); !slices.Equal(lo, exp.ActionLow) || !slices.Equal(hi, exp.ActionHigh) {
		t.Errorf("ActionBounds = %v, %v; want %v, %v", lo, hi, exp.ActionLow, exp.ActionHigh)
	}
	if p.exp.Weights.ObsNorm == nil || !slices.Equal(p.exp.Weights.ObsNorm.Mean, exp.Weights.ObsNorm.Mean) {
		t.Errorf("decoded weights' ObsNorm = %+v, want %+v", p.exp.Weights.ObsNorm, exp.Weights.ObsNorm)
	}
	direct := newAC(t, gaussSpec, exp.Weights)
	rng := testRand()
	for range 20 {
		obs := randomObs(rng, 1, 3, 3)
		a, err := p.ActContinuous(obs)
		if err != nil {
			t.Fatal(err)
		}
		mean := make([]float32, 2)
		direct.GreedyContinuous(obs, 1, mean)
		for j := range a {
			want := min(max(mean[j], exp.ActionLow[j]), exp.ActionHigh[j])
			if a[j] != want || a[j] < exp.ActionLow[j] || a[j] > exp.ActionHigh[j] {
				t.Errorf("ActContinuous(%v)[%d] = %v; mean %v clipped to [%v, %v] is %v", obs, j, a[j], mean[j], exp.ActionLow[j], exp.ActionHigh[j], want)
			}
		}
		if a[0] != 2 || a[1] != -1 {
			t.Errorf("ActContinuous = %v; the biases put the means beyond both bounds: want [2 -1]", a)
		}
	}
	if _, err := p.ActContinuous([]float32{1, 2}); err == nil {
		t.Error("ActContinuous accepted an observation of 2 values")
	}
	if _, err := p.Act([]float32{0, 0, 0}); err == nil || !strings.Contains(err.Error(), "ActContinuous") {
		t.Errorf("Act on a continuous policy = %v; want an error pointing to ActContinuous", err)
	}

	// A discrete export refuses ActContinuous.
	dspec := ActorCriticSpec{ObsDim: 3, NumActions: 2, Model: gaussSpec.Model}
	ddata, err := (&Exported{Kind: "actor_critic", NumActions: 2, Model: dspec.Model, ObsLow: exp.ObsLow, ObsHigh: exp.ObsHigh, Weights: dspec.Init(testRand())}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	dp, err := Decode(ddata)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.ActContinuous([]float32{0, 0, 0}); err == nil {
		t.Error("ActContinuous on a discrete policy succeeded")
	}
	if lo, hi := dp.ActionBounds(); lo != nil || hi != nil || dp.Continuous() {
		t.Errorf("discrete policy: ActionBounds %v %v, Continuous %v", lo, hi, dp.Continuous())
	}
}

// TestDecodeRejectsContinuousMismatches proves that Decode rejects files
// with both or neither of NumActions and action bounds, bounds of unequal
// lengths, a continuous Q policy, statistics of the wrong size, and
// weights of another action size.
func TestDecodeRejectsContinuousMismatches(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *Exported)
		want string
	}{
		{"both action count and bounds", func(e *Exported) { e.NumActions = 2 }, "incomplete"},
		{"neither", func(e *Exported) { e.ActionLow, e.ActionHigh = nil, nil }, "incomplete"},
		{"bounds of unequal length", func(e *Exported) { e.ActionHigh = e.ActionHigh[:1] }, "incomplete"},
		{"only high bounds", func(e *Exported) { e.ActionLow = nil }, "incomplete"},
		{"continuous Q", func(e *Exported) { e.Kind = "q" }, "incomplete"},
		{"statistics of the wrong size", func(e *Exported) { e.Weights.ObsNorm = testNorm(2) }, "observation normalisation"},
		{"NaN statistics", func(e *Exported) { e.Weights.ObsNorm.Mean[0] = math.NaN() }, "observation normalisation"},
		{"weights of another action size", func(e *Exported) {
			e.ActionLow, e.ActionHigh = []float32{-1, -1, -1}, []float32{1, 1, 1}
		}, "load policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pendulumExport(t)
			tt.edit(e)
			data, err := e.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(data); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}
