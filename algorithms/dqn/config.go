package dqn

import (
	"github.com/rlgo/rlgo/algorithms"
)

// Config is DQN's section of a config (YAML key "dqn"). Defaults are
// CleanRL dqn.py's (Mnih et al. 2015 scaled for classic control), with
// every improvement off: set double, dueling, n_step and prioritized to
// turn them on. Every horizon (exploration, learning rate, β) is counted in
// env steps and is the schedule's own, never the run's budget.
type Config struct {
	// Optim holds lr (default 2.5e-4), lr_schedule (default constant),
	// gamma (default 0.99), max_grad_norm (default 10, SB3's) and adam_eps
	// (default 1e-8, torch's default, as CleanRL and SB3).
	algorithms.Optim `yaml:",inline"`
	// BufferSize is the replay buffer's capacity in transitions. Default 10,000.
	BufferSize int `yaml:"buffer_size"`
	// BatchSize is the number of transitions per gradient step. Default 128.
	BatchSize int `yaml:"batch_size"`
	// LearningStarts is the number of env steps collected before the first
	// gradient step. Default 10,000.
	LearningStarts int64 `yaml:"learning_starts"`
	// TrainFreq: every TrainFreq env steps (after LearningStarts) the
	// learner takes GradientSteps gradient steps. Default 10.
	TrainFreq int64 `yaml:"train_freq"`
	// GradientSteps is the number of gradient steps per training round. Default 1.
	GradientSteps int `yaml:"gradient_steps"`
	// TargetUpdateInterval: every TargetUpdateInterval env steps the target
	// network moves towards the online one by Tau. Default 500.
	TargetUpdateInterval int64 `yaml:"target_update_interval"`
	// Tau is the target update's coefficient: 1 copies the online network
	// (a hard update, Mnih et al. 2015), less is Polyak averaging
	// θ' ← τ·θ + (1 − τ)·θ' (Lillicrap et al. 2016). Default 1.
	Tau float64 `yaml:"tau"`
	// Epsilon is ε-greedy's initial exploration rate. Default 1.
	Epsilon float64 `yaml:"epsilon"`
	// EpsilonSchedule anneals Epsilon linearly to Final over Steps env
	// steps. Default {final: 0.05, steps: 250000} (CleanRL: half its 500k steps).
	EpsilonSchedule algorithms.Schedule `yaml:"epsilon_schedule"`
	// Double uses double Q-learning targets (van Hasselt et al. 2016): the
	// online network picks the next action, the target network values it. Default false.
	Double bool `yaml:"double"`
	// Dueling uses a dueling head (Wang et al. 2016). Default false.
	Dueling bool `yaml:"dueling"`
	// NStep is the number of rewards in each return (Sutton 1988; Hessel
	// et al. 2018). Default 1.
	NStep int `yaml:"n_step"`
	// Loss is "huber" (Huber loss with δ = HuberDelta, as Mnih et al.'s
	// error clipping and SB3) or "mse" (CleanRL). Default "mse".
	Loss string `yaml:"loss"`
	// HuberDelta is the Huber loss's δ. Default 1.
	HuberDelta float64 `yaml:"huber_delta"`
	// Prioritized uses proportional prioritised replay (Schaul et al. 2016,
	// arXiv:1511.05952). Default false.
	Prioritized bool `yaml:"prioritized"`
	// Alpha is the prioritisation exponent α: P(i) ∝ p_i^α. Default 0.6.
	Alpha float64 `yaml:"alpha"`
	// Beta is the importance-sampling exponent β's initial value. Default 0.4.
	Beta float64 `yaml:"beta"`
	// BetaSteps anneals β linearly to 1 over BetaSteps env steps. Default 100,000.
	BetaSteps int64 `yaml:"beta_steps"`
	// PriorityEps is added to |TD error| so no priority is zero. Default 1e-6.
	PriorityEps float64 `yaml:"priority_eps"`
	// CheckpointReplay saves the replay buffer (and its priorities) in
	// checkpoints, so a resumed run continues exactly; false keeps
	// checkpoints small, and a resumed run starts with an empty buffer.
	// Default true.
	CheckpointReplay bool `yaml:"checkpoint_replay"`
	// MaxStaleness bounds how off-policy the fragments of a remote fleet
	// (rltrain learner) may be, in weights versions: an iteration whose
	// fleet acts with version v accepts a fragment acted with version
	// v−MaxStaleness or newer, and counts older ones as stale
	// (fleet/stale) instead of training on them. 0 accepts only the
	// current version, as PPO does. Replay makes DQN off-policy anyway,
	// so a few versions cost little. The local fleet always acts with
	// the current weights. Default 4.
	MaxStaleness int `yaml:"max_staleness"`
}

