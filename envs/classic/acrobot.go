package classic

import (
	"fmt"
	"math"

	"github.com/rlgo/rlgo/envs"
)

func init() {
	envs.MustRegister(envs.Spec{
		ID:              "Acrobot-v1",
		New:             func(opts envs.Options) (envs.Env, error) { return NewAcrobot(opts) },
		MaxEpisodeSteps: 500,
		RewardThreshold: -100,
		HasThreshold:    true,
		Description:     "swing the tip of a two-link chain above a line; Box(6) obs, Discrete(3) actions, 500 steps",
	})
}

// Acrobot parameters, as in AcrobotEnv (gymnasium/envs/classic_control/acrobot.py).
// They are variables, not constants, so that every expression built from them
// below is evaluated in float64 with one rounding per operation, as Python
// evaluates it: Go's constant arithmetic is exact, and (m1*lc1 + m2*l1) * g,
// for one, would then round once and differ from Python in the last bit.
var (
	acrobotPi = math.Pi
	acrobotDt = 0.2

	acrobotLinkLength1 = 1.0 // [m]
	acrobotLinkMass1   = 1.0 // [kg] mass of link 1
	acrobotLinkMass2   = 1.0 // [kg] mass of link 2
	acrobotLinkCOMPos1 = 0.5 // [m] position of the center of mass of link 1
	acrobotLinkCOMPos2 = 0.5 // [m] position of the center of mass of link 2
	acrobotLinkMOI     = 1.0 // moments of inertia for both links
	acrobotGravity     = 9.8 // g in _dsdt

	// AVAIL_TORQUE = [-1.0, 0.0, +1]
	acrobotAvailTorque = [3]float64{-1.0, 0.0, +1}
)

// The bounds on the angular velocities: MAX_VEL_1 = 4 * pi and
// MAX_VEL_2 = 9 * pi. (As constants they round once from the exact product,
// and equal Python's float64 products all the same; the test checks it.)
const (
	AcrobotMaxVel1 = 4 * math.Pi
	AcrobotMaxVel2 = 9 * math.Pi
)

// Products of constants that _dsdt recomputes on every call, evaluated once
// here in the order (so with the roundings) of Python's evaluation there.
var (
	acM1, acM2         = acrobotLinkMass1, acrobotLinkMass2
	acL1, acLc1, acLc2 = acrobotLinkLength1, acrobotLinkCOMPos1, acrobotLinkCOMPos2
	acI1, acI2, acG    = acrobotLinkMOI, acrobotLinkMOI, acrobotGravity

	acM1Lc1Sq       = acM1 * float64(acLc1*acLc1)                      // m1 * lc1**2
	acL1SqPlusLc2Sq = float64(acL1*acL1) + float64(acLc2*acLc2)        // l1**2 + lc2**2
	acTwoL1Lc2      = 2 * acL1 * acLc2                                 // 2 * l1 * lc2
	acLc2Sq         = acLc2 * acLc2                                    // lc2**2
	acL1Lc2         = acL1 * acLc2                                     // l1 * lc2
	acM2Lc2G        = acM2 * acLc2 * acG                               // m2 * lc2 * g
	acNegM2L1Lc2    = -acM2 * acL1 * acLc2                             // -m2 * l1 * lc2
	acTwoM2L1Lc2    = 2 * acM2 * acL1 * acLc2                          // 2 * m2 * l1 * lc2
	acPhi1Coef      = (float64(acM1*acLc1) + float64(acM2*acL1)) * acG // (m1 * lc1 + m2 * l1) * g
	acM2L1Lc2       = acM2 * acL1 * acLc2                              // m2 * l1 * lc2
	acDenomConst    = float64(acM2*acLc2Sq) + acI2                     // m2 * lc2**2 + I2
	acHalfPi        = acrobotPi / 2.0                                  // pi / 2.0 (and pi / 2)

	acDt2 = acrobotDt / 2.0 // rk4: dt2 = dt / 2.0, where dt = t[1] - t[0] = 0.2 - 0
	acDt6 = acrobotDt / 6.0 // rk4: dt / 6.0

	// Reset's np_random.uniform(low=-0.1, high=0.1)
	acrobotResetLow, acrobotResetHigh = -0.1, 0.1
)

