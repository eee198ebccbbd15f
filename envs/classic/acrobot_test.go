package classic_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
)

// gymAcrobot holds AcrobotEnv's class attributes from Gymnasium's
// gymnasium/envs/classic_control/acrobot.py (v1.0.0; v0.29.1 is the same),
// computed at run time in float64 as Python computes them.
type gymAcrobot struct {
	pi, dt                            float64
	linkLength1, linkMass1, linkMass2 float64
	linkCOMPos1, linkCOMPos2, linkMOI float64
	maxVel1, maxVel2                  float64 // torque_noise_max is 0 and unused by the reference step
	availTorque                       [3]float64
	bookOrNips                        string
	resetLow, resetHigh               float64 // reset: maybe_parse_reset_bounds(options, -0.1, 0.1)
	obsHigh                           [6]float64
}

func newGymAcrobot() gymAcrobot {
	pi := math.Pi // from numpy import pi
	g := gymAcrobot{
		pi: pi, dt: 0.2,
		linkLength1: 1.0, // LINK_LENGTH_2 only matters for rendering
		linkMass1:   1.0, linkMass2: 1.0,
		linkCOMPos1: 0.5, linkCOMPos2: 0.5, linkMOI: 1.0,
		maxVel1: 4 * pi, maxVel2: 9 * pi,
		availTorque: [3]float64{-1.0, 0.0, +1},
		bookOrNips:  "book",
		resetLow:    -0.1, resetHigh: 0.1,
	}
	g.obsHigh = [6]float64{1.0, 1.0, 1.0, 1.0, g.maxVel1, g.maxVel2}
	return g
}

// step is AcrobotEnv.step (torque_noise_max == 0) with _get_ob and
// _terminal, written out with Python's evaluation order on lm's cos, sin
// and x**2.
func (g gymAcrobot) step(lm libm, s [4]float64, a int) (ns [4]float64, obs [6]float32, reward float64, terminated bool) {
	return g.stepTorque(lm, s, g.availTorque[a])
}

// stepTorque is step after torque = self.AVAIL_TORQUE[a] and its noise.
func (g gymAcrobot) stepTorque(lm libm, s [4]float64, torque float64) (ns [4]float64, obs [6]float32, reward float64, terminated bool) {
	pi := g.pi
	// s_augmented = np.append(s, torque)
	sAugmented := [5]float64{s[0], s[1], s[2], s[3], torque}
	// ns = rk4(self._dsdt, s_augmented, [0, self.dt])
	ns = g.rk4(lm, sAugmented, [2]float64{0, g.dt})
	ns[0] = gymWrap(ns[0], -pi, pi)
	ns[1] = gymWrap(ns[1], -pi, pi)
	ns[2] = gymBound(ns[2], -g.maxVel1, g.maxVel1)
	ns[3] = gymBound(ns[3], -g.maxVel2, g.maxVel2)
	// terminated = self._terminal(): bool(-cos(s[0]) - cos(s[1] + s[0]) > 1.0)
	terminated = -lm.Cos(ns[0])-lm.Cos(ns[1]+ns[0]) > 1.0
	// reward = -1.0 if not terminated else 0.0
	reward = -1.0
	if terminated {
		reward = 0.0
	}
	// _get_ob: np.array([cos(s[0]), sin(s[0]), cos(s[1]), sin(s[1]), s[2], s[3]], dtype=np.float32)
	obs = [6]float32{
		float32(lm.Cos(ns[0])), float32(lm.Sin(ns[0])),
		float32(lm.Cos(ns[1])), float32(lm.Sin(ns[1])),
		float32(ns[2]), float32(ns[3]),
	}
	return ns, obs, reward, terminated
}

