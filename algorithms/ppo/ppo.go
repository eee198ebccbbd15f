// Package ppo is Proximal Policy Optimization (Schulman et al. 2017,
// arXiv:1707.06347) as CleanRL's ppo.py (discrete actions, a categorical
// policy) and ppo_continuous_action.py (Box actions, a diagonal Gaussian
// with a state-independent log σ) implement it, on rlgo's fleet and learner. The file reads top to bottom like
// ppo.py: setup → rollout → advantages (GAE) → loss → update → broadcast →
// metrics.
//
// Every implementation detail cites its source (the "37 implementation
// details of PPO", Huang et al. 2022, numbered as in that post).
package ppo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// Setup is what New needs besides the PPO hyperparameters.
type Setup struct {
	// EnvID and EnvOptions name the env every worker makes.
	EnvID      string
	EnvOptions envs.Options
	// Wrappers wrap every env (rollout.WorkerSpec.Wrappers); a
	// normalize_observation entry turns on observation normalisation with
	// statistics merged here from every fragment and broadcast with the
	// weights (policy.ObsNorm).
	Wrappers []envs.WrapperSpec
	// Metrics are custom episode metrics read from step info.
	Metrics []rollout.MetricSpec
	// Seed is the run seed; weights, shuffling and every worker derive from it.
	Seed uint64
	// Model is the actor and critic network shape.
	Model policy.ModelConfig
	// Rollout sizes the fleet and its fragments.
	Rollout rollout.Config
	// Device is the learner's device (learner.Config.Device).
	Device string
	// NewFleet builds the fleet for the actor-critic policy (PolicySpec
	// of kind actor_critic, MaxStaleness 0: PPO is on-policy) and initial
	// weights; nil means a local fleet of goroutine workers.
	NewFleet rollout.NewFleetFunc
}

// PPO is one PPO training run; each Train call is one iteration.
type PPO struct {
	cfg     Config
	setup   Setup
	spec    policy.ActorCriticSpec
	fleet   rollout.Fleet
	learner *learner.Learner
	losses  []*lossGraph // one per learner replica, splitting each minibatch
	rng     *envs.RNG    // minibatch shuffling
	version uint64       // weights version the fleet acts with

	window    *algorithms.EpisodeWindow
	iteration int
	envSteps  int64
	start     time.Time

	// The flattened train batch (b_obs, b_actions, ... in ppo.py).
	bObs                            []float32
	bActions                        []int32
	bContActions                    []float32 // [batch, ActionDim] for a Box action space
	bLogProbs, bAdvantages, bReturn []float32
	bValues                         []float32
	perm                            []int
}

// LearnerMetrics are PPO's learner/<name> columns.
var LearnerMetrics = []string{
	"learner/policy_loss", "learner/value_loss", "learner/entropy", "learner/approx_kl",
	"learner/clip_frac", "learner/explained_var", "learner/grad_norm", "learner/lr", "learner/epochs",
}

