// Package dqn is Deep Q-Networks (Mnih et al. 2015, Nature 518) for
// discrete actions, with the improvements Rainbow (Hessel et al. 2018)
// found to matter, each switchable in the config: double Q-learning (van
// Hasselt et al. 2016), a dueling head (Wang et al. 2016), n-step returns
// (Sutton 1988) and proportional prioritised replay (Schaul et al. 2016).
// With all of them off it is CleanRL's dqn.py.
//
// This file reads top to bottom like dqn.py: config → new → train
// (rollout → n-step transitions into the replay buffer → gradient steps
// and target updates → broadcast of weights and ε → metrics). The n-step
// queues are in nstep.go, TD targets and the target network in
// target.go, the loss in loss.go, checkpoints in checkpoint.go.
package dqn

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

func init() { algorithms.Register(algorithms.Of("dqn", DefaultConfig, New, policySpec)) }

// policySpec is the acting policy for an env's spaces: ε-greedy over the
// Q-network.
func policySpec(c Config, s algorithms.Setup, sp rollout.Spaces) (rollout.PolicySpec, error) {
	spec, err := qSpec(s, sp, c.Dueling)
	return rollout.QPolicy(spec), err
}

// DQN is one DQN training run; each Train call is one iteration: the
// fleet's fragments (workers × envs_per_worker × fragment_length env steps)
// and the gradient steps due for them.
type DQN struct {
	*algorithms.Loop
	cfg     Config
	spec    policy.QSpec
	learner *learner.Learner
	loss    lossGraph

	// next evaluates Q(s', ·) with the target network θ' (a copy of the
	// online network updated every TargetUpdateInterval env steps) and,
	// for double Q-learning, with the online network.
	next nextQNets

	replay *Replay
	per    *Prioritized // nil: uniform replay
	nstep  []nStepQueue // one per local worker env, in fleet order
	// sources are the n-step queues of remote worker processes' envs, by
	// the batches' Source (more processes than slots may come and go).
	sources map[string]*sourceQueues
	rng     *envs.RNG // replay sampling (its state is checkpointed)

	// Per-gradient-step scratch, preallocated.
	idx     []int
	targets []float32
	td      []float32
}

// Metrics are DQN's learner/<name> metrics of one iteration. Loss, q_mean
// (mean Q(s, a) of the replayed actions), td_error (mean |TD error|) and
// grad_norm are means over the iteration's gradient steps, 0 in
// iterations without any (before learning_starts).
type Metrics struct {
	Loss          float64 `metric:"loss"`
	QMean         float64 `metric:"q_mean"`
	TDError       float64 `metric:"td_error"`
	Epsilon       float64 `metric:"epsilon"`
	GradNorm      float64 `metric:"grad_norm"`
	LR            float64 `metric:"lr"`
	GradientSteps int     `metric:"gradient_steps"`
	BufferSize    int     `metric:"buffer_size"`
}

// PERMetrics are the metrics prioritised replay adds after Metrics'.
type PERMetrics struct {
	Beta float64 `metric:"beta"`
}

// New sets up a run: it reads the env's spaces, initialises the Q-network
// and its target copy, allocates the replay buffer, builds the loss graph
// once, and starts the fleet with version-1 weights and the initial ε.
// s's zero values take their documented defaults (algorithms.Setup).
func New(cfg Config, s algorithms.Setup) (*DQN, error) {
	s = s.WithDefaults()
	reg, err := algorithms.Lookup("dqn")
	if err != nil {
		return nil, err
	}
	if err := reg.Check(&cfg, s); err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	sp, err := s.Spaces()
	if err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	spec, err := qSpec(s, sp, cfg.Dueling)
	if err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	d := &DQN{
		cfg:    cfg,
		spec:   spec,
		replay: NewReplay(cfg.BufferSize, spec.ObsDim),
		rng:    envs.NewRNG(s.Seed, 0xd9a),
	}
	if cfg.Prioritized {
		d.per = NewPrioritized(cfg.BufferSize, cfg.Alpha, cfg.PriorityEps)
	}
	for i := 0; i < s.Rollout.Workers*s.Rollout.EnvsPerWorker; i++ {
		d.nstep = append(d.nstep, newNStepQueue(cfg.NStep, spec.ObsDim, cfg.Gamma))
	}
	m := cfg.BatchSize
	d.idx = make([]int, m)
	d.targets = make([]float32, m)
	d.td = make([]float32, m)

	w := spec.Init(envs.NewRand(s.Seed, 0x1417))
	if w.ObsNorm, err = rollout.NewObsNorm(s.Wrappers, spec.ObsDim); err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	if d.loss, err = buildLoss(w, spec, m, cfg); err != nil {
		return nil, fmt.Errorf("dqn: loss: %w", err)
	}
	if d.learner, err = learner.New(learner.Config{Device: s.Device, Adam: learner.AdamConfig{Eps: cfg.AdamEps, MaxGradNorm: cfg.MaxGradNorm}}, d.loss.graph, d.loss.loss); err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	// The target network starts as a copy of the online one.
	if d.next, err = buildNextQ(d.learner.Weights(), spec, m, cfg.Double); err != nil {
		d.learner.Close()
		return nil, fmt.Errorf("dqn: target network: %w", err)
	}
	lw := d.learner.Weights()
	lw.Explore.Epsilon = float32(d.epsilonAt(0))
	// DQN reads only the next observations (the final ones of episodes
	// that ended, the last of the fragment): no values, no log-probabilities.
	fs := rollout.FleetSpec{Policy: rollout.QPolicy(spec), MaxStaleness: uint64(cfg.MaxStaleness),
		Columns: rollout.ColFinalObs | rollout.ColLastObs}
	if d.Loop, err = algorithms.NewLoop(context.Background(), "dqn", &d.cfg, s, fs, lw); err != nil {
		d.learner.Close()
		return nil, err
	}
	return d, nil
}

