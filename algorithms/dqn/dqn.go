// Package dqn is Deep Q-Networks (Mnih et al. 2015, Nature 518) for
// discrete actions, with the improvements Rainbow (Hessel et al. 2018)
// found to matter, each switchable in the config: double Q-learning (van
// Hasselt et al. 2016), a dueling head (Wang et al. 2016), n-step returns
// (Sutton 1988) and proportional prioritised replay (Schaul et al. 2016).
// With all of them off it is CleanRL's dqn.py.
//
// The file reads top to bottom like dqn.py: setup → rollout → n-step
// transitions into the replay buffer → TD targets → loss → gradient steps
// and target updates → broadcast (weights and ε) → metrics.
package dqn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// Setup is what New needs besides the DQN hyperparameters.
type Setup struct {
	// EnvID and EnvOptions name the env every worker makes.
	EnvID      string
	EnvOptions envs.Options
	// Wrappers wrap every env (rollout.WorkerSpec.Wrappers); a
	// normalize_observation entry turns on observation normalisation with
	// statistics merged here and broadcast with the weights.
	Wrappers []envs.WrapperSpec
	// Metrics are custom episode metrics read from step info.
	Metrics []rollout.MetricSpec
	// Seed is the run seed; weights, replay sampling and every worker derive from it.
	Seed uint64
	// Model is the Q-network's shape (its hidden layers and activation).
	Model policy.ModelConfig
	// Rollout sizes the fleet and its fragments.
	Rollout rollout.Config
	// Device is the learner's device (learner.Config.Device).
	Device string
	// NewFleet builds the fleet for the ε-greedy Q-network policy
	// (PolicySpec of kind q; the weights carry ε) with MaxStaleness from
	// Config.MaxStaleness, acting first with the initial weights; nil
	// means a local fleet of goroutine workers acting ε-greedily
	// (policy.EpsilonGreedy).
	NewFleet rollout.NewFleetFunc
}

// DQN is one DQN training run; each Train call is one iteration: the
// fleet's fragments (workers × envs_per_worker × fragment_length env steps)
// and the gradient steps due for them.
type DQN struct {
	cfg     Config
	setup   Setup
	spec    policy.QSpec
	fleet   rollout.Fleet
	learner *learner.Learner
	loss    lossGraph
	version uint64 // weights version the fleet acts with

	// next evaluates Q(s', ·) with the target network θ' (a copy of the
	// online network updated every TargetUpdateInterval env steps) and,
	// for double Q-learning, with the online network.
	next nextQNets

	replay *Replay
	per    *Prioritized // nil: uniform replay
	nstep  []nStepQueue // one per worker env, in fleet order
	rng    *envs.RNG    // replay sampling (its state is checkpointed)

	window    *algorithms.EpisodeWindow
	iteration int
	envSteps  int64
	start     time.Time

	// Per-gradient-step scratch, preallocated.
	idx     []int
	targets []float32
	td      []float32
}

// LearnerMetrics are DQN's learner/<name> columns. Loss, q_mean (mean
// Q(s, a) of the replayed actions), td_error (mean |TD error|) and
// grad_norm are means over the iteration's gradient steps, 0 in iterations
// without any (before learning_starts). Prioritised replay adds
// learner/beta (PERMetrics).
var LearnerMetrics = []string{
	"learner/loss", "learner/q_mean", "learner/td_error", "learner/epsilon",
	"learner/grad_norm", "learner/lr", "learner/gradient_steps", "learner/buffer_size",
}

// PERMetrics are appended to LearnerMetrics with prioritised replay.
var PERMetrics = []string{"learner/beta"}

// New sets up a run: it reads the env's spaces, initialises the Q-network
// and its target copy, allocates the replay buffer, builds the loss graph
// once, and starts the fleet with version-1 weights and the initial ε.
func New(cfg Config, s Setup) (*DQN, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	if err := s.Rollout.Validate(); err != nil {
		return nil, fmt.Errorf("dqn: rollout: %w", err)
	}
	if err := s.Model.Validate(); err != nil {
		return nil, fmt.Errorf("dqn: model: %w", err)
	}
	spec, err := qSpec(s, cfg.Dueling)
	if err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	d := &DQN{
		cfg:    cfg,
		setup:  s,
		spec:   spec,
		replay: NewReplay(cfg.BufferSize, spec.ObsDim),
		rng:    envs.NewRNG(s.Seed, 0xd9a),
		window: algorithms.NewEpisodeWindow(100),
	}
	d.window.SetMetricNames(algorithms.MetricNames(s.Metrics))
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
	w.Version = 1
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
	newFleet := s.NewFleet
	if newFleet == nil {
		newFleet = localFleet(s)
	}
	lw := d.learner.Weights()
	lw.Explore.Epsilon = float32(cfg.Epsilon)
	fs := rollout.FleetSpec{Policy: rollout.QPolicy(spec), MaxStaleness: uint64(cfg.MaxStaleness)}
	if d.fleet, err = newFleet(fs, lw); err != nil {
		d.learner.Close()
		return nil, fmt.Errorf("dqn: %w", err)
	}
	if err := d.broadcast(context.Background()); err != nil {
		d.Close()
		return nil, fmt.Errorf("dqn: initial weights: %w", err)
	}
	d.start = time.Now()
	return d, nil
}