// Acrobot is Gymnasium's Acrobot-v1 (Sutton 1996; Sutton & Barto's book): a
// chain of two links hanging from a fixed joint, with a motor at the joint
// between them. The action applies torque -1, 0 or +1 there; the episode
// terminates when the free end rises more than one link length above the
// fixed joint: -cos(theta1) - cos(theta1 + theta2) > 1. The reward is -1 per
// step and 0 on the terminating step. The dynamics are the book's
// (book_or_nips = "book"), integrated over dt = 0.2 s with one step of RK4;
// the angles are then wrapped to [-pi, pi] and the velocities bounded to
// ±4π and ±9π. The 500-step limit comes from the registry's TimeLimit.
//
// Gymnasium v0.29.1 and v1.0 have the same dynamics, reward and spaces. As
// in Gymnasium, Reset draws the state in float64 and rounds it to float32
// (AcrobotEnv stores np.float32), while Step keeps float64.
type Acrobot struct {
	// State is (theta1, theta2, dtheta1, dtheta2), Gymnasium's
	// env.unwrapped.state: theta1 is the angle of the first link from
	// hanging straight down, theta2 that of the second link relative to the
	// first. Tests may set it directly.
	State [4]float64
	// TorqueNoiseMax, when positive, adds noise drawn uniformly from
	// [-TorqueNoiseMax, TorqueNoiseMax) to the torque of each step, like
	// Gymnasium's torque_noise_max class attribute (0, no noise, by default).
	TorqueNoiseMax float64
	// NIPSDynamics selects the equations of the NIPS paper, which miss a
	// term of the book's (Gymnasium's book_or_nips = "nips"). The book's are
	// the default, as in Gymnasium.
	NIPSDynamics bool

	rng      *envs.RNG
	obs      [6]float32
	obsSpace *envs.Box
}

// NewAcrobot returns an Acrobot. Like Gymnasium's AcrobotEnv (whose only
// keyword is render_mode), it accepts no options.
func NewAcrobot(opts envs.Options) (*Acrobot, error) {
	if err := envs.UnknownOptions(opts); err != nil {
		return nil, fmt.Errorf("Acrobot: %w", err)
	}
	// high = np.array([1.0, 1.0, 1.0, 1.0, self.MAX_VEL_1, self.MAX_VEL_2], dtype=np.float32)
	high := []float32{1, 1, 1, 1, float32(AcrobotMaxVel1), float32(AcrobotMaxVel2)}
	low := make([]float32, len(high))
	for i := range high {
		low[i] = -high[i]
	}
	return &Acrobot{rng: envs.NewRNG(0, 0), obsSpace: envs.NewBox(low, high)}, nil
}

// ObservationSpace is Box(6): cos and sin of theta1, cos and sin of theta2,
// and the two angular velocities (bounded by ±4π and ±9π).
func (c *Acrobot) ObservationSpace() envs.Space { return c.obsSpace }

// ActionSpace is Discrete(3): torque -1, 0 and +1 on the joint between the links.
func (c *Acrobot) ActionSpace() envs.Space { return envs.Discrete{N: 3} }

// Reset draws each state variable uniformly from [-0.1, 0.1) and rounds it
// to float32, as Gymnasium's
// np_random.uniform(low=-0.1, high=0.1, size=(4,)).astype(np.float32).
func (c *Acrobot) Reset(seed *uint64) ([]float32, envs.Info, error) {
	if seed != nil {
		c.rng = envs.NewRNG(*seed, 0)
	}
	low, high := acrobotResetLow, acrobotResetHigh
	for i := range c.State {
		c.State[i] = float64(float32(low + float64((high-low)*c.rng.Float64())))
	}
	// Gymnasium computes this first observation with np.cos and np.sin of
	// np.float32 angles, in float32; Go rounds the float64 cos and sin.
	return c.observe(), nil, nil
}

// Step applies a torque and integrates the dynamics over 0.2 s with RK4.
func (c *Acrobot) Step(a envs.Action) (envs.StepResult, error) {
	if err := envs.CheckDiscreteAction(a, 3); err != nil {
		return envs.StepResult{}, fmt.Errorf("Acrobot: %w", err)
	}
	torque := acrobotAvailTorque[a.Discrete]
	// Add noise to the force action
	if c.TorqueNoiseMax > 0 {
		// torque += self.np_random.uniform(-self.torque_noise_max, self.torque_noise_max)
		lo, hi := -c.TorqueNoiseMax, c.TorqueNoiseMax
		torque += lo + float64((hi-lo)*c.rng.Float64())
	}
	ns := acrobotRK4(c.State, torque, c.NIPSDynamics)
	ns[0] = acrobotWrap(ns[0], -acrobotPi, acrobotPi)
	ns[1] = acrobotWrap(ns[1], -acrobotPi, acrobotPi)
	ns[2] = acrobotBound(ns[2], -AcrobotMaxVel1, AcrobotMaxVel1)
	ns[3] = acrobotBound(ns[3], -AcrobotMaxVel2, AcrobotMaxVel2)
	c.State = ns
	terminated := acrobotTerminal(&c.State)
	reward := -1.0
	if terminated {
		reward = 0.0
	}
	return envs.StepResult{Obs: c.observe(), Reward: reward, Terminated: terminated}, nil
}

// acrobotTerminal is AcrobotEnv._terminal: -cos(s[0]) - cos(s[1] + s[0]) > 1.0.
func acrobotTerminal(s *[4]float64) bool {
	return -math.Cos(s[0])-math.Cos(s[1]+s[0]) > 1.0
}

