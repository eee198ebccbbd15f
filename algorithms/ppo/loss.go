package ppo

import (
	"fmt"
	"math"
	"slices"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
)

// lossGraph is PPO's loss as a gorgonia graph over one minibatch, built
// once; inputs are written in place before every step.
type lossGraph struct {
	graph *learner.Graph
	loss  *gorgonia.Node

	obs, actionsOneHot, oldLogProbs, advantages, returns, oldValues *learner.Input
	// actions are the sampled actions [m, ActionDim] of a Gaussian policy
	// (actionsOneHot is then nil).
	actions *learner.Input

	// clip is ε; denom divides the sums (the minibatch size).
	clip, entCoeff, vfCoeff float64
	clipValueLoss           bool
	denom                   float64

	// Written by every forward run: log π(a|s) of the current weights and
	// the loss terms (sums over the rows divided by denom).
	newLogProbs                    []float32
	policyLoss, valueLoss, entropy float64

	pcache policyRows   // policyTerm's forward terms, for its backward
	gcache gaussianRows // the Gaussian policy's
}

// newLearner builds the loss for minibatches of m and the learner
// minimising it.
func newLearner(w *policy.Weights, spec policy.ActorCriticSpec, m int, cfg Config, device string) (*learner.Learner, *lossGraph, error) {
	l, err := buildLoss(w, spec, m, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("loss: %w", err)
	}
	lr, err := learner.New(learner.Config{Device: device, Adam: learner.AdamConfig{Eps: cfg.AdamEps, MaxGradNorm: cfg.MaxGradNorm}}, l.graph, l.loss)
	if err != nil {
		return nil, nil, err
	}
	return lr, l, nil
}

// buildLoss builds CleanRL's loss for a minibatch of m:
//
//	ratio    = exp(log π(a|s) − log π_old(a|s))
//	L^CLIP   = mean(max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)))        (detail 8)
//	L^VF     = ½·mean(max((V−R)², (V_old + clip(V−V_old, −ε, ε) − R)²)) (detail 9)
//	L        = L^CLIP − c_ent·H[π] + c_vf·L^VF                          (detail 10)
//
// The actor's and critic's MLPs are gorgonia nodes; the two loss terms are
// one learner.Scalar node each (policyTerm and valueTerm) with hand-written
// gradients, instead of ~60 element-wise nodes and their derivatives
// (docs/perf-notes.md). The gradient flows through the branch taken, as
// torch.max and torch.clamp's do.
func buildLoss(w *policy.Weights, spec policy.ActorCriticSpec, m int, cfg Config) (*lossGraph, error) {
	gr := learner.NewGraph(w)
	l := &lossGraph{
		graph: gr, entCoeff: cfg.EntropyCoeff, vfCoeff: cfg.VFCoeff, clipValueLoss: cfg.ClipValueLoss,
		clip: cfg.Clip, denom: float64(m), newLogProbs: make([]float32, m),
	}
	l.obs = gr.Input("obs", m, spec.ObsDim)
	if spec.Continuous() {
		l.actions = gr.Input("actions", m, spec.ActionDim)
	} else {
		l.actionsOneHot = gr.Input("actions_onehot", m, spec.NumActions)
	}
	l.oldLogProbs = gr.Input("old_logp", m)
	l.advantages = gr.Input("advantages", m)
	l.returns = gr.Input("returns", m)
	l.oldValues = gr.Input("old_values", m)

	logits, err := gr.Network(spec.ActorConv(), spec.Actor(), l.obs.Node)
	if err != nil {
		return nil, err
	}
	var pol *gorgonia.Node
	if spec.Continuous() {
		pol, err = l.gaussianLoss(gr, logits)
	} else {
		pol, err = learner.Scalar("ppo_policy", l.policyTerm, 0, logits, l.actionsOneHot.Node, l.oldLogProbs.Node, l.advantages.Node)
	}
	if err != nil {
		return nil, err
	}
	v, err := gr.Network(spec.CriticConv(), spec.Critic(), l.obs.Node)
	if err != nil {
		return nil, err
	}
	val, err := learner.Scalar("ppo_value", l.valueTerm, 0, v, l.returns.Node, l.oldValues.Node)
	if err != nil {
		return nil, err
	}
	if l.loss, err = gorgonia.Add(pol, val); err != nil {
		return nil, err
	}
	return l, nil
}

