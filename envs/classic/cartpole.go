// Package classic holds Gymnasium's classic-control environments, ported
// line for line so that, from the same physical state, every step equals
// Gymnasium's (gymnasium/envs/classic_control/*.py, v0.29.1/v1.0), up to
// the last bit of math.Sin/math.Cos against the C library's.
//
// Importing the package registers its envs with envs.Register under
// Gymnasium's ids and episode limits.
package classic

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/rlgo/rlgo/envs"
)

func init() {
	envs.MustRegister(envs.Spec{
		ID:              "CartPole-v1",
		New:             func(opts envs.Options) (envs.Env, error) { return NewCartPole(opts) },
		MaxEpisodeSteps: 500,
		RewardThreshold: 475,
		HasThreshold:    true,
		Description:     "balance a pole on a cart; Box(4) obs, Discrete(2) actions, 500 steps",
	})
}

// CartPole constants, as in gymnasium/envs/classic_control/cartpole.py.
const (
	cartPoleGravity        = 9.8
	cartPoleMassCart       = 1.0
	cartPoleMassPole       = 0.1
	cartPoleTotalMass      = cartPoleMassPole + cartPoleMassCart
	cartPoleLength         = 0.5 // actually half the pole's length
	cartPolePoleMassLength = cartPoleMassPole * cartPoleLength
	cartPoleForceMag       = 10.0
	cartPoleTau            = 0.02 // seconds between state updates
	// CartPoleThetaThreshold is the pole angle (radians) past which the episode terminates: 12 degrees.
	CartPoleThetaThreshold = 0.20943951023931953 // 12*2*math.pi/360 as Python evaluates it in float64 (Go's exact constant arithmetic rounds one bit higher)
	// CartPoleXThreshold is the cart position past which the episode terminates.
	CartPoleXThreshold = 2.4
)

// CartPole is Gymnasium's CartPole-v1 (Barto, Sutton & Anderson 1983):
// push a cart left or right to keep a pole upright. Reward 1 for every
// step, the terminating one included; terminated when |x| > 2.4 or
// |theta| > 12 degrees. The 500-step limit comes from the registry's
// TimeLimit, as in Gymnasium.
type CartPole struct {
	// State is the physical state (x, x_dot, theta, theta_dot) in float64,
	// Gymnasium's env.unwrapped.state. Tests may set it directly.
	State [4]float64
	// StepsBeyondTerminated counts steps taken after termination (-1
	// while the episode runs), as Gymnasium's steps_beyond_terminated.
	StepsBeyondTerminated int

	rng      *envs.RNG
	obs      [4]float32
	obsSpace *envs.Box
}

// NewCartPole returns a CartPole. It accepts no options.
func NewCartPole(opts envs.Options) (*CartPole, error) {
	if err := envs.UnknownOptions(opts); err != nil {
		return nil, fmt.Errorf("CartPole: %w", err)
	}
	big := float32(math.MaxFloat32) // np.finfo(np.float32).max, as Gymnasium
	high := []float32{CartPoleXThreshold * 2, big, CartPoleThetaThreshold * 2, big}
	low := make([]float32, 4)
	for i := range high {
		low[i] = -high[i]
	}
	return &CartPole{
		rng:                   envs.NewRNG(0, 0),
		obsSpace:              envs.NewBox(low, high),
		StepsBeyondTerminated: -1,
	}, nil
}

// ObservationSpace is Box(4): cart position, cart velocity, pole angle, pole angular velocity.
func (c *CartPole) ObservationSpace() envs.Space { return c.obsSpace }

// ActionSpace is Discrete(2): 0 pushes left, 1 pushes right.
func (c *CartPole) ActionSpace() envs.Space { return envs.Discrete{N: 2} }

// Reset draws each state variable uniformly from [-0.05, 0.05).
func (c *CartPole) Reset(seed *uint64) ([]float32, envs.Info, error) {
	if seed != nil {
		c.rng = envs.NewRNG(*seed, 0)
	}
	for i := range c.State {
		c.State[i] = -0.05 + 0.1*c.rng.Float64()
	}
	c.StepsBeyondTerminated = -1
	return c.observe(), nil, nil
}

// Step applies a push and integrates the dynamics with Euler's method.
func (c *CartPole) Step(a envs.Action) (envs.StepResult, error) {
	if err := envs.CheckDiscreteAction(a, 2); err != nil {
		return envs.StepResult{}, fmt.Errorf("CartPole: %w", err)
	}
	x, xDot, theta, thetaDot := c.State[0], c.State[1], c.State[2], c.State[3]
	force := -cartPoleForceMag
	if a.Discrete == 1 {
		force = cartPoleForceMag
	}
	cosTheta, sinTheta := math.Cos(theta), math.Sin(theta)

	// For the interested reader: https://coneural.org/florian/papers/05_cart_pole.pdf
	temp := (force + cartPolePoleMassLength*(thetaDot*thetaDot)*sinTheta) / cartPoleTotalMass
	thetaAcc := (cartPoleGravity*sinTheta - cosTheta*temp) /
		(cartPoleLength * (4.0/3.0 - cartPoleMassPole*(cosTheta*cosTheta)/cartPoleTotalMass))
	xAcc := temp - cartPolePoleMassLength*thetaAcc*cosTheta/cartPoleTotalMass

	// kinematics_integrator == "euler"
	// float64(...) stops the compiler from fusing multiply-adds (Go may on
	// arm64), which Python never does.
	x += float64(cartPoleTau * xDot)
	xDot += float64(cartPoleTau * xAcc)
	theta += float64(cartPoleTau * thetaDot)
	thetaDot += float64(cartPoleTau * thetaAcc)
	c.State = [4]float64{x, xDot, theta, thetaDot}

	terminated := x < -CartPoleXThreshold || x > CartPoleXThreshold ||
		theta < -CartPoleThetaThreshold || theta > CartPoleThetaThreshold

	reward := 1.0
	switch {
	case !terminated:
	case c.StepsBeyondTerminated == -1:
		c.StepsBeyondTerminated = 0 // the pole just fell: this step still earns 1
	default:
		c.StepsBeyondTerminated++ // stepping a finished episode: Gymnasium warns and gives 0
		reward = 0
	}
	return envs.StepResult{Obs: c.observe(), Reward: reward, Terminated: terminated}, nil
}

func (c *CartPole) observe() []float32 {
	for i, v := range c.State {
		c.obs[i] = float32(v)
	}
	return c.obs[:]
}

// Close does nothing.
func (c *CartPole) Close() error { return nil }

// Snapshot saves the physical state, the termination count and the random
// source (envs.Snapshotter): 4 float64s, an int64 and the PCG state.
func (c *CartPole) Snapshot() ([]byte, error) {
	steps := binary.LittleEndian.AppendUint64(nil, uint64(int64(c.StepsBeyondTerminated)))
	return snapshot(c.State[:], steps, c.rng)
}

// Restore returns CartPole to a Snapshot.
func (c *CartPole) Restore(b []byte) error {
	steps := make([]byte, 8)
	if err := restore("CartPole", b, c.State[:], steps, c.rng); err != nil {
		return err
	}
	c.StepsBeyondTerminated = int(int64(binary.LittleEndian.Uint64(steps)))
	return nil
}
