package cli

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train/config"
)

// policySpec returns the spec of the policy the run's algorithm acts
// with (its registration's Policy) and the env's spaces.
func policySpec(cfg *config.Config) (rollout.PolicySpec, rollout.Spaces, error) {
	reg, err := cfg.Registration()
	if err != nil {
		return rollout.PolicySpec{}, rollout.Spaces{}, err
	}
	setup := cfg.Setup(nil).WithDefaults()
	s, err := setup.Spaces()
	if err != nil {
		return rollout.PolicySpec{}, rollout.Spaces{}, err
	}
	spec, err := reg.Policy(cfg.Section, setup, s)
	if err != nil {
		return rollout.PolicySpec{}, rollout.Spaces{}, fmt.Errorf("%s: %w", cfg.Algorithm, err)
	}
	return spec, s, nil
}

// greedyPolicy builds the run's deterministic policy over weights w.
func greedyPolicy(cfg *config.Config, w *policy.Weights) (algorithms.Greedy, error) {
	spec, _, err := policySpec(cfg)
	if err != nil {
		return nil, err
	}
	p, err := rollout.NewPolicy(spec, w)
	if err != nil {
		return nil, err
	}
	g, ok := p.(algorithms.Greedy)
	if !ok {
		return nil, fmt.Errorf("%s: policy %T has no greedy action", cfg.Algorithm, p)
	}
	return g, nil
}

// stochasticPolicy builds the run's stochastic policy over weights w: it
// samples from π(·|s) with a stream seeded by seed, for an evaluation that
// acts as training acts (PPO only: a DQN acts greedily on its Q-values).
func stochasticPolicy(cfg *config.Config, w *policy.Weights, seed uint64) (algorithms.Greedy, error) {
	spec, _, err := policySpec(cfg)
	if err != nil {
		return nil, err
	}
	if spec.Kind != rollout.PolicyActorCritic {
		return nil, fmt.Errorf("--stochastic: %s acts greedily on its Q-values; a stochastic evaluation needs a stochastic policy (ppo): %w", cfg.Algorithm, errGreedyOnly)
	}
	p, err := policy.NewActorCritic(spec.ActorCritic, w)
	if err != nil {
		return nil, err
	}
	return sampler{p, rand.New(rand.NewPCG(seed, 0x5a3b1e))}, nil
}

// errGreedyOnly marks a stochastic evaluation asked of a greedy policy.
var errGreedyOnly = errors.New("no stochastic policy")

// sampler hands an actor-critic's sampled actions to algorithms.Evaluate
// in place of its greedy ones.
type sampler struct {
	p   *policy.ActorCritic
	rng *rand.Rand
}

// Greedy samples (algorithms.Greedy's method, here stochastic).
func (s sampler) Greedy(obs []float32, n int, actions []int) { s.p.Sample(obs, n, s.rng, actions) }

// GreedyContinuous samples from the Gaussian.
func (s sampler) GreedyContinuous(obs []float32, n int, actions []float32) {
	s.p.SampleContinuous(obs, n, s.rng, actions)
}
