package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// QSpec describes a Q-network for a discrete action space: observations to
// one action value Q(s, a) per action (Mnih et al. 2015), optionally with a
// dueling head (Wang et al. 2016, arXiv:1511.06581).
//
// Without dueling the network is one MLP "q" with Model.Hidden layers. With
// dueling, the hidden layers but the last form a shared torso "q/torso"
// (activated output; empty with a single hidden layer), and two streams
// with the last hidden layer each read it: the value stream "q/v" (one
// output, V(s)) and the advantage stream "q/a" (one output per action,
// A(s, a)), aggregated with mean-subtracted advantages (Wang et al. eq. 9):
//
//	Q(s, a) = V(s) + A(s, a) − (1/|A|)·Σ_a' A(s, a')
//
// With conv layers in the model, a convolutional torso Conv ("q/conv")
// reads the image first and everything above reads its output, as in
// Mnih et al. (2015) (and Wang et al.'s dueling Atari network).
type QSpec struct {
	ObsDim int
	// ObsShape is the observation Box's shape, as ActorCriticSpec's.
	ObsShape   []int
	NumActions int
	Model      ModelConfig
	Dueling    bool
}

// Conv is the convolutional torso ("q/conv/..."), in front of Plain or
// Torso; it has no layers when the model has none.
func (s QSpec) Conv() Conv {
	m := s.Model.Resolve()
	return Conv{Name: "q/conv", InShape: imageShape(s.ObsDim, s.ObsShape), Layers: m.Conv, Activation: m.Activation}
}

// in is the width of the MLPs' input: the observation, or the conv
// torso's output.
func (s QSpec) in(m ModelConfig) int {
	if len(m.Conv) > 0 {
		return s.Conv().OutSize()
	}
	return s.ObsDim
}

// Validate checks the model, and that the observation shape fits it (a
// spec may come from outside: a file, the wire).
func (s QSpec) Validate() error {
	if err := s.Model.Validate(); err != nil {
		return err
	}
	return s.checkConv()
}

// checkConv checks the observation shape and the conv torso.
func (s QSpec) checkConv() error {
	if err := checkObsShape(s.ObsDim, s.ObsShape, s.Model); err != nil {
		return err
	}
	return s.Conv().validateLayers()
}

// Plain is the network of a non-dueling spec: observations (or Conv's
// outputs) to Q-values ("q/...").
func (s QSpec) Plain() MLP {
	m := s.Model.Resolve()
	sizes := append(append([]int{s.in(m)}, m.Hidden...), s.NumActions)
	return MLP{Name: "q", Sizes: sizes, Activation: m.Activation, OutputGain: 1, InitKind: m.Init}
}

// Torso is a dueling spec's shared trunk ("q/torso/..."): observations
// (or Conv's outputs) through every hidden layer but the last. Its output
// layer is activated too (callers apply the activation, Torso().Activation,
// to it). It has no layers when Hidden has one entry.
func (s QSpec) Torso() MLP {
	m := s.Model.Resolve()
	h := m.Hidden
	sizes := append([]int{s.in(m)}, h[:len(h)-1]...)
	return MLP{Name: "q/torso", Sizes: sizes, Activation: m.Activation, OutputGain: math.Sqrt2, InitKind: m.Init}
}

// torsoOut is the width of the torso's output (the streams' input).
func (s QSpec) torsoOut(m ModelConfig) int {
	if len(m.Hidden) == 1 {
		return s.in(m)
	}
	return m.Hidden[len(m.Hidden)-2]
}

// Value is a dueling spec's value stream ("q/v/..."): torso output to V(s).
func (s QSpec) Value() MLP {
	m := s.Model.Resolve()
	last := m.Hidden[len(m.Hidden)-1]
	return MLP{Name: "q/v", Sizes: []int{s.torsoOut(m), last, 1}, Activation: m.Activation, OutputGain: 1, InitKind: m.Init}
}

// Advantage is a dueling spec's advantage stream ("q/a/..."): torso output to A(s, ·).
func (s QSpec) Advantage() MLP {
	m := s.Model.Resolve()
	last := m.Hidden[len(m.Hidden)-1]
	return MLP{Name: "q/a", Sizes: []int{s.torsoOut(m), last, s.NumActions}, Activation: m.Activation, OutputGain: 1, InitKind: m.Init}
}