// qSpec is the Q-network for an env's spaces.
func qSpec(s algorithms.Setup, sp rollout.Spaces, dueling bool) (policy.QSpec, error) {
	if sp.Actions != nil {
		return policy.QSpec{}, fmt.Errorf("env %s: action space %v: DQN supports Discrete actions only", s.EnvID, sp.Actions)
	}
	return policy.QSpec{ObsDim: sp.Obs.Size(), ObsShape: sp.Obs.Shape(), NumActions: sp.NumActions, Model: s.Model, Dueling: dueling}, nil
}

// Train runs one iteration: sample → store n-step transitions → the
// gradient steps and target updates due → broadcast → result.
func (d *DQN) Train(ctx context.Context) (algorithms.Result, error) {
	d.Begin()
	before := d.EnvSteps
	epsilon := d.epsilonAt(before) // what the fleet acts with this iteration

	// --- Rollout: every worker steps its envs ε-greedily with the last weights sent.
	batches, n, err := d.Sample(ctx, false)
	if err != nil {
		return algorithms.Result{}, err
	}

	// --- Replay: each env's steps become n-step transitions.
	for _, b := range batches {
		queues, err := d.queues(b)
		if err != nil {
			return algorithms.Result{}, d.Errorf("%w", err)
		}
		d.store(b, queues)
	}

	// --- Learn: replay the env steps one by one, training every
	// TrainFreq steps once LearningStarts have passed, and moving the
	// target network every TargetUpdateInterval steps (SB3's schedule).
	learnStart := time.Now()
	var st stepStats
	lr := d.cfg.LRSchedule.At(d.cfg.LR, before)
	beta := d.cfg.BetaAt(before)
	for t := before + 1; t <= d.EnvSteps; t++ {
		if t > d.cfg.LearningStarts && t%d.cfg.TrainFreq == 0 && d.replay.Len() > 0 {
			lr, beta = d.cfg.LRSchedule.At(d.cfg.LR, t), d.cfg.BetaAt(t)
			for g := 0; g < d.cfg.GradientSteps; g++ {
				if err := d.gradientStep(lr, beta, &st); err != nil {
					return algorithms.Result{}, d.Errorf("%w", err)
				}
			}
		}
		if t%d.cfg.TargetUpdateInterval == 0 {
			d.updateTarget()
		}
	}
	learnTime := time.Since(learnStart)

	// --- Broadcast: the next iteration acts with the new weights and ε.
	d.learner.Weights().Explore.Epsilon = float32(d.epsilonAt(d.EnvSteps))
	if err := d.Broadcast(ctx); err != nil {
		return algorithms.Result{}, d.Errorf("broadcast weights: %w", err)
	}

	// --- Metrics.
	k := float64(max(st.steps, 1))
	metrics := algorithms.LearnerMetrics(Metrics{
		Loss: st.loss / k, QMean: st.qMean / k, TDError: st.tdAbs / k, Epsilon: epsilon,
		GradNorm: st.gradNorm / k, LR: lr, GradientSteps: st.steps, BufferSize: d.replay.Len(),
	})
	if d.per != nil {
		metrics = append(metrics, algorithms.LearnerMetrics(PERMetrics{Beta: beta})...)
	}
	return d.Result(n, learnTime, metrics), nil
}

// sourceQueues are one remote source's n-step queues and the iteration
// that last fed them.
type sourceQueues struct {
	queues   []nStepQueue
	lastSeen int
}

// sourceIdle is how many iterations a remote source's queues are kept
// without a batch (a worker process that left) before they are dropped.
const sourceIdle = 100