// clippedSurrogate is one row's clipped surrogate objective, negated for
// minimisation (Schulman et al. 2017, eq. 7; detail 8), and its
// derivative in log π(a|s):
//
//	ratio   = exp(log π(a|s) − log π_old(a|s))
//	L^CLIP  = max(−A·ratio, −A·clip(ratio, lo, hi))
//	∂L^CLIP/∂log π = −A·ratio on the unclipped branch or inside [lo, hi], else 0
//
// Both action heads (categorical and Gaussian) use it.
func clippedSurrogate(logp, oldLogp, adv, lo, hi float64) (loss, dlogp float64) {
	ratio := math.Exp(logp - oldLogp)
	pg1 := -adv * ratio
	pg2 := -adv * math.Min(math.Max(ratio, lo), hi)
	if pg1 > pg2 {
		return pg1, -adv * ratio
	}
	if ratio >= lo && ratio <= hi {
		return pg2, -adv * ratio
	}
	return pg2, 0
}

// policyTerm is Σ_i (L^CLIP_i − c_ent·H_i) / denom over the rows of
// in = (logits [m,n], one-hot actions [m,n], log π_old [m], A [m]). With
// l_j = log softmax(z)_j, p_j = exp(l_j), log π(a) = Σ_j a_j·l_j:
//
//	∂L^CLIP_i/∂z_k = ∂L^CLIP_i/∂log π(a) · (a_k − p_k·Σ_j a_j)
//	∂L^CLIP_i/∂log π(a) = −A·ratio on the unclipped branch (or inside the
//	                      clip range), 0 on the clipped one
//	∂H_i/∂z_k = −p_k·(l_k + H_i)
//
// Computed in float64. The forward run (grad nil) also records log π(a|s)
// and the mean surrogate and entropy, and keeps the per-row terms: the
// backward run of the same step, on equal inputs, reuses them instead of
// recomputing the exponentials.
func (l *lossGraph) policyTerm(in [][]float32, grad []float32) float32 {
	pc := &l.pcache
	if grad == nil || !pc.valid(in, l.clip) {
		pc.eval(in, l.clip)
	}
	if grad == nil {
		copy(l.newLogProbs, pc.lp)
		l.policyLoss, l.entropy = pc.pgSum/l.denom, pc.hSum/l.denom
	} else {
		onehot := in[1]
		m := len(pc.dlp)
		n := len(pc.l) / m
		for i := 0; i < m; i++ {
			lrow, prow := pc.l[i*n:(i+1)*n], pc.p[i*n:(i+1)*n]
			a, g := onehot[i*n:(i+1)*n], grad[i*n:(i+1)*n]
			dlp, h, aSum := pc.dlp[i], pc.h[i], pc.aSum[i]
			for k, lk := range lrow {
				pk := prow[k]
				g[k] = float32((dlp*(float64(a[k])-pk*aSum) + l.entCoeff*pk*(lk+h)) / l.denom)
			}
		}
	}
	return float32((pc.pgSum - l.entCoeff*pc.hSum) / l.denom)
}

// policyRows are policyTerm's per-row terms for the inputs in (copied).
type policyRows struct {
	in           [4][]float32
	clip         float64
	l, p         []float64 // [m,n] log-probabilities and probabilities
	dlp, h, aSum []float64 // [m] ∂L^CLIP/∂log π(a), entropy, Σ_j a_j
	lp           []float32 // [m] log π(a)
	pgSum, hSum  float64
}

// valid reports whether the rows were computed from inputs equal to in.
func (r *policyRows) valid(in [][]float32, clip float64) bool {
	if clip != r.clip || r.in[0] == nil {
		return false
	}
	for i := range r.in {
		if !slices.Equal(r.in[i], in[i]) {
			return false
		}
	}
	return true
}

