package dqn

import (
	"math"
	"math/rand/v2"
)

// Replay is DQN's experience replay (Lin 1992; Mnih et al. 2015): a ring
// buffer of (s, a, R, s', bootstrap) transitions, preallocated at its full
// capacity so that adding a transition allocates nothing. Once full, each
// new transition overwrites the oldest.
//
// R is the (n-step) return and bootstrap the coefficient of the next
// state's value in the TD target, y = R + bootstrap·max_a' Q'(s', a'):
// γ^k after k rewards, or 0 when the episode terminated (a truncated
// episode still bootstraps from its final observation).
type Replay struct {
	capacity, obsDim int
	obs, nextObs     []float32
	actions          []int32
	returns          []float32
	bootstrap        []float32
	next, size       int
}

// NewReplay allocates a buffer of capacity transitions of obsDim-wide observations.
func NewReplay(capacity, obsDim int) *Replay {
	return &Replay{
		capacity:  capacity,
		obsDim:    obsDim,
		obs:       make([]float32, capacity*obsDim),
		nextObs:   make([]float32, capacity*obsDim),
		actions:   make([]int32, capacity),
		returns:   make([]float32, capacity),
		bootstrap: make([]float32, capacity),
	}
}

// Add stores one transition and returns the slot it was written to.
func (r *Replay) Add(obs []float32, action int32, ret float32, nextObs []float32, bootstrap float32) int {
	i, d := r.next, r.obsDim
	copy(r.obs[i*d:(i+1)*d], obs)
	copy(r.nextObs[i*d:(i+1)*d], nextObs)
	r.actions[i], r.returns[i], r.bootstrap[i] = action, ret, bootstrap
	r.next = (r.next + 1) % r.capacity
	r.size = min(r.size+1, r.capacity)
	return i
}

// Len returns the number of transitions stored.
func (r *Replay) Len() int { return r.size }

// Cap returns the capacity.
func (r *Replay) Cap() int { return r.capacity }

// Obs returns slot i's observation (shared).
func (r *Replay) Obs(i int) []float32 { return r.obs[i*r.obsDim : (i+1)*r.obsDim] }

// NextObs returns slot i's next observation (shared).
func (r *Replay) NextObs(i int) []float32 { return r.nextObs[i*r.obsDim : (i+1)*r.obsDim] }

// Action, Return and Bootstrap return slot i's fields.
func (r *Replay) Action(i int) int32      { return r.actions[i] }
func (r *Replay) Return(i int) float32    { return r.returns[i] }
func (r *Replay) Bootstrap(i int) float32 { return r.bootstrap[i] }

// SampleUniform fills idx with slots drawn uniformly, with replacement, from rng.
func (r *Replay) SampleUniform(rng *rand.Rand, idx []int) {
	for j := range idx {
		idx[j] = rng.IntN(r.size)
	}
}

// SumTree is a binary tree over a fixed number of non-negative leaf
// priorities whose inner nodes hold their children's sum and minimum, so
// that setting a priority, the total, the minimum and finding the leaf at
// a prefix sum all take O(log n) (Schaul et al. 2016, appendix B.2.1).
type SumTree struct {
	leaves int       // a power of two ≥ capacity
	sum    []float64 // sum[1] is the root; leaf i is sum[leaves+i]
	min    []float64 // the same layout; unset leaves are +Inf
}

// NewSumTree returns a tree of capacity leaves, all zero.
func NewSumTree(capacity int) *SumTree {
	n := 1
	for n < capacity {
		n *= 2
	}
	t := &SumTree{leaves: n, sum: make([]float64, 2*n), min: make([]float64, 2*n)}
	for i := range t.min {
		t.min[i] = math.Inf(1)
	}
	return t
}

// Set sets leaf i's priority to p (≥ 0).
func (t *SumTree) Set(i int, p float64) {
	k := t.leaves + i
	t.sum[k], t.min[k] = p, p
	for k /= 2; k >= 1; k /= 2 {
		t.sum[k] = t.sum[2*k] + t.sum[2*k+1]
		t.min[k] = math.Min(t.min[2*k], t.min[2*k+1])
	}
}

// Get returns leaf i's priority.
func (t *SumTree) Get(i int) float64 { return t.sum[t.leaves+i] }

// Total returns the sum of all priorities.
func (t *SumTree) Total() float64 { return t.sum[1] }

// Min returns the smallest priority set so far (+Inf if none).
func (t *SumTree) Min() float64 { return t.min[1] }

// Find returns the leaf i whose interval [Σ_{j<i} p_j, Σ_{j≤i} p_j)
// contains u, for 0 ≤ u < Total(): sampling u uniformly samples leaf i with
// probability p_i / Total().
func (t *SumTree) Find(u float64) int {
	k := 1
	for k < t.leaves {
		left := 2 * k
		if u < t.sum[left] || t.sum[left+1] == 0 {
			k = left
		} else {
			u -= t.sum[left]
			k = left + 1
		}
	}
	return k - t.leaves
}

// Prioritized is proportional prioritised replay (Schaul et al. 2016):
// slot i is sampled with probability P(i) = p_i^α / Σ_j p_j^α, where
// p_i = |δ_i| + ε is its last TD error's magnitude, and a new transition
// gets the largest priority seen so far so it is replayed at least once.
// The bias this introduces is corrected by importance-sampling weights
// w_i = (N·P(i))^−β / max_j w_j.
type Prioritized struct {
	tree        *SumTree
	alpha, eps  float64
	maxPriority float64 // max_i p_i, before the exponent α
}

// NewPrioritized returns priorities for a replay buffer of capacity slots.
func NewPrioritized(capacity int, alpha, eps float64) *Prioritized {
	return &Prioritized{tree: NewSumTree(capacity), alpha: alpha, eps: eps, maxPriority: 1}
}

// Added gives a newly written slot the maximum priority.
func (p *Prioritized) Added(slot int) { p.tree.Set(slot, math.Pow(p.maxPriority, p.alpha)) }

// Sample draws len(idx) slots out of the first size with rng, one from each
// of len(idx) equal segments of the priority mass (Schaul et al. 2016,
// appendix B.2.1), and writes their importance-sampling weights for β.
func (p *Prioritized) Sample(rng *rand.Rand, size int, beta float64, idx []int, weights []float32) {
	total := p.tree.Total()
	seg := total / float64(len(idx))
	// max_j w_j belongs to the smallest priority: (N·p_min/total)^−β.
	maxW := math.Pow(float64(size)*p.tree.Min()/total, -beta)
	for j := range idx {
		u := math.Min((float64(j)+rng.Float64())*seg, math.Nextafter(total, 0))
		i := min(p.tree.Find(u), size-1)
		idx[j] = i
		prob := p.tree.Get(i) / total
		weights[j] = float32(math.Pow(float64(size)*prob, -beta) / maxW)
	}
}

// Update sets the sampled slots' priorities from their new TD errors.
func (p *Prioritized) Update(idx []int, tdErrors []float32) {
	for j, i := range idx {
		pr := math.Abs(float64(tdErrors[j])) + p.eps
		p.maxPriority = math.Max(p.maxPriority, pr)
		p.tree.Set(i, math.Pow(pr, p.alpha))
	}
}
