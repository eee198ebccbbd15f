package classic_test

import (
	"errors"
	"math"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
)

// gymMountainCar holds MountainCarEnv.__init__'s attributes from Gymnasium's
// gymnasium/envs/classic_control/mountain_car.py (v1.0.0; v0.29.1 is the
// same).
type gymMountainCar struct {
	minPosition, maxPosition, maxSpeed, goalPosition, goalVelocity float64
	force, gravity                                                 float64
	resetLow, resetHigh                                            float64 // maybe_parse_reset_bounds(options, -0.6, -0.4)
}

func newGymMountainCar(goalVelocity float64) gymMountainCar {
	return gymMountainCar{
		minPosition: -1.2, maxPosition: 0.6, maxSpeed: 0.07, goalPosition: 0.5,
		goalVelocity: goalVelocity, force: 0.001, gravity: 0.0025,
		resetLow: -0.6, resetHigh: -0.4,
	}
}

// step is MountainCarEnv.step written out with Python's evaluation order on
// lm's cos. Everything is float64 (the state is a tuple of np.float64).
// Products are converted with float64() so that the compiler cannot fuse
// them into multiply-adds.
func (g gymMountainCar) step(lm libm, s [2]float64, action int) (ns [2]float64, obs [2]float32, reward float64, terminated bool) {
	position, velocity := s[0], s[1]
	// velocity += (action - 1) * self.force + math.cos(3 * position) * (-self.gravity)
	velocity += float64(float64(action-1)*g.force) + float64(lm.Cos(float64(3*position))*(-g.gravity))
	// velocity = np.clip(velocity, -self.max_speed, self.max_speed)
	velocity = gymClip(velocity, -g.maxSpeed, g.maxSpeed)
	// position += velocity
	position += velocity
	// position = np.clip(position, self.min_position, self.max_position)
	position = gymClip(position, g.minPosition, g.maxPosition)
	// if position == self.min_position and velocity < 0: velocity = 0
	if position == g.minPosition && velocity < 0 {
		velocity = 0
	}
	// terminated = bool(position >= self.goal_position and velocity >= self.goal_velocity)
	terminated = position >= g.goalPosition && velocity >= g.goalVelocity
	reward = -1.0
	ns = [2]float64{position, velocity}
	// np.array(self.state, dtype=np.float32)
	obs = [2]float32{float32(position), float32(velocity)}
	return ns, obs, reward, terminated
}

// gymClip is np.clip(x, lo, hi) of one float64: minimum(maximum(x, lo), hi).
func gymClip(x, lo, hi float64) float64 {
	return math.Min(math.Max(x, lo), hi)
}

// mountainCarPlacedStates are the states the step tests place the car in
// (the same list as STATES in testdata/gen_mountaincar_steps.py).
var mountainCarPlacedStates = [][2]float64{
	{-0.5, 0.0},
	{-0.523, 0.0041},
	{-0.4123456789, -0.0123456789},
	{-1.19, -0.02},
	{-1.2, 0.0},
	{-1.2, -0.07},
	{-1.15, -0.069},
	{0.49, 0.02},
	{0.499, 0.0005},
	{0.45, 0.069},
	{0.58, 0.05},
	{0.3, 0.0699},
	{-0.9, -0.0699},
	{0.1, -0.03},
}

// randomMountainCarStates draws n states over the state space and a bit
// beyond it.
func randomMountainCarStates(seed uint64, n int) [][2]float64 {
	rng := envs.NewRand(seed, 7)
	out := make([][2]float64, n)
	for i := range out {
		out[i] = [2]float64{-1.3 + 2*rng.Float64(), 0.08 * (2*rng.Float64() - 1)}
	}
	return out
}

func newMountainCar(t testing.TB, opts envs.Options) *classic.MountainCar {
	t.Helper()
	c, err := classic.NewMountainCar(opts)
	if err != nil {
		t.Fatalf("NewMountainCar(%v) error: %v", opts, err)
	}
	return c
}

