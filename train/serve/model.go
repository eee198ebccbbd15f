package serve

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/rlgo/rlgo/policy"
)

// snapshot is one served policy: the exported file's data and the
// version every reply made with it carries. It is immutable once
// published; each batch worker builds its own network from it.
type snapshot struct {
	exp     *policy.Exported
	version uint64
}

// checkExported validates e the way policy.Load validates a file (it
// encodes and decodes it), so a policy from a checkpoint is held to the
// same checks as one from disk.
func checkExported(e *policy.Exported) error {
	if e == nil {
		return fmt.Errorf("no policy")
	}
	b, err := e.Encode()
	if err != nil {
		return fmt.Errorf("encode policy: %w", err)
	}
	if _, err := policy.Decode(b); err != nil {
		return err
	}
	return nil
}

// compatible reports why a new policy cannot replace the served one
// without breaking its clients (other spaces), or nil.
func compatible(old, e *policy.Exported) error {
	switch {
	case old.Kind != e.Kind:
		return fmt.Errorf("kind %q differs from the served %q", e.Kind, old.Kind)
	case len(old.ObsLow) != len(e.ObsLow):
		return fmt.Errorf("observation size %d differs from the served %d", len(e.ObsLow), len(old.ObsLow))
	case old.NumActions != e.NumActions:
		return fmt.Errorf("%d actions differ from the served %d", e.NumActions, old.NumActions)
	case len(old.ActionLow) != len(e.ActionLow):
		return fmt.Errorf("action size %d differs from the served %d", len(e.ActionLow), len(old.ActionLow))
	}
	return nil
}

// network is one batch worker's forward pass of a snapshot: the exported
// policy's networks over its own copy of the weights, and every buffer a
// batch needs, grown once and reused. Not safe for concurrent use.
type network struct {
	snap    *snapshot
	obsDim  int
	numAct  int // Discrete actions (0 for a Box action space)
	actDim  int // Box action size (0 for Discrete)
	norm    *policy.ObsNorm
	normBuf []float32

	// actor-critic
	actor     *policy.Forward
	actorConv *policy.ConvForward
	std       []float32 // exp(log σ) of a Gaussian actor
	low, high []float32 // action bounds (continuous)
	logp      []float32 // Categorical's buffer
	// Q-network
	q       *policy.QNetwork
	epsilon float64
}

// newNetwork builds the forward pass of s's policy (checked by
// checkExported before it was published).
func newNetwork(s *snapshot) (*network, error) {
	e := s.exp
	w := e.Weights.Clone()
	n := &network{snap: s, obsDim: len(e.ObsLow), numAct: e.NumActions, actDim: len(e.ActionLow), norm: w.ObsNorm,
		low: e.ActionLow, high: e.ActionHigh}
	var err error
	switch e.Kind {
	case "actor_critic":
		spec := policy.ActorCriticSpec{ObsDim: n.obsDim, ObsShape: e.ObsShape, NumActions: e.NumActions, ActionDim: n.actDim, Model: e.Model}
		if n.actorConv, err = policy.NewConvForward(spec.ActorConv(), w); err != nil {
			return nil, err
		}
		if n.actor, err = policy.NewForward(spec.Actor(), w); err != nil {
			return nil, err
		}
		if n.actDim > 0 {
			t := w.Get(policy.LogStdName)
			if t == nil || len(t.Data) != n.actDim {
				return nil, fmt.Errorf("weights have no %s of %d values", policy.LogStdName, n.actDim)
			}
			n.std = make([]float32, n.actDim)
			for j, ls := range t.Data {
				n.std[j] = float32(math.Exp(float64(ls)))
			}
		}
	case "q":
		spec := policy.QSpec{ObsDim: n.obsDim, ObsShape: e.ObsShape, NumActions: e.NumActions, Model: e.Model, Dueling: e.Dueling}
		if n.q, err = policy.NewQNetwork(spec, w); err != nil {
			return nil, err
		}
		n.epsilon = float64(w.Explore.Epsilon)
	default:
		return nil, fmt.Errorf("unknown policy kind %q", e.Kind)
	}
	return n, nil
}

// outputs is the width of a row of the network's output: logits,
// Q-values, or the Gaussian's means.
func (n *network) outputs() int {
	if n.actDim > 0 {
		return n.actDim
	}
	return n.numAct
}

// forward runs the network on rows raw observations ([rows, obsDim]),
// normalising them with the policy's frozen statistics first, and returns
// its outputs ([rows, outputs()]), valid until the next call.
func (n *network) forward(obs []float32, rows int) []float32 {
	x := obs[:rows*n.obsDim]
	if n.norm != nil {
		if cap(n.normBuf) < len(x) {
			n.normBuf = make([]float32, len(x))
		}
		n.normBuf = n.normBuf[:len(x)]
		n.norm.Apply(n.normBuf, x)
		x = n.normBuf
	}
	if n.q != nil {
		return n.q.Q(x, rows)
	}
	return n.actor.Run(n.actorConv.Run(x, rows), rows)
}

// decide turns one row of the network's output into c's action for row
// i, with the probabilities or Q-values c asked for: the deterministic
// action (as policy.Policy's Act and ActContinuous) unless c explores.
func (n *network) decide(out []float32, c *call, i int) {
	switch {
	case n.q != nil:
		a := policy.Argmax(out)
		if c.explore && c.rng.Float64() < n.epsilon {
			a = c.rng.IntN(n.numAct)
		}
		c.actions[i] = a
		if c.qValues {
			copy(c.extra[i*n.numAct:], out)
		}
	case n.actDim > 0:
		dst := c.cont[i*n.actDim : (i+1)*n.actDim]
		for j, mu := range out {
			a := mu
			if c.explore {
				a = float32(float64(mu) + float64(n.std[j])*c.rng.NormFloat64())
			}
			dst[j] = min(max(a, n.low[j]), n.high[j])
		}
		if c.probs {
			copy(c.extra[i*2*n.actDim:], out)
			copy(c.extra[i*2*n.actDim+n.actDim:], n.std)
		}
	default:
		d := policy.NewCategorical(n.logp, out)
		n.logp = d.LogP
		a := d.Mode()
		if c.explore {
			a = d.Sample(c.rng)
		}
		c.actions[i] = a
		if c.probs {
			p := c.extra[i*n.numAct : (i+1)*n.numAct]
			for j, lp := range d.LogP {
				p[j] = float32(math.Exp(float64(lp)))
			}
		}
	}
}

// newRand returns a generator over its own PCG source, reseeded per call.
func newRand() (*rand.PCG, *rand.Rand) {
	src := rand.NewPCG(0, 0)
	return src, rand.New(src)
}
