package ppo

import (
	"github.com/rlgo/rlgo/algorithms"
)

// Config is PPO's section of a config (YAML key "ppo"). Defaults are
// CleanRL ppo.py's, which reproduce the PPO paper's Atari/MuJoCo settings
// scaled for classic control.
type Config struct {
	// Optim holds lr (default 2.5e-4), lr_schedule (default constant;
	// CleanRL anneals to 0 over its 500k steps), gamma (default 0.99),
	// max_grad_norm (default 0.5) and adam_eps (default 1e-5, CleanRL's).
	algorithms.Optim `yaml:",inline"`
	// Lambda is GAE's λ (Schulman et al. 2016). Default 0.95.
	Lambda float64 `yaml:"lambda"`
	// Clip is the surrogate clipping coefficient ε. Default 0.2.
	Clip float64 `yaml:"clip"`
	// ClipSchedule anneals Clip linearly to Final over Steps env steps. Default constant.
	ClipSchedule algorithms.Schedule `yaml:"clip_schedule"`
	// ClipValueLoss clips the value loss around the old values with Clip,
	// as the PPO2 baselines implementation does. Default true.
	ClipValueLoss bool `yaml:"clip_value_loss"`
	// Epochs is the number of passes over each train batch. Default 4.
	Epochs int `yaml:"epochs"`
	// Minibatches is the number of minibatches per epoch; it must divide the
	// train batch (fragment_length × envs_per_worker × workers). Default 4.
	Minibatches int `yaml:"minibatches"`
	// NormalizeAdvantages normalises advantages per minibatch. Default true.
	NormalizeAdvantages bool `yaml:"normalize_advantages"`
	// EntropyCoeff weights the entropy bonus. Default 0.01.
	EntropyCoeff float64 `yaml:"entropy_coeff"`
	// EntropySchedule anneals EntropyCoeff linearly to Final over Steps
	// env steps (RLlib's entropy_coeff_schedule, linear). Default constant.
	EntropySchedule algorithms.Schedule `yaml:"entropy_schedule"`
	// VFCoeff weights the value loss. Default 0.5.
	VFCoeff float64 `yaml:"vf_coeff"`
	// TargetKL, when positive, stops an iteration's epochs early once the
	// approximate KL divergence exceeds it. Default 0 (off).
	TargetKL float64 `yaml:"target_kl"`
}

// DefaultConfig returns CleanRL ppo.py's hyperparameters.
func DefaultConfig() Config {
	return Config{
		Optim:  algorithms.Optim{LR: 2.5e-4, Gamma: 0.99, MaxGradNorm: 0.5, AdamEps: 1e-5},
		Lambda: 0.95, Clip: 0.2, ClipValueLoss: true,
		Epochs: 4, Minibatches: 4, NormalizeAdvantages: true,
		EntropyCoeff: 0.01, VFCoeff: 0.5,
	}
}

// Validate checks every field; errors name the YAML key.
func (c Config) Validate() error {
	return algorithms.FirstFailed(c.Optim.Checks(), []algorithms.Check{
		algorithms.Field("lambda", c.Lambda >= 0 && c.Lambda <= 1, c.Lambda, "want in [0, 1]"),
		algorithms.Field("clip", c.Clip > 0, c.Clip, "want > 0"),
		algorithms.Field("epochs", c.Epochs >= 1, c.Epochs, "want >= 1"),
		algorithms.Field("minibatches", c.Minibatches >= 1, c.Minibatches, "want >= 1"),
		algorithms.Field("entropy_coeff", c.EntropyCoeff >= 0, c.EntropyCoeff, "want >= 0"),
		algorithms.Field("vf_coeff", c.VFCoeff >= 0, c.VFCoeff, "want >= 0"),
		algorithms.Field("target_kl", c.TargetKL >= 0, c.TargetKL, "want >= 0"),
	}, c.ClipSchedule.Checks("clip_schedule"), c.EntropySchedule.Checks("entropy_schedule"))
}