// queues returns the n-step queues of the envs batch b continues: the
// local fleet's worker's (by its index), or a remote source's (by
// b.Source: the worker process and env build), made empty on its first
// batch — so any number of worker processes can feed one learner.
func (d *DQN) queues(b *rollout.SampleBatch) ([]nStepQueue, error) {
	ro := d.Setup.Rollout
	if b.NumEnvs != ro.EnvsPerWorker {
		return nil, fmt.Errorf("batch %s has %d envs, want %d", b.ID, b.NumEnvs, ro.EnvsPerWorker)
	}
	if b.Source == "" {
		env := b.WorkerIndex * ro.EnvsPerWorker // this worker's first env
		if env < 0 || env+b.NumEnvs > len(d.nstep) {
			return nil, fmt.Errorf("batch %s from worker %d: want a worker index < %d", b.ID, b.WorkerIndex, ro.Workers)
		}
		return d.nstep[env : env+b.NumEnvs], nil
	}
	if d.sources == nil {
		d.sources = map[string]*sourceQueues{}
	}
	for src, q := range d.sources {
		if d.Iteration-q.lastSeen > sourceIdle {
			delete(d.sources, src)
		}
	}
	q := d.sources[b.Source]
	if q == nil {
		q = &sourceQueues{}
		for range b.NumEnvs {
			q.queues = append(q.queues, newNStepQueue(d.cfg.NStep, d.spec.ObsDim, d.cfg.Gamma))
		}
		d.sources[b.Source] = q
	}
	q.lastSeen = d.Iteration
	return q.queues, nil
}

// epsilonAt is ε at env step t: Epsilon annealed linearly over its own
// horizon (Mnih et al. 2015: 1 → 0.1 over the first million frames).
func (d *DQN) epsilonAt(t int64) float64 { return d.cfg.EpsilonSchedule.At(d.cfg.Epsilon, t) }

// stepStats sums the gradient steps' statistics over an iteration.
type stepStats struct {
	steps                        int
	loss, qMean, tdAbs, gradNorm float64
}

// gradientStep samples a minibatch, computes its TD targets with the
// target network, takes one Adam step on the loss, and (with PER) updates
// the sampled transitions' priorities from their TD errors.
func (d *DQN) gradientStep(lr, beta float64, st *stepStats) error {
	l := &d.loss
	m, D, na := d.cfg.BatchSize, d.spec.ObsDim, d.spec.NumActions
	if d.per != nil {
		d.per.Sample(d.rng.Rand, d.replay.Len(), beta, d.idx, l.weights.Data)
	} else {
		d.replay.SampleUniform(d.rng.Rand, d.idx)
	}
	clear(l.actionsOneHot.Data)
	returns, bootstrap := d.targets, d.td // reused as scratch until the targets are computed
	for j, i := range d.idx {
		copy(l.obs.Data[j*D:(j+1)*D], d.replay.Obs(i))
		copy(d.next.nextObs[j*D:(j+1)*D], d.replay.NextObs(i))
		l.actionsOneHot.Data[j*na+int(d.replay.Action(i))] = 1
		returns[j], bootstrap[j] = d.replay.Return(i), d.replay.Bootstrap(i)
	}
	// The TD targets need the next-state Q-values of the target network
	// (and, for double Q-learning, the online one); the graph's forward
	// pass up to Q(s, ·) does not. With more than one P they are computed
	// on other goroutines while the graph runs, and the loss waits for
	// them (lossGraph.wait): the same arithmetic, so the same bits.
	targets := func() {
		qTarget, qOnline := d.next.run()
		tdTargets(l.targets.Data, returns, bootstrap, qTarget, qOnline, m, na, d.cfg.Double)
	}
	var res learner.StepResult
	var err error
	if runtime.GOMAXPROCS(0) == 1 {
		targets()
		res, err = d.learner.Step(lr)
	} else {
		ready := make(chan struct{})
		go func() {
			defer close(ready)
			targets()
		}()
		l.wait.ready = ready
		res, err = d.learner.Step(lr)
		<-ready // also when the step failed before the loss: targets writes into buffers reused below
		l.wait.ready = nil
	}
	if err != nil {
		return err
	}
	var qm, tdAbs float64
	for j, q := range l.qsa {
		d.td[j] = q - l.targets.Data[j]
		qm += float64(q)
		tdAbs += math.Abs(float64(d.td[j]))
	}
	if d.per != nil {
		d.per.Update(d.idx, d.td)
	}
	st.steps++
	st.loss += float64(res.Loss)
	st.qMean += qm / float64(m)
	st.tdAbs += tdAbs / float64(m)
	st.gradNorm += res.GradNorm
	return nil
}

// LearnerMetrics returns the names of DQN's learner metrics.
func (d *DQN) LearnerMetrics() []string {
	names := algorithms.LearnerMetricNames(Metrics{})
	if d.per != nil {
		names = append(names, algorithms.LearnerMetricNames(PERMetrics{})...)
	}
	return names
}

// Weights returns the current Q-network weights (shared: Clone to keep).
func (d *DQN) Weights() *policy.Weights { return d.learner.Weights() }

// GreedyPolicy returns a copy of the current Q-network acting greedily,
// argmax_a Q(s, a) (algorithms.GreedyPolicy), for evaluation.
func (d *DQN) GreedyPolicy() (algorithms.Greedy, error) {
	return policy.NewEpsilonGreedy(d.spec, d.learner.Weights())
}

// Spec returns the Q-network spec.
func (d *DQN) Spec() policy.QSpec { return d.spec }

// Close releases the fleet and the learner.
func (d *DQN) Close() error { return d.Loop.Close(d.learner) }