// checkMountainCarStep places c in state s, steps it with action a and
// requires the transition to equal want exactly.
func checkMountainCarStep(t *testing.T, c *classic.MountainCar, s [2]float64, a int, want [2]float64, wantObs [2]float32, wantReward float64, wantTerm bool) {
	t.Helper()
	c.State = s
	r, err := c.Step(envs.DiscreteAction(a))
	if err != nil {
		t.Fatalf("from %v: Step(%d) error: %v", s, a, err)
	}
	if c.State != want {
		t.Errorf("from %v: Step(%d): State = %v; want %v", s, a, c.State, want)
	}
	if len(r.Obs) != 2 || [2]float32(r.Obs) != wantObs {
		t.Errorf("from %v: Step(%d): Obs = %v; want %v", s, a, r.Obs, wantObs)
	}
	if r.Reward != wantReward || r.Terminated != wantTerm || r.Truncated {
		t.Errorf("from %v: Step(%d): Reward, Terminated, Truncated = %v, %v, %v; want %v, %v, false",
			s, a, r.Reward, r.Terminated, r.Truncated, wantReward, wantTerm)
	}
}

// TestMountainCarStepMatchesGymnasium compares single steps from placed and
// random states, with each action and two goal velocities, with the
// reference.
func TestMountainCarStepMatchesGymnasium(t *testing.T) {
	states := append(append([][2]float64{}, mountainCarPlacedStates...), randomMountainCarStates(1, 1000)...)
	for _, gv := range []float64{0, 0.025} {
		g := newGymMountainCar(gv)
		c := newMountainCar(t, envs.Options{"goal_velocity": gv})
		for _, s := range states {
			for a := range 3 {
				ns, obs, rew, term := g.step(goLibm{}, s, a)
				checkMountainCarStep(t, c, s, a, ns, obs, rew, term)
			}
		}
	}
}

// TestMountainCarTrajectoryMatchesGymnasium steps 200 times from a placed
// state with an energy-pumping policy, placing the env back on the
// reference trajectory after each step.
func TestMountainCarTrajectoryMatchesGymnasium(t *testing.T) {
	g := newGymMountainCar(0)
	c := newMountainCar(t, nil)
	s := [2]float64{-0.5, 0}
	for i := range 200 {
		a := 0 // push the way the car moves
		if s[1] >= 0 {
			a = 2
		}
		ns, obs, rew, term := g.step(goLibm{}, s, a)
		checkMountainCarStep(t, c, s, a, ns, obs, rew, term)
		if t.Failed() {
			t.Fatalf("trajectory diverged at step %d", i+1)
		}
		if term {
			t.Logf("reached the goal at step %d", i+1)
			return
		}
		s = ns
	}
	t.Errorf("the energy-pumping policy did not reach the goal in 200 steps")
}

// TestMountainCarMatchesCPython checks the reference (bit for bit, given
// CPython's math.cos) and the env (within a tolerance: Go's math.Cos may
// differ from the C library's in the last bit) against transitions computed
// by CPython running Gymnasium's step code (testdata/gen_mountaincar_steps.py).
func TestMountainCarMatchesCPython(t *testing.T) {
	lm, recs := readTranscript(t, "mountaincar_gymnasium_steps.txt")
	inexact := 0
	for _, rec := range recs {
		s, a, gv := [2]float64(rec.floats("s", 2)), rec.int("a"), rec.float("g")
		want := [2]float64(rec.floats("n", 2))
		o := rec.floats("o", 2)
		wantObs := [2]float32{float32(o[0]), float32(o[1])}
		wantReward, wantTerm := rec.float("r"), rec.bool("t")

		ns, obs, rew, term := newGymMountainCar(gv).step(lm, s, a)
		if ns != want || obs != wantObs || rew != wantReward || term != wantTerm {
			t.Errorf("reference step(%v, %d) with goal_velocity %v = %v %v %v %v; CPython has %v %v %v %v",
				s, a, gv, ns, obs, rew, term, want, wantObs, wantReward, wantTerm)
		}

		c := newMountainCar(t, envs.Options{"goal_velocity": gv})
		c.State = s
		r, err := c.Step(envs.DiscreteAction(a))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := math.Abs(c.State[i] - want[i]); !(d <= 1e-15) {
				t.Errorf("from %v: Step(%d): State[%d] = %v; CPython has %v (diff %g)", s, a, i, c.State[i], want[i], d)
			} else if d != 0 {
				inexact++
			}
			if ulps32(r.Obs[i], wantObs[i]) > 1 {
				t.Errorf("from %v: Step(%d): Obs[%d] = %v; CPython has %v", s, a, i, r.Obs[i], wantObs[i])
			}
		}
		if r.Reward != wantReward || r.Terminated != wantTerm {
			t.Errorf("from %v: Step(%d): Reward, Terminated = %v, %v; CPython has %v, %v", s, a, r.Reward, r.Terminated, wantReward, wantTerm)
		}
	}
	t.Logf("%d transitions; %d state values differ from CPython's in the last bit (Go's math.Cos)", len(recs), inexact)
}