// DefaultConfig returns CleanRL dqn.py's hyperparameters.
func DefaultConfig() Config {
	return Config{
		Optim:      algorithms.Optim{LR: 2.5e-4, Gamma: 0.99, MaxGradNorm: 10, AdamEps: 1e-8},
		BufferSize: 10000, BatchSize: 128,
		LearningStarts: 10000, TrainFreq: 10, GradientSteps: 1,
		TargetUpdateInterval: 500, Tau: 1,
		Epsilon: 1, EpsilonSchedule: algorithms.Schedule{Final: 0.05, Steps: 250000},
		NStep: 1, Loss: "mse", HuberDelta: 1,
		Alpha: 0.6, Beta: 0.4, BetaSteps: 100000, PriorityEps: 1e-6,
		CheckpointReplay: true, MaxStaleness: 4,
	}
}

// Validate checks every field; errors name the YAML key.
func (c Config) Validate() error {
	return algorithms.FirstFailed(c.Optim.Checks(), []algorithms.Check{
		algorithms.Field("buffer_size", c.BufferSize >= 1 && c.BufferSize <= 1<<26, c.BufferSize, "want in [1, 67108864]"),
		algorithms.Field("batch_size", c.BatchSize >= 1 && c.BatchSize <= 1<<16, c.BatchSize, "want in [1, 65536]"),
		algorithms.Field("learning_starts", c.LearningStarts >= 0, c.LearningStarts, "want >= 0"),
		algorithms.Field("train_freq", c.TrainFreq >= 1, c.TrainFreq, "want >= 1"),
		algorithms.Field("gradient_steps", c.GradientSteps >= 1, c.GradientSteps, "want >= 1"),
		algorithms.Field("target_update_interval", c.TargetUpdateInterval >= 1, c.TargetUpdateInterval, "want >= 1"),
		algorithms.Field("tau", c.Tau > 0 && c.Tau <= 1, c.Tau, "want in (0, 1]"),
		algorithms.Field("epsilon", c.Epsilon >= 0 && c.Epsilon <= 1, c.Epsilon, "want in [0, 1]"),
	}, c.EpsilonSchedule.BoundedChecks("epsilon_schedule", 1), []algorithms.Check{
		algorithms.Field("n_step", c.NStep >= 1 && c.NStep <= 1000, c.NStep, "want in [1, 1000]"),
		algorithms.Field("loss", c.Loss == "huber" || c.Loss == "mse", c.Loss, "want huber or mse"),
		algorithms.Field("huber_delta", c.HuberDelta > 0, c.HuberDelta, "want > 0"),
		algorithms.Field("alpha", c.Alpha >= 0, c.Alpha, "want >= 0"),
		algorithms.Field("beta", c.Beta >= 0 && c.Beta <= 1, c.Beta, "want in [0, 1]"),
		algorithms.Field("beta_steps", c.BetaSteps >= 0, c.BetaSteps, "want >= 0"),
		algorithms.Field("priority_eps", c.PriorityEps > 0, c.PriorityEps, "want > 0"),
		algorithms.Field("max_staleness", c.MaxStaleness >= 0, c.MaxStaleness, "want >= 0"),
	})
}

// BetaAt returns prioritised replay's β at env step t: Beta annealed
// linearly to 1 over BetaSteps (constant when BetaSteps is 0).
func (c Config) BetaAt(t int64) float64 {
	return algorithms.Schedule{Final: 1, Steps: c.BetaSteps}.At(c.Beta, t)
}
