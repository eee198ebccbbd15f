package classic

import (
	"fmt"
	"math"

	"github.com/rlgo/rlgo/envs"
)

func init() {
	envs.MustRegister(envs.Spec{
		ID:              "Pendulum-v1",
		New:             func(opts envs.Options) (envs.Env, error) { return NewPendulum(opts) },
		MaxEpisodeSteps: 200,
		Description:     "swing a pendulum up and keep it upright; Box(3) obs, Box(1) actions, 200 steps, no reward threshold",
	})
}

// Pendulum parameters, as in PendulumEnv.__init__
// (gymnasium/envs/classic_control/pendulum.py). Variables, not constants, so
// that expressions of them round like Python's (see the Acrobot parameters).
var (
	pendulumDt        = 0.05
	pendulumM         = 1.0
	pendulumL         = 1.0
	pendulumPi        = math.Pi
	pendulumCostThdot = 0.1   // costs: 0.1 * thdot**2
	pendulumCostU     = 0.001 // costs: 0.001 * (u**2)

	// reset: high = np.array([DEFAULT_X, DEFAULT_Y]) = [pi, 1.0]
	pendulumDefaultX, pendulumDefaultY = math.Pi, 1.0
)

const (
	// PendulumDefaultG is the default gravity, Gymnasium's g=10.0.
	PendulumDefaultG = 10.0
	// PendulumMaxSpeed bounds the angular velocity: ±8.
	PendulumMaxSpeed = 8.0
	// PendulumMaxTorque bounds the torque: actions are clipped to ±2.
	PendulumMaxTorque = 2.0
)

// Pendulum is Gymnasium's Pendulum-v1: swing a pendulum up from a random
// position and keep it upright, with a torque in [-2, 2] (larger ones are
// clipped to it, as Gymnasium does, not rejected). The reward is
// -(theta² + 0.1*theta_dot² + 0.001*torque²), with theta normalised to
// [-pi, pi) and the clipped torque; the episode never terminates, and the
// registry's TimeLimit truncates it after 200 steps. Pendulum-v1 has no
// reward threshold.
//
// Gymnasium v0.29.1 and v1.0 step identically. The state is float64, but
// the torque is the np.float32 element of the action, and under NumPy 2
// (NEP 50 promotion) 3.0 * u and 0.001 * (u**2) stay float32; Step does the
// same. (Under NumPy 1.x they were float64, so transitions differed from
// these in the last bits.)
type Pendulum struct {
	// State is (theta, theta_dot), Gymnasium's env.unwrapped.state: theta
	// is 0 upright and grows counter-clockwise. Tests may set it directly.
	State [2]float64
	// G is the gravity, the g option (default 10.0).
	G float64

	rng      *envs.RNG
	obs      [3]float32
	obsSpace *envs.Box
	actSpace *envs.Box
}

// NewPendulum returns a Pendulum. It accepts Gymnasium's keyword option g,
// the acceleration of gravity (a number, default 10.0).
func NewPendulum(opts envs.Options) (*Pendulum, error) {
	if err := envs.UnknownOptions(opts, "g"); err != nil {
		return nil, fmt.Errorf("Pendulum: %w", err)
	}
	g, err := envs.FloatOption(opts, "g", PendulumDefaultG)
	if err != nil {
		return nil, fmt.Errorf("Pendulum: %w", err)
	}
	if math.IsNaN(g) || math.IsInf(g, 0) {
		return nil, fmt.Errorf("Pendulum: option g: want a finite number, got %v", g)
	}
	// high = np.array([1.0, 1.0, self.max_speed], dtype=np.float32)
	high := []float32{1, 1, float32(PendulumMaxSpeed)}
	low := []float32{-high[0], -high[1], -high[2]}
	return &Pendulum{
		G:        g,
		rng:      envs.NewRNG(0, 0),
		obsSpace: envs.NewBox(low, high),
		actSpace: envs.UniformBox(1, float32(-PendulumMaxTorque), float32(PendulumMaxTorque)),
	}, nil
}

// ObservationSpace is Box(3): cos(theta), sin(theta) and theta_dot in [-8, 8].
func (c *Pendulum) ObservationSpace() envs.Space { return c.obsSpace }

