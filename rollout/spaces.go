package rollout

import (
	"fmt"

	"github.com/rlgo/rlgo/envs"
)

// Spaces are the spaces a worker's policy sees: a Box of observations
// (after env wrappers; normalize_observation keeps its shape) and either
// a Discrete action space (NumActions > 0) or a Box one (Actions).
type Spaces struct {
	Obs        *envs.Box
	NumActions int
	Actions    *envs.Box
}

// EnvSpaces makes one env as the workers of spec do and returns its
// spaces, or an error naming the env when they are not a Box of
// observations and a Discrete or Box action space.
func EnvSpaces(spec WorkerSpec) (Spaces, error) {
	env, err := MakeEnv(spec)
	if err != nil {
		return Spaces{}, err
	}
	defer env.Close()
	var s Spaces
	var ok bool
	if s.Obs, ok = env.ObservationSpace().(*envs.Box); !ok {
		return Spaces{}, fmt.Errorf("env %s: observation space %v is not a Box", spec.EnvID, env.ObservationSpace())
	}
	switch a := env.ActionSpace().(type) {
	case envs.Discrete:
		s.NumActions = a.N
	case *envs.Box:
		s.Actions = a
	default:
		return Spaces{}, fmt.Errorf("env %s: action space %v is neither Discrete nor Box", spec.EnvID, env.ActionSpace())
	}
	return s, nil
}
