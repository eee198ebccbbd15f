package policy

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSampleIsActOnNormalisedObservations proves that Sample and
// SampleContinuous take raw observations, normalise them with the weights'
// ObsNorm and then draw exactly as Act and ActContinuous draw on the
// normalised observations with the same random stream.
func TestSampleIsActOnNormalisedObservations(t *testing.T) {
	const n = 64
	raw := randomObs(testRand(), n, 3, 4)
	norm := testNorm(3)
	normed := make([]float32, len(raw))
	norm.Apply(normed, raw)

	t.Run("discrete", func(t *testing.T) {
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
		got, want, unnormed := make([]int, n), make([]int, n), make([]int, n)
		withNorm.Sample(raw, n, rand.New(rand.NewPCG(3, 4)), got)
		plain.Act(normed, n, rand.New(rand.NewPCG(3, 4)), want, make([]float32, n), nil)
		plain.Sample(raw, n, rand.New(rand.NewPCG(3, 4)), unnormed)
		if !slices.Equal(got, want) {
			t.Errorf("Sample(raw) = %v\nwant Act on the normalised observations %v", got, want)
		}
		if slices.Equal(got, unnormed) {
			t.Error("normalisation changed no sampled action: the test proves nothing")
		}
	})

	t.Run("continuous", func(t *testing.T) {
		w := gaussWeights(t)
		plain := newAC(t, gaussSpec, w)
		w.ObsNorm = norm
		withNorm := newAC(t, gaussSpec, w)
		got, want := make([]float32, n*2), make([]float32, n*2)
		withNorm.SampleContinuous(raw, n, rand.New(rand.NewPCG(3, 4)), got)
		plain.ActContinuous(normed, n, rand.New(rand.NewPCG(3, 4)), want, make([]float32, n), nil)
		if !slices.Equal(got, want) {
			t.Errorf("SampleContinuous(raw) = %v\nwant ActContinuous on the normalised observations %v", got, want)
		}
	})
}

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
