package classic

import (
	"fmt"
	"math"

	"github.com/rlgo/rlgo/envs"
)

func init() {
	envs.MustRegister(envs.Spec{
		ID:              "MountainCarContinuous-v0",
		New:             func(opts envs.Options) (envs.Env, error) { return NewMountainCarContinuous(opts) },
		MaxEpisodeSteps: 999,
		RewardThreshold: 90,
		HasThreshold:    true,
		Description:     "drive an underpowered car up a hill with a continuous throttle; Box(2) obs, Box(1) actions, 999 steps",
	})
}

// Continuous_MountainCarEnv's own parameters (the others are MountainCar's).
var (
	mccMinAction = -1.0
	mccMaxAction = 1.0
	mccPower     = 0.0015
	mccCosCoef   = 0.0025 // the literal in "- 0.0025 * math.cos(3 * position)"
)

// MountainCarContinuousGoalPosition is where MountainCarContinuous-v0's goal
// is (0.45, where MountainCar-v0 has 0.5).
const MountainCarContinuousGoalPosition = 0.45

// MountainCarContinuous is Gymnasium's MountainCarContinuous-v0: the mountain
// car with a continuous throttle. The action is a force in [-1, 1] (larger
// ones are clipped to it, as Gymnasium does, not rejected) scaled by a power
// of 0.0015; the reward is -0.1*action² per step, computed from the
// unclipped action as in Gymnasium, plus 100 on the step that reaches the
// goal (position >= 0.45 and velocity >= goal_velocity). The 999-step limit
// comes from the registry's TimeLimit.
//
// Gymnasium v0.29.1 and v1.0 step identically. Gymnasium stores the state
// as a float32 array after every step (np.array(..., dtype=np.float32)) but
// as float64 after reset, and under NumPy 2 (NEP 50 promotion) an
// np.float32 combined with a Python float stays float32, so its arithmetic
// is partly float32 and depends on that dtype. Step follows it exactly: see
// Float32State. (Under NumPy 1.x the same code computed in float64, so its
// transitions differed from these in the last float32 bits.)
type MountainCarContinuous struct {
	// State is (position, velocity), Gymnasium's env.unwrapped.state.
	// Tests may set it directly, together with Float32State.
	State [2]float64
	// Float32State reports that State holds float32 values, as Gymnasium's
	// state does after a step; Reset clears it (Gymnasium's reset state is a
	// float64 array) and Step sets it. Step computes as Gymnasium does with
	// a state of that dtype.
	Float32State bool
	// GoalVelocity is the goal_velocity option: the episode terminates
	// only if the velocity at the goal is at least this.
	GoalVelocity float64

	rng      *envs.RNG
	obs      [2]float32
	obsSpace *envs.Box
	actSpace *envs.Box
}

// NewMountainCarContinuous returns a MountainCarContinuous. It accepts
// Gymnasium's keyword option goal_velocity (a number, default 0).
func NewMountainCarContinuous(opts envs.Options) (*MountainCarContinuous, error) {
	goalVelocity, err := mountainCarOptions("MountainCarContinuous", opts)
	if err != nil {
		return nil, err
	}
	return &MountainCarContinuous{
		GoalVelocity: goalVelocity,
		rng:          envs.NewRNG(0, 0),
		obsSpace:     mountainCarObsSpace(),
		actSpace:     envs.UniformBox(1, float32(mccMinAction), float32(mccMaxAction)),
	}, nil
}

// ObservationSpace is Box(2): position in [-1.2, 0.6], velocity in [-0.07, 0.07].
func (c *MountainCarContinuous) ObservationSpace() envs.Space { return c.obsSpace }

// ActionSpace is Box(1) in [-1, 1]: the force on the car. Step also accepts
// actions outside it and clips them, as Gymnasium does.
func (c *MountainCarContinuous) ActionSpace() envs.Space { return c.actSpace }

// Reset draws the position uniformly from [-0.6, -0.4) and sets the velocity to 0.
func (c *MountainCarContinuous) Reset(seed *uint64) ([]float32, envs.Info, error) {
	if seed != nil {
		c.rng = envs.NewRNG(*seed, 0)
	}
	c.State = [2]float64{mountainCarUniform(c.rng.Rand), 0}
	c.Float32State = false
	return c.observe(), nil, nil
}

// checkBoxAction returns the single element of a Box(1) action, or an error
// wrapping envs.ErrInvalidAction if the action has another length or is not
// finite (Gymnasium would clip ±Inf, but the reward of MountainCarContinuous
// would then be -Inf, and NaN would poison the state for good).
func checkBoxAction(name string, a envs.Action) (float32, error) {
	if len(a.Continuous) != 1 {
		return 0, fmt.Errorf("%s: action of length %d, want 1: %w", name, len(a.Continuous), envs.ErrInvalidAction)
	}
	v := a.Continuous[0]
	if v != v || math.IsInf(float64(v), 0) {
		return 0, fmt.Errorf("%s: action %v is not finite: %w", name, v, envs.ErrInvalidAction)
	}
	return v, nil
}