// dsdt is AcrobotEnv._dsdt. Products are converted with float64() so that
// the compiler cannot fuse them into multiply-adds. lc1**2 and the like
// are exact (0.25, 1.0), so they are written as products.
func (g gymAcrobot) dsdt(lm libm, sAugmented [5]float64) [5]float64 {
	m1 := g.linkMass1
	m2 := g.linkMass2
	l1 := g.linkLength1
	lc1 := g.linkCOMPos1
	lc2 := g.linkCOMPos2
	I1 := g.linkMOI
	I2 := g.linkMOI
	gr := 9.8 // g = 9.8
	pi := g.pi
	a := sAugmented[4]
	theta1 := sAugmented[0]
	theta2 := sAugmented[1]
	dtheta1 := sAugmented[2]
	dtheta2 := sAugmented[3]
	// d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos(theta2)) + I1 + I2
	d1 := float64(m1*(lc1*lc1)) + float64(m2*(float64(l1*l1)+float64(lc2*lc2)+float64(2*l1*lc2*lm.Cos(theta2)))) + I1 + I2
	// d2 = m2 * (lc2**2 + l1 * lc2 * cos(theta2)) + I2
	d2 := float64(m2*(float64(lc2*lc2)+float64(l1*lc2*lm.Cos(theta2)))) + I2
	// phi2 = m2 * lc2 * g * cos(theta1 + theta2 - pi / 2.0)
	phi2 := float64(m2 * lc2 * gr * lm.Cos(theta1+theta2-pi/2.0))
	// phi1 = (
	//     -m2 * l1 * lc2 * dtheta2**2 * sin(theta2)
	//     - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2)
	//     + (m1 * lc1 + m2 * l1) * g * cos(theta1 - pi / 2)
	//     + phi2
	// )
	phi1 := float64(-m2*l1*lc2*lm.Sq(dtheta2)*lm.Sin(theta2)) -
		float64(2*m2*l1*lc2*dtheta2*dtheta1*lm.Sin(theta2)) +
		float64((float64(m1*lc1)+float64(m2*l1))*gr*lm.Cos(theta1-pi/2)) +
		phi2
	var ddtheta2 float64
	if g.bookOrNips == "nips" {
		// ddtheta2 = (a + d2 / d1 * phi1 - phi2) / (m2 * lc2**2 + I2 - d2**2 / d1)
		ddtheta2 = (a + float64(d2/d1*phi1) - phi2) / (float64(m2*(lc2*lc2)) + I2 - lm.Sq(d2)/d1)
	} else {
		// ddtheta2 = (
		//     a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * sin(theta2) - phi2
		// ) / (m2 * lc2**2 + I2 - d2**2 / d1)
		ddtheta2 = (a + float64(d2/d1*phi1) - float64(m2*l1*lc2*lm.Sq(dtheta1)*lm.Sin(theta2)) - phi2) /
			(float64(m2*(lc2*lc2)) + I2 - lm.Sq(d2)/d1)
	}
	// ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
	ddtheta1 := -(float64(d2*ddtheta2) + phi1) / d1
	return [5]float64{dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0}
}

// rk4 is Gymnasium's rk4(derivs, y0, t) for t = [0, dt], returning
// yout[-1][:4]. Each array operation is elementwise in float64.
func (g gymAcrobot) rk4(lm libm, y0 [5]float64, t [2]float64) [4]float64 {
	axpy := func(y [5]float64, c float64, k [5]float64) (out [5]float64) { // y + c * k
		for j := range out {
			out[j] = y[j] + float64(c*k[j])
		}
		return out
	}
	this := t[0]
	dt := t[1] - this
	dt2 := dt / 2.0
	k1 := g.dsdt(lm, y0)
	k2 := g.dsdt(lm, axpy(y0, dt2, k1))
	k3 := g.dsdt(lm, axpy(y0, dt2, k2))
	k4 := g.dsdt(lm, axpy(y0, dt, k3))
	// yout[i + 1] = y0 + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
	var yout [4]float64
	for j := range yout {
		yout[j] = y0[j] + float64(dt/6.0*(k1[j]+float64(2*k2[j])+float64(2*k3[j])+k4[j]))
	}
	return yout
}

// gymWrap is acrobot.py's wrap(x, m, M).
func gymWrap(x, m, M float64) float64 {
	diff := M - m
	for x > M {
		x = x - diff
	}
	for x < m {
		x = x + diff
	}
	return x
}

// gymBound is acrobot.py's bound(x, m, M): min(max(x, m), M) with Python's
// min and max.
func gymBound(x, m, M float64) float64 {
	r := x
	if m > r { // max(x, m)
		r = m
	}
	if M < r { // min(r, M)
		r = M
	}
	return r
}