// acrobotDsdt is AcrobotEnv._dsdt: the time derivative of the state under
// torque a. Each product is converted with float64() so that the compiler
// cannot fuse it into a multiply-add (Go may, on arm64 and amd64 v3), which
// Python never does; sums are grouped left to right as in Python.
func acrobotDsdt(s *[4]float64, a float64, nips bool) [4]float64 {
	theta1, theta2, dtheta1, dtheta2 := s[0], s[1], s[2], s[3]
	cosTheta2, sinTheta2 := math.Cos(theta2), math.Sin(theta2)
	// d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos(theta2)) + I1 + I2
	d1 := acM1Lc1Sq + float64(acM2*(acL1SqPlusLc2Sq+float64(acTwoL1Lc2*cosTheta2))) + acI1 + acI2
	// d2 = m2 * (lc2**2 + l1 * lc2 * cos(theta2)) + I2
	d2 := float64(acM2*(acLc2Sq+float64(acL1Lc2*cosTheta2))) + acI2
	// phi2 = m2 * lc2 * g * cos(theta1 + theta2 - pi / 2.0)
	phi2 := float64(acM2Lc2G * math.Cos(theta1+theta2-acHalfPi))
	// phi1 = -m2 * l1 * lc2 * dtheta2**2 * sin(theta2)
	//        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2)
	//        + (m1 * lc1 + m2 * l1) * g * cos(theta1 - pi / 2)
	//        + phi2
	phi1 := float64(float64(acNegM2L1Lc2*float64(dtheta2*dtheta2))*sinTheta2) -
		float64(float64(float64(acTwoM2L1Lc2*dtheta2)*dtheta1)*sinTheta2) +
		float64(acPhi1Coef*math.Cos(theta1-acHalfPi)) +
		phi2
	// denominator: m2 * lc2**2 + I2 - d2**2 / d1
	denom := acDenomConst - float64(d2*d2)/d1
	var ddtheta2 float64
	if nips {
		// ddtheta2 = (a + d2 / d1 * phi1 - phi2) / (m2 * lc2**2 + I2 - d2**2 / d1)
		ddtheta2 = (a + float64(d2/d1*phi1) - phi2) / denom
	} else {
		// ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * sin(theta2) - phi2) / (m2 * lc2**2 + I2 - d2**2 / d1)
		ddtheta2 = (a + float64(d2/d1*phi1) - float64(float64(acM2L1Lc2*float64(dtheta1*dtheta1))*sinTheta2) - phi2) / denom
	}
	// ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
	ddtheta1 := -(float64(d2*ddtheta2) + phi1) / d1
	return [4]float64{dtheta1, dtheta2, ddtheta1, ddtheta2}
}

// acrobotRK4 is Gymnasium's rk4(self._dsdt, s_augmented, [0, self.dt]): one
// step of classic Runge-Kutta over dt. The torque is the fifth component of
// Gymnasium's augmented state, whose derivative is 0, so it stays a.
func acrobotRK4(y0 [4]float64, a float64, nips bool) [4]float64 {
	k1 := acrobotDsdt(&y0, a, nips)
	var y [4]float64
	for j := range y {
		y[j] = y0[j] + float64(acDt2*k1[j]) // y0 + dt2 * k1
	}
	k2 := acrobotDsdt(&y, a, nips)
	for j := range y {
		y[j] = y0[j] + float64(acDt2*k2[j]) // y0 + dt2 * k2
	}
	k3 := acrobotDsdt(&y, a, nips)
	for j := range y {
		y[j] = y0[j] + float64(acrobotDt*k3[j]) // y0 + dt * k3
	}
	k4 := acrobotDsdt(&y, a, nips)
	for j := range y {
		// y0 + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
		y[j] = y0[j] + float64(acDt6*(k1[j]+float64(2*k2[j])+float64(2*k3[j])+k4[j]))
	}
	return y
}

// acrobotWrap is Gymnasium's wrap(x, m, M): it wraps x into [m, M] by
// adding or subtracting M - m.
func acrobotWrap(x, m, M float64) float64 {
	diff := M - m
	for x > M {
		x = x - diff
	}
	for x < m {
		x = x + diff
	}
	return x
}

// acrobotBound is Gymnasium's bound(x, m, M): min(max(x, m), M) with
// Python's min and max (the first argument wins ties and NaN).
func acrobotBound(x, m, M float64) float64 {
	if m > x {
		x = m
	}
	if M < x {
		x = M
	}
	return x
}

// observe is AcrobotEnv._get_ob:
// [cos(s[0]), sin(s[0]), cos(s[1]), sin(s[1]), s[2], s[3]] as float32.
func (c *Acrobot) observe() []float32 {
	s := &c.State
	c.obs = [6]float32{
		float32(math.Cos(s[0])), float32(math.Sin(s[0])),
		float32(math.Cos(s[1])), float32(math.Sin(s[1])),
		float32(s[2]), float32(s[3]),
	}
	return c.obs[:]
}

// Close does nothing.
func (c *Acrobot) Close() error { return nil }

// Snapshot saves the physical state and the random source
// (envs.Snapshotter): 4 float64s and the PCG state.
func (c *Acrobot) Snapshot() ([]byte, error) { return snapshot(c.State[:], nil, c.rng) }

// Restore returns Acrobot to a Snapshot.
func (c *Acrobot) Restore(b []byte) error { return restore("Acrobot", b, c.State[:], nil, c.rng) }