// New sets up a run: it reads the env's spaces, initialises the actor and
// critic (orthogonal init, detail 2), builds the loss graph once, and
// starts the fleet with version-1 weights.
func New(cfg Config, s Setup) (*PPO, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	if err := s.Rollout.Validate(); err != nil {
		return nil, fmt.Errorf("ppo: rollout: %w", err)
	}
	batch := s.Rollout.StepsPerIteration()
	if batch%cfg.Minibatches != 0 {
		return nil, &algorithms.FieldError{Key: "minibatches", Msg: fmt.Sprintf("%d does not divide the train batch of %d steps (workers × envs_per_worker × fragment_length)", cfg.Minibatches, batch)}
	}
	spec, err := actorCriticSpec(s)
	if err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	p := &PPO{
		cfg:    cfg,
		setup:  s,
		spec:   spec,
		rng:    envs.NewRNG(s.Seed, 0x9909),
		window: algorithms.NewEpisodeWindow(100),
	}
	p.window.SetMetricNames(algorithms.MetricNames(s.Metrics))
	w := spec.Init(envs.NewRand(s.Seed, 0x1417))
	w.Version = 1
	if w.ObsNorm, err = rollout.NewObsNorm(s.Wrappers, spec.ObsDim); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	if p.learner, p.losses, err = newLearner(w, spec, batch/cfg.Minibatches, cfg, s.Device); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	if s.NewFleet != nil {
		p.fleet, err = s.NewFleet(rollout.FleetSpec{Policy: rollout.ActorCriticPolicy(spec)}, w)
	} else {
		p.fleet, err = localFleet(s)(spec, w)
	}
	if err != nil {
		p.learner.Close()
		return nil, fmt.Errorf("ppo: %w", err)
	}
	p.version = w.Version
	if err := p.fleet.SetWeights(context.Background(), w); err != nil {
		p.Close()
		return nil, fmt.Errorf("ppo: initial weights: %w", err)
	}
	p.bObs = make([]float32, batch*spec.ObsDim)
	if spec.Continuous() {
		p.bContActions = make([]float32, batch*spec.ActionDim)
	} else {
		p.bActions = make([]int32, batch)
	}
	p.bLogProbs = make([]float32, batch)
	p.bAdvantages = make([]float32, batch)
	p.bReturn = make([]float32, batch)
	p.bValues = make([]float32, batch)
	p.perm = make([]int, batch)
	for i := range p.perm {
		p.perm[i] = i
	}
	p.start = time.Now()
	return p, nil
}

func (s Setup) workerSpec() rollout.WorkerSpec {
	return rollout.WorkerSpec{EnvID: s.EnvID, EnvOptions: s.EnvOptions, Wrappers: s.Wrappers, Metrics: s.Metrics, Seed: s.Seed}
}

func actorCriticSpec(s Setup) (policy.ActorCriticSpec, error) {
	sp, err := rollout.EnvSpaces(s.workerSpec())
	if err != nil {
		return policy.ActorCriticSpec{}, err
	}
	spec := policy.ActorCriticSpec{ObsDim: sp.Obs.Size(), NumActions: sp.NumActions, Model: s.Model}
	if sp.Actions != nil {
		spec.ActionDim = sp.Actions.Size()
	}
	return spec, nil
}

func localFleet(s Setup) func(policy.ActorCriticSpec, *policy.Weights) (rollout.Fleet, error) {
	return func(spec policy.ActorCriticSpec, w *policy.Weights) (rollout.Fleet, error) {
		ws := s.workerSpec()
		return rollout.NewLocalFleet(s.Rollout, ws, func() (rollout.Policy, error) {
			return policy.NewActorCritic(spec, w)
		})
	}
}

