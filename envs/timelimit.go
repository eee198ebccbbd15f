package envs

import (
	"encoding/binary"
	"fmt"
)

// TimeLimit truncates episodes after MaxSteps steps, like Gymnasium's
// TimeLimit wrapper: the step that reaches the limit returns
// Truncated=true (and keeps Terminated as the env set it).
type TimeLimit struct {
	Env
	// MaxSteps is the episode limit.
	MaxSteps int
	elapsed  int
}

// NewTimeLimit wraps env so that its episodes end after maxSteps steps.
func NewTimeLimit(env Env, maxSteps int) *TimeLimit {
	return &TimeLimit{Env: env, MaxSteps: maxSteps}
}

// Reset resets the step count and the wrapped env.
func (t *TimeLimit) Reset(seed *uint64) ([]float32, Info, error) {
	t.elapsed = 0
	return t.Env.Reset(seed)
}

// Step steps the wrapped env and sets Truncated at the limit.
func (t *TimeLimit) Step(a Action) (StepResult, error) {
	r, err := t.Env.Step(a)
	if err != nil {
		return r, err
	}
	t.elapsed++
	if t.elapsed >= t.MaxSteps {
		r.Truncated = true
	}
	return r, nil
}

// Elapsed returns the number of steps taken in the current episode.
func (t *TimeLimit) Elapsed() int { return t.elapsed }

// Unwrap returns the wrapped env.
func (t *TimeLimit) Unwrap() Env { return t.Env }

// Wrapper is implemented by envs that wrap another; Unwrapped follows it.
type Wrapper interface {
	Unwrap() Env
}

// Unwrapped returns the innermost env under any number of wrappers, like
// Gymnasium's env.unwrapped, so tests can read and place physical state.
func Unwrapped(env Env) Env {
	for {
		w, ok := env.(Wrapper)
		if !ok {
			return env
		}
		env = w.Unwrap()
	}
}

// Snapshot saves the step count (8 bytes) followed by the wrapped env's
// snapshot; it fails if the wrapped env is not a Snapshotter.
func (t *TimeLimit) Snapshot() ([]byte, error) {
	s, ok := t.Env.(Snapshotter)
	if !ok {
		return nil, fmt.Errorf("time limit over %T: %w", t.Env, ErrNoSnapshot)
	}
	inner, err := s.Snapshot()
	if err != nil {
		return nil, err
	}
	return append(binary.LittleEndian.AppendUint64(nil, uint64(t.elapsed)), inner...), nil
}

// Restore returns the wrapper and the wrapped env to a Snapshot.
func (t *TimeLimit) Restore(b []byte) error {
	s, ok := t.Env.(Snapshotter)
	if !ok {
		return fmt.Errorf("time limit over %T: %w", t.Env, ErrNoSnapshot)
	}
	if len(b) < 8 {
		return fmt.Errorf("time limit: restore: snapshot of %d bytes is too short", len(b))
	}
	if err := s.Restore(b[8:]); err != nil {
		return err
	}
	t.elapsed = int(binary.LittleEndian.Uint64(b))
	return nil
}
