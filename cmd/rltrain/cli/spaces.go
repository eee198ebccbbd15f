package cli

import (
	"fmt"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/config"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// policySpaces are the spaces a run's policy saw: the observation Box
// after env.wrappers (normalize_observation excepted: the policy applies
// it), and a Discrete action count or a Box of actions.
type policySpaces struct {
	obs        *envs.Box
	numActions int
	actions    *envs.Box
}

func spacesOf(cfg *config.Config) (policySpaces, error) {
	env, err := rollout.MakeEnv(rollout.WorkerSpec{EnvID: cfg.Env.ID, EnvOptions: cfg.Env.Options, Wrappers: cfg.Env.WrapperSpecs()})
	if err != nil {
		return policySpaces{}, err
	}
	defer env.Close()
	var s policySpaces
	var ok bool
	if s.obs, ok = env.ObservationSpace().(*envs.Box); !ok {
		return s, fmt.Errorf("%s: observation space %v is not a Box", cfg.Env.ID, env.ObservationSpace())
	}
	switch a := env.ActionSpace().(type) {
	case envs.Discrete:
		s.numActions = a.N
	case *envs.Box:
		if cfg.Algorithm != "ppo" {
			return s, fmt.Errorf("%s: a Box action space needs PPO, not %s", cfg.Env.ID, cfg.Algorithm)
		}
		s.actions = a
	default:
		return s, fmt.Errorf("%s: action space %v is neither Discrete nor Box", cfg.Env.ID, env.ActionSpace())
	}
	return s, nil
}

// greedyPolicy builds the run's deterministic policy over weights w.
func greedyPolicy(cfg *config.Config, s policySpaces, w *policy.Weights) (algorithms.Greedy, error) {
	switch cfg.Algorithm {
	case "ppo":
		spec := policy.ActorCriticSpec{ObsDim: s.obs.Size(), NumActions: s.numActions, Model: cfg.Model}
		if s.actions != nil {
			spec.ActionDim = s.actions.Size()
		}
		return policy.NewActorCritic(spec, w)
	case "dqn":
		return policy.NewEpsilonGreedy(policy.QSpec{ObsDim: s.obs.Size(), NumActions: s.numActions, Model: cfg.Model, Dueling: cfg.DQN.Dueling}, w)
	}
	return nil, fmt.Errorf("unknown algorithm %q", cfg.Algorithm)
}