// Init returns version-0 weights drawn from rng (orthogonal, as MLP.Init
// and Conv.Init).
func (s QSpec) Init(rng *rand.Rand) *Weights {
	w := &Weights{}
	s.Conv().Init(w, rng)
	if !s.Dueling {
		s.Plain().Init(w, rng)
		return w
	}
	// The torso's last layer is a hidden layer: gain √2 (OutputGain above).
	s.Torso().Init(w, rng)
	s.Value().Init(w, rng)
	s.Advantage().Init(w, rng)
	return w
}

// DuelingQ aggregates a dueling head's streams into Q-values for batch
// rows: Q(s, a) = V(s) + A(s, a) − mean_a' A(s, a') (Wang et al. 2016,
// eq. 9). q and adv are [batch, numActions], v is [batch].
//
// It is the one definition of the aggregation in rlgo: the mean is taken
// as the product with the centering matrix C = I − J/n (DuelingCenter),
// q[i, a] = v[i] + Σ_k adv[i, k]·C[k, a], which is how the learner's graph
// computes it (V·1ᵀ + A·C, in the same order of float32 additions), so
// that acting, the TD targets and the loss agree bit for bit.
func DuelingQ(q, v, adv []float32, batch, numActions int) {
	n := numActions
	for i := 0; i < batch; i++ {
		row := adv[i*n : (i+1)*n]
		for a := 0; a < n; a++ {
			var acc float32
			for k, x := range row {
				acc += x * duelingCenter(k, a, n)
			}
			q[i*n+a] = v[i] + acc
		}
	}
}

// DuelingCenter returns the centering matrix C = I − J/n ([n, n],
// row-major) that DuelingQ multiplies the advantages by.
func DuelingCenter(n int) []float32 {
	c := make([]float32, n*n)
	for k := 0; k < n; k++ {
		for a := 0; a < n; a++ {
			c[k*n+a] = duelingCenter(k, a, n)
		}
	}
	return c
}

// duelingCenter is C[k, a]: 1 − 1/n on the diagonal, −1/n elsewhere (the
// diagonal computed as −1/n + 1 in float32).
func duelingCenter(k, a, n int) float32 {
	c := -1 / float32(n)
	if k == a {
		c++
	}
	return c
}

// QNetwork is a pure-Go forward pass of a QSpec over Weights. The tensors
// are referenced, not copied: updating the weights in place (an optimizer
// step, Weights.CopyFrom) updates the network. Not safe for concurrent use.
type QNetwork struct {
	spec             QSpec
	act              Activation // the torso's output activation (dueling)
	conv             *ConvForward
	plain, torso     *Forward
	value, advantage *Forward
	q                []float32
}

// NewQNetwork binds spec's networks to the tensors in w.
func NewQNetwork(spec QSpec, w *Weights) (*QNetwork, error) {
	m := spec.Model.Resolve()
	if len(m.Hidden) == 0 {
		return nil, fmt.Errorf("q-network: want at least one hidden layer")
	}
	if err := spec.checkConv(); err != nil {
		return nil, fmt.Errorf("q-network: %w", err)
	}
	n := &QNetwork{spec: spec, act: m.Activation}
	var err error
	if n.conv, err = NewConvForward(spec.Conv(), w); err != nil {
		return nil, err
	}
	if !spec.Dueling {
		n.plain, err = NewForward(spec.Plain(), w)
		return n, err
	}
	if spec.Torso().Layers() > 0 {
		if n.torso, err = NewForward(spec.Torso(), w); err != nil {
			return nil, err
		}
	}
	if n.value, err = NewForward(spec.Value(), w); err != nil {
		return nil, err
	}
	if n.advantage, err = NewForward(spec.Advantage(), w); err != nil {
		return nil, err
	}
	return n, nil
}

// Spec returns the network's spec.
func (n *QNetwork) Spec() QSpec { return n.spec }

// Q returns Q(s, ·) for batch rows of obs ([batch, ObsDim]) as
// [batch, NumActions], valid until the next call.
func (n *QNetwork) Q(obs []float32, batch int) []float32 {
	if !n.spec.Dueling {
		return n.plain.Run(n.conv.Run(obs, batch), batch)
	}
	v, adv := n.Streams(obs, batch)
	na := n.spec.NumActions
	if cap(n.q) < batch*na {
		n.q = make([]float32, batch*na)
	}
	q := n.q[:batch*na]
	DuelingQ(q, v, adv, batch, na)
	return q
}