// ActionSpace is Box(1) in [-2, 2]: the torque. Step also accepts actions
// outside it and clips them, as Gymnasium does.
func (c *Pendulum) ActionSpace() envs.Space { return c.actSpace }

// Reset draws theta uniformly from [-pi, pi) and theta_dot from [-1, 1).
func (c *Pendulum) Reset(seed *uint64) ([]float32, envs.Info, error) {
	if seed != nil {
		c.rng = envs.NewRNG(*seed, 0)
	}
	// high = [pi, 1.0]; low = -high; self.np_random.uniform(low=low, high=high):
	// low + (high - low) * u for each element in turn.
	hx, hy := pendulumDefaultX, pendulumDefaultY
	c.State[0] = -hx + float64((hx - -hx)*c.rng.Float64())
	c.State[1] = -hy + float64((hy - -hy)*c.rng.Float64())
	return c.observe(), nil, nil
}

// Step applies a torque for 0.05 s (semi-implicit Euler).
func (c *Pendulum) Step(a envs.Action) (envs.StepResult, error) {
	action, err := checkBoxAction("Pendulum", a)
	if err != nil {
		return envs.StepResult{}, err
	}
	th, thdot := c.State[0], c.State[1]
	g, m, l, dt := c.G, pendulumM, pendulumL, pendulumDt

	// u = np.clip(u, -self.max_torque, self.max_torque)[0]: an np.float32
	u := min(max(action, float32(-PendulumMaxTorque)), float32(PendulumMaxTorque))
	// costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)
	// where u**2 and 0.001 * (u**2) are float32 (NumPy 2). float64() stops
	// the compiler from fusing a product into a multiply-add, which Python
	// never does.
	an := pendulumAngleNormalize(th)
	costs := float64(an*an) + float64(pendulumCostThdot*float64(thdot*thdot)) +
		float64(float32(pendulumCostU)*float32(u*u))

	// newthdot = thdot + (3 * g / (2 * l) * np.sin(th) + 3.0 / (m * l**2) * u) * dt
	// where 3.0 / (m * l**2) * u is float32 (NumPy 2).
	coefSin := 3 * g / (2 * l)
	coefU := 3.0 / (m * float64(l*l))
	newthdot := thdot + float64((float64(coefSin*math.Sin(th))+float64(float32(coefU)*u))*dt)
	// newthdot = np.clip(newthdot, -self.max_speed, self.max_speed)
	newthdot = npClip(newthdot, -PendulumMaxSpeed, PendulumMaxSpeed)
	// newth = th + newthdot * dt
	newth := th + float64(newthdot*dt)

	c.State = [2]float64{newth, newthdot}
	return envs.StepResult{Obs: c.observe(), Reward: -costs}, nil
}

// pendulumAngleNormalize is angle_normalize(x): ((x + np.pi) % (2 * np.pi)) - np.pi,
// with Python's (and NumPy's) % for floats, whose result has the sign of
// the divisor.
func pendulumAngleNormalize(x float64) float64 {
	return pyMod(x+pendulumPi, 2*pendulumPi) - pendulumPi
}

// pyMod is Python's float %: fmod, moved into the divisor's sign.
func pyMod(x, y float64) float64 {
	mod := math.Mod(x, y)
	if mod != 0 {
		if (y < 0) != (mod < 0) {
			mod += y
		}
	} else {
		mod = math.Copysign(0, y)
	}
	return mod
}

// observe is _get_obs: [cos(theta), sin(theta), theta_dot] as float32.
func (c *Pendulum) observe() []float32 {
	th := c.State[0]
	c.obs = [3]float32{float32(math.Cos(th)), float32(math.Sin(th)), float32(c.State[1])}
	return c.obs[:]
}

// Close does nothing.
func (c *Pendulum) Close() error { return nil }

// Snapshot saves the physical state and the random source
// (envs.Snapshotter): 2 float64s and the PCG state.
func (c *Pendulum) Snapshot() ([]byte, error) { return snapshot(c.State[:], nil, c.rng) }

// Restore returns Pendulum to a Snapshot.
func (c *Pendulum) Restore(b []byte) error { return restore("Pendulum", b, c.State[:], nil, c.rng) }
