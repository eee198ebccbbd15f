// Package ppo is Proximal Policy Optimization (Schulman et al. 2017,
// arXiv:1707.06347) as CleanRL's ppo.py (discrete actions, a categorical
// policy) and ppo_continuous_action.py (Box actions, a diagonal Gaussian
// with a state-independent log σ) implement it, on rlgo's fleet and
// learner. This file reads top to bottom like ppo.py: config → new →
// train (rollout → GAE → epochs of minibatches → metrics); the loss and
// its hand-derived gradients are in loss.go, checkpoints in
// checkpoint.go.
//
// Every implementation detail cites its source (the "37 implementation
// details of PPO", Huang et al. 2022, numbered as in that post).
package ppo

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

func init() { algorithms.Register(algorithms.Of("ppo", DefaultConfig, New, policySpec)) }

// policySpec is the acting policy for an env's spaces: the actor-critic.
func policySpec(_ Config, s algorithms.Setup, sp rollout.Spaces) (rollout.PolicySpec, error) {
	return rollout.ActorCriticPolicy(actorCriticSpec(s, sp)), nil
}

// PPO is one PPO training run; each Train call is one iteration.
type PPO struct {
	*algorithms.Loop
	cfg     Config
	spec    policy.ActorCriticSpec
	learner *learner.Learner
	loss    *lossGraph
	rng     *envs.RNG // minibatch shuffling

	// The flattened train batch (b_obs, b_actions, ... in ppo.py).
	bObs                            []float32
	bActions                        []int32
	bContActions                    []float32 // [batch, ActionDim] for a Box action space
	bLogProbs, bAdvantages, bReturn []float32
	bValues                         []float32
	perm                            []int
}

// Metrics are PPO's learner/<name> metrics of one iteration: means over
// its minibatch steps, except explained_var (of the whole train batch),
// lr and epochs (the epochs run before target_kl stopped them).
type Metrics struct {
	PolicyLoss   float64 `metric:"policy_loss"`
	ValueLoss    float64 `metric:"value_loss"`
	Entropy      float64 `metric:"entropy"`
	ApproxKL     float64 `metric:"approx_kl"`
	ClipFrac     float64 `metric:"clip_frac"`
	ExplainedVar float64 `metric:"explained_var"`
	GradNorm     float64 `metric:"grad_norm"`
	LR           float64 `metric:"lr"`
	Epochs       int     `metric:"epochs"`
}

// LearnerMetrics are PPO's learner/<name> columns.
var LearnerMetrics = algorithms.LearnerMetricNames(Metrics{})

// ValidateSetup checks that Minibatches divides the train batch of s.
func (c Config) ValidateSetup(s algorithms.Setup) error {
	if batch := s.Rollout.StepsPerIteration(); batch%c.Minibatches != 0 {
		return &algorithms.FieldError{Key: "minibatches", Msg: fmt.Sprintf("%d does not divide the train batch of %d steps (workers × envs_per_worker × fragment_length)", c.Minibatches, batch)}
	}
	return nil
}

