package external

import (
	"context"
	"errors"

	"github.com/rlgo/rlgo/envs"
)

// Env is one env of a server as an envs.Env, for code that steps a
// single env: the env checker (rltrain check-env), evaluation, and
// reading an env's spaces. Training steps whole vectors (VectorEnv).
//
// The server auto-resets an env whose episode ended; Env hides that:
// Step returns the episode's final observation, and the next Reset(nil)
// returns the observation the server's auto-reset began the next episode
// with (the env's own random stream continued); a Reset(nil) in the middle
// of an episode asks the server for reset(seed=None). Reset with a seed
// reseeds the env (Gymnasium's reset(seed=...)); the very first Reset(nil)
// seeds it with 0, so runs stay reproducible.
type Env struct {
	v       *VectorEnv
	started bool // reset at least once
	ended   bool // the last Step ended an episode: v.Obs holds the next one's start
}

var _ envs.Env = (*Env)(nil)

// OpenEnv opens one env of the server c describes (Open with one env).
func OpenEnv(ctx context.Context, c Config, opts Options) (*Env, error) {
	v, err := Open(ctx, c, 1, opts)
	if err != nil {
		return nil, err
	}
	return &Env{v: v}, nil
}

// ObservationSpace is the server's observation space.
func (e *Env) ObservationSpace() envs.Space { return e.v.ObservationSpace() }

// ActionSpace is the server's action space.
func (e *Env) ActionSpace() envs.Space { return e.v.ActionSpace() }

// Reset starts an episode (see Env for what a nil seed does).
func (e *Env) Reset(seed *uint64) ([]float32, envs.Info, error) {
	switch {
	case seed != nil:
		if err := e.v.Reset(*seed); err != nil {
			return nil, nil, err
		}
	case !e.started:
		if err := e.v.Reset(0); err != nil {
			return nil, nil, err
		}
	case !e.ended:
		if err := e.v.resetUnseeded(context.Background()); err != nil {
			return nil, nil, err
		}
	}
	e.started, e.ended = true, false
	return append([]float32(nil), e.v.Obs()...), nil, nil
}

// Step applies one action.
func (e *Env) Step(a envs.Action) (envs.StepResult, error) {
	if !e.started {
		return envs.StepResult{}, errors.New("external env: Step before Reset")
	}
	vs, err := e.v.Step([]envs.Action{a})
	if err != nil {
		return envs.StepResult{}, err
	}
	r := envs.StepResult{Obs: e.v.Obs(), Reward: vs.Rewards[0], Terminated: vs.Terminated[0], Truncated: vs.Truncated[0]}
	if len(vs.Infos) > 0 {
		r.Info = vs.Infos[0]
	}
	if vs.FinalObs[0] != nil {
		r.Obs, e.ended = vs.FinalObs[0], true
	}
	return r, nil
}

// Close stops the server process (or closes the connection).
func (e *Env) Close() error { return e.v.Close() }

// Restarts is how many times the server was restarted.
func (e *Env) Restarts() int64 { return e.v.Restarts() }
