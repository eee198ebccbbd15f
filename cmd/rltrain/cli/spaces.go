package cli

import (
	"fmt"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train/config"
)

// spacesOf returns the spaces a run's policy saw (rollout.EnvSpaces of
// its env and wrappers), checking that a Box action space has PPO.
func spacesOf(cfg *config.Config) (rollout.Spaces, error) {
	s, err := rollout.EnvSpaces(rollout.WorkerSpec{EnvID: cfg.Env.ID, EnvOptions: cfg.Env.Options, Wrappers: cfg.Env.WrapperSpecs()})
	if err == nil && s.Actions != nil && cfg.Algorithm != "ppo" {
		err = fmt.Errorf("%s: a Box action space needs PPO, not %s", cfg.Env.ID, cfg.Algorithm)
	}
	return s, err
}

// greedyPolicy builds the run's deterministic policy over weights w.
func greedyPolicy(cfg *config.Config, s rollout.Spaces, w *policy.Weights) (algorithms.Greedy, error) {
	switch cfg.Algorithm {
	case "ppo":
		spec := policy.ActorCriticSpec{ObsDim: s.Obs.Size(), NumActions: s.NumActions, Model: cfg.Model}
		if s.Actions != nil {
			spec.ActionDim = s.Actions.Size()
		}
		return policy.NewActorCritic(spec, w)
	case "dqn":
		return policy.NewEpsilonGreedy(policy.QSpec{ObsDim: s.Obs.Size(), NumActions: s.NumActions, Model: cfg.Model, Dueling: cfg.DQN.Dueling}, w)
	}
	return nil, fmt.Errorf("unknown algorithm %q", cfg.Algorithm)
}
