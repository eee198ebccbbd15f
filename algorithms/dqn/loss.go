package dqn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
)

// lossGraph is DQN's loss as a gorgonia graph over one minibatch, built
// once; inputs are written in place before every step.
type lossGraph struct {
	graph *learner.Graph
	loss  *gorgonia.Node

	obs, actionsOneHot, targets, weights *learner.Input

	// Fixed for the run: the loss ("huber" or "mse"), Huber's κ, and the
	// minibatch size the sum is divided by.
	huber        bool
	delta, denom float64
	// Written by every forward run: Q(s, a) of each row, the loss.
	qsa     []float32
	lossVal float64
	// wait is shared by the copies of a lossGraph (tdTerm is bound to
	// the one buildLoss made).
	wait *targetsWait
}

// targetsWait lets gradientStep compute the TD targets while the graph
// runs the Q-network's forward pass: when ready is not nil, tdTerm waits
// until it is closed, once the targets input holds this step's targets.
type targetsWait struct{ ready <-chan struct{} }

// buildLoss builds the TD loss for a minibatch of m:
//
//	Q(s, a) = Σ_a' Q(s, a')·onehot(a)_a'
//	δ       = Q(s, a) − y                      (y from tdTargets, a constant)
//	L       = mean(w ⊙ ℓ(δ))                   (w: importance weights, 1 without PER)
//
// with ℓ(δ) = δ² (mse, CleanRL's F.mse_loss) or the Huber loss
// ℓ(δ) = ½δ² for |δ| ≤ κ, κ(|δ| − ½κ) otherwise (SB3's smooth_l1_loss).
// The Q-network is gorgonia nodes; the loss is one learner.Scalar node
// (tdTerm) with a hand-written gradient, as PPO's is, instead of ~15
// element-wise nodes and their derivatives.
func buildLoss(w *policy.Weights, spec policy.QSpec, m int, cfg Config) (lossGraph, error) {
	gr := learner.NewGraph(w)
	l := lossGraph{graph: gr, huber: cfg.Loss == "huber", delta: cfg.HuberDelta, denom: float64(m), qsa: make([]float32, m), wait: &targetsWait{}}
	l.obs = gr.Input("obs", m, spec.ObsDim)
	l.actionsOneHot = gr.Input("actions_onehot", m, spec.NumActions)
	l.targets = gr.Input("targets", m)
	l.weights = gr.Input("is_weights", m)
	fill(l.weights.Data, 1)
	q, err := qGraph(gr, spec, "", l.obs.Node)
	if err != nil {
		return l, err
	}
	if l.loss, err = learner.Scalar("dqn_td", l.tdTerm, 0, q, l.actionsOneHot.Node, l.targets.Node, l.weights.Node); err != nil {
		return l, err
	}
	return l, nil
}

// tdTerm is Σ_i w_i·ℓ(δ_i) / m over in = (Q [m,n], one-hot actions [m,n],
// y [m], w [m]), in float64, with its gradient in Q:
//
//	∂L/∂Q(s_i, a') = onehot(a_i)_a' · w_i · ℓ'(δ_i) / m
//	ℓ'(δ) = clamp(δ, −κ, κ) (Huber; torch's smooth_l1_loss gradient), 2δ (mse)
func (l *lossGraph) tdTerm(in [][]float32, grad []float32) float32 {
	if ready := l.wait.ready; ready != nil {
		// Both calls wait: gorgonia's tape may run the gradient's call
		// (grad != nil) before the loss's.
		<-ready
	}
	q, onehot, y, w := in[0], in[1], in[2], in[3]
	m := len(y)
	n := len(q) / m
	var sum float64
	for i := 0; i < m; i++ {
		var qsa float64
		for a := 0; a < n; a++ {
			qsa += float64(q[i*n+a]) * float64(onehot[i*n+a])
		}
		td := qsa - float64(y[i])
		var loss, dloss float64
		switch {
		case !l.huber:
			loss, dloss = td*td, 2*td
		case math.Abs(td) <= l.delta:
			loss, dloss = 0.5*td*td, td
		default:
			loss, dloss = l.delta*(math.Abs(td)-0.5*l.delta), math.Copysign(l.delta, td)
		}
		sum += float64(w[i]) * loss
		if grad != nil {
			g := float64(w[i]) * dloss / l.denom
			for a := 0; a < n; a++ {
				grad[i*n+a] = float32(g * float64(onehot[i*n+a]))
			}
		} else {
			l.qsa[i] = float32(qsa)
		}
	}
	if grad == nil {
		l.lossVal = sum / l.denom
	}
	return float32(sum / l.denom)
}

// qGraph adds the Q-network's forward pass on obs ([m, ObsDim]) and
// returns Q(s, ·) ([m, NumActions]): what policy.QNetwork computes. The
// dueling aggregation V + A − mean(A) is policy.DuelingQ's, as one node
// (learner.Dueling): V·1ᵀ + A·C with C = policy.DuelingCenter.
func qGraph(gr *learner.Graph, spec policy.QSpec, prefix string, obs *gorgonia.Node) (*gorgonia.Node, error) {
	named := func(m policy.MLP) policy.MLP { m.Name = prefix + m.Name; return m }
	// Image observations go through the convolutional torso first (none
	// for vector observations: obs passes through).
	conv := spec.Conv()
	conv.Name = prefix + conv.Name
	obs, err := gr.Conv(conv, obs)
	if err != nil {
		return nil, err
	}
	if !spec.Dueling {
		return gr.MLP(named(spec.Plain()), obs)
	}
	h := obs
	torso := named(spec.Torso())
	for i := 0; i < torso.Layers(); i++ {
		var err error
		if h, err = learner.Dense(h, gr.Param(torso.WeightName(i)), gr.Param(torso.BiasName(i)), torso.Activation, i > 0 || !h.IsVar()); err != nil {
			return nil, fmt.Errorf("q torso layer %d: %w", i, err)
		}
	}
	v, err := gr.MLP(named(spec.Value()), h)
	if err != nil {
		return nil, err
	}
	adv, err := gr.MLP(named(spec.Advantage()), h)
	if err != nil {
		return nil, err
	}
	return learner.Dueling(v, adv)
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}