// acrobotPlacedStates are the states the step tests place the acrobot in
// (the same list as STATES in testdata/gen_acrobot_steps.py).
var acrobotPlacedStates = [][4]float64{
	{0.0, 0.0, 0.0, 0.0},
	{0.05, -0.03, 0.02, -0.08},
	{-0.0937, 0.0712, 0.0455, 0.0999},
	{1.0, -2.0, 3.0, -4.0},
	{3.1, 0.2, 5.0, 12.0},
	{-3.1, -0.3, -6.0, -20.0},
	{2.9, 3.0, 12.5, 28.0},
	{-2.5, 2.5, -12.5, -28.2},
	{3.0, 0.1, 0.0, 0.0},
	{3.14159, -3.14159, 1.0, -1.0},
	{0.7, 1.9, -9.0, 15.5},
	{-1.4, -2.2, 7.7, 25.0},
}

func newAcrobot(t testing.TB) *classic.Acrobot {
	t.Helper()
	c, err := classic.NewAcrobot(nil)
	if err != nil {
		t.Fatalf("NewAcrobot(nil) error: %v", err)
	}
	return c
}

// checkAcrobotStep places c in state s, steps it with action a and
// requires the transition to equal want exactly: the env and the
// reference run the same arithmetic on the same math functions.
func checkAcrobotStep(t *testing.T, c *classic.Acrobot, s [4]float64, a int, want [4]float64, wantObs [6]float32, wantReward float64, wantTerm bool) {
	t.Helper()
	c.State = s
	r, err := c.Step(envs.DiscreteAction(a))
	if err != nil {
		t.Fatalf("from %v: Step(%d) error: %v", s, a, err)
	}
	if c.State != want {
		t.Errorf("from %v: Step(%d): State = %v; want %v", s, a, c.State, want)
	}
	if len(r.Obs) != 6 || [6]float32(r.Obs) != wantObs {
		t.Errorf("from %v: Step(%d): Obs = %v; want %v", s, a, r.Obs, wantObs)
	}
	if r.Reward != wantReward || r.Terminated != wantTerm || r.Truncated {
		t.Errorf("from %v: Step(%d): Reward, Terminated, Truncated = %v, %v, %v; want %v, %v, false",
			s, a, r.Reward, r.Terminated, r.Truncated, wantReward, wantTerm)
	}
}

// randomAcrobotStates draws n states over the whole state space and a bit
// beyond it (angles to ±4, velocities to 1.1 times their bounds).
func randomAcrobotStates(seed uint64, n int) [][4]float64 {
	g := newGymAcrobot()
	rng := envs.NewRand(seed, 7)
	u := func(h float64) float64 { return h * (2*rng.Float64() - 1) }
	out := make([][4]float64, n)
	for i := range out {
		out[i] = [4]float64{u(4), u(4), u(1.1 * g.maxVel1), u(1.1 * g.maxVel2)}
	}
	return out
}

// TestAcrobotStepMatchesGymnasium compares single steps from placed and
// random states, with each action and both dynamics, with the reference.
func TestAcrobotStepMatchesGymnasium(t *testing.T) {
	c := newAcrobot(t)
	states := append(append([][4]float64{}, acrobotPlacedStates...), randomAcrobotStates(1, 500)...)
	for _, mode := range []string{"book", "nips"} {
		g := newGymAcrobot()
		g.bookOrNips = mode
		c.NIPSDynamics = mode == "nips"
		for _, s := range states {
			for a := range 3 {
				ns, obs, rew, term := g.step(goLibm{}, s, a)
				checkAcrobotStep(t, c, s, a, ns, obs, rew, term)
			}
		}
		if t.Failed() {
			t.Fatalf("%s dynamics differ", mode)
		}
	}
}

// TestAcrobotTrajectoryMatchesGymnasium steps 300 times from a placed
// state, placing the env back on the reference trajectory after each step.
func TestAcrobotTrajectoryMatchesGymnasium(t *testing.T) {
	g := newGymAcrobot()
	c := newAcrobot(t)
	s := [4]float64{0.02, -0.05, 0.1, -0.07}
	terminations := 0
	for i := range 300 {
		a := []int{2, 2, 2, 0, 0, 0, 1}[i%7]
		ns, obs, rew, term := g.step(goLibm{}, s, a)
		checkAcrobotStep(t, c, s, a, ns, obs, rew, term)
		if t.Failed() {
			t.Fatalf("trajectory diverged at step %d", i+1)
		}
		if term {
			terminations++
		}
		s = ns
	}
	t.Logf("%d of 300 steps terminated", terminations)
}