func (s Setup) workerSpec() rollout.WorkerSpec {
	return rollout.WorkerSpec{EnvID: s.EnvID, EnvOptions: s.EnvOptions, Wrappers: s.Wrappers, Metrics: s.Metrics, Seed: s.Seed}
}

func qSpec(s Setup, dueling bool) (policy.QSpec, error) {
	sp, err := rollout.EnvSpaces(s.workerSpec())
	if err != nil {
		return policy.QSpec{}, err
	}
	if sp.Actions != nil {
		return policy.QSpec{}, fmt.Errorf("env %s: action space %v: DQN supports Discrete actions only", s.EnvID, sp.Actions)
	}
	return policy.QSpec{ObsDim: sp.Obs.Size(), NumActions: sp.NumActions, Model: s.Model, Dueling: dueling}, nil
}

func localFleet(s Setup) rollout.NewFleetFunc {
	return func(fs rollout.FleetSpec, w *policy.Weights) (rollout.Fleet, error) {
		return rollout.NewLocalFleet(s.Rollout, s.workerSpec(), func() (rollout.Policy, error) {
			return policy.NewEpsilonGreedy(fs.Policy.Q, w)
		})
	}
}

// Train runs one iteration: sample → store n-step transitions → the
// gradient steps and target updates due → broadcast → result.
func (d *DQN) Train(ctx context.Context) (algorithms.Result, error) {
	iterStart := time.Now()
	d.iteration++
	epsilon := d.epsilonAt(d.envSteps) // what the fleet acts with this iteration

	// --- Rollout: every worker steps its envs ε-greedily with the last weights sent.
	batches, err := d.fleet.Sample(ctx)
	if err != nil {
		return algorithms.Result{}, fmt.Errorf("dqn: iteration %d: sample: %w", d.iteration, err)
	}
	sampleTime := time.Since(iterStart)
	n := 0
	for _, b := range batches {
		n += b.Len()
	}
	d.window.AddBatches(batches)
	// Observation normalisation: merge every fragment's raw statistics,
	// in batch order, for the next broadcast.
	if err := rollout.MergeObsStats(d.learner.Weights().ObsNorm, batches); err != nil {
		return algorithms.Result{}, fmt.Errorf("dqn: iteration %d: %w", d.iteration, err)
	}

	// --- Replay: each env's steps become n-step transitions.
	for _, b := range batches {
		env := b.WorkerIndex * d.setup.Rollout.EnvsPerWorker // this worker's first env
		if b.NumEnvs != d.setup.Rollout.EnvsPerWorker || env < 0 || env+b.NumEnvs > len(d.nstep) {
			return algorithms.Result{}, fmt.Errorf("dqn: iteration %d: batch %s from worker %d has %d envs, want worker < %d with %d envs", d.iteration, b.ID, b.WorkerIndex, b.NumEnvs, d.setup.Rollout.Workers, d.setup.Rollout.EnvsPerWorker)
		}
		d.store(b, d.nstep[env:env+b.NumEnvs])
	}

	// --- Learn: replay the env steps one by one, training every
	// TrainFreq steps once LearningStarts have passed, and moving the
	// target network every TargetUpdateInterval steps (SB3's schedule).
	learnStart := time.Now()
	var st stepStats
	before := d.envSteps
	d.envSteps += int64(n)
	lr := d.cfg.LRSchedule.At(d.cfg.LR, before)
	beta := d.cfg.BetaAt(before)
	for t := before + 1; t <= d.envSteps; t++ {
		if t > d.cfg.LearningStarts && t%d.cfg.TrainFreq == 0 && d.replay.Len() > 0 {
			lr, beta = d.cfg.LRSchedule.At(d.cfg.LR, t), d.cfg.BetaAt(t)
			for g := 0; g < d.cfg.GradientSteps; g++ {
				if err := d.gradientStep(lr, beta, &st); err != nil {
					return algorithms.Result{}, fmt.Errorf("dqn: iteration %d: %w", d.iteration, err)
				}
			}
		}
		if t%d.cfg.TargetUpdateInterval == 0 {
			d.updateTarget()
		}
	}
	learnTime := time.Since(learnStart)

	// --- Broadcast: the next iteration acts with the new weights and ε.
	if err := d.broadcast(ctx); err != nil {
		return algorithms.Result{}, fmt.Errorf("dqn: iteration %d: broadcast weights: %w", d.iteration, err)
	}

	// --- Metrics.
	k := float64(max(st.steps, 1))
	mean := func(x float64) float64 { return x / k }
	r := algorithms.Result{
		Iteration:    d.iteration,
		EnvSteps:     d.envSteps,
		TimeS:        time.Since(d.start).Seconds(),
		EnvStepsPerS: float64(n) / time.Since(iterStart).Seconds(),
		SampleTimeS:  sampleTime.Seconds(),
		LearnTimeS:   learnTime.Seconds(),
		Learner: []algorithms.Metric{
			{Name: LearnerMetrics[0], Value: mean(st.loss)},
			{Name: LearnerMetrics[1], Value: mean(st.qMean)},
			{Name: LearnerMetrics[2], Value: mean(st.tdAbs)},
			{Name: LearnerMetrics[3], Value: epsilon},
			{Name: LearnerMetrics[4], Value: mean(st.gradNorm)},
			{Name: LearnerMetrics[5], Value: lr},
			{Name: LearnerMetrics[6], Value: float64(st.steps)},
			{Name: LearnerMetrics[7], Value: float64(d.replay.Len())},
		},
	}
	if d.per != nil {
		r.Learner = append(r.Learner, algorithms.Metric{Name: PERMetrics[0], Value: beta})
	}
	d.window.Fill(&r)
	r.SetFleet(d.fleet.Health())
	return r, nil
}