func (r *policyRows) eval(in [][]float32, clip float64) {
	logits, onehot, oldLogp, adv := in[0], in[1], in[2], in[3]
	m := len(oldLogp)
	n := len(logits) / m
	for i := range r.in {
		r.in[i] = append(r.in[i][:0], in[i]...)
	}
	r.clip = clip
	r.l, r.p = resize(r.l, m*n), resize(r.p, m*n)
	r.dlp, r.h, r.aSum = resize(r.dlp, m), resize(r.h, m), resize(r.aSum, m)
	if cap(r.lp) < m {
		r.lp = make([]float32, m)
	}
	r.lp = r.lp[:m]
	lo, hi := 1-clip, 1+clip
	r.pgSum, r.hSum = 0, 0
	for i := 0; i < m; i++ {
		z, a := logits[i*n:(i+1)*n], onehot[i*n:(i+1)*n]
		lrow, prow := r.l[i*n:(i+1)*n], r.p[i*n:(i+1)*n]
		mx := float64(z[0])
		for _, v := range z[1:] {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for j, v := range z {
			prow[j] = math.Exp(float64(v) - mx)
			s += prow[j]
		}
		lse := mx + math.Log(s)
		var h, lp, aSum float64
		for j, v := range z {
			lj := float64(v) - lse
			pj := prow[j] / s
			lrow[j], prow[j] = lj, pj
			h -= pj * lj
			lp += float64(a[j]) * lj
			aSum += float64(a[j])
		}
		pg, dlp := clippedSurrogate(lp, float64(oldLogp[i]), float64(adv[i]), lo, hi)
		r.pgSum += pg
		r.hSum += h
		r.dlp[i], r.h[i], r.aSum[i], r.lp[i] = dlp, h, aSum, float32(lp)
	}
}

func resize(x []float64, n int) []float64 {
	if cap(x) < n {
		return make([]float64, n)
	}
	return x[:n]
}

// gaussianLoss is the policy term for a diagonal Gaussian π(a|s) =
// N(μ(s), diag(σ²)) with σ = exp(log σ) a parameter
// (ppo_continuous_action.py):
//
//	log π(a|s) = Σ_j −½z_j² − log σ_j − ½ log 2π,  z_j = (a_j − μ_j)/σ_j
//	H[π]       = Σ_j ½ + ½ log 2π + log σ_j
//
// and the same clipped surrogate as the categorical policyTerm. A Scalar
// node carries its gradient into one input, and this term has two
// (μ from the actor network and the log σ parameter), so it is two nodes
// over the same inputs: the first has the term's value and ∂/∂μ, the
// second the value 0 and ∂/∂log σ. Their sum is the term, with its full
// gradient:
//
//	∂L_i/∂μ_j     = ∂L^CLIP_i/∂log π · z_j/σ_j
//	∂L_i/∂log σ_j = ∂L^CLIP_i/∂log π · (z_j² − 1) − c_ent
func (l *lossGraph) gaussianLoss(gr *learner.Graph, mean *gorgonia.Node) (*gorgonia.Node, error) {
	logStd := gr.Param(policy.LogStdName)
	if logStd == nil {
		return nil, fmt.Errorf("no %s parameter", policy.LogStdName)
	}
	in := []*gorgonia.Node{mean, logStd, l.actions.Node, l.oldLogProbs.Node, l.advantages.Node}
	muTerm, err := learner.Scalar("ppo_gaussian_mu", l.gaussianMuTerm, 0, in...)
	if err != nil {
		return nil, err
	}
	sigmaTerm, err := learner.Scalar("ppo_gaussian_logstd", l.gaussianLogStdTerm, 1, in...)
	if err != nil {
		return nil, err
	}
	return gorgonia.Add(muTerm, sigmaTerm)
}

// gaussianMuTerm is Σ_i (L^CLIP_i − c_ent·H_i) / denom over in = (μ [m,A],
// log σ [1,A], a [m,A], log π_old [m], A [m]), with its gradient in μ.
func (l *lossGraph) gaussianMuTerm(in [][]float32, grad []float32) float32 {
	g := l.gaussRows(in, grad != nil)
	if grad == nil {
		copy(l.newLogProbs, g.lp)
		l.policyLoss, l.entropy = g.pgSum/l.denom, g.hSum/l.denom
	} else {
		logStd := in[1]
		A := len(logStd)
		for i, dlp := range g.dlp {
			for j := 0; j < A; j++ {
				grad[i*A+j] = float32(dlp * g.z[i*A+j] / math.Exp(float64(logStd[j])) / l.denom)
			}
		}
	}
	return float32((g.pgSum - l.entCoeff*g.hSum) / l.denom)
}

// gaussianLogStdTerm is 0, with the gradient in log σ of gaussianMuTerm's
// value.
func (l *lossGraph) gaussianLogStdTerm(in [][]float32, grad []float32) float32 {
	if grad == nil {
		return 0
	}
	g := l.gaussRows(in, true)
	A := len(grad)
	g.sums = resize(g.sums, A)
	sums := g.sums
	clear(sums)
	for i, dlp := range g.dlp {
		for j := 0; j < A; j++ {
			z := g.z[i*A+j]
			sums[j] += dlp*(z*z-1) - l.entCoeff
		}
	}
	for j := range grad {
		grad[j] = float32(sums[j] / l.denom)
	}
	return 0
}

// gaussianRows are the Gaussian policy's per-row terms for the inputs in (copied).
type gaussianRows struct {
	in          [5][]float32
	clip        float64
	z, dlp      []float64 // [m,A] standardised actions, [m] ∂L^CLIP/∂log π(a)
	sums        []float64 // [A] gaussianLogStdTerm's per-element sums
	lp          []float32 // [m] log π(a)
	pgSum, hSum float64
}

// gaussRows returns the rows for in, computing them unless reuse is set
// and they were computed from equal inputs.
func (l *lossGraph) gaussRows(in [][]float32, reuse bool) *gaussianRows {
	g := &l.gcache
	if reuse && g.clip == l.clip && g.in[0] != nil {
		same := true
		for i := range g.in {
			same = same && slices.Equal(g.in[i], in[i])
		}
		if same {
			return g
		}
	}
	mu, logStd, act, oldLogp, adv := in[0], in[1], in[2], in[3], in[4]
	for i := range g.in {
		g.in[i] = append(g.in[i][:0], in[i]...)
	}
	g.clip = l.clip
	m, A := len(oldLogp), len(logStd)
	g.z, g.dlp = resize(g.z, m*A), resize(g.dlp, m)
	if cap(g.lp) < m {
		g.lp = make([]float32, m)
	}
	g.lp = g.lp[:m]
	var logStdSum float64
	for _, ls := range logStd {
		logStdSum += float64(ls)
	}
	halfLog2Pi := 0.5 * math.Log(2*math.Pi)
	h := float64(A)*(0.5+halfLog2Pi) + logStdSum // the same for every row
	lo, hi := 1-l.clip, 1+l.clip
	g.pgSum, g.hSum = 0, 0
	for i := 0; i < m; i++ {
		lp := -logStdSum - float64(A)*halfLog2Pi
		for j := 0; j < A; j++ {
			z := (float64(act[i*A+j]) - float64(mu[i*A+j])) / math.Exp(float64(logStd[j]))
			g.z[i*A+j] = z
			lp -= 0.5 * z * z
		}
		pg, dlp := clippedSurrogate(lp, float64(oldLogp[i]), float64(adv[i]), lo, hi)
		g.pgSum += pg
		g.hSum += h
		g.dlp[i], g.lp[i] = dlp, float32(lp)
	}
	return g
}

// valueTerm is c_vf·½·Σ_i max((V−R)², (V_clipped−R)²) / denom over
// in = (V [m,1], R [m], V_old [m]), V_clipped = V_old + clip(V−V_old, −ε, ε)
// (or c_vf·½·Σ(V−R)²/denom without value clipping). The gradient is
// c_vf·(V−R)/denom on the unclipped branch, c_vf·(V_clipped−R)/denom on the
// clipped one inside the clip range, 0 outside it.
func (l *lossGraph) valueTerm(in [][]float32, grad []float32) float32 {
	v, ret, oldV := in[0], in[1], in[2]
	var sum float64
	for i := range ret {
		vi, r := float64(v[i]), float64(ret[i])
		term, d := (vi-r)*(vi-r), vi-r
		if l.clipValueLoss {
			vo := float64(oldV[i])
			dv := vi - vo
			vc := vo + math.Min(math.Max(dv, -l.clip), l.clip)
			if c := (vc - r) * (vc - r); c > term {
				term, d = c, 0
				if dv >= -l.clip && dv <= l.clip {
					d = vc - r
				}
			}
		}
		sum += term
		if grad != nil {
			grad[i] = float32(l.vfCoeff * d / l.denom)
		}
	}
	if grad == nil {
		l.valueLoss = 0.5 * sum / l.denom
	}
	return float32(l.vfCoeff * 0.5 * sum / l.denom)
}

// setClip sets the clip range ε.
func (l *lossGraph) setClip(clip float64) { l.clip = clip }
