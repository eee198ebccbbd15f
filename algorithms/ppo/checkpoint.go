package ppo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// The files of a PPO checkpoint: typed msgpack state, never code.
const (
	fileWeights   = "weights.msgpack"
	fileOptimizer = "optimizer.msgpack"
	fileState     = "state.msgpack"
	fileWorkers   = "workers.msgpack"
)

// trainState is PPO's own state beyond weights and optimizer.
type trainState struct {
	Iteration int                    `msgpack:"iteration"`
	EnvSteps  int64                  `msgpack:"env_steps"`
	Version   uint64                 `msgpack:"version"`
	TimeS     float64                `msgpack:"time_s"`
	RNG       []byte                 `msgpack:"rng"`
	Window    algorithms.WindowState `msgpack:"window"`
}

// SaveState returns the files of a checkpoint: the weights, Adam's moments
// and step, PPO's counters, shuffling RNG and episode window, and — when
// the fleet is local and its envs can snapshot — every worker's envs and
// random stream, so a resumed run continues exactly.
func (p *PPO) SaveState() (map[string][]byte, error) {
	files := map[string][]byte{}
	w := p.learner.Weights().Clone()
	w.Version = p.version
	var err error
	if files[fileWeights], err = w.Encode(); err != nil {
		return nil, err
	}
	if files[fileOptimizer], err = wire.Marshal(p.learner.Optimizer().State()); err != nil {
		return nil, err
	}
	rng, err := p.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	st := trainState{Iteration: p.iteration, EnvSteps: p.envSteps, Version: p.version,
		TimeS: time.Since(p.start).Seconds(), RNG: rng, Window: p.window.State()}
	if files[fileState], err = wire.Marshal(st); err != nil {
		return nil, err
	}
	if f, ok := p.fleet.(rollout.FleetSnapshotter); ok {
		ws, err := f.Snapshot()
		switch {
		case errors.Is(err, envs.ErrNoSnapshot):
			// Custom envs without Snapshotter resume with fresh episodes.
		case err != nil:
			return nil, err
		default:
			if files[fileWorkers], err = wire.Marshal(ws); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// LoadState restores a checkpoint written by SaveState into a PPO built
// from the same config (a different number of workers is allowed: their
// episodes then start afresh). The weights are broadcast to the fleet.
func (p *PPO) LoadState(files map[string][]byte) (notes []string, err error) {
	get := func(name string, v any) error {
		b, ok := files[name]
		if !ok {
			return fmt.Errorf("ppo: checkpoint lacks %s", name)
		}
		if err := wire.Unmarshal(b, v, wire.Limits{MaxBytes: 1 << 30}); err != nil {
			return fmt.Errorf("ppo: checkpoint %s: %w", name, err)
		}
		return nil
	}
	var w policy.Weights
	if err := get(fileWeights, &w); err != nil {
		return nil, err
	}
	var adam learner.AdamState
	if err := get(fileOptimizer, &adam); err != nil {
		return nil, err
	}
	var st trainState
	if err := get(fileState, &st); err != nil {
		return nil, err
	}
	if err := p.learner.SetWeights(&w); err != nil {
		return nil, fmt.Errorf("ppo: checkpoint weights do not fit this network: %w", err)
	}
	if err := p.learner.Optimizer().SetState(adam); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	if err := p.rng.UnmarshalBinary(st.RNG); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	if err := p.window.SetState(st.Window); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	p.iteration, p.envSteps, p.version = st.Iteration, st.EnvSteps, st.Version
	p.start = time.Now().Add(-time.Duration(st.TimeS * float64(time.Second)))
	wts := p.learner.Weights()
	wts.Version = p.version
	if err := p.fleet.SetWeights(context.Background(), wts); err != nil {
		return nil, fmt.Errorf("ppo: broadcast restored weights: %w", err)
	}
	f, local := p.fleet.(rollout.FleetSnapshotter)
	raw, saved := files[fileWorkers]
	switch {
	case !local:
		notes = append(notes, "remote workers start fresh episodes")
	case !saved:
		notes = append(notes, "the envs cannot snapshot their state (no envs.Snapshotter): workers start fresh episodes")
	default:
		var ws []*rollout.WorkerState
		if err := wire.Unmarshal(raw, &ws, wire.Limits{MaxBytes: 1 << 30}); err != nil {
			return nil, fmt.Errorf("ppo: checkpoint %s: %w", fileWorkers, err)
		}
		if err := f.Restore(ws); errors.Is(err, rollout.ErrFleetChanged) {
			notes = append(notes, err.Error()+": workers start fresh episodes")
		} else if err != nil {
			return nil, fmt.Errorf("ppo: %w", err)
		}
	}
	return notes, nil
}

// GreedyPolicy returns the current policy acting with its most probable
// action (algorithms.GreedyPolicy), for evaluation.
func (p *PPO) GreedyPolicy() (algorithms.Greedy, error) {
	return policy.NewActorCritic(p.spec, p.learner.Weights())
}

// WeightsVersion returns the version of the weights the fleet acts with,
// recorded in checkpoint metadata.
func (p *PPO) WeightsVersion() uint64 { return p.version }