// epsilonAt is ε at env step t: Epsilon annealed linearly over its own
// horizon (Mnih et al. 2015: 1 → 0.1 over the first million frames).
func (d *DQN) epsilonAt(t int64) float64 { return d.cfg.EpsilonSchedule.At(d.cfg.Epsilon, t) }

// nStepQueue turns one env's steps into n-step transitions (Sutton 1988;
// Hessel et al. 2018, eq. 2):
//
//	R_t^(n) = Σ_{k=0}^{n−1} γ^k·r_{t+k},   y_t = R_t^(n) + γ^n·max_a Q'(s_{t+n}, a)
//
// It holds the env's last (at most n) steps across fragments. When an
// episode ends after k < n steps, each pending step gets the rewards up to
// the end; a terminated episode does not bootstrap (coefficient 0), a
// truncated one bootstraps from its final observation with γ^k (Pardo et
// al. 2018: a time limit is not a terminal state).
type nStepQueue struct {
	n, obsDim int
	gamma     float32
	obs       []float32 // ring of n observations
	actions   []int32
	rewards   []float32
	head, len int
}

func newNStepQueue(n, obsDim int, gamma float64) nStepQueue {
	return nStepQueue{n: n, obsDim: obsDim, gamma: float32(gamma),
		obs: make([]float32, n*obsDim), actions: make([]int32, n), rewards: make([]float32, n)}
}

// step records one step (s, a, r) and the observation after it (the
// final observation if the step ended the episode), writing every
// transition that is now complete into buf.
func (q *nStepQueue) step(buf *Replay, per *Prioritized, obs []float32, action int32, reward float32, nextObs []float32, terminated, truncated bool) {
	slot := (q.head + q.len) % q.n
	copy(q.obs[slot*q.obsDim:(slot+1)*q.obsDim], obs)
	q.actions[slot], q.rewards[slot] = action, reward
	q.len++
	if terminated || truncated {
		for q.len > 0 {
			q.emit(buf, per, nextObs, terminated)
		}
		return
	}
	if q.len == q.n {
		q.emit(buf, per, nextObs, false)
	}
}

// emit writes the oldest pending step's transition, whose return sums the
// rewards of every pending step, and drops it.
func (q *nStepQueue) emit(buf *Replay, per *Prioritized, nextObs []float32, terminated bool) {
	var ret float32
	discount := float32(1)
	for k := 0; k < q.len; k++ {
		ret += discount * q.rewards[(q.head+k)%q.n]
		discount *= q.gamma
	}
	if terminated {
		discount = 0
	}
	h := q.head
	slot := buf.Add(q.obs[h*q.obsDim:(h+1)*q.obsDim], q.actions[h], ret, nextObs, discount)
	if per != nil {
		per.Added(slot)
	}
	q.head = (q.head + 1) % q.n
	q.len--
}

