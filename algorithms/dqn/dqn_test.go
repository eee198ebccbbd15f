package dqn

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

type transition struct {
	obs, ret, next, bootstrap float32
}

func replayContents(r *Replay) []transition {
	var out []transition
	for i := 0; i < r.Len(); i++ {
		out = append(out, transition{r.Obs(i)[0], r.Return(i), r.NextObs(i)[0], r.Bootstrap(i)})
	}
	return out
}

// TestNStepReturns feeds two fragments of two envs through store and
// checks every transition against hand-computed n-step returns (n = 3,
// γ = 0.5): a terminated episode ends its returns early and does not
// bootstrap; a truncated one ends them early and bootstraps from its
// final observation with γ^k; pending steps carry across fragments.
func TestNStepReturns(t *testing.T) {
	cfg := DefaultConfig()
	d := &DQN{cfg: cfg, replay: NewReplay(32, 1)}
	queues := []nStepQueue{newNStepQueue(3, 1, 0.5), newNStepQueue(3, 1, 0.5)}
	// Fragment 1 (4 steps). Env 0: obs 10, 11 | 20, 21; rewards 1, 2, 4, 8;
	// terminates at step 1 (final obs 11.5). Env 1: obs 30, 31, 32 | 40;
	// rewards 1 each; truncated at step 2 (final obs 32.5).
	b1 := &rollout.SampleBatch{
		NumEnvs: 2, Steps: 4, ObsDim: 1,
		Obs:        []float32{10, 30, 11, 31, 20, 32, 21, 40},
		Actions:    make([]int32, 8),
		Rewards:    []float32{1, 1, 2, 1, 4, 1, 8, 1},
		Terminated: []bool{false, false, true, false, false, false, false, false},
		Truncated:  []bool{false, false, false, false, false, true, false, false},
		FinalObs:   []rollout.FinalObs{{Index: 2, Obs: []float32{11.5}}, {Index: 5, Obs: []float32{32.5}}},
		LastObs:    []float32{22, 41},
	}
	d.store(b1, queues)
	want := []transition{
		{10, 1 + 0.5*2, 11.5, 0}, // terminated: no bootstrap
		{11, 2, 11.5, 0},
		{30, 1 + 0.5 + 0.25, 32.5, 0.125}, // truncated: bootstrap γ^3
		{31, 1 + 0.5, 32.5, 0.25},         // γ^2
		{32, 1, 32.5, 0.5},                // γ^1
	}
	check := func(stage string) {
		t.Helper()
		got := replayContents(d.replay)
		if len(got) != len(want) {
			t.Fatalf("%s: replay holds %v; want %v", stage, got, want)
		}
		for i := range want {
			if math.Abs(float64(got[i].ret-want[i].ret)) > 1e-6 || got[i].obs != want[i].obs || got[i].next != want[i].next || got[i].bootstrap != want[i].bootstrap {
				t.Errorf("%s: transition %d = %+v; want %+v", stage, i, got[i], want[i])
			}
		}
	}
	check("fragment 1")
	// Fragment 2 (2 steps). Env 0 continues: obs 22, 23; rewards 16, 32;
	// last obs 24. Env 1 continues: obs 41, 42; rewards 2, 2; terminates at
	// step 1 (final obs 42.5).
	b2 := &rollout.SampleBatch{
		NumEnvs: 2, Steps: 2, ObsDim: 1,
		Obs:        []float32{22, 41, 23, 42},
		Actions:    make([]int32, 4),
		Rewards:    []float32{16, 2, 32, 2},
		Terminated: []bool{false, false, false, true},
		Truncated:  make([]bool, 4),
		FinalObs:   []rollout.FinalObs{{Index: 3, Obs: []float32{42.5}}},
		LastObs:    []float32{24, 51},
	}
	d.store(b2, queues)
	want = append(want,
		transition{20, 4 + 0.5*8 + 0.25*16, 23, 0.125}, // full n-step across the fragment boundary
		transition{40, 1 + 0.5*2 + 0.25*2, 42.5, 0},    // env 1 terminates at step 1
		transition{41, 2 + 0.5*2, 42.5, 0},
		transition{42, 2, 42.5, 0},
		transition{21, 8 + 0.5*16 + 0.25*32, 24, 0.125}, // bootstraps from LastObs
	)
	// Emission order is time-major: env 0 at step 0, then env 0 and env 1
	// at step 1 (env 0's 21 is emitted before env 1 terminates).
	want[6], want[7], want[8], want[9] = want[9], want[6], want[7], want[8]
	check("fragment 2")
}

