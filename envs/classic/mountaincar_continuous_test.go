package classic_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
)

// gymMCC holds Continuous_MountainCarEnv.__init__'s attributes from
// Gymnasium's gymnasium/envs/classic_control/continuous_mountain_car.py
// (v1.0.0; v0.29.1 is the same).
type gymMCC struct {
	minAction, maxAction, minPosition, maxPosition, maxSpeed float64
	goalPosition, goalVelocity, power                        float64
}

func newGymMCC(goalVelocity float64) gymMCC {
	return gymMCC{
		minAction: -1.0, maxAction: 1.0, minPosition: -1.2, maxPosition: 0.6, maxSpeed: 0.07,
		goalPosition: 0.45, // was 0.5 in gymnasium, 0.45 in Arnaud de Broissia's version
		goalVelocity: goalVelocity, power: 0.0015,
	}
}

// step is Continuous_MountainCarEnv.step on lm's math.cos, computed with
// NumPy 2's scalar rules (the np type): the state's elements are np.float32
// when stateF32 (the state after a step) and np.float64 otherwise (after
// reset); action[0] is an np.float32.
func (g gymMCC) step(lm libm, s [2]float64, stateF32 bool, action float32) (ns [2]float64, obs [2]float32, reward float64, terminated bool) {
	elem := f64
	if stateF32 {
		elem = f32
	}
	a0 := f32(float64(action)) // action[0]
	// position = self.state[0]
	// velocity = self.state[1]
	position, velocity := elem(s[0]), elem(s[1])
	// force = min(max(action[0], self.min_action), self.max_action)
	force := pyMin(pyMax(a0, py(g.minAction)), py(g.maxAction))

	// velocity += force * self.power - 0.0025 * math.cos(3 * position)
	cos3p := py(lm.Cos(py(3).mul(position).v)) // math.cos returns a Python float
	velocity = velocity.add(force.mul(py(g.power)).sub(py(0.0025).mul(cos3p)))
	// if velocity > self.max_speed: velocity = self.max_speed
	if velocity.gt(py(g.maxSpeed)) {
		velocity = py(g.maxSpeed)
	}
	// if velocity < -self.max_speed: velocity = -self.max_speed
	if velocity.lt(py(-g.maxSpeed)) {
		velocity = py(-g.maxSpeed)
	}
	// position += velocity
	position = position.add(velocity)
	// if position > self.max_position: position = self.max_position
	if position.gt(py(g.maxPosition)) {
		position = py(g.maxPosition)
	}
	// if position < self.min_position: position = self.min_position
	if position.lt(py(g.minPosition)) {
		position = py(g.minPosition)
	}
	// if position == self.min_position and velocity < 0: velocity = 0
	if position.eq(py(g.minPosition)) && velocity.lt(py(0)) {
		velocity = py(0)
	}
	// terminated = bool(position >= self.goal_position and velocity >= self.goal_velocity)
	terminated = position.ge(py(g.goalPosition)) && velocity.ge(py(g.goalVelocity))

	// reward = 0
	// if terminated: reward = 100.0
	// reward -= math.pow(action[0], 2) * 0.1
	// (pow of a float32 is exact in float64, so it is a0*a0.)
	reward = 0
	if terminated {
		reward = 100.0
	}
	reward -= float64(float64(a0.v*a0.v) * 0.1)

	// self.state = np.array([position, velocity], dtype=np.float32)
	obs = [2]float32{float32(position.v), float32(velocity.v)}
	ns = [2]float64{float64(obs[0]), float64(obs[1])}
	return ns, obs, reward, terminated
}

// mccPlacedStates are the states the step tests place the car in (the same
// list as STATES in testdata/gen_mountaincar_continuous_steps.py).
var mccPlacedStates = [][2]float64{
	{-0.5, 0.0},
	{-0.523, 0.0041},
	{-0.4123456789, -0.0123456789},
	{-1.19, -0.02},
	{-1.2, 0.0},
	{-1.1999, -0.0699},
	{0.44, 0.02},
	{0.449, 0.0005},
	{0.4499999, 0.0},
	{0.55, 0.0695},
	{0.3, 0.0699},
	{-0.9, -0.0699},
	{0.1, -0.03},
}

// mccActions are the placed actions: inside [-1, 1], on its bounds, beyond them.
var mccActions = []float32{-2.0, -1.0, -0.3, 0.0, 0.001, 0.25, 1.0, 1.5}

// asState is s as Gymnasium would hold it: rounded to float32 for a
// float32 state.
func asState(s [2]float64, f32 bool) [2]float64 {
	if f32 {
		return [2]float64{float64(float32(s[0])), float64(float32(s[1]))}
	}
	return s
}

