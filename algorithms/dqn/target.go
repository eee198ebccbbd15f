package dqn

import (
	"runtime"

	"github.com/rlgo/rlgo/policy"
)

// tdTargets writes the TD targets y_j = R_j + bootstrap_j·Q'(s'_j, a*_j)
// for m transitions. qTarget is the target network's Q(s', ·)
// ([m, numActions]). Without double Q-learning a* = argmax_a Q'(s', a)
// (Mnih et al. 2015); with it a* = argmax_a Q(s', a) of the online network
// (qOnline), decoupling selection from evaluation (van Hasselt et al.
// 2016, eq. 4).
func tdTargets(y, returns, bootstrap, qTarget, qOnline []float32, m, numActions int, double bool) {
	for j := 0; j < m; j++ {
		row := qTarget[j*numActions : (j+1)*numActions]
		var a int
		if double {
			a = policy.Argmax(qOnline[j*numActions : (j+1)*numActions])
		} else {
			a = policy.Argmax(row)
		}
		y[j] = returns[j] + bootstrap[j]*row[a]
	}
}

// updateTarget moves the target network towards the online one:
// θ' ← τ·θ + (1 − τ)·θ' (a copy when τ = 1).
func (d *DQN) updateTarget() {
	online, target := d.learner.Weights(), d.next.target
	if d.cfg.Tau >= 1 {
		for i := range target.Tensors {
			copy(target.Tensors[i].Data, online.Tensors[i].Data)
		}
		return
	}
	tau := float32(d.cfg.Tau)
	for i := range target.Tensors {
		src, dst := online.Tensors[i].Data, target.Tensors[i].Data
		for k, v := range dst {
			dst[k] = tau*src[k] + (1-tau)*v
		}
	}
}

// nextQNets evaluates Q(s', ·) on a minibatch of next observations with
// the target network, and with the online network too for double
// Q-learning. It is forward-only, so it runs in pure Go (policy.QNetwork,
// the same kernels as the learner's Dense nodes, bit for bit) rather than
// on a gorgonia tape machine, whose every RunAll hands the work to another
// OS thread and back (a quarter of a zoo-settings gradient step).
type nextQNets struct {
	nextObs []float32 // [m, ObsDim]
	target  *policy.Weights
	qt, qo  *nextQ // qo is nil without double Q-learning
	m       int
}

// nextQ is a policy.QNetwork with its own output buffer for the dueling
// aggregation (policy.DuelingQ, as the loss graph computes it).
type nextQ struct {
	spec policy.QSpec
	net  *policy.QNetwork
	q    []float32
}

func newNextQ(spec policy.QSpec, w *policy.Weights) (*nextQ, error) {
	net, err := policy.NewQNetwork(spec, w)
	if err != nil {
		return nil, err
	}
	return &nextQ{spec: spec, net: net}, nil
}

// Q returns Q(s, ·) for m observations ([m, NumActions], valid until the next call).
func (n *nextQ) Q(obs []float32, m int) []float32 {
	if !n.spec.Dueling {
		return n.net.Q(obs, m)
	}
	v, adv := n.net.Streams(obs, m)
	na := n.spec.NumActions
	if cap(n.q) < m*na {
		n.q = make([]float32, m*na)
	}
	q := n.q[:m*na]
	policy.DuelingQ(q, v, adv, m, na)
	return q
}

// buildNextQ builds the networks for minibatches of m: the target network
// over a copy of w, the online one (double Q-learning) over w itself.
func buildNextQ(w *policy.Weights, spec policy.QSpec, m int, double bool) (nextQNets, error) {
	n := nextQNets{nextObs: make([]float32, m*spec.ObsDim), target: w.Clone(), m: m}
	var err error
	if n.qt, err = newNextQ(spec, n.target); err != nil {
		return n, err
	}
	if double {
		if n.qo, err = newNextQ(spec, w); err != nil {
			return n, err
		}
	}
	return n, nil
}

// run evaluates the networks on nextObs, the online one with the
// learner's current weights (buildNextQ bound it to them); the results are
// [m, NumActions] each, valid until the next run (qOnline nil without
// double Q-learning).
//
// With double Q-learning and more than one P (GOMAXPROCS), the online
// network runs on a second goroutine while the target network runs on
// the caller's: the two networks share no buffers, so the results are the
// same bits as run one after the other, on two cores.
func (n *nextQNets) run() (qTarget, qOnline []float32) {
	if n.qo == nil {
		return n.qt.Q(n.nextObs, n.m), nil
	}
	if runtime.GOMAXPROCS(0) == 1 {
		qOnline = n.qo.Q(n.nextObs, n.m)
		return n.qt.Q(n.nextObs, n.m), qOnline
	}
	done := make(chan struct{})
	go func() {
		qOnline = n.qo.Q(n.nextObs, n.m)
		close(done)
	}()
	qTarget = n.qt.Q(n.nextObs, n.m)
	<-done
	return qTarget, qOnline
}