// TestTDTargets checks double Q-learning against a hand-computed example
// (van Hasselt et al. 2016, eq. 4): the online network selects a*, the
// target network values it; vanilla DQN takes the target's max.
func TestTDTargets(t *testing.T) {
	qTarget := []float32{1, 5, 2, 0, -1, 3, 2, 3, 1}
	qOnline := []float32{4, 0, 1, 0, 2, 1, 0, 1, 5} // argmax 0, 1, 2
	returns := []float32{1, 2, 0.5}
	bootstrap := []float32{0.9, 0, 0.5} // the second transition terminated
	y := make([]float32, 3)
	tdTargets(y, returns, bootstrap, qTarget, qOnline, 3, 3, true)
	wantDouble := []float32{1 + 0.9*1, 2, 0.5 + 0.5*1}
	tdTargets(y, returns, bootstrap, qTarget, qOnline, 3, 3, true)
	for i := range y {
		if math.Abs(float64(y[i]-wantDouble[i])) > 1e-6 {
			t.Errorf("double: y = %v; want %v", y, wantDouble)
			break
		}
	}
	wantVanilla := []float32{1 + 0.9*5, 2, 0.5 + 0.5*3}
	tdTargets(y, returns, bootstrap, qTarget, nil, 3, 3, false)
	for i := range y {
		if math.Abs(float64(y[i]-wantVanilla[i])) > 1e-6 {
			t.Errorf("vanilla: y = %v; want %v", y, wantVanilla)
			break
		}
	}
}

// q64 is a float64 forward pass of spec over w for the rows of x.
func q64(spec policy.QSpec, w *policy.Weights, x []float64, rows int) []float64 {
	mlp := func(m policy.MLP, h []float64, activateLast bool) []float64 {
		k := m.Sizes[0]
		for i := 0; i < m.Layers(); i++ {
			W, b := w.Get(m.WeightName(i)).Data, w.Get(m.BiasName(i)).Data
			n := m.Sizes[i+1]
			out := make([]float64, rows*n)
			for r := 0; r < rows; r++ {
				for j := 0; j < n; j++ {
					s := float64(b[j])
					for p := 0; p < k; p++ {
						s += h[r*k+p] * float64(W[p*n+j])
					}
					if i < m.Layers()-1 || activateLast {
						if spec.Model.Activation == policy.ReLU {
							s = math.Max(s, 0)
						} else {
							s = math.Tanh(s)
						}
					}
					out[r*n+j] = s
				}
			}
			h, k = out, n
		}
		return h
	}
	if !spec.Dueling {
		return mlp(spec.Plain(), x, false)
	}
	h := x
	if spec.Torso().Layers() > 0 {
		h = mlp(spec.Torso(), x, true)
	}
	v, a := mlp(spec.Value(), h, false), mlp(spec.Advantage(), h, false)
	na := spec.NumActions
	q := make([]float64, rows*na)
	for r := 0; r < rows; r++ {
		var mean float64
		for j := 0; j < na; j++ {
			mean += a[r*na+j] / float64(na)
		}
		for j := 0; j < na; j++ {
			q[r*na+j] = v[r] + a[r*na+j] - mean
		}
	}
	return q
}

var testSpecs = []policy.QSpec{
	{ObsDim: 4, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{16, 8}, Activation: policy.Tanh}},
	{ObsDim: 4, NumActions: 3, Model: policy.ModelConfig{Hidden: []int{16, 8}, Activation: policy.Tanh}, Dueling: true},
	{ObsDim: 3, NumActions: 3, Model: policy.ModelConfig{Hidden: []int{12}, Activation: policy.Tanh}, Dueling: true},
	{ObsDim: 5, NumActions: 4, Model: policy.ModelConfig{Hidden: []int{64, 64}, Activation: policy.ReLU}, Dueling: true},
}