func newMCC(t testing.TB, opts envs.Options) *classic.MountainCarContinuous {
	t.Helper()
	c, err := classic.NewMountainCarContinuous(opts)
	if err != nil {
		t.Fatalf("NewMountainCarContinuous(%v) error: %v", opts, err)
	}
	return c
}

// checkMCCStep places c in state s of the given dtype, steps it with
// action a and requires the transition to equal want exactly.
func checkMCCStep(t *testing.T, c *classic.MountainCarContinuous, s [2]float64, f32 bool, a float32, want [2]float64, wantObs [2]float32, wantReward float64, wantTerm bool) {
	t.Helper()
	c.State, c.Float32State = s, f32
	r, err := c.Step(envs.ContinuousAction(a))
	if err != nil {
		t.Fatalf("from %v (float32 %v): Step(%v) error: %v", s, f32, a, err)
	}
	if c.State != want || !c.Float32State {
		t.Errorf("from %v (float32 %v): Step(%v): State = %v (float32 %v); want %v (float32 true)", s, f32, a, c.State, c.Float32State, want)
	}
	if len(r.Obs) != 2 || [2]float32(r.Obs) != wantObs {
		t.Errorf("from %v (float32 %v): Step(%v): Obs = %v; want %v", s, f32, a, r.Obs, wantObs)
	}
	if r.Reward != wantReward || r.Terminated != wantTerm || r.Truncated {
		t.Errorf("from %v (float32 %v): Step(%v): Reward, Terminated, Truncated = %v, %v, %v; want %v, %v, false",
			s, f32, a, r.Reward, r.Terminated, r.Truncated, wantReward, wantTerm)
	}
}

