package policy

import (
	"math"
	"math/rand/v2"
)

// Categorical is a distribution over n actions given by log-probabilities
// (normalised logits), torch.distributions.Categorical's role.
type Categorical struct {
	// LogP holds log π(a) for each action a; it sums (in probability) to 1.
	LogP []float32
}

// NewCategorical normalises logits into dst (allocated when too short) with
// a numerically stable log-softmax and returns the distribution.
func NewCategorical(dst, logits []float32) Categorical {
	if cap(dst) < len(logits) {
		dst = make([]float32, len(logits))
	}
	dst = dst[:len(logits)]
	m := math.Inf(-1)
	for _, l := range logits {
		m = math.Max(m, float64(l))
	}
	var s float64
	for _, l := range logits {
		s += math.Exp(float64(l) - m)
	}
	lse := m + math.Log(s)
	for i, l := range logits {
		dst[i] = float32(float64(l) - lse)
	}
	return Categorical{LogP: dst}
}

// Sample draws an action by inverse CDF with one uniform draw from rng.
func (c Categorical) Sample(rng *rand.Rand) int {
	u := rng.Float64()
	var cdf float64
	for i, lp := range c.LogP {
		cdf += math.Exp(float64(lp))
		if u < cdf {
			return i
		}
	}
	return len(c.LogP) - 1 // u fell in the rounding gap at the top
}

// Mode returns the most probable action (the greedy choice; lowest index on ties).
func (c Categorical) Mode() int {
	best := 0
	for i, lp := range c.LogP {
		if lp > c.LogP[best] {
			best = i
		}
	}
	return best
}

// LogProb returns log π(a).
func (c Categorical) LogProb(a int) float32 { return c.LogP[a] }

// Entropy returns −Σ π(a) log π(a).
func (c Categorical) Entropy() float64 {
	var h float64
	for _, lp := range c.LogP {
		h -= math.Exp(float64(lp)) * float64(lp)
	}
	return h
}