// TestAcrobotMatchesCPython checks the reference (bit for bit, given
// CPython's cos, sin and x**2) and the env (within a tolerance: Go's
// math.Cos and math.Sin, and x*x against glibc's pow, may differ in the
// last bit) against transitions computed by CPython running Gymnasium's
// step code (testdata/gen_acrobot_steps.py).
func TestAcrobotMatchesCPython(t *testing.T) {
	lm, recs := readTranscript(t, "acrobot_gymnasium_steps.txt")
	c := newAcrobot(t)
	inexact := 0
	for _, rec := range recs {
		s := [4]float64(rec.floats("s", 4))
		a := rec.int("a")
		mode := rec.str("b")
		want := [4]float64(rec.floats("n", 4))
		wantObs64 := rec.floats("o", 6)
		var wantObs [6]float32
		for i, v := range wantObs64 {
			wantObs[i] = float32(v)
		}
		wantReward, wantTerm := rec.float("r"), rec.bool("t")

		g := newGymAcrobot()
		g.bookOrNips = mode
		ns, obs, rew, term := g.step(lm, s, a)
		if ns != want || obs != wantObs || rew != wantReward || term != wantTerm {
			t.Errorf("%s: reference step(%v, %d) = %v %v %v %v; CPython has %v %v %v %v",
				mode, s, a, ns, obs, rew, term, want, wantObs, wantReward, wantTerm)
		}

		c.NIPSDynamics = mode == "nips"
		c.State = s
		r, err := c.Step(envs.DiscreteAction(a))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := math.Abs(c.State[i] - want[i]); !(d <= 1e-12) {
				t.Errorf("%s: from %v: Step(%d): State[%d] = %v; CPython has %v (diff %g)", mode, s, a, i, c.State[i], want[i], d)
			} else if d != 0 {
				inexact++
			}
		}
		for i := range wantObs {
			if ulps32(r.Obs[i], wantObs[i]) > 1 {
				t.Errorf("%s: from %v: Step(%d): Obs[%d] = %v; CPython has %v", mode, s, a, i, r.Obs[i], wantObs[i])
			}
		}
		if r.Reward != wantReward || r.Terminated != wantTerm {
			t.Errorf("%s: from %v: Step(%d): Reward, Terminated = %v, %v; CPython has %v, %v", mode, s, a, r.Reward, r.Terminated, wantReward, wantTerm)
		}
	}
	t.Logf("%d transitions; %d state values differ from CPython's in the last bits (Go's math.Cos/Sin and x*x against the C library's)", len(recs), inexact)
}

// TestAcrobotWrapAndBound steps from random states and checks that the
// angles end in [-pi, pi] and the velocities within ±4π and ±9π, and that
// the random states did exercise the wrapping and the bounds.
func TestAcrobotWrapAndBound(t *testing.T) {
	g := newGymAcrobot()
	c := newAcrobot(t)
	wrapped, bounded := 0, 0
	for _, s := range randomAcrobotStates(2, 3000) {
		for a := range 3 {
			c.State = s
			if _, err := c.Step(envs.DiscreteAction(a)); err != nil {
				t.Fatal(err)
			}
			ns := c.State
			for i := range 2 {
				if !(ns[i] >= -math.Pi && ns[i] <= math.Pi) {
					t.Fatalf("from %v: Step(%d): State[%d] = %v; want it wrapped into [-pi, pi]", s, a, i, ns[i])
				}
			}
			if !(math.Abs(ns[2]) <= g.maxVel1 && math.Abs(ns[3]) <= g.maxVel2) {
				t.Fatalf("from %v: Step(%d): velocities %v, %v; want within ±%v, ±%v", s, a, ns[2], ns[3], g.maxVel1, g.maxVel2)
			}
			if math.Abs(ns[2]) == g.maxVel1 || math.Abs(ns[3]) == g.maxVel2 {
				bounded++
			}
			// An angle wrapped if it moved by more than pi in one step.
			if math.Abs(ns[0]-s[0]) > math.Pi || math.Abs(ns[1]-s[1]) > math.Pi {
				wrapped++
			}
		}
	}
	if wrapped == 0 || bounded == 0 {
		t.Errorf("%d steps wrapped an angle, %d hit a velocity bound; want some of each", wrapped, bounded)
	}
	// The bounds themselves, as Gymnasium computes them.
	if classic.AcrobotMaxVel1 != g.maxVel1 || classic.AcrobotMaxVel2 != g.maxVel2 {
		t.Errorf("AcrobotMaxVel1, AcrobotMaxVel2 = %v, %v; want 4*pi, 9*pi = %v, %v", classic.AcrobotMaxVel1, classic.AcrobotMaxVel2, g.maxVel1, g.maxVel2)
	}
	// A state just short of pi that swings on wraps to just beyond -pi.
	c.State = [4]float64{math.Pi - 0.01, 0, 2, 0}
	if _, err := c.Step(envs.DiscreteAction(1)); err != nil {
		t.Fatal(err)
	}
	if !(c.State[0] < -math.Pi+0.5) {
		t.Errorf("from theta1 = pi - 0.01, dtheta1 = 2: theta1 = %v; want it wrapped to just above -pi", c.State[0])
	}
}

