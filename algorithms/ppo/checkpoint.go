package ppo

import (
	"fmt"
)

// SaveState returns the files of a checkpoint: the weights, Adam's
// moments and step, PPO's counters, shuffling RNG and episode window, and
// — when the fleet is local and its envs can snapshot — every worker's
// envs and random stream, so a resumed run continues exactly. PPO has no
// state beyond the loop's (algorithms.Loop.SaveState).
func (p *PPO) SaveState() (map[string][]byte, error) {
	return p.Loop.SaveState(p.learner, p.rng)
}

// LoadState restores a checkpoint written by SaveState into a PPO built
// from the same config (a different number of workers is allowed: their
// episodes then start afresh). Every file is decoded and checked before
// anything is applied; the weights are broadcast to the fleet.
func (p *PPO) LoadState(files map[string][]byte) (notes []string, err error) {
	r, err := p.DecodeState(files, p.learner, p.rng)
	if err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	notes, _, err = r.Apply(nil)
	if err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	return notes, nil
}

// WeightsVersion returns the version of the weights the fleet acts with,
// recorded in checkpoint metadata.
func (p *PPO) WeightsVersion() uint64 { return p.Version }