// TestQForwardMatchesGraph checks that the workers' pure-Go Q-network
// (policy.QNetwork) computes what the learner's gorgonia graph computes,
// plain and dueling, on random weights and inputs (within 1e-5), and the
// learner's pure-Go next-state network exactly.
func TestQForwardMatchesGraph(t *testing.T) {
	rng := testRand()
	const m = 7
	for _, spec := range testSpecs {
		w := spec.Init(rng)
		gr := learner.NewGraph(w)
		x := gr.Input("x", m, spec.ObsDim)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		q, err := qGraph(gr, spec, "", x.Node)
		if err != nil {
			t.Fatal(err)
		}
		out := gr.Read("q", q)
		vm := gorgonia.NewTapeMachine(gr.ExprGraph())
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		net, err := policy.NewQNetwork(spec, w)
		if err != nil {
			t.Fatal(err)
		}
		got, want := net.Q(x.Data, m), out.Values()
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5 {
				t.Errorf("%+v: pure-Go Q[%d] = %v; graph %v (|diff| %g)", spec, i, got[i], want[i], d)
			}
		}
		// The learner's next-state Q-values (TD targets) are computed in
		// pure Go too, and must be the graph's bit for bit: a seeded run's
		// trajectory does not depend on which of the two computes them.
		nq, err := newNextQ(spec, w)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range nq.Q(x.Data, m) {
			// Acting and the TD targets share one aggregation
			// (policy.DuelingQ): the same bits in every build.
			if math.Float32bits(v) != math.Float32bits(got[i]) {
				t.Errorf("%+v: next-state Q[%d] = %v; acting's Q %v, want the same bits", spec, i, v, got[i])
			}
			// The dueling aggregation is two gorgonia products, on gonum's
			// BLAS in the default build (same bits) and OpenBLAS's with
			// -tags openblas (another summation: the builds differ at float
			// rounding anyway).
			if learner.BLAS != "gonum" {
				if d := math.Abs(float64(v - want[i])); d > 1e-5 {
					t.Errorf("%+v: next-state Q[%d] = %v; graph %v", spec, i, v, want[i])
				}
				continue
			}
			if math.Float32bits(v) != math.Float32bits(want[i]) {
				t.Errorf("%+v: next-state Q[%d] = %v; graph %v, want the same bits", spec, i, v, want[i])
			}
		}
		vm.Close()
	}
}

// TestLossGradients checks the TD loss and its gradient with respect to
// every parameter against a float64 reference and central finite
// differences, for the Huber loss (TD errors on both sides of ±κ) and the
// squared error, with non-uniform importance weights.
func TestLossGradients(t *testing.T) {
	rng := testRand()
	const m = 6
	for _, loss := range []string{"huber", "mse"} {
		for _, spec := range testSpecs[:3] {
			cfg := DefaultConfig()
			cfg.Loss, cfg.HuberDelta = loss, 1
			w := spec.Init(rng)
			l, err := buildLoss(w, spec, m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			lr, err := learner.New(learner.Config{Device: "cpu"}, l.graph, l.loss)
			if err != nil {
				t.Fatal(err)
			}
			na := spec.NumActions
			obs := make([]float64, m*spec.ObsDim)
			for i := range obs {
				obs[i] = rng.NormFloat64()
				l.obs.Data[i] = float32(obs[i])
			}
			actions := make([]int, m)
			isw := []float64{1, 0.5, 0.25, 0.8, 1, 0.3}
			tdWant := []float64{0.3, -2.5, 1.7, -0.4, 3, -0.9} // |δ| both below and above κ = 1
			q := q64(spec, w, obs, m)
			y := make([]float64, m)
			for j := range actions {
				actions[j] = j % na
				l.actionsOneHot.Data[j*na+actions[j]] = 1
				y[j] = q[j*na+actions[j]] - tdWant[j]
				l.targets.Data[j] = float32(y[j])
				l.weights.Data[j] = float32(isw[j])
			}
			ref := func(w *policy.Weights) float64 {
				q := q64(spec, w, obs, m)
				var s float64
				for j := range actions {
					d := q[j*na+actions[j]] - y[j]
					e := d * d
					if loss == "huber" {
						if math.Abs(d) <= 1 {
							e = 0.5 * d * d
						} else {
							e = math.Abs(d) - 0.5
						}
					}
					s += isw[j] * e
				}
				return s / m
			}
			grads, err := lr.Gradients()
			if err != nil {
				t.Fatal(err)
			}
			got, err := lr.Forward()
			if err != nil {
				t.Fatal(err)
			}
			if want := ref(w); math.Abs(float64(got)-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Errorf("%s %+v: loss = %v; want %v", loss, spec, got, want)
			}
			const h = 1e-3
			wp := w.Clone()
			for ti, tn := range wp.Tensors {
				for k := range tn.Data {
					orig := tn.Data[k]
					tn.Data[k] = orig + h
					up := ref(wp)
					tn.Data[k] = orig - h
					down := ref(wp)
					tn.Data[k] = orig
					fd := (up - down) / (2 * h)
					if g := float64(grads[ti][k]); math.Abs(g-fd) > 2e-3+1e-2*math.Abs(fd) {
						t.Errorf("%s %+v: ∂L/∂%s[%d] = %v; finite difference %v", loss, spec, tn.Name, k, g, fd)
					}
				}
			}
			lr.Close()
		}
	}
}