// Step applies a force and moves the car for one step.
//
// The comments give Gymnasium's lines. Under NumPy 2 a Python float (or
// int) combined with an np.float32 is first rounded to float32 and the
// operation is done in float32, both in arithmetic and in comparisons,
// while np.float32 combined with np.float64 gives float64; the code tracks
// which of its values are np.float32 (isF32) to do the same.
func (c *MountainCarContinuous) Step(a envs.Action) (envs.StepResult, error) {
	action, err := checkBoxAction("MountainCarContinuous", a)
	if err != nil {
		return envs.StepResult{}, err
	}
	f32 := c.Float32State
	position, velocity := c.State[0], c.State[1] // np.float32 if f32, else np.float64
	// force = min(max(action[0], self.min_action), self.max_action): the
	// np.float32 action, or the Python float bound it was clipped to.
	forceIsF32 := !(action < float32(mccMinAction) || action > float32(mccMaxAction))

	// velocity += force * self.power - 0.0025 * math.cos(3 * position)
	var cosArg float64 // 3 * position
	if f32 {
		cosArg = float64(3 * float32(position))
	} else {
		cosArg = float64(3 * position)
	}
	d := float64(mccCosCoef * math.Cos(cosArg)) // a Python float
	var dv float64                              // force * self.power - d
	if forceIsF32 {
		dv = float64(float32(action*float32(mccPower)) - float32(d)) // np.float32
	} else {
		force := mccMinAction
		if action > float32(mccMaxAction) {
			force = mccMaxAction
		}
		dv = float64(force*mccPower) - d // a Python float
	}
	if f32 {
		velocity = float64(float32(velocity) + float32(dv)) // np.float32
	} else {
		velocity = velocity + dv // np.float64
	}
	velIsF32 := f32
	// if velocity > self.max_speed: velocity = self.max_speed
	if npGreater(velocity, velIsF32, mountainCarMaxSpeed) {
		velocity, velIsF32 = mountainCarMaxSpeed, false
	}
	// if velocity < -self.max_speed: velocity = -self.max_speed
	if npGreater(-mountainCarMaxSpeed, velIsF32, velocity) {
		velocity, velIsF32 = -mountainCarMaxSpeed, false
	}
	// position += velocity
	if f32 {
		position = float64(float32(position) + float32(velocity)) // np.float32
	} else {
		position = position + velocity // np.float64
	}
	posIsF32 := f32
	// if position > self.max_position: position = self.max_position
	if npGreater(position, posIsF32, mountainCarMaxPosition) {
		position, posIsF32 = mountainCarMaxPosition, false
	}
	// if position < self.min_position: position = self.min_position
	if npGreater(mountainCarMinPosition, posIsF32, position) {
		position, posIsF32 = mountainCarMinPosition, false
	}
	// if position == self.min_position and velocity < 0: velocity = 0
	if npEqual(position, posIsF32, mountainCarMinPosition) && velocity < 0 {
		velocity, velIsF32 = 0, false // the Python int 0
	}
	// terminated = bool(position >= self.goal_position and velocity >= self.goal_velocity)
	terminated := !npGreater(MountainCarContinuousGoalPosition, posIsF32, position) &&
		!npGreater(c.GoalVelocity, velIsF32, velocity)

	// reward = 0; if terminated: reward = 100.0; reward -= math.pow(action[0], 2) * 0.1
	reward := 0.0
	if terminated {
		reward = 100.0
	}
	a64 := float64(action)
	reward -= float64(float64(a64*a64) * 0.1)

	// self.state = np.array([position, velocity], dtype=np.float32)
	c.State = [2]float64{float64(float32(position)), float64(float32(velocity))}
	c.Float32State = true
	return envs.StepResult{Obs: c.observe(), Reward: reward, Terminated: terminated}, nil
}

// npGreater reports x > y where one of x and y is an np.float32 (isF32) or
// np.float64 scalar and the other a Python float: NumPy 2 rounds the Python
// float to float32 and compares in float32 when the scalar is np.float32.
func npGreater(x float64, isF32 bool, y float64) bool {
	if isF32 {
		return float32(x) > float32(y)
	}
	return x > y
}

// npEqual is npGreater's ==.
func npEqual(x float64, isF32 bool, y float64) bool {
	if isF32 {
		return float32(x) == float32(y)
	}
	return x == y
}

// observe is the state as float32.
func (c *MountainCarContinuous) observe() []float32 {
	c.obs = [2]float32{float32(c.State[0]), float32(c.State[1])}
	return c.obs[:]
}

// Close does nothing.
func (c *MountainCarContinuous) Close() error { return nil }

// Snapshot saves the physical state and the random source
// (envs.Snapshotter): 2 float64s, a flag and the PCG state.
func (c *MountainCarContinuous) Snapshot() ([]byte, error) {
	flag := []byte{0}
	if c.Float32State {
		flag[0] = 1
	}
	return snapshot(c.State[:], flag, c.rng)
}

// Restore returns MountainCarContinuous to a Snapshot.
func (c *MountainCarContinuous) Restore(b []byte) error {
	flag := []byte{0}
	if err := restore("MountainCarContinuous", b, c.State[:], flag, c.rng); err != nil {
		return err
	}
	c.Float32State = flag[0] == 1
	return nil
}