// Train runs one iteration: sample → advantages → update → broadcast → result.
func (p *PPO) Train(ctx context.Context) (algorithms.Result, error) {
	iterStart := time.Now()
	p.iteration++
	// Learning rate and clip are annealed over their own horizons in env
	// steps, taken at the start of the iteration (detail 4).
	lr := p.cfg.LRSchedule.At(p.cfg.LR, p.envSteps)
	clip := p.cfg.ClipSchedule.At(p.cfg.Clip, p.envSteps)

	// --- Rollout: every worker steps its envs with the current weights.
	batches, err := p.fleet.Sample(ctx)
	if err != nil {
		return algorithms.Result{}, fmt.Errorf("ppo: iteration %d: sample: %w", p.iteration, err)
	}
	sampleTime := time.Since(iterStart)
	n := 0
	for _, b := range batches {
		if b.WeightsVersion != p.version {
			return algorithms.Result{}, fmt.Errorf("ppo: iteration %d: batch %s acted with weights v%d, want v%d (PPO is on-policy)", p.iteration, b.ID, b.WeightsVersion, p.version)
		}
		n += b.Len()
	}
	if n != len(p.bReturn) {
		return algorithms.Result{}, fmt.Errorf("ppo: iteration %d: fleet returned %d steps, want %d", p.iteration, n, len(p.bReturn))
	}
	p.envSteps += int64(n)
	p.window.AddBatches(batches)
	// Observation normalisation: merge the raw statistics of every
	// fragment, in batch order, for the next broadcast.
	if err := rollout.MergeObsStats(p.learner.Weights().ObsNorm, batches); err != nil {
		return algorithms.Result{}, fmt.Errorf("ppo: iteration %d: %w", p.iteration, err)
	}

	// --- Advantages: GAE(γ, λ) per fragment (detail 5), flattened in batch order.
	off := 0
	for _, b := range batches {
		gae(b, p.cfg.Gamma, p.cfg.Lambda, p.bAdvantages[off:off+b.Len()])
		for k := 0; k < b.Len(); k++ {
			p.bReturn[off+k] = p.bAdvantages[off+k] + b.Values[k]
		}
		copy(p.bObs[off*p.spec.ObsDim:], b.Obs)
		if p.spec.Continuous() {
			copy(p.bContActions[off*p.spec.ActionDim:], b.ContinuousActions)
		} else {
			copy(p.bActions[off:], b.Actions)
		}
		copy(p.bLogProbs[off:], b.LogProbs)
		copy(p.bValues[off:], b.Values)
		off += b.Len()
	}
	explainedVar := explainedVariance(p.bValues, p.bReturn)

	// --- Update: epochs × shuffled minibatches (detail 6) of the clipped loss.
	learnStart := time.Now()
	st, err := p.update(lr, clip)
	if err != nil {
		return algorithms.Result{}, fmt.Errorf("ppo: iteration %d: %w", p.iteration, err)
	}
	learnTime := time.Since(learnStart)

	// --- Broadcast: the next iteration acts with the new weights.
	p.version++
	w := p.learner.Weights()
	w.Version = p.version
	if err := p.fleet.SetWeights(ctx, w); err != nil {
		return algorithms.Result{}, fmt.Errorf("ppo: iteration %d: broadcast weights: %w", p.iteration, err)
	}

	// --- Metrics.
	r := algorithms.Result{
		Iteration:    p.iteration,
		EnvSteps:     p.envSteps,
		TimeS:        time.Since(p.start).Seconds(),
		EnvStepsPerS: float64(n) / time.Since(iterStart).Seconds(),
		SampleTimeS:  sampleTime.Seconds(),
		LearnTimeS:   learnTime.Seconds(),
		Learner: []algorithms.Metric{
			{Name: LearnerMetrics[0], Value: st.policyLoss},
			{Name: LearnerMetrics[1], Value: st.valueLoss},
			{Name: LearnerMetrics[2], Value: st.entropy},
			{Name: LearnerMetrics[3], Value: st.approxKL},
			{Name: LearnerMetrics[4], Value: st.clipFrac},
			{Name: LearnerMetrics[5], Value: explainedVar},
			{Name: LearnerMetrics[6], Value: st.gradNorm},
			{Name: LearnerMetrics[7], Value: lr},
			{Name: LearnerMetrics[8], Value: float64(st.epochs)},
		},
	}
	p.window.Fill(&r)
	r.SetFleet(p.fleet.Health())
	return r, nil
}