// TestMountainCarContinuousStepMatchesGymnasium compares single steps from
// placed and random states of both dtypes, with placed and random actions
// and two goal velocities, with the reference.
func TestMountainCarContinuousStepMatchesGymnasium(t *testing.T) {
	rng := envs.NewRand(11, 0)
	states := append(append([][2]float64{}, mccPlacedStates...), randomMountainCarStates(2, 600)...)
	for _, gv := range []float64{0, 0.01} {
		g := newGymMCC(gv)
		c := newMCC(t, envs.Options{"goal_velocity": gv})
		for _, f32 := range []bool{false, true} {
			for _, s0 := range states {
				s := asState(s0, f32)
				actions := append(append([]float32{}, mccActions...), float32(5*(2*rng.Float64()-1)), float32(2*rng.Float64()-1))
				for _, a := range actions {
					ns, obs, rew, term := g.step(goLibm{}, s, f32, a)
					checkMCCStep(t, c, s, f32, a, ns, obs, rew, term)
				}
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// TestMountainCarContinuousTrajectoryMatchesGymnasium steps 300 times from a
// reset-like (float64) state with an energy-pumping policy, placing the env
// back on the reference trajectory after each step.
func TestMountainCarContinuousTrajectoryMatchesGymnasium(t *testing.T) {
	g := newGymMCC(0)
	c := newMCC(t, nil)
	s, f32 := [2]float64{-0.5234, 0}, false
	for i := range 300 {
		a := float32(-0.8)
		if s[1] >= 0 {
			a = 1.2
		}
		ns, obs, rew, term := g.step(goLibm{}, s, f32, a)
		checkMCCStep(t, c, s, f32, a, ns, obs, rew, term)
		if t.Failed() {
			t.Fatalf("trajectory diverged at step %d", i+1)
		}
		if term {
			t.Logf("reached the goal at step %d, reward %v", i+1, rew)
			return
		}
		s, f32 = ns, true
	}
	t.Errorf("the energy-pumping policy did not reach the goal in 300 steps")
}

// TestMountainCarContinuousMatchesCPython checks the reference (bit for bit,
// given CPython's math.cos) and the env (within one float32 step: Go's
// math.Cos may differ from the C library's in the last bit) against
// transitions computed by CPython running Gymnasium's step code
// (testdata/gen_mountaincar_continuous_steps.py).
func TestMountainCarContinuousMatchesCPython(t *testing.T) {
	lm, recs := readTranscript(t, "mountaincar_continuous_gymnasium_steps.txt")
	inexact := 0
	for _, rec := range recs {
		s, gv := [2]float64(rec.floats("s", 2)), rec.float("g")
		f32 := rec.str("d") == "f32"
		a := float32(rec.float("a"))
		want := [2]float64(rec.floats("n", 2))
		o := rec.floats("o", 2)
		wantObs := [2]float32{float32(o[0]), float32(o[1])}
		wantReward, wantTerm := rec.float("r"), rec.bool("t")

		ns, obs, rew, term := newGymMCC(gv).step(lm, s, f32, a)
		if ns != want || obs != wantObs || rew != wantReward || term != wantTerm {
			t.Errorf("reference step(%v float32 %v, %v) with goal_velocity %v = %v %v %v %v; CPython has %v %v %v %v",
				s, f32, a, gv, ns, obs, rew, term, want, wantObs, wantReward, wantTerm)
		}

		c := newMCC(t, envs.Options{"goal_velocity": gv})
		c.State, c.Float32State = s, f32
		r, err := c.Step(envs.ContinuousAction(a))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := ulps32(float32(c.State[i]), float32(want[i])); d > 1 {
				t.Errorf("from %v (float32 %v): Step(%v): State[%d] = %v; CPython has %v", s, f32, a, i, c.State[i], want[i])
			} else if d != 0 {
				inexact++
			}
		}
		if r.Reward != wantReward || r.Terminated != wantTerm {
			t.Errorf("from %v (float32 %v): Step(%v): Reward, Terminated = %v, %v; CPython has %v, %v", s, f32, a, r.Reward, r.Terminated, wantReward, wantTerm)
		}
	}
	t.Logf("%d transitions; %d state values differ from CPython's by one float32 step (Go's math.Cos)", len(recs), inexact)
}

// TestMountainCarContinuousClipsActions: actions beyond [-1, 1] push like
// ±1 (Gymnasium clips them to the Python floats ±1.0, so under NumPy 2 the
// arithmetic differs from that of the np.float32 ±1 in the last float32
// bits) while the reward charges the unclipped action.
func TestMountainCarContinuousClipsActions(t *testing.T) {
	g := newGymMCC(0)
	c := newMCC(t, nil)
	differ := 0
	for _, s0 := range append(append([][2]float64{}, mccPlacedStates...), randomMountainCarStates(3, 500)...) {
		for _, f32 := range []bool{false, true} {
			s := asState(s0, f32)
			for _, a := range []float32{1.5, -1.5, 7, -100} {
				bound := float32(math.Copysign(1, float64(a)))
				c.State, c.Float32State = s, f32
				r, err := c.Step(envs.ContinuousAction(a))
				if err != nil {
					t.Fatal(err)
				}
				got := c.State
				ns, obs, rew, term := g.step(goLibm{}, s, f32, a)
				if got != ns || [2]float32(r.Obs) != obs || r.Reward != rew || r.Terminated != term {
					t.Fatalf("from %v (float32 %v): Step(%v) = %v %v %v; want the reference's %v %v %v", s, f32, a, got, r.Reward, r.Terminated, ns, rew, term)
				}
				pushed, _, _, _ := g.step(goLibm{}, s, f32, bound)
				// Within a float32 step, or 1e-9 where a small velocity
				// makes the float32 steps small: force * power is 0.0015 in
				// float64 for the bound but float32(1)*float32(0.0015) for
				// the np.float32 bound.
				for i := range got {
					if d := ulps32(float32(got[i]), float32(pushed[i])); d > 1 && math.Abs(got[i]-pushed[i]) > 1e-9 {
						t.Errorf("from %v (float32 %v): Step(%v) state %v; Step(%v) gives %v: want them within a float32 step or 1e-9", s, f32, a, got, bound, pushed)
					} else if d != 0 {
						differ++
					}
				}
				wantR := 0 - mccActionCost(a)
				if term {
					wantR = 100 - mccActionCost(a)
				}
				if r.Reward != wantR {
					t.Errorf("from %v: Step(%v): Reward = %v; want %v (from the unclipped action)", s, a, r.Reward, wantR)
				}
			}
		}
	}
	t.Logf("%d state values of clipped actions differ in the last float32 bits from those of the bound itself", differ)
}

// mccActionCost is math.pow(action[0], 2) * 0.1 in float64.
func mccActionCost(a float32) float64 {
	a64 := float64(a)
	return float64(float64(a64*a64) * 0.1)
}

// mccLandOn finds a float32 state from which the step with action a moves
// the car exactly onto target (in float32).
func mccLandOn(t *testing.T, g gymMCC, target float32, v0, a float32) [2]float64 {
	t.Helper()
	p := target - v0
	for range 20 {
		s := [2]float64{float64(p), float64(v0)}
		ns, _, _, _ := g.step(goLibm{}, s, true, a)
		if float32(ns[0]) == target {
			return s
		}
		// Move p by the distance still to go (the velocity barely depends on p).
		p += target - float32(ns[0])
	}
	t.Fatalf("no float32 state found that lands on %v", target)
	return [2]float64{}
}

// TestMountainCarContinuousTermination: position >= 0.45 and velocity >=
// goal_velocity; the terminating step earns 100 on top of the action cost.
// The comparisons of an np.float32 state with Python floats are made in
// float32 (NumPy 2), so a car exactly at float32(0.45), which is below
// 0.45, has arrived.
func TestMountainCarContinuousTermination(t *testing.T) {
	tests := []struct {
		gv    float64
		state [2]float64
		a     float32
		want  bool
		bonus float64 // the reward is bonus - 0.1*a*a
	}{
		{0, [2]float64{0.44, 0.02}, 0.5, true, 100},
		{0.05, [2]float64{0.44, 0.02}, 0.5, false, 0},
		{0, [2]float64{0.40, 0.02}, 0, false, 0},
		{0, [2]float64{0.59, 0.06}, 1, true, 100},  // to the right edge
		{0, [2]float64{0.59, 0.06}, -3, true, 100}, // clipped, and charged for -3
	}
	for _, tt := range tests {
		for _, f32 := range []bool{false, true} {
			c := newMCC(t, envs.Options{"goal_velocity": tt.gv})
			s := asState(tt.state, f32)
			c.State, c.Float32State = s, f32
			r, err := c.Step(envs.ContinuousAction(tt.a))
			if err != nil {
				t.Fatal(err)
			}
			if wantR := tt.bonus - mccActionCost(tt.a); r.Terminated != tt.want || r.Reward != wantR {
				t.Errorf("goal_velocity %v, from %v (float32 %v), Step(%v): Terminated, Reward = %v, %v (state %v); want %v, %v",
					tt.gv, s, f32, tt.a, r.Terminated, r.Reward, c.State, tt.want, wantR)
			}
		}
	}

	g := newGymMCC(0)
	goal32 := float32(classic.MountainCarContinuousGoalPosition)
	s := mccLandOn(t, g, goal32, 0.01, 0.3)
	c := newMCC(t, nil)
	c.State, c.Float32State = s, true
	r, err := c.Step(envs.ContinuousAction(0.3))
	if err != nil {
		t.Fatal(err)
	}
	if float32(c.State[0]) != goal32 || c.State[0] >= 0.45 || !r.Terminated {
		t.Errorf("landing on float32(0.45) = %v from %v: State %v, Terminated %v; want terminated (float32 comparison)", goal32, s, c.State, r.Terminated)
	}
	// One float32 step short of it is not there.
	s = mccLandOn(t, g, math.Nextafter32(goal32, 0), 0.01, 0.3)
	c.State, c.Float32State = s, true
	if r, err = c.Step(envs.ContinuousAction(0.3)); err != nil {
		t.Fatal(err)
	}
	if r.Terminated {
		t.Errorf("landing one float32 step below 0.45 (State %v): Terminated = true; want false", c.State)
	}
}

// TestMountainCarContinuousClipping: the velocity is clipped to ±0.07, the
// position to [-1.2, 0.6], and at the left wall a car moving left stops;
// the state is then float32.
func TestMountainCarContinuousClipping(t *testing.T) {
	c := newMCC(t, nil)
	for _, f32 := range []bool{false, true} {
		for _, s := range [][2]float64{{-1.19, -0.05}, {-1.1999, -0.0699}} {
			c.State, c.Float32State = asState(s, f32), f32
			if _, err := c.Step(envs.ContinuousAction(-1)); err != nil {
				t.Fatal(err)
			}
			if want := [2]float64{float64(float32(-1.2)), 0}; c.State != want {
				t.Errorf("from %v (float32 %v) pushing left: State = %v; want %v (stopped at the wall)", s, f32, c.State, want)
			}
		}
		c.State, c.Float32State = asState([2]float64{-1.0, 0.0695}, f32), f32
		if _, err := c.Step(envs.ContinuousAction(1)); err != nil {
			t.Fatal(err)
		}
		if want := float64(float32(0.07)); c.State[1] != want {
			t.Errorf("from (-1.0, 0.0695) (float32 %v) pushing right: velocity = %v; want %v (clipped)", f32, c.State[1], want)
		}
	}
}

func TestMountainCarContinuousReset(t *testing.T) {
	c := newMCC(t, nil)
	for seed := range uint64(200) {
		c.Float32State = true
		obs, info, err := c.Reset(envs.Seed(seed))
		if err != nil || info != nil {
			t.Fatalf("Reset(%d) = _, %v, %v; want nil info and error", seed, info, err)
		}
		if p, v := c.State[0], c.State[1]; !(p >= -0.6 && p < -0.4) || v != 0 || c.Float32State {
			t.Errorf("Reset(%d): State = %v, Float32State %v; want position in [-0.6, -0.4), velocity 0, float64", seed, c.State, c.Float32State)
		}
		if len(obs) != 2 || obs[0] != float32(c.State[0]) || obs[1] != 0 {
			t.Errorf("Reset(%d) obs = %v; want float32 of State %v", seed, obs, c.State)
		}
	}
}

func TestMountainCarContinuousResetSeeding(t *testing.T) {
	checkResetSeeding(t, func() envs.Env { return newMCC(t, nil) })
}

// TestMountainCarContinuousInvalidAction: an action of the wrong length or
// not finite is rejected (the state is left alone); one outside [-1, 1] is
// not.
func TestMountainCarContinuousInvalidAction(t *testing.T) {
	c := newMCC(t, nil)
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
		if c.State != before || c.Float32State {
			t.Errorf("Step(%+v) changed State to %v; want %v unchanged", a, c.State, before)
		}
	}
	if _, err := c.Step(envs.ContinuousAction(math.MaxFloat32)); err != nil {
		t.Errorf("Step(MaxFloat32) error = %v; want it clipped", err)
	}
}

func TestMountainCarContinuousSpaces(t *testing.T) {
	c := newMCC(t, nil)
	low, high := mountainCarObsBounds()
	checkBoxSpace(t, "ObservationSpace()", c.ObservationSpace(), low, high)
	checkBoxSpace(t, "ActionSpace()", c.ActionSpace(), []float32{-1}, []float32{1})
	for _, opts := range []envs.Options{{"power": 0.002}, {"goal_velocity": "fast"}, {"goal_velocity": math.NaN()}} {
		if _, err := classic.NewMountainCarContinuous(opts); err == nil {
			t.Errorf("NewMountainCarContinuous(%v) error = nil; want an error", opts)
		}
	}
	if c := newMCC(t, envs.Options{"goal_velocity": 0.1}); c.GoalVelocity != 0.1 {
		t.Errorf("NewMountainCarContinuous(goal_velocity=0.1).GoalVelocity = %v; want 0.1", c.GoalVelocity)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
}

// TestMountainCarContinuousObsInSpace also steps with actions beyond [-1, 1].
func TestMountainCarContinuousObsInSpace(t *testing.T) {
	wide := func(rng *rand.Rand) envs.Action { return envs.ContinuousAction(float32(3 * (2*rng.Float64() - 1))) }
	checkObsInSpace(t, newMCC(t, nil), 10, 999, wide)
}

// mccGoldenActions is the golden test's action sequence, some beyond [-1, 1].
func mccGoldenActions() []envs.Action {
	seq := []float32{1, 1, 0.6, 1.4, -0.5, -1, -1, -2, 0.25, 0}
	a := make([]envs.Action, 60)
	for i := range a {
		a[i] = envs.ContinuousAction(seq[i%len(seq)])
	}
	return a
}

// TestMountainCarContinuousGolden replays Reset(seed 42) and 60 fixed
// actions against testdata/mountaincar_continuous_seed42.golden (go test
// -update rewrites it).
func TestMountainCarContinuousGolden(t *testing.T) {
	got := goldenTrajectory(t, "MountainCarContinuous-v0", "position velocity", mccGoldenActions(), fmtContinuous)
	checkGoldenFile(t, "mountaincar_continuous_seed42.golden", got)
}

// TestMountainCarContinuousGoldenFollowsReference checks that the golden
// trajectory is Gymnasium's: from the seed-42 reset state (float64), each
// step equals the reference.
func TestMountainCarContinuousGoldenFollowsReference(t *testing.T) {
	g := newGymMCC(0)
	c := newMCC(t, nil)
	if _, _, err := c.Reset(envs.Seed(42)); err != nil {
		t.Fatal(err)
	}
	s, f32 := c.State, false
	for _, a := range mccGoldenActions() {
		ns, obs, rew, term := g.step(goLibm{}, s, f32, a.Continuous[0])
		checkMCCStep(t, c, s, f32, a.Continuous[0], ns, obs, rew, term)
		if term || t.Failed() {
			break
		}
		s, f32 = ns, true
	}
}

func TestMakeMountainCarContinuous(t *testing.T) {
	env := checkMake(t, "MountainCarContinuous-v0", 999, 90, true, envs.ContinuousAction(0))
	if _, ok := env.(*classic.MountainCarContinuous); !ok {
		t.Errorf("Unwrapped(Make(MountainCarContinuous-v0)) = %T; want *classic.MountainCarContinuous", env)
	}
}
