package classic_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
)

// gymPendulum holds PendulumEnv.__init__'s attributes from Gymnasium's
// gymnasium/envs/classic_control/pendulum.py (v1.0.0; v0.29.1 is the same).
type gymPendulum struct {
	maxSpeed, maxTorque, dt, g, m, l float64
	defaultX, defaultY               float64 // reset: DEFAULT_X = np.pi, DEFAULT_Y = 1.0
}

func newGymPendulum(g float64) gymPendulum {
	return gymPendulum{maxSpeed: 8, maxTorque: 2.0, dt: 0.05, g: g, m: 1.0, l: 1.0, defaultX: math.Pi, defaultY: 1.0}
}

// gymAngleNormalize is pendulum.py's angle_normalize(x):
// ((x + np.pi) % (2 * np.pi)) - np.pi.
func gymAngleNormalize(x np) np {
	pi := py(math.Pi)
	return x.add(pi).mod(py(2).mul(pi)).sub(pi)
}

// step is PendulumEnv.step with _get_obs on lm's sin, cos and x**2,
// computed with NumPy 2's scalar rules (the np type): the state's elements
// are np.float64 and the action's an np.float32.
func (p gymPendulum) step(lm libm, s [2]float64, action float32) (ns [2]float64, obs [3]float32, reward float64) {
	// th, thdot = self.state  # th := theta
	th, thdot := f64(s[0]), f64(s[1])
	g := py(p.g)
	m := py(p.m)
	l := py(p.l)
	dt := py(p.dt)

	// u = np.clip(u, -self.max_torque, self.max_torque)[0]
	// (np.clip of a float32 array with Python bounds stays float32.)
	u := f32(float64(action))
	u = f32(math.Min(math.Max(u.v, float64(float32(-p.maxTorque))), float64(float32(p.maxTorque))))
	// costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)
	costs := gymAngleNormalize(th).sq(lm).add(py(0.1).mul(thdot.sq(lm))).add(py(0.001).mul(u.sq(lm)))

	// newthdot = thdot + (3 * g / (2 * l) * np.sin(th) + 3.0 / (m * l**2) * u) * dt
	// (l**2 is pow(1.0, 2) = 1.0, exact, so it is l * l.)
	sinTh := f64(lm.Sin(th.v))
	newthdot := thdot.add(py(3).mul(g).div(py(2).mul(l)).mul(sinTh).add(py(3.0).div(m.mul(l.mul(l))).mul(u)).mul(dt))
	// newthdot = np.clip(newthdot, -self.max_speed, self.max_speed)
	newthdot = f64(gymClip(newthdot.v, -p.maxSpeed, p.maxSpeed))
	// newth = th + newthdot * dt
	newth := th.add(newthdot.mul(dt))

	// self.state = np.array([newth, newthdot])
	ns = [2]float64{newth.v, newthdot.v}
	// _get_obs: np.array([np.cos(theta), np.sin(theta), thetadot], dtype=np.float32)
	obs = [3]float32{float32(lm.Cos(newth.v)), float32(lm.Sin(newth.v)), float32(newthdot.v)}
	// return self._get_obs(), -costs, False, False, {}
	return ns, obs, costs.neg().v
}

// pendulumPlacedStates are the states the step tests place the pendulum in
// (the same list as STATES in testdata/gen_pendulum_steps.py).
var pendulumPlacedStates = [][2]float64{
	{0.0, 0.0},
	{3.14159, 0.0},
	{-3.14159, 0.5},
	{1.0, -1.0},
	{-0.3, 0.9},
	{2.5, 7.9},
	{-2.5, -7.95},
	{7.5, 3.0},
	{-10.0, -2.0},
	{0.1234567, 0.7654321},
	{3.1415926535897931, 8.0},
	{-1.5707963267948966, -8.0},
}

// pendulumActions are the placed torques: inside [-2, 2], on its bounds, beyond them.
var pendulumActions = []float32{-3.0, -2.0, -0.7, 0.0, 0.3333, 1.25, 2.0, 2.5}

