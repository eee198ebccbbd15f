// Package reinforce is REINFORCE with a learned baseline (Williams 1992;
// Sutton & Barto 2018, §13.4) for discrete actions: how a new algorithm
// joins rlgo. It is this one package and its algorithms.Register call —
// no switch anywhere else — and then `algorithm: reinforce` works in a
// YAML config, in `rltrain train`, evaluate, export and train.Run
// (import it for its registration, as cmd/rltrain/cli imports ppo and dqn).
//
// Each iteration takes one on-policy batch from the fleet and one
// gradient step on
//
//	G_t = r_t + γ·G_{t+1}            (0 after termination; V(final obs) after a
//	                                  truncation; V(s_T) at the fragment's end)
//	L   = −mean(log π(a_t|s_t)·(G_t − V(s_t))) + ½·mean((V(s_t) − G_t)²)
package reinforce

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

func init() {
	algorithms.Register(algorithms.Of("reinforce", func() Config { return Config{LR: 1e-3, Gamma: 0.99} }, New, policySpec))
}

// policySpec is the acting policy: an actor-critic (the critic is the baseline).
func policySpec(_ Config, s algorithms.Setup, sp rollout.Spaces) (rollout.PolicySpec, error) {
	if sp.Actions != nil {
		return rollout.PolicySpec{}, errors.New("REINFORCE here supports Discrete actions only")
	}
	return rollout.ActorCriticPolicy(policy.ActorCriticSpec{ObsDim: sp.Obs.Size(), ObsShape: sp.Obs.Shape(), NumActions: sp.NumActions, Model: s.Model}), nil
}

// Config is the reinforce: section. Defaults: lr 1e-3, gamma 0.99.
type Config struct {
	LR    float64 `yaml:"lr"`
	Gamma float64 `yaml:"gamma"`
}

// Validate checks the ranges.
func (c Config) Validate() error {
	if !(c.LR > 0) {
		return &algorithms.FieldError{Key: "lr", Msg: fmt.Sprintf("want > 0, got %v", c.LR)}
	}
	if !(c.Gamma > 0 && c.Gamma <= 1) {
		return &algorithms.FieldError{Key: "gamma", Msg: fmt.Sprintf("want (0, 1], got %v", c.Gamma)}
	}
	return nil
}

// Metrics are REINFORCE's learner/<name> metrics.
type Metrics struct {
	PolicyLoss float64 `metric:"policy_loss"`
	ValueLoss  float64 `metric:"value_loss"`
	GradNorm   float64 `metric:"grad_norm"`
}

// Reinforce is one training run; each Train call is one iteration.
type Reinforce struct {
	*algorithms.Loop
	cfg     Config
	spec    policy.ActorCriticSpec
	learner *learner.Learner
	rng     *envs.RNG // unused by the update; kept for the checkpoint codec

	obs, onehot, ret, adv *learner.Input
	m                     Metrics
}

// New builds the actor-critic network, its loss graph over the whole
// iteration's batch, and the fleet.
func New(cfg Config, s algorithms.Setup) (*Reinforce, error) {
	s = s.WithDefaults()
	sp, err := s.Spaces()
	if err != nil {
		return nil, err
	}
	spec := policy.ActorCriticSpec{ObsDim: sp.Obs.Size(), ObsShape: sp.Obs.Shape(), NumActions: sp.NumActions, Model: s.Model}
	r := &Reinforce{cfg: cfg, spec: spec, rng: envs.NewRNG(s.Seed, 0x7e1)}
	w := spec.Init(envs.NewRand(s.Seed, 0x1417))
	gr := learner.NewGraph(w)
	b := s.Rollout.StepsPerIteration()
	r.obs, r.onehot = gr.Input("obs", b, spec.ObsDim), gr.Input("onehot", b, spec.NumActions)
	r.ret, r.adv = gr.Input("returns", b), gr.Input("advantages", b)
	logits, err := gr.Network(spec.ActorConv(), spec.Actor(), r.obs.Node)
	if err != nil {
		return nil, err
	}
	v, err := gr.Network(spec.CriticConv(), spec.Critic(), r.obs.Node)
	if err != nil {
		return nil, err
	}
	pg, err := learner.Scalar("pg", r.policyTerm, 0, logits, r.onehot.Node, r.adv.Node)
	if err != nil {
		return nil, err
	}
	vf, err := learner.Scalar("vf", r.valueTerm, 0, v, r.ret.Node)
	if err != nil {
		return nil, err
	}
	loss, err := gorgonia.Add(pg, vf)
	if err != nil {
		return nil, err
	}
	if r.learner, err = learner.New(learner.Config{Device: s.Device}, gr, loss); err != nil {
		return nil, err
	}
	fs := rollout.FleetSpec{Policy: rollout.ActorCriticPolicy(spec)}
	if r.Loop, err = algorithms.NewLoop(context.Background(), "reinforce", &r.cfg, s, fs, r.learner.Weights()); err != nil {
		r.learner.Close()
		return nil, err
	}
	return r, nil
}