// store feeds a fragment's steps, time-major, into its envs' queues. The
// observation after step t is Obs at t+1, the final observation where
// step t ended an episode, and LastObs after the fragment's last step.
func (d *DQN) store(b *rollout.SampleBatch, queues []nStepQueue) {
	T, N, D := b.Steps, b.NumEnvs, b.ObsDim
	final := 0 // b.FinalObs is in index order
	for t := 0; t < T; t++ {
		for i := 0; i < N; i++ {
			k := t*N + i
			var next []float32
			switch {
			case final < len(b.FinalObs) && b.FinalObs[final].Index == k:
				next = b.FinalObs[final].Obs
				final++
			case t == T-1:
				next = b.LastObs[i*D : (i+1)*D]
			default:
				next = b.Obs[(k+N)*D : (k+N+1)*D]
			}
			queues[i].step(d.replay, d.per, b.Obs[k*D:(k+1)*D], b.Actions[k], b.Rewards[k], next, b.Terminated[k], b.Truncated[k])
		}
	}
}

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
}

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
	l := lossGraph{graph: gr, huber: cfg.Loss == "huber", delta: cfg.HuberDelta, denom: float64(m), qsa: make([]float32, m)}
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
// dueling aggregation V + A − mean(A) is written as two products with
// constant matrices, V·1ᵀ + A·(I − J/|A|).
func qGraph(gr *learner.Graph, spec policy.QSpec, prefix string, obs *gorgonia.Node) (*gorgonia.Node, error) {
	named := func(m policy.MLP) policy.MLP { m.Name = prefix + m.Name; return m }
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
	na := spec.NumActions
	ones := gr.Input(prefix+"dueling_ones", 1, na)
	fill(ones.Data, 1)
	center := gr.Input(prefix+"dueling_center", na, na)
	for i := 0; i < na; i++ {
		for j := 0; j < na; j++ {
			center.Data[i*na+j] = -1 / float32(na)
			if i == j {
				center.Data[i*na+j] += 1
			}
		}
	}
	vq, err := gorgonia.Mul(v, ones.Node)
	if err != nil {
		return nil, err
	}
	aq, err := gorgonia.Mul(adv, center.Node)
	if err != nil {
		return nil, err
	}
	return gorgonia.Add(vq, aq)
}

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
	qTarget, qOnline := d.next.run()
	tdTargets(l.targets.Data, returns, bootstrap, qTarget, qOnline, m, na, d.cfg.Double)

	res, err := d.learner.Step(lr)
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

// nextQ is policy.QNetwork computing the dueling aggregation as the loss
// graph's qGraph does, V·1 + A·(I − 1/n) (the matrix products' order of
// float32 additions), so that targets are bit for bit those of a graph.
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
	for i := 0; i < m; i++ {
		row := adv[i*na : (i+1)*na]
		for j := 0; j < na; j++ {
			var acc float32
			for k, a := range row {
				c := -1 / float32(na)
				if k == j {
					c++
				}
				acc += a * c
			}
			q[i*na+j] = v[i] + acc
		}
	}
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
func (n *nextQNets) run() (qTarget, qOnline []float32) {
	if n.qo != nil {
		qOnline = n.qo.Q(n.nextObs, n.m)
	}
	return n.qt.Q(n.nextObs, n.m), qOnline
}

// broadcast sends the learner's weights, with the next version and the ε
// for the current env step, to every worker.
func (d *DQN) broadcast(ctx context.Context) error {
	d.version++
	w := d.learner.Weights()
	w.Version = d.version
	w.Explore.Epsilon = float32(d.epsilonAt(d.envSteps))
	return d.fleet.SetWeights(ctx, w)
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

// LearnerMetrics returns the names of DQN's learner metrics.
func (d *DQN) LearnerMetrics() []string {
	if d.per != nil {
		return append(append([]string(nil), LearnerMetrics...), PERMetrics...)
	}
	return LearnerMetrics
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
func (d *DQN) Close() error {
	var errs []error
	if d.fleet != nil {
		errs = append(errs, d.fleet.Close())
	}
	if d.learner != nil {
		errs = append(errs, d.learner.Close())
	}
	return errors.Join(errs...)
}