// randomPendulumStates draws n states over the state space and beyond it.
func randomPendulumStates(seed uint64, n int) [][2]float64 {
	rng := envs.NewRand(seed, 7)
	out := make([][2]float64, n)
	for i := range out {
		out[i] = [2]float64{12 * (2*rng.Float64() - 1), 9 * (2*rng.Float64() - 1)}
	}
	return out
}

func newPendulum(t testing.TB, opts envs.Options) *classic.Pendulum {
	t.Helper()
	c, err := classic.NewPendulum(opts)
	if err != nil {
		t.Fatalf("NewPendulum(%v) error: %v", opts, err)
	}
	return c
}

// checkPendulumStep places c in state s, steps it with torque a and
// requires the transition to equal want exactly.
func checkPendulumStep(t *testing.T, c *classic.Pendulum, s [2]float64, a float32, want [2]float64, wantObs [3]float32, wantReward float64) {
	t.Helper()
	c.State = s
	r, err := c.Step(envs.ContinuousAction(a))
	if err != nil {
		t.Fatalf("from %v: Step(%v) error: %v", s, a, err)
	}
	if c.State != want {
		t.Errorf("from %v: Step(%v): State = %v; want %v", s, a, c.State, want)
	}
	if len(r.Obs) != 3 || [3]float32(r.Obs) != wantObs {
		t.Errorf("from %v: Step(%v): Obs = %v; want %v", s, a, r.Obs, wantObs)
	}
	if r.Reward != wantReward || r.Terminated || r.Truncated {
		t.Errorf("from %v: Step(%v): Reward, Terminated, Truncated = %v, %v, %v; want %v, false, false",
			s, a, r.Reward, r.Terminated, r.Truncated, wantReward)
	}
}