// Train runs one iteration: rollout → returns → one gradient step → broadcast.
func (r *Reinforce) Train(ctx context.Context) (algorithms.Result, error) {
	r.Begin()
	batches, n, err := r.Sample(ctx, true)
	if err != nil {
		return algorithms.Result{}, err
	}
	clear(r.onehot.Data)
	off := 0
	for _, b := range batches {
		T, N := b.Steps, b.NumEnvs
		for i := 0; i < N; i++ {
			g := float64(b.LastValues[i])
			for t := T - 1; t >= 0; t-- {
				k := t*N + i
				switch {
				case b.Terminated[k]:
					g = 0
				case b.Truncated[k]:
					g = float64(b.BootstrapValues[k])
				}
				g = float64(b.Rewards[k]) + r.cfg.Gamma*g
				r.ret.Data[off+k] = float32(g)
				r.adv.Data[off+k] = float32(g - float64(b.Values[k]))
				r.onehot.Data[(off+k)*r.spec.NumActions+int(b.Actions[k])] = 1
			}
		}
		copy(r.obs.Data[off*r.spec.ObsDim:], b.Obs)
		off += b.Len()
	}
	start := time.Now()
	res, err := r.learner.Step(r.cfg.LR)
	if err != nil {
		return algorithms.Result{}, r.Errorf("%w", err)
	}
	r.m.GradNorm = res.GradNorm
	if err := r.Broadcast(ctx); err != nil {
		return algorithms.Result{}, r.Errorf("broadcast weights: %w", err)
	}
	return r.Result(n, time.Since(start), algorithms.LearnerMetrics(r.m)), nil
}

// policyTerm is −Σ_i A_i·log π(a_i|s_i) / m over (logits, one-hot, A),
// with ∂/∂z_k = −A_i·(a_k − p_k) / m.
func (r *Reinforce) policyTerm(in [][]float32, grad []float32) float32 {
	z, a, adv := in[0], in[1], in[2]
	m, k := len(adv), r.spec.NumActions
	var sum float64
	for i := 0; i < m; i++ {
		row := z[i*k : (i+1)*k]
		mx := float64(row[0])
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var se float64
		for _, v := range row {
			se += math.Exp(float64(v) - mx)
		}
		for j, v := range row {
			p := math.Exp(float64(v)-mx) / se
			sum -= float64(adv[i]) * float64(a[i*k+j]) * (float64(v) - mx - math.Log(se))
			if grad != nil {
				grad[i*k+j] = float32(-float64(adv[i]) * (float64(a[i*k+j]) - p) / float64(m))
			}
		}
	}
	if grad == nil {
		r.m.PolicyLoss = sum / float64(m)
	}
	return float32(sum / float64(m))
}

// valueTerm is ½·Σ_i (V_i − G_i)² / m, with ∂/∂V_i = (V_i − G_i) / m.
func (r *Reinforce) valueTerm(in [][]float32, grad []float32) float32 {
	v, g := in[0], in[1]
	var sum float64
	for i := range g {
		d := float64(v[i]) - float64(g[i])
		sum += 0.5 * d * d
		if grad != nil {
			grad[i] = float32(d / float64(len(g)))
		}
	}
	if grad == nil {
		r.m.ValueLoss = sum / float64(len(g))
	}
	return float32(sum / float64(len(g)))
}

// LearnerMetrics names the learner/<name> columns.
func (r *Reinforce) LearnerMetrics() []string { return algorithms.LearnerMetricNames(Metrics{}) }

// GreedyPolicy returns the current policy acting with its most probable action.
func (r *Reinforce) GreedyPolicy() (algorithms.Greedy, error) {
	return policy.NewActorCritic(r.spec, r.learner.Weights())
}

// SaveState and LoadState checkpoint the run with the shared codec.
func (r *Reinforce) SaveState() (map[string][]byte, error) { return r.Loop.SaveState(r.learner, r.rng) }

// LoadState restores a checkpoint SaveState wrote.
func (r *Reinforce) LoadState(files map[string][]byte) ([]string, error) {
	rs, err := r.DecodeState(files, r.learner, r.rng)
	if err != nil {
		return nil, err
	}
	notes, _, err := rs.Apply(nil)
	return notes, err
}

// Close releases the fleet and the learner.
func (r *Reinforce) Close() error { return r.Loop.Close(r.learner) }
