package cli

import (
	"fmt"

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
