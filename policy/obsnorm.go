package policy

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/rlgo/rlgo/envs"
)

// ObsNorm is observation normalisation with statistics shared by every
// rollout worker (RLlib's MeanStdFilter, Stable-Baselines3's VecNormalize
// over the whole fleet): the learner merges the raw-observation statistics
// each fragment reports (ObsStats) into one running mean and variance and
// broadcasts them with the weights (Weights.ObsNorm); workers normalise
// with the statistics they were sent, so every observation of an
// iteration is normalised alike, and evaluation and exported policies use
// the statistics frozen in their weights.
//
// Apply computes clip((x − Mean) / √(Var + Epsilon), −Clip, Clip).
type ObsNorm struct {
	Mean  []float64 `msgpack:"mean"`
	Var   []float64 `msgpack:"var"`
	Count float64   `msgpack:"count"`
	// Clip bounds the normalised values. Default 10 (SB3, CleanRL).
	Clip float64 `msgpack:"clip"`
	// Epsilon keeps the division away from zero. Default 1e-8.
	Epsilon float64 `msgpack:"epsilon"`
}

// NewObsNorm returns empty statistics (mean 0, variance 1) for dim-sized
// observations with the given clip (≤ 0 means the default 10).
func NewObsNorm(dim int, clip float64) *ObsNorm {
	if clip <= 0 {
		clip = envs.DefaultNormalizeClip
	}
	n := &ObsNorm{Mean: make([]float64, dim), Var: make([]float64, dim), Clip: clip, Epsilon: envs.DefaultNormalizeEpsilon}
	for i := range n.Var {
		n.Var[i] = 1
	}
	return n
}

// Clone returns a deep copy (nil for nil).
func (n *ObsNorm) Clone() *ObsNorm {
	if n == nil {
		return nil
	}
	c := *n
	c.Mean, c.Var = slices.Clone(n.Mean), slices.Clone(n.Var)
	return &c
}

// Apply writes the normalised rows of src (any number of dim-sized
// observations) into dst, which must be as long as src.
func (n *ObsNorm) Apply(dst, src []float32) {
	d := len(n.Mean)
	for i, x := range src {
		j := i % d
		z := (float64(x) - n.Mean[j]) / math.Sqrt(n.Var[j]+n.Epsilon)
		dst[i] = float32(math.Min(math.Max(z, -n.Clip), n.Clip))
	}
}

// normalized returns obs normalised into *buf (grown as needed), or obs
// itself when n is nil: a policy's Greedy on raw observations.
func (n *ObsNorm) normalized(buf *[]float32, obs []float32) []float32 {
	if n == nil {
		return obs
	}
	if cap(*buf) < len(obs) {
		*buf = make([]float32, len(obs))
	}
	*buf = (*buf)[:len(obs)]
	n.Apply(*buf, obs)
	return *buf
}

// Merge adds the statistics s to n (Chan et al.'s parallel update), as if
// n had seen s's observations.
func (n *ObsNorm) Merge(s *ObsStats) {
	r := envs.RunningMeanStd{Mean: n.Mean, Var: n.Var, Count: n.Count}
	r.Merge(&envs.RunningMeanStd{Mean: s.Mean, Var: s.Var, Count: s.Count})
	n.Count = r.Count
}

// Validate checks the sizes and values (statistics may come off the network
// or out of a file).
func (n *ObsNorm) Validate(dim int) error {
	if err := validateMoments("observation normalisation", n.Mean, n.Var, dim); err != nil {
		return err
	}
	if !(n.Clip > 0) || !(n.Epsilon >= 0) || math.IsInf(n.Epsilon, 0) || !(n.Count >= 0) || math.IsInf(n.Count, 0) {
		return errors.New("observation normalisation: clip must be positive, epsilon and count finite and non-negative")
	}
	return nil
}

// validateMoments checks dim means and variances: finite, variances ≥ 0.
func validateMoments(what string, mean, vr []float64, dim int) error {
	if len(mean) != dim || len(vr) != dim {
		return fmt.Errorf("%s: %d means and %d variances, want %d", what, len(mean), len(vr), dim)
	}
	for i := range mean {
		if math.IsNaN(mean[i]) || math.IsInf(mean[i], 0) || !(vr[i] >= 0) || math.IsInf(vr[i], 0) {
			return fmt.Errorf("%s: element %d has mean %v, variance %v", what, i, mean[i], vr[i])
		}
	}
	return nil
}

// ObsStats are the mean, population variance and count of a set of raw
// observations: what a worker reports for its fragment.
type ObsStats struct {
	Mean  []float64 `msgpack:"mean"`
	Var   []float64 `msgpack:"var"`
	Count float64   `msgpack:"count"`
}

// NewObsStats returns empty statistics for dim-sized observations.
func NewObsStats(dim int) *ObsStats {
	return &ObsStats{Mean: make([]float64, dim), Var: make([]float64, dim)}
}

// Update adds rows (any number of observations laid end to end).
func (s *ObsStats) Update(rows []float32) {
	r := envs.RunningMeanStd{Mean: s.Mean, Var: s.Var, Count: s.Count}
	r.Update(rows)
	s.Count = r.Count
}

// Validate checks that the statistics are of dim-sized observations and finite.
func (s *ObsStats) Validate(dim int) error {
	if err := validateMoments("observation statistics", s.Mean, s.Var, dim); err != nil {
		return err
	}
	if !(s.Count >= 0) || math.IsInf(s.Count, 0) {
		return fmt.Errorf("observation statistics: count %v", s.Count)
	}
	return nil
}
