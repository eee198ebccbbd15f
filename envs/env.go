// Package envs defines the environment API of rlgo: an Env with Gymnasium's
// semantics (Reset with an optional seed, Step returning terminated and
// truncated separately), the Box and Discrete spaces, a registry of named
// environments, wrappers and a vector env with auto-reset.
//
// The package stands alone: it imports nothing else from rlgo, so a program
// can use envs (and envs/classic) without the training stack.
//
// # Observations and actions
//
// Observations are flat []float32 laid out row-major by the observation
// Box's shape, so images and stacked frames fit the same type. An Action
// carries either a Discrete index or a Box vector.
//
// # Ownership
//
// The observation slice an Env returns from Reset or Step belongs to the
// Env and stays valid only until its next Reset or Step: a caller that keeps
// it must copy it. This lets environments step without allocating.
package envs

import (
	"errors"
	"fmt"
)

// Env is a reinforcement-learning environment with Gymnasium's semantics.
//
// Implementations need not be safe for concurrent use: the rollout stack
// gives each goroutine its own Env. Failures are returned as errors, never
// panics (the rollout worker does recover from a panic, but reports it as a
// crash of the env).
type Env interface {
	// ObservationSpace describes every observation the env returns.
	ObservationSpace() Space
	// ActionSpace describes the actions Step accepts.
	ActionSpace() Space
	// Reset starts a new episode and returns its first observation. A non-nil
	// seed reseeds the env's random source first (Gymnasium's
	// reset(seed=...)); a nil seed continues the current stream, so a run
	// seeded once and reset many times is reproducible.
	Reset(seed *uint64) ([]float32, Info, error)
	// Step applies one action and returns the transition. Calling Step after
	// an episode ended, without Reset, is undefined (the built-in envs
	// follow Gymnasium and return zero reward).
	Step(action Action) (StepResult, error)
	// Close releases the env's resources. It is safe to call more than once.
	Close() error
}

// StepResult is what Env.Step returns.
type StepResult struct {
	// Obs is the observation after the action. It belongs to the env (see
	// the package documentation on ownership).
	Obs []float32
	// Reward is the reward for this transition.
	Reward float64
	// Terminated reports that the MDP reached a terminal state: the value
	// of Obs is zero by definition and must not be bootstrapped.
	Terminated bool
	// Truncated reports that the episode was cut short from outside the
	// MDP (a time limit): Obs is a real state whose value may be
	// bootstrapped. Terminated and Truncated are never conflated; both may
	// be true when the last step of a time limit is also terminal.
	Truncated bool
	// Info carries optional diagnostics and custom metrics. It may be nil.
	Info Info
}

// Done reports whether the episode ended, for either reason.
func (r StepResult) Done() bool { return r.Terminated || r.Truncated }

// Info holds an env's extra per-step values (Gymnasium's info dict): custom
// metrics, diagnostics and, later, action masks. Keys are the env's own.
type Info map[string]any

// Action is one action for an Env. A Discrete action space reads Discrete;
// a Box action space reads Continuous (length equal to the Box's size).
// The struct leaves room for further kinds (MultiDiscrete) without
// changing the Env interface.
type Action struct {
	// Discrete is the index of the chosen action in a Discrete space.
	Discrete int
	// Continuous is the action vector for a Box space.
	Continuous []float32
}

// DiscreteAction returns the Action that selects index i of a Discrete space.
func DiscreteAction(i int) Action { return Action{Discrete: i} }

// ContinuousAction returns the Action carrying the vector v for a Box space.
func ContinuousAction(v ...float32) Action { return Action{Continuous: v} }

// Seed returns a pointer to s, for Env.Reset.
func Seed(s uint64) *uint64 { return &s }

// ErrInvalidAction is wrapped by errors an env returns for an action
// outside its action space.
var ErrInvalidAction = errors.New("action outside the action space")

// CheckDiscreteAction returns an error wrapping ErrInvalidAction unless a
// selects a valid index of the n-action space.
func CheckDiscreteAction(a Action, n int) error {
	if a.Discrete < 0 || a.Discrete >= n {
		return fmt.Errorf("discrete action %d not in [0, %d): %w", a.Discrete, n, ErrInvalidAction)
	}
	return nil
}
