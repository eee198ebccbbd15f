package ppo

import (
	"fmt"

	"github.com/rlgo/rlgo/algorithms"
)

// Config is PPO's section of a config (YAML key "ppo"). Defaults are
// CleanRL ppo.py's, which reproduce the PPO paper's Atari/MuJoCo settings
// scaled for classic control.
type Config struct {
	// LR is Adam's initial learning rate. Default 2.5e-4.
	LR float64 `yaml:"lr"`
	// LRSchedule anneals LR linearly to Final over Steps env steps.
	// Default constant (steps 0); CleanRL anneals to 0 over its 500k steps.
	LRSchedule algorithms.Schedule `yaml:"lr_schedule"`
	// Gamma is the discount factor γ. Default 0.99.
	Gamma float64 `yaml:"gamma"`
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
	// VFCoeff weights the value loss. Default 0.5.
	VFCoeff float64 `yaml:"vf_coeff"`
	// MaxGradNorm clips the global gradient norm; 0 disables. Default 0.5.
	MaxGradNorm float64 `yaml:"max_grad_norm"`
	// TargetKL, when positive, stops an iteration's epochs early once the
	// approximate KL divergence exceeds it. Default 0 (off).
	TargetKL float64 `yaml:"target_kl"`
	// AdamEps is Adam's ε. Default 1e-5 (CleanRL).
	AdamEps float64 `yaml:"adam_eps"`
}

// DefaultConfig returns CleanRL ppo.py's hyperparameters.
func DefaultConfig() Config {
	return Config{
		LR: 2.5e-4, Gamma: 0.99, Lambda: 0.95, Clip: 0.2, ClipValueLoss: true,
		Epochs: 4, Minibatches: 4, NormalizeAdvantages: true,
		EntropyCoeff: 0.01, VFCoeff: 0.5, MaxGradNorm: 0.5, AdamEps: 1e-5,
	}
}

// Validate checks every field; errors name the YAML key.
func (c Config) Validate() error {
	checks := []struct {
		key string
		ok  bool
		val any
		msg string
	}{
		{"lr", c.LR > 0, c.LR, "want > 0"},
		{"gamma", c.Gamma >= 0 && c.Gamma <= 1, c.Gamma, "want in [0, 1]"},
		{"lambda", c.Lambda >= 0 && c.Lambda <= 1, c.Lambda, "want in [0, 1]"},
		{"clip", c.Clip > 0, c.Clip, "want > 0"},
		{"epochs", c.Epochs >= 1, c.Epochs, "want >= 1"},
		{"minibatches", c.Minibatches >= 1, c.Minibatches, "want >= 1"},
		{"entropy_coeff", c.EntropyCoeff >= 0, c.EntropyCoeff, "want >= 0"},
		{"vf_coeff", c.VFCoeff >= 0, c.VFCoeff, "want >= 0"},
		{"max_grad_norm", c.MaxGradNorm >= 0, c.MaxGradNorm, "want >= 0"},
		{"target_kl", c.TargetKL >= 0, c.TargetKL, "want >= 0"},
		{"adam_eps", c.AdamEps > 0, c.AdamEps, "want > 0"},
		{"lr_schedule.final", c.LRSchedule.Final >= 0, c.LRSchedule.Final, "want >= 0"},
		{"lr_schedule.steps", c.LRSchedule.Steps >= 0, c.LRSchedule.Steps, "want >= 0"},
		{"clip_schedule.final", c.ClipSchedule.Final >= 0, c.ClipSchedule.Final, "want >= 0"},
		{"clip_schedule.steps", c.ClipSchedule.Steps >= 0, c.ClipSchedule.Steps, "want >= 0"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return &algorithms.FieldError{Key: ch.key, Msg: fmt.Sprintf("%s, got %v", ch.msg, ch.val)}
		}
	}
	return nil
}