// New sets up a run: it reads the env's spaces, initialises the actor and
// critic (orthogonal init, detail 2), builds the loss graph once, and
// starts the fleet with version-1 weights. s's zero values take their
// documented defaults (algorithms.Setup).
func New(cfg Config, s algorithms.Setup) (*PPO, error) {
	s = s.WithDefaults()
	reg, err := algorithms.Lookup("ppo")
	if err != nil {
		return nil, err
	}
	if err := reg.Check(&cfg, s); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	sp, err := s.Spaces()
	if err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	spec := actorCriticSpec(s, sp)
	p := &PPO{cfg: cfg, spec: spec, rng: envs.NewRNG(s.Seed, 0x9909)}
	w := spec.Init(envs.NewRand(s.Seed, 0x1417))
	if w.ObsNorm, err = rollout.NewObsNorm(s.Wrappers, spec.ObsDim); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	batch := s.Rollout.StepsPerIteration()
	if p.learner, p.loss, err = newLearner(w, spec, batch/cfg.Minibatches, cfg, s.Device); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	// PPO reads the log-probabilities and values its workers computed,
	// and the values it bootstraps from (GAE, value clipping).
	fs := rollout.FleetSpec{Policy: rollout.ActorCriticPolicy(spec),
		Columns: rollout.ColLogProbs | rollout.ColValues | rollout.ColBootstrapValues | rollout.ColLastValues}
	if p.Loop, err = algorithms.NewLoop(context.Background(), "ppo", &p.cfg, s, fs, p.learner.Weights()); err != nil {
		p.learner.Close()
		return nil, err
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
	return p, nil
}

// actorCriticSpec is the actor-critic network for an env's spaces.
func actorCriticSpec(s algorithms.Setup, sp rollout.Spaces) policy.ActorCriticSpec {
	spec := policy.ActorCriticSpec{ObsDim: sp.Obs.Size(), ObsShape: sp.Obs.Shape(), NumActions: sp.NumActions, Model: s.Model}
	if sp.Actions != nil {
		spec.ActionDim = sp.Actions.Size()
	}
	return spec
}

// Train runs one iteration: rollout → advantages → update → broadcast → result.
func (p *PPO) Train(ctx context.Context) (algorithms.Result, error) {
	p.Begin()
	// Learning rate, clip and entropy coefficient are annealed over their
	// own horizons in env steps, taken at the start of the iteration
	// (detail 4).
	lr := p.cfg.LRSchedule.At(p.cfg.LR, p.EnvSteps)
	clip := p.cfg.ClipSchedule.At(p.cfg.Clip, p.EnvSteps)
	p.loss.entCoeff = p.cfg.EntropySchedule.At(p.cfg.EntropyCoeff, p.EnvSteps)

	// --- Rollout: every worker steps its envs with the current weights.
	batches, n, err := p.Sample(ctx, true)
	if err != nil {
		return algorithms.Result{}, err
	}
	if n != len(p.bReturn) {
		return algorithms.Result{}, p.Errorf("fleet returned %d steps, want %d", n, len(p.bReturn))
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

	// --- Update: epochs × shuffled minibatches (detail 6) of the clipped loss.
	learnStart := time.Now()
	m, err := p.update(lr, clip)
	if err != nil {
		return algorithms.Result{}, p.Errorf("%w", err)
	}
	m.ExplainedVar = explainedVariance(p.bValues, p.bReturn)
	learnTime := time.Since(learnStart)

	// --- Broadcast: the next iteration acts with the new weights.
	if err := p.Broadcast(ctx); err != nil {
		return algorithms.Result{}, p.Errorf("broadcast weights: %w", err)
	}
	return p.Result(n, learnTime, algorithms.LearnerMetrics(m)), nil
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

// update runs Epochs passes of shuffled minibatches over the train batch,
// one Adam step each, and stops early when approx KL exceeds TargetKL
// (detail 21). Loss statistics are means over all minibatches.
func (p *PPO) update(lr, clip float64) (Metrics, error) {
	st := Metrics{LR: lr}
	m := len(p.perm) / p.cfg.Minibatches
	steps := 0
	p.loss.setClip(clip)
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
			l := p.loss
			for j, nl := range l.newLogProbs {
				logRatio := float64(nl - l.oldLogProbs.Data[j])
				ratio := math.Exp(logRatio)
				kl += (ratio - 1) - logRatio
				if math.Abs(ratio-1) > clip {
					cf++
				}
			}
			st.PolicyLoss += l.policyLoss
			st.ValueLoss += l.valueLoss
			st.Entropy += l.entropy
			kl /= float64(m)
			epochKL = kl
			st.ApproxKL += kl
			st.ClipFrac += cf / float64(m)
			st.GradNorm += res.GradNorm
			steps++
		}
		st.Epochs = epoch + 1
		if p.cfg.TargetKL > 0 && epochKL > p.cfg.TargetKL {
			break
		}
	}
	k := float64(steps)
	st.PolicyLoss, st.ValueLoss, st.Entropy = st.PolicyLoss/k, st.ValueLoss/k, st.Entropy/k
	st.ApproxKL, st.ClipFrac, st.GradNorm = st.ApproxKL/k, st.ClipFrac/k, st.GradNorm/k
	return st, nil
}

// loadMinibatch writes the rows idx of the train batch into the loss
// graph's inputs (actions as one-hot rows for a categorical policy),
// normalising advantages over the minibatch (detail 7).
func (p *PPO) loadMinibatch(idx []int) {
	d, na, ad := p.spec.ObsDim, p.spec.NumActions, p.spec.ActionDim
	l := p.loss
	if l.actionsOneHot != nil {
		clear(l.actionsOneHot.Data)
	}
	var mean float64
	for j, k := range idx {
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
	if !p.cfg.NormalizeAdvantages {
		return
	}
	adv := l.advantages.Data
	n := len(adv)
	mean /= float64(n)
	var ss float64
	for _, a := range adv {
		ss += (float64(a) - mean) * (float64(a) - mean)
	}
	std := math.Sqrt(ss / float64(max(n-1, 1))) // torch.std is unbiased
	for j, a := range adv {
		adv[j] = float32((float64(a) - mean) / (std + 1e-8))
	}
}

// LearnerMetrics returns the names of PPO's learner metrics.
func (p *PPO) LearnerMetrics() []string { return LearnerMetrics }

// Weights returns the current policy weights (shared: Clone to keep).
func (p *PPO) Weights() *policy.Weights { return p.learner.Weights() }

// Spec returns the actor-critic network spec.
func (p *PPO) Spec() policy.ActorCriticSpec { return p.spec }

// GreedyPolicy returns the current policy acting with its most probable
// action (algorithms.GreedyPolicy), for evaluation.
func (p *PPO) GreedyPolicy() (algorithms.Greedy, error) {
	return policy.NewActorCritic(p.spec, p.learner.Weights())
}

// Close releases the fleet and the learner.
func (p *PPO) Close() error { return p.Loop.Close(p.learner) }