// TestMountainCarClipping: the velocity is clipped to ±0.07, the position to
// [-1.2, 0.6], and at the left wall a car moving left stops.
func TestMountainCarClipping(t *testing.T) {
	c := newMountainCar(t, nil)
	step := func(s [2]float64, a int) [2]float64 {
		t.Helper()
		c.State = s
		if _, err := c.Step(envs.DiscreteAction(a)); err != nil {
			t.Fatal(err)
		}
		return c.State
	}
	// Accelerating down the left slope past the speed limit. (Variables,
	// so that p + v rounds as in float64.)
	p, v := -1.0, 0.07
	if got := step([2]float64{p, 0.069}, 2); got[1] != v || got[0] != p+v {
		t.Errorf("from (-1.0, 0.069), right: State = %v; want velocity clipped to 0.07 and position -0.93", got)
	}
	p, v = -0.3, -0.07
	if got := step([2]float64{p, -0.0695}, 0); got[1] != v || got[0] != p+v {
		t.Errorf("from (-0.3, -0.0695), left: State = %v; want velocity clipped to -0.07 and position -0.37", got)
	}
	// Into the left wall: position -1.2, velocity 0.
	for _, s := range [][2]float64{{-1.19, -0.05}, {-1.2, -0.07}, {-1.15, -0.069}} {
		for a := range 3 {
			if got := step(s, a); got != [2]float64{-1.2, 0} {
				t.Errorf("from %v, action %d: State = %v; want [-1.2 0] (stopped at the wall)", s, a, got)
			}
		}
	}
	// Over the right edge: position 0.6 (and the goal).
	c.State = [2]float64{0.59, 0.05}
	r, err := c.Step(envs.DiscreteAction(2))
	if err != nil {
		t.Fatal(err)
	}
	if c.State[0] != 0.6 || !r.Terminated {
		t.Errorf("from (0.59, 0.05): State = %v, Terminated = %v; want position 0.6 and terminated", c.State, r.Terminated)
	}
}

// TestMountainCarTermination: position >= 0.5 and velocity >= goal_velocity;
// the reward is -1 on every step, the terminating one included.
func TestMountainCarTermination(t *testing.T) {
	tests := []struct {
		gv    float64
		state [2]float64
		a     int
		want  bool
	}{
		{0, [2]float64{0.49, 0.02}, 1, true},
		{0.025, [2]float64{0.49, 0.02}, 1, false}, // velocity ~0.0196 < 0.025
		{0.025, [2]float64{0.49, 0.03}, 2, true},
		{0, [2]float64{0.45, 0.0}, 2, false}, // not there yet
		{0, [2]float64{0.52, -0.03}, 0, false},
		{-0.1, [2]float64{0.52, -0.01}, 0, true}, // a negative goal velocity lets it arrive backwards
	}
	for _, tt := range tests {
		c := newMountainCar(t, envs.Options{"goal_velocity": tt.gv})
		c.State = tt.state
		r, err := c.Step(envs.DiscreteAction(tt.a))
		if err != nil {
			t.Fatal(err)
		}
		if r.Terminated != tt.want || r.Reward != -1 {
			t.Errorf("goal_velocity %v, from %v, action %d: Terminated, Reward = %v, %v (state %v); want %v, -1",
				tt.gv, tt.state, tt.a, r.Terminated, r.Reward, c.State, tt.want)
		}
		if got := c.State[0] >= classic.MountainCarGoalPosition && c.State[1] >= tt.gv; got != r.Terminated {
			t.Errorf("goal_velocity %v, from %v: Terminated = %v for state %v", tt.gv, tt.state, r.Terminated, c.State)
		}
	}
}

func TestMountainCarReset(t *testing.T) {
	c := newMountainCar(t, nil)
	for seed := range uint64(200) {
		obs, info, err := c.Reset(envs.Seed(seed))
		if err != nil || info != nil {
			t.Fatalf("Reset(%d) = _, %v, %v; want nil info and error", seed, info, err)
		}
		if p, v := c.State[0], c.State[1]; !(p >= -0.6 && p < -0.4) || v != 0 {
			t.Errorf("Reset(%d): State = %v; want position in [-0.6, -0.4) and velocity 0", seed, c.State)
		}
		if len(obs) != 2 || obs[0] != float32(c.State[0]) || obs[1] != 0 {
			t.Errorf("Reset(%d) obs = %v; want float32 of State %v", seed, obs, c.State)
		}
	}
}

