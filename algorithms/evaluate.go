package algorithms

import (
	"context"
	"fmt"
	"math"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/rollout"
)

// Greedy is a policy's deterministic action choice (the most probable
// action of a stochastic policy, the greedy action of a Q-network).
type Greedy interface {
	Greedy(obs []float32, n int, actions []int)
}

// ContinuousGreedy is a deterministic policy over a Box action space (a
// Gaussian policy's mean).
type ContinuousGreedy interface {
	GreedyContinuous(obs []float32, n int, actions []float32)
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
	return EvaluateWrapped(ctx, id, opts, nil, pol, episodes, seed)
}

// EvaluateWrapped is Evaluate on envs wrapped as training's were
// (env.wrappers), keeping only the wrappers that change what the policy
// observes or does (frame_stack, clip_action): the policy normalises
// observations itself with the statistics frozen in its weights, and an
// evaluation reports the env's own returns, so normalize_observation and
// the reward wrappers are left out. For a Box action space pol must be a
// ContinuousGreedy; its actions are clipped to the space's bounds.
func EvaluateWrapped(ctx context.Context, id string, opts envs.Options, wrappers []envs.WrapperSpec, pol Greedy, episodes int, seed uint64) (*Evaluation, error) {
	return EvaluateSetup(ctx, Setup{EnvID: id, EnvOptions: opts, Wrappers: wrappers}, pol, episodes, seed)
}

// EvaluateSetup is EvaluateWrapped on the env of a run's setup: a
// registered env, or one env of an external env server (Setup.External).
func EvaluateSetup(ctx context.Context, s Setup, pol Greedy, episodes int, seed uint64) (*Evaluation, error) {
	id := s.EnvID
	var keep []envs.WrapperSpec
	for _, w := range s.Wrappers {
		if w.Name == envs.WrapFrameStack || w.Name == envs.WrapClipAction {
			keep = append(keep, w)
		}
	}
	spec := s.WorkerSpec()
	spec.Wrappers = keep
	env, err := rollout.MakeEnv(spec)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	defer env.Close()
	var act func(obs []float32) envs.Action
	switch space := env.ActionSpace().(type) {
	case envs.Discrete:
		action := make([]int, 1)
		act = func(obs []float32) envs.Action {
			pol.Greedy(obs, 1, action)
			return envs.DiscreteAction(action[0])
		}
	case *envs.Box:
		cg, ok := pol.(ContinuousGreedy)
		if !ok {
			return nil, fmt.Errorf("evaluate: %s has a Box action space; policy %T has no continuous actions", id, pol)
		}
		a := make([]float32, space.Size())
		act = func(obs []float32) envs.Action {
			cg.GreedyContinuous(obs, 1, a)
			for j := range a {
				a[j] = min(max(a[j], space.Low[j]), space.High[j])
			}
			return envs.Action{Continuous: a}
		}
	default:
		return nil, fmt.Errorf("evaluate: %s: action space %v is neither Discrete nor Box", id, env.ActionSpace())
	}
	ev := &Evaluation{}
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
			r, err := env.Step(act(obs))
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
