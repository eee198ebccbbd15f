package policy

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSampleFrequencies checks that Sample's actions follow softmax(logits):
// 40,000 draws for one observation, each action's frequency within 4
// standard errors of its probability.
func TestSampleFrequencies(t *testing.T) {
	spec := ActorCriticSpec{ObsDim: 3, NumActions: 4, Model: ModelConfig{Hidden: []int{8}, Activation: Tanh}}
	w := spec.Init(testRand())
	for i := range w.Tensors { // a clearly non-uniform distribution
		for j := range w.Tensors[i].Data {
			w.Tensors[i].Data[j] *= 40 // tanh saturates: ~[0.25 0.33 0.13 0.29]
		}
	}
	p := newAC(t, spec, w)
	obs := []float32{0.5, -1, 2}
	logits := p.Logits(obs, 1)
	var z float64
	probs := make([]float64, len(logits))
	for i, l := range logits {
		probs[i] = math.Exp(float64(l))
		z += probs[i]
	}
	const draws = 40000
	counts := make([]int, len(logits))
	rng := rand.New(rand.NewPCG(5, 6))
	a := make([]int, 1)
	for range draws {
		p.Sample(obs, 1, rng, a)
		counts[a[0]]++
	}
	for i := range probs {
		probs[i] /= z
		se := math.Sqrt(probs[i] * (1 - probs[i]) / draws)
		if f := float64(counts[i]) / draws; math.Abs(f-probs[i]) > 4*se {
			t.Errorf("action %d: frequency %.4f, probability %.4f (±%.4f)", i, f, probs[i], 4*se)
		}
	}
	// Neither uniform (a uniform sampler would pass) nor one-hot (a greedy
	// one would).
	if slices.Max(probs) < 2*slices.Min(probs) || slices.Max(probs) > 0.95 {
		t.Errorf("probabilities %v: want one action preferred but not certain", probs)
	}
}
