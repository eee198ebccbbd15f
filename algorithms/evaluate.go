package algorithms

import (
	"context"
	"fmt"
	"math"

	"github.com/rlgo/rlgo/envs"
)

// Greedy is a policy's deterministic action choice (the most probable
// action of a stochastic policy, the greedy action of a Q-network).
type Greedy interface {
	Greedy(obs []float32, n int, actions []int)
}

// GreedyPolicy is implemented by algorithms that can hand out their current
// deterministic policy, for evaluation.
type GreedyPolicy interface {
	GreedyPolicy() (Greedy, error)
}

// Evaluation summarises evaluation episodes of a greedy policy.
type Evaluation struct {
	Returns, Lengths      []float64
	ReturnMean, ReturnStd float64
	LengthMean, LengthStd float64
}

// Evaluate runs pol for episodes on a fresh env made from id and opts,
// resetting episode i with seed+i, so an evaluation is reproducible and
// never touches the training envs or their random streams.
func Evaluate(ctx context.Context, id string, opts envs.Options, pol Greedy, episodes int, seed uint64) (*Evaluation, error) {
	env, err := envs.Make(id, opts)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	defer env.Close()
	if _, ok := env.ActionSpace().(envs.Discrete); !ok {
		return nil, fmt.Errorf("evaluate: %s: only Discrete action spaces are evaluated", id)
	}
	ev := &Evaluation{}
	action := make([]int, 1)
	for ep := 0; ep < episodes; ep++ {
		obs, _, err := env.Reset(envs.Seed(seed + uint64(ep)))
		if err != nil {
			return nil, fmt.Errorf("evaluate: episode %d: reset: %w", ep, err)
		}
		var ret float64
		n := 0
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			pol.Greedy(obs, 1, action)
			r, err := env.Step(envs.DiscreteAction(action[0]))
			if err != nil {
				return nil, fmt.Errorf("evaluate: episode %d step %d: %w", ep, n, err)
			}
			ret += r.Reward
			n++
			if r.Done() {
				break
			}
			obs = r.Obs
		}
		ev.Returns = append(ev.Returns, ret)
		ev.Lengths = append(ev.Lengths, float64(n))
	}
	ev.ReturnMean, ev.ReturnStd = meanStd(ev.Returns)
	ev.LengthMean, ev.LengthStd = meanStd(ev.Lengths)
	return ev, nil
}

// meanStd returns the mean and population standard deviation.
func meanStd(x []float64) (float64, float64) {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return m, math.Sqrt(ss / float64(len(x)))
}