func TestMountainCarResetSeeding(t *testing.T) {
	checkResetSeeding(t, func() envs.Env { return newMountainCar(t, nil) })
}

func TestMountainCarInvalidAction(t *testing.T) {
	c := newMountainCar(t, nil)
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

// mountainCarObsBounds are both mountain cars' observation bounds:
// np.array([min_position, -max_speed], dtype=np.float32) and
// np.array([max_position, max_speed], dtype=np.float32).
func mountainCarObsBounds() (low, high []float32) {
	g := newGymMountainCar(0)
	return []float32{float32(g.minPosition), float32(-g.maxSpeed)}, []float32{float32(g.maxPosition), float32(g.maxSpeed)}
}

func TestMountainCarSpaces(t *testing.T) {
	c := newMountainCar(t, nil)
	if as, ok := c.ActionSpace().(envs.Discrete); !ok || as.N != 3 {
		t.Errorf("ActionSpace() = %v; want Discrete(3)", c.ActionSpace())
	}
	low, high := mountainCarObsBounds()
	checkBoxSpace(t, "ObservationSpace()", c.ObservationSpace(), low, high)
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
}

func TestMountainCarOptions(t *testing.T) {
	for _, tt := range []struct {
		opts envs.Options
		want float64
	}{
		{nil, 0},
		{envs.Options{"goal_velocity": 0.05}, 0.05},
		{envs.Options{"goal_velocity": 1}, 1},
	} {
		if c := newMountainCar(t, tt.opts); c.GoalVelocity != tt.want {
			t.Errorf("NewMountainCar(%v).GoalVelocity = %v; want %v", tt.opts, c.GoalVelocity, tt.want)
		}
	}
	for _, opts := range []envs.Options{
		{"goal_position": 0.4},
		{"goal_velocity": "fast"},
		{"goal_velocity": math.NaN()},
		{"goal_velocity": math.Inf(1)},
	} {
		if _, err := classic.NewMountainCar(opts); err == nil {
			t.Errorf("NewMountainCar(%v) error = nil; want an error", opts)
		}
	}
	env, err := envs.Make("MountainCar-v0", envs.Options{"goal_velocity": 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if c := envs.Unwrapped(env).(*classic.MountainCar); c.GoalVelocity != 0.05 {
		t.Errorf("Make(MountainCar-v0, goal_velocity=0.05): GoalVelocity = %v; want 0.05", c.GoalVelocity)
	}
}

func TestMountainCarObsInSpace(t *testing.T) {
	checkObsInSpace(t, newMountainCar(t, nil), 20, 200, nil)
}

// mountainCarGoldenActions is the golden test's action sequence: 2,2,2,2,0,0,0,0,1 repeated.
func mountainCarGoldenActions() []envs.Action {
	a := make([]envs.Action, 60)
	for i := range a {
		a[i] = envs.DiscreteAction([]int{2, 2, 2, 2, 0, 0, 0, 0, 1}[i%9])
	}
	return a
}

// TestMountainCarGolden replays Reset(seed 42) and 60 fixed actions against
// testdata/mountaincar_seed42.golden (go test -update rewrites it).
func TestMountainCarGolden(t *testing.T) {
	got := goldenTrajectory(t, "MountainCar-v0", "position velocity", mountainCarGoldenActions(), fmtDiscrete)
	checkGoldenFile(t, "mountaincar_seed42.golden", got)
}

// TestMountainCarGoldenFollowsReference checks that the golden trajectory is
// Gymnasium's: from the seed-42 reset state, each step equals the reference.
func TestMountainCarGoldenFollowsReference(t *testing.T) {
	g := newGymMountainCar(0)
	c := newMountainCar(t, nil)
	if _, _, err := c.Reset(envs.Seed(42)); err != nil {
		t.Fatal(err)
	}
	s := c.State
	for _, a := range mountainCarGoldenActions() {
		ns, obs, rew, term := g.step(goLibm{}, s, a.Discrete)
		checkMountainCarStep(t, c, s, a.Discrete, ns, obs, rew, term)
		if term || t.Failed() {
			break
		}
		s = ns
	}
}

func TestMakeMountainCar(t *testing.T) {
	env := checkMake(t, "MountainCar-v0", 200, -110, true, envs.DiscreteAction(1))
	if _, ok := env.(*classic.MountainCar); !ok {
		t.Errorf("Unwrapped(Make(MountainCar-v0)) = %T; want *classic.MountainCar", env)
	}
}