// gae computes Generalized Advantage Estimation (Schulman et al. 2016,
// eq. 16) for one time-major fragment into adv:
//
//	δ_t = r_t + γ·V(s_{t+1})·(1 − terminated_t) − V(s_t)
//	A_t = δ_t + γλ·(1 − done_t)·A_{t+1}
//
// A truncated episode bootstraps from the value of its final observation
// (b.BootstrapValues), a terminated one from zero; either way the sum stops
// at the episode's end. (CleanRL treats truncation as termination; this
// does not, as Pardo et al. 2018 recommend.)
func gae(b *rollout.SampleBatch, gamma, lambda float64, adv []float32) {
	T, N := b.Steps, b.NumEnvs
	for i := 0; i < N; i++ {
		lastGAELam := 0.0
		for t := T - 1; t >= 0; t-- {
			k := t*N + i
			var nextValue, nextNonTerminal float64
			switch {
			case b.Terminated[k]:
				nextValue, nextNonTerminal = 0, 0
			case b.Truncated[k]:
				nextValue, nextNonTerminal = float64(b.BootstrapValues[k]), 0
			case t == T-1:
				nextValue, nextNonTerminal = float64(b.LastValues[i]), 1
			default:
				nextValue, nextNonTerminal = float64(b.Values[k+N]), 1
			}
			delta := float64(b.Rewards[k]) + gamma*nextValue - float64(b.Values[k])
			lastGAELam = delta + gamma*lambda*nextNonTerminal*lastGAELam
			adv[k] = float32(lastGAELam)
		}
	}
}

// explainedVariance is 1 − Var[returns − values] / Var[returns] (detail 12).
func explainedVariance(values, returns []float32) float64 {
	var my, md float64
	for i := range returns {
		my += float64(returns[i])
		md += float64(returns[i] - values[i])
	}
	n := float64(len(returns))
	my, md = my/n, md/n
	var vy, vd float64
	for i := range returns {
		y := float64(returns[i]) - my
		d := float64(returns[i]-values[i]) - md
		vy += y * y
		vd += d * d
	}
	if vy == 0 {
		return math.NaN()
	}
	return 1 - vd/vy
}

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

// lossShards is how many parts each minibatch is split into, one learner
// replica (graph, goroutine) each, so that the learner can use a second
// core while the workers wait (PPO is on-policy). It is a constant, not
// the core count, so a seed gives the same numbers on every machine.
//
// It is 1: on the project's shared 2-core machine two parts measured
// slower (median learner step 0.58 vs 0.43 ms at m = 128, 8 of 60
// interleaved rounds faster) because every gorgonia RunAll hands its work
// to a new goroutine on another thread, and the second core was rarely
// free; their best case was 25% faster (0.18 vs 0.24 ms). See
// docs/perf-notes.md; TestShardedLearnerMatchesOneGraph keeps 2 and 3
// parts correct.
const lossShards = 1

// newLearner builds the loss for minibatches of m over lossShards
// replicas (fewer when m is small) and the learner minimising their sum.
func newLearner(w *policy.Weights, spec policy.ActorCriticSpec, m int, cfg Config, device string) (*learner.Learner, []*lossGraph, error) {
	return newShardedLearner(w, spec, m, min(lossShards, max(m/32, 1)), cfg, device)
}

func newShardedLearner(w *policy.Weights, spec policy.ActorCriticSpec, m, shards int, cfg Config, device string) (*learner.Learner, []*lossGraph, error) {
	gr := learner.NewGraph(w)
	var losses []*lossGraph
	var graphs []*learner.Graph
	var nodes []*gorgonia.Node
	for i := 0; i < shards; i++ {
		g := gr
		if i > 0 {
			g = gr.Replica()
		}
		rows := m / shards // the first m%shards parts take one more
		if i < m%shards {
			rows++
		}
		l, err := buildLossOn(g, spec, rows, m, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("loss: %w", err)
		}
		losses, graphs, nodes = append(losses, l), append(graphs, g), append(nodes, l.loss)
	}
	lr, err := learner.NewReplicated(learner.Config{Device: device, Adam: learner.AdamConfig{Eps: cfg.AdamEps, MaxGradNorm: cfg.MaxGradNorm}}, graphs, nodes)
	if err != nil {
		return nil, nil, err
	}
	return lr, losses, nil
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
	return buildLossOn(learner.NewGraph(w), spec, m, m, cfg)
}

