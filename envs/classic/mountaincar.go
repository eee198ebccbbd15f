package classic

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/rlgo/rlgo/envs"
)

func init() {
	envs.MustRegister(envs.Spec{
		ID:              "MountainCar-v0",
		New:             func(opts envs.Options) (envs.Env, error) { return NewMountainCar(opts) },
		MaxEpisodeSteps: 200,
		RewardThreshold: -110,
		HasThreshold:    true,
		Description:     "drive an underpowered car up a hill; Box(2) obs, Discrete(3) actions, 200 steps",
	})
}

// Mountain car parameters, as in MountainCarEnv.__init__
// (gymnasium/envs/classic_control/mountain_car.py) and, for the continuous
// version, Continuous_MountainCarEnv.__init__. Variables, not constants, so
// that expressions of them round like Python's (see the Acrobot parameters).
var (
	mountainCarMinPosition = -1.2
	mountainCarMaxPosition = 0.6
	mountainCarMaxSpeed    = 0.07
	mountainCarForce       = 0.001
	mountainCarGravity     = 0.0025

	// reset: np_random.uniform(low=-0.6, high=-0.4)
	mountainCarResetLow, mountainCarResetHigh = -0.6, -0.4
)

// MountainCarGoalPosition is where MountainCar-v0's goal is: the episode
// terminates once the car is at or beyond it (with velocity at least the
// goal velocity).
const MountainCarGoalPosition = 0.5

// MountainCar is Gymnasium's MountainCar-v0 (Moore 1990): a car in a
// sinusoidal valley whose engine is too weak to climb the right hill
// directly. Each action accelerates it left (0), not at all (1) or right
// (2); the reward is -1 on every step, the terminating one included; the
// episode terminates when position >= 0.5 and velocity >= goal_velocity (0
// unless the option says otherwise). The velocity is clipped to ±0.07 and
// the position to [-1.2, 0.6], and hitting the left wall stops the car. The
// 200-step limit comes from the registry's TimeLimit.
//
// Gymnasium v0.29.1 and v1.0 step identically; the state is float64 (a
// tuple of np.float64) throughout.
type MountainCar struct {
	// State is (position, velocity), Gymnasium's env.unwrapped.state.
	// Tests may set it directly.
	State [2]float64
	// GoalVelocity is the goal_velocity option: the episode terminates
	// only if the velocity at the goal is at least this.
	GoalVelocity float64

	rng      *envs.RNG
	obs      [2]float32
	obsSpace *envs.Box
}

// NewMountainCar returns a MountainCar. It accepts Gymnasium's keyword
// option goal_velocity (a number, default 0).
func NewMountainCar(opts envs.Options) (*MountainCar, error) {
	goalVelocity, err := mountainCarOptions("MountainCar", opts)
	if err != nil {
		return nil, err
	}
	return &MountainCar{
		GoalVelocity: goalVelocity,
		rng:          envs.NewRNG(0, 0),
		obsSpace:     mountainCarObsSpace(),
	}, nil
}

// mountainCarOptions reads the options both mountain cars accept.
func mountainCarOptions(name string, opts envs.Options) (goalVelocity float64, err error) {
	if err := envs.UnknownOptions(opts, "goal_velocity"); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	goalVelocity, err = envs.FloatOption(opts, "goal_velocity", 0)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if math.IsNaN(goalVelocity) || math.IsInf(goalVelocity, 0) {
		return 0, fmt.Errorf("%s: option goal_velocity: want a finite number, got %v", name, goalVelocity)
	}
	return goalVelocity, nil
}

// mountainCarObsSpace is both mountain cars' observation space:
// Box([min_position, -max_speed], [max_position, max_speed], float32).
func mountainCarObsSpace() *envs.Box {
	return envs.NewBox(
		[]float32{float32(mountainCarMinPosition), float32(-mountainCarMaxSpeed)},
		[]float32{float32(mountainCarMaxPosition), float32(mountainCarMaxSpeed)},
	)
}

// ObservationSpace is Box(2): position in [-1.2, 0.6], velocity in [-0.07, 0.07].
func (c *MountainCar) ObservationSpace() envs.Space { return c.obsSpace }

// ActionSpace is Discrete(3): accelerate left, don't accelerate, accelerate right.
func (c *MountainCar) ActionSpace() envs.Space { return envs.Discrete{N: 3} }

// Reset draws the position uniformly from [-0.6, -0.4) and sets the velocity to 0.
func (c *MountainCar) Reset(seed *uint64) ([]float32, envs.Info, error) {
	if seed != nil {
		c.rng = envs.NewRNG(*seed, 0)
	}
	c.State = [2]float64{mountainCarUniform(c.rng.Rand), 0}
	return c.observe(), nil, nil
}

// mountainCarUniform is np_random.uniform(low=-0.6, high=-0.4): low + (high - low) * u.
func mountainCarUniform(rng *rand.Rand) float64 {
	low, high := mountainCarResetLow, mountainCarResetHigh
	return low + float64((high-low)*rng.Float64())
}

// Step applies an acceleration and moves the car for one step.
func (c *MountainCar) Step(a envs.Action) (envs.StepResult, error) {
	if err := envs.CheckDiscreteAction(a, 3); err != nil {
		return envs.StepResult{}, fmt.Errorf("MountainCar: %w", err)
	}
	position, velocity := c.State[0], c.State[1]
	// velocity += (action - 1) * self.force + math.cos(3 * position) * (-self.gravity)
	// (float64() stops the compiler from fusing a product into a
	// multiply-add, which Python never does.)
	velocity += float64(float64(a.Discrete-1)*mountainCarForce) + float64(math.Cos(float64(3*position))*(-mountainCarGravity))
	velocity = npClip(velocity, -mountainCarMaxSpeed, mountainCarMaxSpeed)
	position += velocity
	position = npClip(position, mountainCarMinPosition, mountainCarMaxPosition)
	if position == mountainCarMinPosition && velocity < 0 {
		velocity = 0
	}
	terminated := position >= MountainCarGoalPosition && velocity >= c.GoalVelocity
	c.State = [2]float64{position, velocity}
	return envs.StepResult{Obs: c.observe(), Reward: -1.0, Terminated: terminated}, nil
}

// npClip is np.clip(x, lo, hi) for one float64: minimum(maximum(x, lo), hi),
// NaN staying NaN.
func npClip(x, lo, hi float64) float64 {
	if x < lo {
		x = lo
	}
	if x > hi {
		x = hi
	}
	return x
}

// observe is np.array(self.state, dtype=np.float32).
func (c *MountainCar) observe() []float32 {
	c.obs = [2]float32{float32(c.State[0]), float32(c.State[1])}
	return c.obs[:]
}

// Close does nothing.
func (c *MountainCar) Close() error { return nil }

// Snapshot saves the physical state and the random source
// (envs.Snapshotter): 2 float64s and the PCG state.
func (c *MountainCar) Snapshot() ([]byte, error) { return snapshot(c.State[:], nil, c.rng) }

// Restore returns MountainCar to a Snapshot.
func (c *MountainCar) Restore(b []byte) error {
	return restore("MountainCar", b, c.State[:], nil, c.rng)
}