// Streams returns a dueling network's value stream V(s) ([batch]) and
// advantage stream A(s, ·) ([batch, NumActions]) for batch rows of obs,
// before DuelingQ aggregates them; both are valid until the next call.
// It panics for a network without a dueling head.
func (n *QNetwork) Streams(obs []float32, batch int) (v, adv []float32) {
	if !n.spec.Dueling {
		panic("policy: Streams of a Q-network without a dueling head")
	}
	h := n.conv.Run(obs, batch)
	if n.torso != nil {
		h = n.torso.Run(h, batch)
		activate(n.act, h)
	}
	return n.value.Run(h, batch), n.advantage.Run(h, batch)
}

// Argmax returns the index of the largest value (the first on ties).
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// EpsilonGreedy is a rollout policy that acts ε-greedily with a Q-network
// (Mnih et al. 2015): a uniformly random action with probability ε, else
// argmax_a Q(s, a). ε is read from the weights' Explore.Epsilon, so the
// learner anneals it by broadcasting. It holds its own copy of the weights.
// Not safe for concurrent use: each rollout worker has its own.
type EpsilonGreedy struct {
	spec    QSpec
	w       *Weights
	net     *QNetwork
	normBuf []float32 // Greedy's normalised observations
}

// NewEpsilonGreedy returns an ε-greedy policy acting with a copy of w.
func NewEpsilonGreedy(spec QSpec, w *Weights) (*EpsilonGreedy, error) {
	p := &EpsilonGreedy{spec: spec, w: w.Clone()}
	var err error
	if p.net, err = NewQNetwork(spec, p.w); err != nil {
		return nil, err
	}
	return p, nil
}

// SetWeights copies w, including its exploration settings (no allocation).
func (p *EpsilonGreedy) SetWeights(w *Weights) error { return p.w.CopyFrom(w) }

// Version returns the version of the weights the policy acts with.
func (p *EpsilonGreedy) Version() uint64 { return p.w.Version }

// Epsilon returns the exploration rate the policy acts with.
func (p *EpsilonGreedy) Epsilon() float64 { return float64(p.w.Explore.Epsilon) }

// Act chooses an action for each of n observations: one uniform draw from
// rng per observation decides exploration, a second picks the random
// action. logp gets log π(a|s) of the ε-greedy distribution, values (may be
// nil) max_a Q(s, a).
func (p *EpsilonGreedy) Act(obs []float32, n int, rng *rand.Rand, actions []int, logp, values []float32) {
	q := p.net.Q(obs, n)
	na := p.spec.NumActions
	eps := float64(p.w.Explore.Epsilon)
	for i := 0; i < n; i++ {
		row := q[i*na : (i+1)*na]
		greedy := Argmax(row)
		a := greedy
		if rng.Float64() < eps {
			a = rng.IntN(na)
		}
		actions[i] = a
		prob := eps / float64(na)
		if a == greedy {
			prob += 1 - eps
		}
		logp[i] = float32(math.Log(prob))
		if values != nil {
			values[i] = row[greedy]
		}
	}
}

// ObsNorm returns the observation-normalisation statistics of the weights
// the policy acts with (nil when observations are used as they are). Act
// and Values take observations already normalised with them (a rollout
// worker normalises); Greedy takes raw observations and normalises them.
func (p *EpsilonGreedy) ObsNorm() *ObsNorm { return p.w.ObsNorm }

// Greedy writes argmax_a Q(s, a) for each of n raw observations (evaluation).
func (p *EpsilonGreedy) Greedy(obs []float32, n int, actions []int) {
	q := p.net.Q(p.w.ObsNorm.normalized(&p.normBuf, obs), n)
	na := p.spec.NumActions
	for i := 0; i < n; i++ {
		actions[i] = Argmax(q[i*na : (i+1)*na])
	}
}

// Values writes max_a Q(s, a) for n observations into dst.
func (p *EpsilonGreedy) Values(obs []float32, n int, dst []float32) {
	q := p.net.Q(obs, n)
	na := p.spec.NumActions
	for i := 0; i < n; i++ {
		row := q[i*na : (i+1)*na]
		dst[i] = row[Argmax(row)]
	}
}
