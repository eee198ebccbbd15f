package policy

import (
	"math"
	"testing"
)

// TestDuelingQ checks Wang et al. (2016) eq. 9 on a hand-computed example:
// Q(s, a) = V(s) + A(s, a) − mean_a' A(s, a'). The centering-matrix form
// rounds 1 − 1/3 and −1/3, so the sums are right to a few ulps, not exact.
func TestDuelingQ(t *testing.T) {
	v := []float32{1, -2}
	adv := []float32{1, 2, 3, 0, 0, 6} // row means 2 and 2
	q := make([]float32, 6)
	DuelingQ(q, v, adv, 2, 3)
	want := []float32{0, 1, 2, -4, -4, 2}
	for i := range want {
		if math.Abs(float64(q[i]-want[i])) > 1e-6 {
			t.Fatalf("DuelingQ = %v; want %v", q, want)
		}
	}
}

// TestQNetworkDueling checks the pure-Go dueling forward pass against the
// aggregation of its own streams, with and without a shared torso.
func TestQNetworkDueling(t *testing.T) {
	for _, hidden := range [][]int{{8}, {8, 6}, {8, 7, 6}} {
		spec := QSpec{ObsDim: 3, NumActions: 4, Model: ModelConfig{Hidden: hidden, Activation: Tanh}, Dueling: true}
		w := spec.Init(testRand())
		net, err := NewQNetwork(spec, w)
		if err != nil {
			t.Fatal(err)
		}
		obs := []float32{0.1, -0.5, 2, 1, 0, -1}
		q := append([]float32(nil), net.Q(obs, 2)...)
		// Recompute by hand: torso (activated), streams, aggregation.
		h := obs
		if spec.Torso().Layers() > 0 {
			f, _ := NewForward(spec.Torso(), w)
			h = append([]float32(nil), f.Run(obs, 2)...)
			for i := range h {
				h[i] = float32(math.Tanh(float64(h[i])))
			}
		}
		fv, _ := NewForward(spec.Value(), w)
		fa, _ := NewForward(spec.Advantage(), w)
		v, a := fv.Run(h, 2), fa.Run(h, 2)
		for i := 0; i < 2; i++ {
			var mean float64
			for j := 0; j < 4; j++ {
				mean += float64(a[i*4+j]) / 4
			}
			for j := 0; j < 4; j++ {
				want := float64(v[i]) + float64(a[i*4+j]) - mean
				if math.Abs(float64(q[i*4+j])-want) > 1e-5 {
					t.Errorf("hidden %v: Q[%d,%d] = %v; want %v", hidden, i, j, q[i*4+j], want)
				}
			}
		}
	}
}

// TestEpsilonGreedy checks that ε = 0 acts greedily, ε = 1 uniformly, and
// that ε is read from the broadcast weights.
func TestEpsilonGreedy(t *testing.T) {
	spec := QSpec{ObsDim: 2, NumActions: 3, Model: ModelConfig{Hidden: []int{4}, Activation: ReLU}}
	w := spec.Init(testRand())
	p, err := NewEpsilonGreedy(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	obs := []float32{0.3, -0.7}
	greedy := make([]int, 1)
	p.Greedy(obs, 1, greedy)
	rng := testRand()
	actions, logp, values := make([]int, 1), make([]float32, 1), make([]float32, 1)
	for i := 0; i < 100; i++ {
		p.Act(obs, 1, rng, actions, logp, values)
		if actions[0] != greedy[0] || logp[0] != 0 {
			t.Fatalf("ε=0: Act = %d (log p %v); want greedy %d (log p 0)", actions[0], logp[0], greedy[0])
		}
	}
	w2 := w.Clone()
	w2.Explore.Epsilon = 1
	if err := p.SetWeights(w2); err != nil {
		t.Fatal(err)
	}
	if p.Epsilon() != 1 {
		t.Fatalf("Epsilon() = %v after broadcasting 1", p.Epsilon())
	}
	counts := make([]int, 3)
	const n = 30000
	for i := 0; i < n; i++ {
		p.Act(obs, 1, rng, actions, logp, values)
		counts[actions[0]]++
		if want := float32(math.Log(1.0 / 3)); math.Abs(float64(logp[0]-want)) > 1e-6 {
			t.Fatalf("ε=1: log p = %v; want %v", logp[0], want)
		}
	}
	for a, c := range counts {
		if math.Abs(float64(c)/n-1.0/3) > 0.01 {
			t.Errorf("ε=1: action %d chosen %d/%d times; want ~1/3", a, c, n)
		}
	}
}