// buildLossOn builds the loss terms of m rows of a minibatch of denom
// rows on gr: sums over the m rows divided by denom, so that the parts'
// losses (and gradients) add up to the minibatch's.
func buildLossOn(gr *learner.Graph, spec policy.ActorCriticSpec, m, denom int, cfg Config) (*lossGraph, error) {
	l := &lossGraph{
		graph: gr, entCoeff: cfg.EntropyCoeff, vfCoeff: cfg.VFCoeff, clipValueLoss: cfg.ClipValueLoss,
		clip: cfg.Clip, denom: float64(denom), newLogProbs: make([]float32, m),
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

	logits, err := gr.MLP(spec.Actor(), l.obs.Node)
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
	v, err := gr.MLP(spec.Critic(), l.obs.Node)
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
		A := float64(adv[i])
		ratio := math.Exp(lp - float64(oldLogp[i]))
		pg1 := -A * ratio
		pg2 := -A * math.Min(math.Max(ratio, lo), hi)
		var dlp float64
		if pg1 > pg2 {
			r.pgSum += pg1
			dlp = -A * ratio
		} else {
			r.pgSum += pg2
			if ratio >= lo && ratio <= hi {
				dlp = -A * ratio
			}
		}
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
		A_ := float64(adv[i])
		ratio := math.Exp(lp - float64(oldLogp[i]))
		pg1 := -A_ * ratio
		pg2 := -A_ * math.Min(math.Max(ratio, lo), hi)
		var dlp float64
		if pg1 > pg2 {
			g.pgSum += pg1
			dlp = -A_ * ratio
		} else {
			g.pgSum += pg2
			if ratio >= lo && ratio <= hi {
				dlp = -A_ * ratio
			}
		}
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

// maximum is max(a, b) element-wise: b + (a − b)·[a > b].
func maximum(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	mask, err := gorgonia.Gt(a, b, true)
	if err != nil {
		return nil, err
	}
	diff, err := gorgonia.Sub(a, b)
	if err != nil {
		return nil, err
	}
	sel, err := gorgonia.HadamardProd(diff, mask)
	if err != nil {
		return nil, err
	}
	return gorgonia.Add(b, sel)
}

// minimum is min(a, b) element-wise: a − (a − b)·[a > b].
func minimum(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	mask, err := gorgonia.Gt(a, b, true)
	if err != nil {
		return nil, err
	}
	diff, err := gorgonia.Sub(a, b)
	if err != nil {
		return nil, err
	}
	sel, err := gorgonia.HadamardProd(diff, mask)
	if err != nil {
		return nil, err
	}
	return gorgonia.Sub(a, sel)
}

// clamp is min(max(x, lo), hi) element-wise (torch.clamp).
func clamp(x, lo, hi *gorgonia.Node) (*gorgonia.Node, error) {
	lower, err := maximum(x, lo)
	if err != nil {
		return nil, err
	}
	return minimum(lower, hi)
}

type updateStats struct {
	policyLoss, valueLoss, entropy, approxKL, clipFrac, gradNorm float64
	epochs                                                       int
}

// update runs Epochs passes of shuffled minibatches over the train batch,
// one Adam step each, and stops early when approx KL exceeds TargetKL
// (detail 21). Loss statistics are means over all minibatches.
func (p *PPO) update(lr, clip float64) (updateStats, error) {
	var st updateStats
	m := len(p.perm) / p.cfg.Minibatches
	steps := 0
	for _, l := range p.losses {
		l.setClip(clip)
	}
	// b_inds = np.arange(batch_size) every iteration, as ppo.py: the
	// permutation is then a function of the RNG alone, which a checkpoint saves.
	for i := range p.perm {
		p.perm[i] = i
	}
	for epoch := 0; epoch < p.cfg.Epochs; epoch++ {
		p.rng.Shuffle(len(p.perm), func(i, j int) { p.perm[i], p.perm[j] = p.perm[j], p.perm[i] })
		var epochKL float64
		for start := 0; start < len(p.perm); start += m {
			p.loadMinibatch(p.perm[start : start+m])
			res, err := p.learner.Step(lr)
			if err != nil {
				return st, err
			}
			// approx_kl = mean((ratio − 1) − log ratio), Schulman's k3
			// estimator (detail 12); clip_frac = mean(|ratio − 1| > ε).
			var kl, cf float64
			for _, l := range p.losses {
				for j, nl := range l.newLogProbs {
					logRatio := float64(nl - l.oldLogProbs.Data[j])
					ratio := math.Exp(logRatio)
					kl += (ratio - 1) - logRatio
					if math.Abs(ratio-1) > clip {
						cf++
					}
				}
				st.policyLoss += l.policyLoss
				st.valueLoss += l.valueLoss
				st.entropy += l.entropy
			}
			kl /= float64(m)
			epochKL = kl
			st.approxKL += kl
			st.clipFrac += cf / float64(m)
			st.gradNorm += res.GradNorm
			steps++
		}
		st.epochs = epoch + 1
		if p.cfg.TargetKL > 0 && epochKL > p.cfg.TargetKL {
			break
		}
	}
	k := float64(steps)
	st.policyLoss, st.valueLoss, st.entropy = st.policyLoss/k, st.valueLoss/k, st.entropy/k
	st.approxKL, st.clipFrac, st.gradNorm = st.approxKL/k, st.clipFrac/k, st.gradNorm/k
	return st, nil
}

// loadMinibatch writes the rows idx of the train batch into the graph's
// inputs, normalising advantages over the minibatch (detail 7).
func (p *PPO) loadMinibatch(idx []int) {
	d, na, ad := p.spec.ObsDim, p.spec.NumActions, p.spec.ActionDim
	var mean float64
	for _, l := range p.losses {
		rows := idx[:len(l.newLogProbs)]
		idx = idx[len(rows):]
		if l.actionsOneHot != nil {
			clear(l.actionsOneHot.Data)
		}
		for j, k := range rows {
			copy(l.obs.Data[j*d:(j+1)*d], p.bObs[k*d:(k+1)*d])
			if l.actions != nil {
				copy(l.actions.Data[j*ad:(j+1)*ad], p.bContActions[k*ad:(k+1)*ad])
			} else {
				l.actionsOneHot.Data[j*na+int(p.bActions[k])] = 1
			}
			l.oldLogProbs.Data[j] = p.bLogProbs[k]
			l.advantages.Data[j] = p.bAdvantages[k]
			l.returns.Data[j] = p.bReturn[k]
			l.oldValues.Data[j] = p.bValues[k]
			mean += float64(p.bAdvantages[k])
		}
	}
	if !p.cfg.NormalizeAdvantages {
		return
	}
	var n int
	for _, l := range p.losses {
		n += len(l.advantages.Data)
	}
	mean /= float64(n)
	var ss float64
	for _, l := range p.losses {
		for _, a := range l.advantages.Data {
			ss += (float64(a) - mean) * (float64(a) - mean)
		}
	}
	std := math.Sqrt(ss / float64(max(n-1, 1))) // torch.std is unbiased
	for _, l := range p.losses {
		for j, a := range l.advantages.Data {
			l.advantages.Data[j] = float32((float64(a) - mean) / (std + 1e-8))
		}
	}
}

// LearnerMetrics returns the names of PPO's learner metrics.
func (p *PPO) LearnerMetrics() []string { return LearnerMetrics }

// Weights returns the current policy weights (shared: Clone to keep).
func (p *PPO) Weights() *policy.Weights { return p.learner.Weights() }

// Spec returns the actor-critic network spec.
func (p *PPO) Spec() policy.ActorCriticSpec { return p.spec }

// Close releases the fleet and the learner.
func (p *PPO) Close() error {
	var errs []error
	if p.fleet != nil {
		errs = append(errs, p.fleet.Close())
	}
	if p.learner != nil {
		errs = append(errs, p.learner.Close())
	}
	return errors.Join(errs...)
}
