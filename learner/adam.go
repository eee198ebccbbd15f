package learner

import (
	"errors"
	"fmt"
	"math"

	"github.com/rlgo/rlgo/internal/kernels"
)

// AdamConfig configures Adam (Kingma & Ba, 2015) as torch.optim.Adam.
type AdamConfig struct {
	// Beta1 and Beta2 are the moment decay rates. Defaults 0.9 and 0.999.
	Beta1, Beta2 float64
	// Eps is added to the root of the second moment. Default 1e-5
	// (CleanRL's PPO; torch's default is 1e-8).
	Eps float64
	// MaxGradNorm, when positive, rescales the gradients so that their
	// global L2 norm is at most this (torch.nn.utils.clip_grad_norm_).
	MaxGradNorm float64
}

// Defaults fills zero fields with the documented defaults.
func (c *AdamConfig) Defaults() {
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-5
	}
}

// Validate checks the ranges.
func (c AdamConfig) Validate() error {
	switch {
	case c.Beta1 < 0 || c.Beta1 >= 1:
		return fmt.Errorf("beta1: want [0, 1), got %v", c.Beta1)
	case c.Beta2 < 0 || c.Beta2 >= 1:
		return fmt.Errorf("beta2: want [0, 1), got %v", c.Beta2)
	case c.Eps <= 0:
		return fmt.Errorf("eps: want > 0, got %v", c.Eps)
	case c.MaxGradNorm < 0:
		return fmt.Errorf("max_grad_norm: want >= 0, got %v", c.MaxGradNorm)
	}
	return nil
}

// AdamState is Adam's full state, exported so checkpoints can save it.
type AdamState struct {
	// Step counts the updates taken (t in the paper).
	Step int64 `msgpack:"step"`
	// M and V are the first and second moments, one slice per parameter.
	M [][]float32 `msgpack:"m"`
	V [][]float32 `msgpack:"v"`
}

// Adam updates parameters in place from their gradients. Unlike gorgonia
// v0.9.18's AdamSolver it takes the learning rate per step (so schedules
// work), clips the global gradient norm, exposes its moments, and
// allocates nothing per step.
type Adam struct {
	cfg   AdamConfig
	state AdamState
}

// NewAdam returns an Adam for parameters of the given sizes.
func NewAdam(cfg AdamConfig, sizes []int) *Adam {
	cfg.Defaults()
	a := &Adam{cfg: cfg, state: AdamState{M: make([][]float32, len(sizes)), V: make([][]float32, len(sizes))}}
	for i, n := range sizes {
		a.state.M[i] = make([]float32, n)
		a.state.V[i] = make([]float32, n)
	}
	return a
}

// GlobalNorm returns the L2 norm of all gradients together.
func GlobalNorm(grads [][]float32) float64 {
	var s float64
	for _, g := range grads {
		s += kernels.SumSquares(g)
	}
	return math.Sqrt(s)
}

// Step clips grads (in place) to MaxGradNorm, then applies one Adam update
// with learning rate lr to params. It returns the gradient norm before
// clipping. A non-finite gradient is an error and leaves params unchanged.
//
//	m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
//	θ ← θ − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
//
// The update runs in float32 (vectorised, kernels.Adam), as torch's does;
// the norm and the bias corrections are float64.
func (a *Adam) Step(params, grads [][]float32, lr float64) (float64, error) {
	if len(params) != len(a.state.M) || len(grads) != len(params) {
		return 0, fmt.Errorf("adam: %d params and %d grads, want %d", len(params), len(grads), len(a.state.M))
	}
	norm := GlobalNorm(grads)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, errors.New("adam: non-finite gradient norm")
	}
	c := kernels.AdamParams{GradScale: 1, Beta1: a.cfg.Beta1, Beta2: a.cfg.Beta2, Eps: a.cfg.Eps}
	if mx := a.cfg.MaxGradNorm; mx > 0 {
		if coef := mx / (norm + 1e-6); coef < 1 {
			c.GradScale = coef
		}
	}
	a.state.Step++
	t := float64(a.state.Step)
	c.StepSize = lr / (1 - math.Pow(a.cfg.Beta1, t))
	c.BiasCorrection2 = math.Sqrt(1 - math.Pow(a.cfg.Beta2, t))
	for i, p := range params {
		if len(grads[i]) != len(p) || len(a.state.M[i]) != len(p) {
			return norm, fmt.Errorf("adam: parameter %d has %d values, gradient %d, moments %d", i, len(p), len(grads[i]), len(a.state.M[i]))
		}
		kernels.Adam(p, a.state.M[i], a.state.V[i], grads[i], c)
	}
	return norm, nil
}

// State returns the optimizer's state (shared, not copied).
func (a *Adam) State() *AdamState { return &a.state }

// SetState replaces the optimizer's state, which must match the parameter sizes.
func (a *Adam) SetState(s AdamState) error {
	if len(s.M) != len(a.state.M) || len(s.V) != len(a.state.V) {
		return fmt.Errorf("adam state: %d/%d moments, want %d", len(s.M), len(s.V), len(a.state.M))
	}
	for i := range s.M {
		if len(s.M[i]) != len(a.state.M[i]) || len(s.V[i]) != len(a.state.V[i]) {
			return fmt.Errorf("adam state: parameter %d has %d values, want %d", i, len(s.M[i]), len(a.state.M[i]))
		}
	}
	a.state = s
	return nil
}