// TestAcrobotRewardAndTermination: -1 per step, 0 on a terminating step;
// terminated exactly when -cos(theta1) - cos(theta1 + theta2) > 1 in the
// new state; and stepping on after termination goes on by the same rules.
func TestAcrobotRewardAndTermination(t *testing.T) {
	c := newAcrobot(t)
	terminal := 0
	for _, s := range randomAcrobotStates(3, 2000) {
		c.State = s
		r, err := c.Step(envs.DiscreteAction(2))
		if err != nil {
			t.Fatal(err)
		}
		ns := c.State
		want := -math.Cos(ns[0])-math.Cos(ns[1]+ns[0]) > 1.0
		if r.Terminated != want {
			t.Fatalf("from %v: Terminated = %v; want %v for the new state %v", s, r.Terminated, want, ns)
		}
		if wantR := map[bool]float64{false: -1, true: 0}[want]; r.Reward != wantR {
			t.Fatalf("from %v: Reward = %v; want %v (terminated %v)", s, r.Reward, wantR, want)
		}
		if want {
			terminal++
		}
	}
	if terminal == 0 {
		t.Errorf("no random state terminated; want some")
	}
	// Pointing straight up and at rest: terminal, and it stays so.
	c.State = [4]float64{math.Pi, 0, 0, 0}
	for i := range 3 {
		r, err := c.Step(envs.DiscreteAction(1))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Terminated || r.Reward != 0 {
			t.Errorf("step %d upright: Terminated, Reward = %v, %v; want true, 0", i+1, r.Terminated, r.Reward)
		}
	}
	// Hanging down at rest: not terminal, -1.
	c.State = [4]float64{}
	r, err := c.Step(envs.DiscreteAction(1))
	if err != nil {
		t.Fatal(err)
	}
	if r.Terminated || r.Reward != -1 {
		t.Errorf("hanging down: Terminated, Reward = %v, %v; want false, -1", r.Terminated, r.Reward)
	}
}

func TestAcrobotReset(t *testing.T) {
	c := newAcrobot(t)
	g := newGymAcrobot()
	lo, hi := float64(float32(g.resetLow)), float64(float32(g.resetHigh))
	for seed := range uint64(200) {
		obs, info, err := c.Reset(envs.Seed(seed))
		if err != nil || info != nil {
			t.Fatalf("Reset(%d) = _, %v, %v; want nil info and error", seed, info, err)
		}
		for i, v := range c.State {
			// uniform(-0.1, 0.1) rounded to float32 may reach float32(0.1).
			if !(v >= lo && v <= hi) || float64(float32(v)) != v {
				t.Errorf("Reset(%d): State[%d] = %v; want a float32 in [%v, %v]", seed, i, v, lo, hi)
			}
		}
		s := c.State
		want := []float32{
			float32(math.Cos(s[0])), float32(math.Sin(s[0])), float32(math.Cos(s[1])), float32(math.Sin(s[1])),
			float32(s[2]), float32(s[3]),
		}
		if fmt.Sprint(obs) != fmt.Sprint(want) {
			t.Errorf("Reset(%d) obs = %v; want %v", seed, obs, want)
		}
	}
}

func TestAcrobotResetSeeding(t *testing.T) {
	checkResetSeeding(t, func() envs.Env { return newAcrobot(t) })
}

func TestAcrobotInvalidAction(t *testing.T) {
	c := newAcrobot(t)
	if _, _, err := c.Reset(envs.Seed(3)); err != nil {
		t.Fatal(err)
	}
	before := c.State
	for _, a := range []int{3, -1, 100} {
		_, err := c.Step(envs.DiscreteAction(a))
		if !errors.Is(err, envs.ErrInvalidAction) {
			t.Errorf("Step(%d) error = %v; want one wrapping envs.ErrInvalidAction", a, err)
		}
		if c.State != before {
			t.Errorf("Step(%d) changed State to %v; want %v unchanged", a, c.State, before)
		}
	}
}

