package envs_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/rlgo/rlgo/envs"
)

// failKind is a way for counterEnv to misbehave.
type failKind int

const (
	failNone      failKind = iota
	failErr                // return errFake
	failPanic              // panic with "counter boom"
	failNaNObs             // observation[2] = NaN
	failInfObs             // observation[2] = +Inf
	failNaNReward          // reward = NaN
	failInfReward          // reward = -Inf
	failObsLen             // observation one value short
)

func (k failKind) String() string {
	return [...]string{"none", "error", "panic", "NaN obs", "Inf obs", "NaN reward", "Inf reward", "short obs"}[k]
}

var errFake = errors.New("counter env failure")

// counterEnv is a deterministic fake env. Its observation is
// (id, episode, t, seed): episode counts Resets (1 after the first), t counts
// steps in the episode, seed is the last seed Reset got (-1 for nil). Step
// gives reward t (so a k-step episode returns k(k+1)/2) and info {"t": t}.
type counterEnv struct {
	id      float32
	k       int // the k-th step of an episode terminates (0: never)
	truncAt int // the truncAt-th step of an episode truncates (0: never)

	// Step call number stepFailAt (1-based, counted over the env's life)
	// misbehaves as stepFail; Reset call number resetFailAt as resetFail.
	stepFail    failKind
	stepFailAt  int
	resetFail   failKind
	resetFailAt int

	episode, t    int
	seed          float32
	steps, resets int
	seeds         []int64 // every seed Reset got, -1 for nil
	actions       []envs.Action
	closed        int
	closeErr      error
	obs           []float32
}

func (c *counterEnv) ObservationSpace() envs.Space { return envs.UniformBox(4, -1e6, 1e6) }
func (c *counterEnv) ActionSpace() envs.Space      { return envs.Discrete{N: 3} }

func (c *counterEnv) observe() []float32 {
	c.obs = append(c.obs[:0], c.id, float32(c.episode), float32(c.t), c.seed)
	return c.obs
}

// misbehave applies kind to obs and reward, or returns its error or panics.
func misbehave(kind failKind, obs []float32, reward *float64) ([]float32, error) {
	switch kind {
	case failErr:
		return obs, errFake
	case failPanic:
		panic("counter boom")
	case failNaNObs:
		obs[2] = float32(math.NaN())
	case failInfObs:
		obs[2] = float32(math.Inf(1))
	case failNaNReward:
		*reward = math.NaN()
	case failInfReward:
		*reward = math.Inf(-1)
	case failObsLen:
		obs = obs[:len(obs)-1]
	}
	return obs, nil
}

func (c *counterEnv) Reset(seed *uint64) ([]float32, envs.Info, error) {
	c.resets++
	c.episode++
	c.t = 0
	c.seed = -1
	if seed != nil {
		c.seed = float32(*seed)
		c.seeds = append(c.seeds, int64(*seed))
	} else {
		c.seeds = append(c.seeds, -1)
	}
	obs := c.observe()
	if c.resets == c.resetFailAt {
		var reward float64
		var err error
		if obs, err = misbehave(c.resetFail, obs, &reward); err != nil {
			return nil, nil, fmt.Errorf("reset %d: %w", c.resets, err)
		}
	}
	return obs, nil, nil
}

func (c *counterEnv) Step(a envs.Action) (envs.StepResult, error) {
	c.steps++
	c.actions = append(c.actions, a)
	c.t++
	r := envs.StepResult{
		Obs:        c.observe(),
		Reward:     float64(c.t),
		Terminated: c.k > 0 && c.t >= c.k,
		Truncated:  c.truncAt > 0 && c.t >= c.truncAt,
		Info:       envs.Info{"t": c.t},
	}
	if c.steps == c.stepFailAt {
		var err error
		r.Obs, err = misbehave(c.stepFail, r.Obs, &r.Reward)
		if err != nil {
			return envs.StepResult{}, fmt.Errorf("step %d: %w", c.steps, err)
		}
	}
	return r, nil
}

func (c *counterEnv) Close() error {
	c.closed++
	return c.closeErr
}

// discreteEnv is an env whose observation space is not a Box.
type discreteEnv struct{ counterEnv }

func (discreteEnv) ObservationSpace() envs.Space { return envs.Discrete{N: 5} }

// wideEnv is a counterEnv with a 5-value observation space.
type wideEnv struct{ counterEnv }

func (wideEnv) ObservationSpace() envs.Space { return envs.UniformBox(5, 0, 1) }