// TestPendulumStepMatchesGymnasium compares single steps from placed and
// random states, with placed and random torques and three gravities, with
// the reference.
func TestPendulumStepMatchesGymnasium(t *testing.T) {
	rng := envs.NewRand(13, 0)
	states := append(append([][2]float64{}, pendulumPlacedStates...), randomPendulumStates(2, 1000)...)
	for _, gr := range []float64{10.0, 9.81, 3.7} {
		p := newGymPendulum(gr)
		c := newPendulum(t, envs.Options{"g": gr})
		for _, s := range states {
			actions := append(append([]float32{}, pendulumActions...), float32(6*(2*rng.Float64()-1)), float32(2*(2*rng.Float64()-1)))
			for _, a := range actions {
				ns, obs, rew := p.step(goLibm{}, s, a)
				checkPendulumStep(t, c, s, a, ns, obs, rew)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// TestPendulumTrajectoryMatchesGymnasium steps 300 times from a placed
// state, placing the env back on the reference trajectory after each step.
func TestPendulumTrajectoryMatchesGymnasium(t *testing.T) {
	p := newGymPendulum(10)
	c := newPendulum(t, nil)
	s := [2]float64{2.9, -0.4}
	for i := range 300 {
		a := float32(math.Copysign(2.2, s[1])) // pump energy
		if i%7 == 3 {
			a = -0.37
		}
		ns, obs, rew := p.step(goLibm{}, s, a)
		checkPendulumStep(t, c, s, a, ns, obs, rew)
		if t.Failed() {
			t.Fatalf("trajectory diverged at step %d", i+1)
		}
		s = ns
	}
}

// TestPendulumMatchesCPython checks the reference (bit for bit, given
// CPython's cos, sin and x**2) and the env (within a tolerance: Go's
// math.Cos and math.Sin, and x*x against glibc's pow, may differ in the
// last bit) against transitions computed by CPython running Gymnasium's
// step code (testdata/gen_pendulum_steps.py).
func TestPendulumMatchesCPython(t *testing.T) {
	lm, recs := readTranscript(t, "pendulum_gymnasium_steps.txt")
	inexact := 0
	for _, rec := range recs {
		s, gr := [2]float64(rec.floats("s", 2)), rec.float("g")
		a := float32(rec.float("a"))
		want := [2]float64(rec.floats("n", 2))
		o := rec.floats("o", 3)
		wantObs := [3]float32{float32(o[0]), float32(o[1]), float32(o[2])}
		wantReward := rec.float("r")

		ns, obs, rew := newGymPendulum(gr).step(lm, s, a)
		if ns != want || obs != wantObs || rew != wantReward {
			t.Errorf("reference step(%v, %v) with g %v = %v %v %v; CPython has %v %v %v", s, a, gr, ns, obs, rew, want, wantObs, wantReward)
		}

		c := newPendulum(t, envs.Options{"g": gr})
		c.State = s
		r, err := c.Step(envs.ContinuousAction(a))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := math.Abs(c.State[i] - want[i]); !(d <= 1e-13) {
				t.Errorf("from %v: Step(%v): State[%d] = %v; CPython has %v (diff %g)", s, a, i, c.State[i], want[i], d)
			} else if d != 0 {
				inexact++
			}
		}
		for i := range wantObs {
			if ulps32(r.Obs[i], wantObs[i]) > 1 {
				t.Errorf("from %v: Step(%v): Obs[%d] = %v; CPython has %v", s, a, i, r.Obs[i], wantObs[i])
			}
		}
		if d := math.Abs(r.Reward - wantReward); !(d <= 1e-13) {
			t.Errorf("from %v: Step(%v): Reward = %v; CPython has %v", s, a, r.Reward, wantReward)
		} else if d != 0 {
			inexact++
		}
	}
	t.Logf("%d transitions; %d values differ from CPython's in the last bit (Go's math.Sin and x*x against the C library's)", len(recs), inexact)
}

// TestPendulumReward: -(angle_normalize(theta)² + 0.1*theta_dot² +
// 0.001*u²) of the state before the step and the clipped torque, within
// float32 rounding of the torque term; 0 upright at rest; never below
// -(pi² + 0.1*8² + 0.001*2²) for states in range.
func TestPendulumReward(t *testing.T) {
	c := newPendulum(t, nil)
	reward := func(s [2]float64, a float32) float64 {
		t.Helper()
		c.State = s
		r, err := c.Step(envs.ContinuousAction(a))
		if err != nil {
			t.Fatal(err)
		}
		if r.Terminated || r.Truncated {
			t.Fatalf("from %v: Terminated, Truncated = %v, %v; want false (the time limit truncates)", s, r.Terminated, r.Truncated)
		}
		return r.Reward
	}
	if r := reward([2]float64{0, 0}, 0); r != 0 {
		t.Errorf("upright at rest: Reward = %v; want 0", r)
	}
	minReward := -(math.Pi*math.Pi + 0.1*8*8 + 0.001*2*2) // -16.2736044
	for _, s := range randomPendulumStates(4, 500) {
		for _, a := range []float32{-3, -1.5, 0, 0.4, 2, 2.5} {
			th := math.Mod(s[0]+math.Pi, 2*math.Pi)
			if th < 0 {
				th += 2 * math.Pi
			}
			th -= math.Pi
			u := math.Max(-2, math.Min(2, float64(a)))
			want := -(th*th + 0.1*s[1]*s[1] + 0.001*u*u)
			got := reward(s, a)
			if math.Abs(got-want) > 1e-9 {
				t.Errorf("from %v: Step(%v): Reward = %v; want %v", s, a, got, want)
			}
			if math.Abs(s[1]) <= 8 && got < minReward-1e-9 {
				t.Errorf("from %v: Step(%v): Reward = %v; want at least %v", s, a, got, minReward)
			}
		}
	}
	// angle_normalize(pi) is -pi: the cost of hanging straight down is pi².
	pi := math.Pi // a variable: pi*pi rounds as in float64
	if r, want := reward([2]float64{pi, 0}, 0), -(pi * pi); r != want {
		t.Errorf("hanging down at rest: Reward = %v; want %v", r, want)
	}
}

// TestPendulumClipping: torques beyond ±2 act (and cost) exactly as ±2,
// the angular velocity is clipped to ±8, and the angle is not wrapped.
func TestPendulumClipping(t *testing.T) {
	c := newPendulum(t, nil)
	step := func(s [2]float64, a float32) ([2]float64, float64) {
		t.Helper()
		c.State = s
		r, err := c.Step(envs.ContinuousAction(a))
		if err != nil {
			t.Fatal(err)
		}
		return c.State, r.Reward
	}
	for _, s := range append(append([][2]float64{}, pendulumPlacedStates...), randomPendulumStates(5, 200)...) {
		for _, a := range []float32{2.5, 7, math.MaxFloat32, -2.0001, -50} {
			bound := float32(math.Copysign(2, float64(a)))
			gs, gr := step(s, a)
			ws, wr := step(s, bound)
			if gs != ws || gr != wr {
				t.Fatalf("from %v: Step(%v) = %v, %v; want Step(%v)'s %v, %v", s, a, gs, gr, bound, ws, wr)
			}
		}
	}
	dt := 0.05
	for _, tt := range []struct {
		s [2]float64
		a float32
		v float64
	}{
		{[2]float64{2.5, 7.9}, 2, 8},
		{[2]float64{-2.5, -7.95}, -2, -8},
	} {
		got, _ := step(tt.s, tt.a)
		if want := [2]float64{tt.s[0] + float64(tt.v*dt), tt.v}; got != want {
			t.Errorf("from %v: Step(%v): State = %v; want %v (speed clipped)", tt.s, tt.a, got, want)
		}
	}
	if got, _ := step([2]float64{10, 0}, 0); !(got[0] > 9.9) {
		t.Errorf("from theta = 10: theta = %v; want it left unwrapped (only the reward normalises it)", got[0])
	}
}

func TestPendulumReset(t *testing.T) {
	c := newPendulum(t, nil)
	for seed := range uint64(300) {
		obs, info, err := c.Reset(envs.Seed(seed))
		if err != nil || info != nil {
			t.Fatalf("Reset(%d) = _, %v, %v; want nil info and error", seed, info, err)
		}
		th, thdot := c.State[0], c.State[1]
		if !(th >= -math.Pi && th < math.Pi) || !(thdot >= -1 && thdot < 1) {
			t.Errorf("Reset(%d): State = %v; want theta in [-pi, pi), theta_dot in [-1, 1)", seed, c.State)
		}
		want := []float32{float32(math.Cos(th)), float32(math.Sin(th)), float32(thdot)}
		if fmt.Sprint(obs) != fmt.Sprint(want) {
			t.Errorf("Reset(%d) obs = %v; want %v", seed, obs, want)
		}
	}
}

func TestPendulumResetSeeding(t *testing.T) {
	checkResetSeeding(t, func() envs.Env { return newPendulum(t, nil) })
}

// TestPendulumInvalidAction: an action of the wrong length or not finite
// is rejected (the state is left alone); one outside [-2, 2] is not.
func TestPendulumInvalidAction(t *testing.T) {
	c := newPendulum(t, nil)
	if _, _, err := c.Reset(envs.Seed(3)); err != nil {
		t.Fatal(err)
	}
	before := c.State
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, a := range []envs.Action{
		envs.DiscreteAction(1), envs.ContinuousAction(), envs.ContinuousAction(0.5, 0.5),
		envs.ContinuousAction(nan), envs.ContinuousAction(inf), envs.ContinuousAction(-inf),
	} {
		_, err := c.Step(a)
		if !errors.Is(err, envs.ErrInvalidAction) {
			t.Errorf("Step(%+v) error = %v; want one wrapping envs.ErrInvalidAction", a, err)
		}
		if c.State != before {
			t.Errorf("Step(%+v) changed State to %v; want %v unchanged", a, c.State, before)
		}
	}
	if _, err := c.Step(envs.ContinuousAction(-100)); err != nil {
		t.Errorf("Step(-100) error = %v; want it clipped", err)
	}
}

func TestPendulumSpaces(t *testing.T) {
	c := newPendulum(t, nil)
	checkBoxSpace(t, "ObservationSpace()", c.ObservationSpace(), []float32{-1, -1, -8}, []float32{1, 1, 8})
	checkBoxSpace(t, "ActionSpace()", c.ActionSpace(), []float32{-2}, []float32{2})
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
}

// TestPendulumOptions: g is Gymnasium's keyword option, 10.0 by default.
func TestPendulumOptions(t *testing.T) {
	for _, tt := range []struct {
		opts envs.Options
		want float64
	}{
		{nil, 10.0},
		{envs.Options{"g": 9.81}, 9.81},
		{envs.Options{"g": 10}, 10},
		{envs.Options{"g": 0.0}, 0},
	} {
		if c := newPendulum(t, tt.opts); c.G != tt.want {
			t.Errorf("NewPendulum(%v).G = %v; want %v", tt.opts, c.G, tt.want)
		}
	}
	for _, opts := range []envs.Options{{"gravity": 9.81}, {"g": "earth"}, {"g": math.NaN()}, {"g": math.Inf(-1)}} {
		if _, err := classic.NewPendulum(opts); err == nil {
			t.Errorf("NewPendulum(%v) error = nil; want an error", opts)
		}
	}
	// Without gravity a pendulum at rest stays where it is.
	c := newPendulum(t, envs.Options{"g": 0.0})
	c.State = [2]float64{1.2, 0}
	if _, err := c.Step(envs.ContinuousAction(0)); err != nil {
		t.Fatal(err)
	}
	if c.State != [2]float64{1.2, 0} {
		t.Errorf("g = 0: at rest from theta 1.2: State = %v; want [1.2 0]", c.State)
	}
	env, err := envs.Make("Pendulum-v1", envs.Options{"g": 9.81})
	if err != nil {
		t.Fatal(err)
	}
	if p := envs.Unwrapped(env).(*classic.Pendulum); p.G != 9.81 {
		t.Errorf("Make(Pendulum-v1, g=9.81): G = %v; want 9.81", p.G)
	}
}

// TestPendulumObsInSpace also steps with torques beyond [-2, 2].
func TestPendulumObsInSpace(t *testing.T) {
	wide := func(rng *rand.Rand) envs.Action { return envs.ContinuousAction(float32(5 * (2*rng.Float64() - 1))) }
	checkObsInSpace(t, newPendulum(t, nil), 20, 200, wide)
}

// pendulumGoldenActions is the golden test's torque sequence, some beyond [-2, 2].
func pendulumGoldenActions() []envs.Action {
	seq := []float32{2, 2, 1.5, -0.5, -2, -3, 0, 0.25, 2.5, -1}
	a := make([]envs.Action, 60)
	for i := range a {
		a[i] = envs.ContinuousAction(seq[i%len(seq)])
	}
	return a
}

// TestPendulumGolden replays Reset(seed 42) and 60 fixed torques against
// testdata/pendulum_seed42.golden (go test -update rewrites it).
func TestPendulumGolden(t *testing.T) {
	got := goldenTrajectory(t, "Pendulum-v1", "cos sin theta_dot", pendulumGoldenActions(), fmtContinuous)
	checkGoldenFile(t, "pendulum_seed42.golden", got)
}

// TestPendulumGoldenFollowsReference checks that the golden trajectory is
// Gymnasium's: from the seed-42 reset state, each step equals the reference.
func TestPendulumGoldenFollowsReference(t *testing.T) {
	p := newGymPendulum(10)
	c := newPendulum(t, nil)
	if _, _, err := c.Reset(envs.Seed(42)); err != nil {
		t.Fatal(err)
	}
	s := c.State
	for _, a := range pendulumGoldenActions() {
		ns, obs, rew := p.step(goLibm{}, s, a.Continuous[0])
		checkPendulumStep(t, c, s, a.Continuous[0], ns, obs, rew)
		if t.Failed() {
			break
		}
		s = ns
	}
}

func TestMakePendulum(t *testing.T) {
	env := checkMake(t, "Pendulum-v1", 200, 0, false, envs.ContinuousAction(0))
	if _, ok := env.(*classic.Pendulum); !ok {
		t.Errorf("Unwrapped(Make(Pendulum-v1)) = %T; want *classic.Pendulum", env)
	}
}