func TestAcrobotSpaces(t *testing.T) {
	c := newAcrobot(t)
	g := newGymAcrobot()
	if as, ok := c.ActionSpace().(envs.Discrete); !ok || as.N != 3 {
		t.Errorf("ActionSpace() = %v; want Discrete(3)", c.ActionSpace())
	}
	// high = np.array([1.0, 1.0, 1.0, 1.0, self.MAX_VEL_1, self.MAX_VEL_2], dtype=np.float32); low = -high
	var low, high []float32
	for _, h := range g.obsHigh {
		high = append(high, float32(h))
		low = append(low, -float32(h))
	}
	checkBoxSpace(t, "ObservationSpace()", c.ObservationSpace(), low, high)
	if _, err := classic.NewAcrobot(envs.Options{"torque_noise_max": 0.1}); err == nil {
		t.Errorf("NewAcrobot({torque_noise_max: 0.1}) error = nil; want an unknown-option error")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
}

// TestAcrobotTorqueNoise: with TorqueNoiseMax set, each step adds
// uniform(-max, max) from the env's random stream to the torque.
func TestAcrobotTorqueNoise(t *testing.T) {
	const noise = 0.5
	g := newGymAcrobot()
	c := newAcrobot(t)
	c.TorqueNoiseMax = noise
	if _, _, err := c.Reset(envs.Seed(9)); err != nil {
		t.Fatal(err)
	}
	// The env's stream after Reset(9): four draws for the state, then one per step.
	rng := envs.NewRand(9, 0)
	for range 4 {
		rng.Float64()
	}
	s := c.State
	for i := range 20 {
		a := i % 3
		torque := g.availTorque[a] + (-noise + (noise - -noise)*rng.Float64())
		ns, obs, rew, term := g.stepTorque(goLibm{}, s, torque)
		checkAcrobotStep(t, c, s, a, ns, obs, rew, term)
		if t.Failed() {
			t.Fatalf("step %d differs", i+1)
		}
		if plain, _, _, _ := g.step(goLibm{}, s, a); plain == ns {
			t.Errorf("step %d: the noisy step equals the noise-free one", i+1)
		}
		s = ns
	}
}

func TestAcrobotObsInSpace(t *testing.T) {
	checkObsInSpace(t, newAcrobot(t), 20, 500, nil)
}

// acrobotGoldenActions is the golden test's action sequence: 2,2,2,0,0,0 repeated.
func acrobotGoldenActions() []envs.Action {
	a := make([]envs.Action, 60)
	for i := range a {
		a[i] = envs.DiscreteAction([]int{2, 2, 2, 0, 0, 0}[i%6])
	}
	return a
}

// TestAcrobotGolden replays Reset(seed 42) and 60 fixed actions against
// testdata/acrobot_seed42.golden (go test -update rewrites it).
func TestAcrobotGolden(t *testing.T) {
	got := goldenTrajectory(t, "Acrobot-v1", "cos1 sin1 cos2 sin2 dtheta1 dtheta2", acrobotGoldenActions(), fmtDiscrete)
	checkGoldenFile(t, "acrobot_seed42.golden", got)
}

// TestAcrobotGoldenFollowsReference checks that the golden trajectory is
// Gymnasium's: from the seed-42 reset state, each step equals the reference.
func TestAcrobotGoldenFollowsReference(t *testing.T) {
	g := newGymAcrobot()
	c := newAcrobot(t)
	if _, _, err := c.Reset(envs.Seed(42)); err != nil {
		t.Fatal(err)
	}
	s := c.State
	for _, a := range acrobotGoldenActions() {
		ns, obs, rew, term := g.step(goLibm{}, s, a.Discrete)
		checkAcrobotStep(t, c, s, a.Discrete, ns, obs, rew, term)
		if term || t.Failed() {
			break
		}
		s = ns
	}
}

func TestMakeAcrobot(t *testing.T) {
	env := checkMake(t, "Acrobot-v1", 500, -100, true, envs.DiscreteAction(1))
	if _, ok := env.(*classic.Acrobot); !ok {
		t.Errorf("Unwrapped(Make(Acrobot-v1)) = %T; want *classic.Acrobot", env)
	}
}
