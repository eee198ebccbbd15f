package classic_test

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
)

var update = flag.Bool("update", false, "rewrite golden files")

// gymCartPole holds CartPoleEnv.__init__'s attributes from Gymnasium's
// gymnasium/envs/classic_control/cartpole.py. They are computed at run time
// in float64, as Python computes them, rather than as Go constants (which
// are exact and rounded only once, and so may differ in the last bit).
type gymCartPole struct {
	gravity, masscart, masspole, totalMass, length, polemassLength float64
	forceMag, tau, thetaThresholdRadians, xThreshold               float64
}

func newGymCartPole() gymCartPole {
	pi := math.Pi // a variable: 12 * 2 * pi / 360 is then evaluated in float64, left to right
	g := gymCartPole{
		gravity:  9.8,
		masscart: 1.0,
		masspole: 0.1,
		length:   0.5,
		forceMag: 10.0,
		tau:      0.02,
	}
	g.totalMass = g.masspole + g.masscart
	g.polemassLength = g.masspole * g.length
	g.thetaThresholdRadians = 12 * 2 * pi / 360
	g.xThreshold = 2.4
	return g
}

// step is CartPoleEnv.step (kinematics_integrator == "euler") written out
// with Python's float64 evaluation order.
func (g gymCartPole) step(s [4]float64, action int) (next [4]float64, terminated bool) {
	return g.stepTrig(s, action, math.Cos(s[2]), math.Sin(s[2]))
}

// stepTrig is step given costheta = cos(theta) and sintheta = sin(theta),
// so that a test can supply CPython's values. It follows Python's
// evaluation order: `a * b**2 * c` is (a*(b*b))*c and operators of equal
// precedence group left to right. Each product is converted with float64()
// so that the Go compiler cannot fuse it into a multiply-add (which Python
// never does).
func (g gymCartPole) stepTrig(s [4]float64, action int, costheta, sintheta float64) (next [4]float64, terminated bool) {
	x, xDot, theta, thetaDot := s[0], s[1], s[2], s[3]
	force := -g.forceMag
	if action == 1 {
		force = g.forceMag
	}
	thetaDot2 := float64(thetaDot * thetaDot) // theta_dot**2
	temp := (force + float64(float64(g.polemassLength*thetaDot2)*sintheta)) / g.totalMass
	costheta2 := float64(costheta * costheta) // costheta**2
	thetaacc := (float64(g.gravity*sintheta) - float64(costheta*temp)) /
		float64(g.length*(4.0/3.0-float64(g.masspole*costheta2)/g.totalMass))
	xacc := temp - float64(float64(g.polemassLength*thetaacc)*costheta)/g.totalMass

	x = x + float64(g.tau*xDot)
	xDot = xDot + float64(g.tau*xacc)
	theta = theta + float64(g.tau*thetaDot)
	thetaDot = thetaDot + float64(g.tau*thetaacc)

	next = [4]float64{x, xDot, theta, thetaDot}
	terminated = x < -g.xThreshold || x > g.xThreshold ||
		theta < -g.thetaThresholdRadians || theta > g.thetaThresholdRadians
	return next, terminated
}

// placedStates are the states the step tests place the cart in (the same
// list as STATES in testdata/gen_cartpole_steps.py).
var placedStates = [][4]float64{
	{0.0, 0.0, 0.0, 0.0},
	{0.01, -0.02, 0.03, -0.04},
	{-0.0437, 0.0123, -0.0311, 0.0499},
	{1.5, 1.2, 0.15, -1.7},
	{-2.1, -1.9, -0.19, 2.3},
	{0.3, -3.7, 0.2, 3.1},
	{-0.7, 2.9, -0.205, -2.6},
	{2.39, 0.5, 0.01, 0.0},
	{0.0, 0.0, 0.2094, 1.0},
	{0.123456789, -0.987654321, 0.0555555, -0.3333333},
}

// stateTol is how far the env's float64 state may be from Gymnasium's. The
// env is meant to agree bit for bit; the tolerance only absorbs last-bit
// rounding differences, which checkStep logs.
const stateTol = 1e-12

func newCartPole(t testing.TB) *classic.CartPole {
	t.Helper()
	c, err := classic.NewCartPole(nil)
	if err != nil {
		t.Fatalf("NewCartPole(nil) error: %v", err)
	}
	return c
}

// checkStep places c in state s, steps it with action a and compares the
// transition with want and wantTerm.
func checkStep(t *testing.T, c *classic.CartPole, s [4]float64, a int, want [4]float64, wantTerm bool) {
	t.Helper()
	c.State = s
	c.StepsBeyondTerminated = -1
	r, err := c.Step(envs.DiscreteAction(a))
	if err != nil {
		t.Fatalf("from %v: Step(%d) error: %v", s, a, err)
	}
	for i := range want {
		if d := math.Abs(c.State[i] - want[i]); !(d <= stateTol) {
			t.Errorf("from %v: Step(%d): State[%d] = %v; want %v (diff %g)", s, a, i, c.State[i], want[i], d)
		} else if c.State[i] != want[i] {
			t.Logf("from %v: Step(%d): State[%d] = %v; Gymnasium has %v (last-bit difference %g)", s, a, i, c.State[i], want[i], d)
		}
		if r.Obs[i] != float32(want[i]) {
			t.Errorf("from %v: Step(%d): Obs[%d] = %v; want %v", s, a, i, r.Obs[i], float32(want[i]))
		}
	}
	if len(r.Obs) != 4 {
		t.Errorf("from %v: Step(%d): len(Obs) = %d; want 4", s, a, len(r.Obs))
	}
	if r.Terminated != wantTerm {
		t.Errorf("from %v: Step(%d): Terminated = %v; want %v", s, a, r.Terminated, wantTerm)
	}
	if r.Truncated {
		t.Errorf("from %v: Step(%d): Truncated = true; want false (the time limit is the TimeLimit wrapper's)", s, a)
	}
	if r.Reward != 1 {
		t.Errorf("from %v: Step(%d): Reward = %v; want 1", s, a, r.Reward)
	}
}

// TestCartPoleStepMatchesGymnasium compares single steps from placed states
// with the hand-written reference.
func TestCartPoleStepMatchesGymnasium(t *testing.T) {
	g := newGymCartPole()
	c := newCartPole(t)
	for _, s := range placedStates {
		for _, a := range []int{0, 1} {
			t.Run(fmt.Sprintf("%v/action=%d", s, a), func(t *testing.T) {
				want, wantTerm := g.step(s, a)
				checkStep(t, c, s, a, want, wantTerm)
			})
		}
	}
}

// TestCartPoleTrajectoryMatchesGymnasium steps 200 times from a placed
// state, placing the env back on the reference trajectory after each step
// so that rounding differences cannot compound.
func TestCartPoleTrajectoryMatchesGymnasium(t *testing.T) {
	g := newGymCartPole()
	c := newCartPole(t)
	s := [4]float64{0.02, 0.1, -0.03, 0.2}
	for i := range 200 {
		a := []int{0, 1, 1, 0, 1}[i%5]
		want, wantTerm := g.step(s, a)
		checkStep(t, c, s, a, want, wantTerm)
		if t.Failed() {
			t.Fatalf("trajectory diverged at step %d", i+1)
		}
		s = want
	}
}

// gymTransition is one line of testdata/cartpole_gymnasium_steps.txt.
type gymTransition struct {
	from       [4]float64
	action     int
	cos, sin   float64 // CPython's math.cos(theta), math.sin(theta)
	to         [4]float64
	terminated bool
}

// readGymTransitions reads the transitions CPython computed with
// Gymnasium's step (testdata/gen_cartpole_steps.py) and the theta threshold.
func readGymTransitions(t *testing.T) (thetaThreshold float64, trs []gymTransition) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "cartpole_gymnasium_steps.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parse := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("bad float %q: %v", s, err)
		}
		return v
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "# theta_threshold_radians "); ok {
			thetaThreshold = parse(v)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 13 || fs[7] != "->" {
			t.Fatalf("bad line %q", line)
		}
		var tr gymTransition
		for i := range 4 {
			tr.from[i] = parse(fs[i])
			tr.to[i] = parse(fs[8+i])
		}
		tr.cos, tr.sin = parse(fs[5]), parse(fs[6])
		tr.action, err = strconv.Atoi(fs[4])
		if err != nil {
			t.Fatalf("bad action in %q", line)
		}
		tr.terminated = fs[12] == "true"
		trs = append(trs, tr)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(trs) == 0 || thetaThreshold == 0 {
		t.Fatal("no transitions in testdata/cartpole_gymnasium_steps.txt")
	}
	return thetaThreshold, trs
}

// TestCartPoleMatchesCPython checks the hand-written reference (bit for
// bit, given CPython's cos and sin) and the env (within stateTol: Go's
// math.Cos and math.Sin may differ from the C library's in the last bit)
// against transitions computed by CPython running Gymnasium's step code.
func TestCartPoleMatchesCPython(t *testing.T) {
	g := newGymCartPole()
	thr, trs := readGymTransitions(t)
	if g.thetaThresholdRadians != thr {
		t.Errorf("reference theta_threshold_radians = %v; CPython has %v", g.thetaThresholdRadians, thr)
	}
	c := newCartPole(t)
	for _, tr := range trs {
		got, gotTerm := g.stepTrig(tr.from, tr.action, tr.cos, tr.sin)
		if got != tr.to || gotTerm != tr.terminated {
			t.Errorf("reference step(%v, %d) = %v, %v; CPython has %v, %v", tr.from, tr.action, got, gotTerm, tr.to, tr.terminated)
		}
		checkStep(t, c, tr.from, tr.action, tr.to, tr.terminated)
	}
}

func TestCartPoleTermination(t *testing.T) {
	const eps = 1e-9
	thr := classic.CartPoleThetaThreshold
	tests := []struct {
		name  string
		state [4]float64 // zero velocities: the step leaves x and theta where they are
		want  bool
	}{
		{"centre", [4]float64{0, 0, 0, 0}, false},
		{"x just beyond +2.4", [4]float64{2.4 + eps, 0, 0, 0}, true},
		{"x just inside +2.4", [4]float64{2.4 - eps, 0, 0, 0}, false},
		{"x at +2.4", [4]float64{2.4, 0, 0, 0}, false},
		{"x just beyond -2.4", [4]float64{-2.4 - eps, 0, 0, 0}, true},
		{"x just inside -2.4", [4]float64{-2.4 + eps, 0, 0, 0}, false},
		{"x at -2.4", [4]float64{-2.4, 0, 0, 0}, false},
		{"theta just beyond +12deg", [4]float64{0, 0, thr + eps, 0}, true},
		{"theta just inside +12deg", [4]float64{0, 0, thr - eps, 0}, false},
		{"theta 0.20943952", [4]float64{0, 0, 0.20943952, 0}, true},
		{"theta 0.20943951", [4]float64{0, 0, 0.20943951, 0}, false},
		{"theta just beyond -12deg", [4]float64{0, 0, -thr - eps, 0}, true},
		{"theta just inside -12deg", [4]float64{0, 0, -thr + eps, 0}, false},
		{"theta -0.20943952", [4]float64{0, 0, -0.20943952, 0}, true},
		{"theta -0.20943951", [4]float64{0, 0, -0.20943951, 0}, false},
		{"both beyond", [4]float64{-3, 0, 0.5, 0}, true},
	}
	g := newGymCartPole()
	for _, tt := range tests {
		for _, a := range []int{0, 1} {
			c := newCartPole(t)
			c.State = tt.state
			r, err := c.Step(envs.DiscreteAction(a))
			if err != nil {
				t.Fatalf("%s: Step(%d) error: %v", tt.name, a, err)
			}
			if c.State[0] != tt.state[0] || c.State[2] != tt.state[2] {
				t.Fatalf("%s: Step(%d) moved x, theta to %v, %v; want them kept at %v, %v (zero velocities)",
					tt.name, a, c.State[0], c.State[2], tt.state[0], tt.state[2])
			}
			if r.Terminated != tt.want {
				t.Errorf("%s: Step(%d).Terminated = %v; want %v", tt.name, a, r.Terminated, tt.want)
			}
			if _, gymTerm := g.step(tt.state, a); gymTerm != tt.want {
				t.Errorf("%s: reference step(%d) terminated = %v; want %v", tt.name, a, gymTerm, tt.want)
			}
			if r.Reward != 1 {
				t.Errorf("%s: Step(%d).Reward = %v; want 1", tt.name, a, r.Reward)
			}
		}
	}
}

// TestCartPoleThetaThresholdExact checks the 12-degree threshold to the last
// bit: Gymnasium compares against 12 * 2 * math.pi / 360 evaluated in
// float64, 0.20943951023931953.
func TestCartPoleThetaThresholdExact(t *testing.T) {
	g := newGymCartPole()
	if got, want := classic.CartPoleThetaThreshold, g.thetaThresholdRadians; got != want {
		t.Fatalf("CartPoleThetaThreshold = %v; want %v", got, want)
	}
	thr := g.thetaThresholdRadians
	tests := []struct {
		theta float64
		want  bool
	}{
		{thr, false},
		{math.Nextafter(thr, 1), true},
		{-thr, false},
		{math.Nextafter(-thr, -1), true},
	}
	for _, tt := range tests {
		c := newCartPole(t)
		c.State = [4]float64{0, 0, tt.theta, 0}
		r, err := c.Step(envs.DiscreteAction(0))
		if err != nil {
			t.Fatal(err)
		}
		if r.Terminated != tt.want {
			t.Errorf("theta=%v: Step(0).Terminated = %v; want %v", tt.theta, r.Terminated, tt.want)
		}
	}
}

// TestCartPoleRewardAfterTermination: reward 1 on every step including the
// terminating one, then 0 on steps taken after termination (Gymnasium's
// steps_beyond_terminated), and 1 again after Reset.
func TestCartPoleRewardAfterTermination(t *testing.T) {
	c := newCartPole(t)
	if _, _, err := c.Reset(envs.Seed(1)); err != nil {
		t.Fatal(err)
	}
	// A running episode pays 1 per step.
	for i := range 3 {
		r, err := c.Step(envs.DiscreteAction(i % 2))
		if err != nil {
			t.Fatal(err)
		}
		if r.Reward != 1 || r.Terminated {
			t.Fatalf("step %d: Reward, Terminated = %v, %v; want 1, false", i+1, r.Reward, r.Terminated)
		}
	}
	c.State = [4]float64{0, 0, 0.3, 0} // fallen pole: the next step terminates
	wants := []struct {
		reward float64
		steps  int // StepsBeyondTerminated afterwards
	}{{1, 0}, {0, 1}, {0, 2}}
	for i, w := range wants {
		r, err := c.Step(envs.DiscreteAction(1))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Terminated {
			t.Errorf("step %d after the fall: Terminated = false; want true", i+1)
		}
		if r.Reward != w.reward {
			t.Errorf("step %d after the fall: Reward = %v; want %v", i+1, r.Reward, w.reward)
		}
		if c.StepsBeyondTerminated != w.steps {
			t.Errorf("step %d after the fall: StepsBeyondTerminated = %d; want %d", i+1, c.StepsBeyondTerminated, w.steps)
		}
	}
	if _, _, err := c.Reset(nil); err != nil {
		t.Fatal(err)
	}
	if c.StepsBeyondTerminated != -1 {
		t.Errorf("after Reset: StepsBeyondTerminated = %d; want -1", c.StepsBeyondTerminated)
	}
	c.State = [4]float64{0, 0, -0.3, 0}
	r, err := c.Step(envs.DiscreteAction(0))
	if err != nil {
		t.Fatal(err)
	}
	if r.Reward != 1 || !r.Terminated {
		t.Errorf("terminating step after Reset: Reward, Terminated = %v, %v; want 1, true", r.Reward, r.Terminated)
	}
}

func TestCartPoleReset(t *testing.T) {
	c := newCartPole(t)
	for seed := range uint64(200) {
		obs, _, err := c.Reset(envs.Seed(seed))
		if err != nil {
			t.Fatalf("Reset(%d) error: %v", seed, err)
		}
		if len(obs) != 4 {
			t.Fatalf("Reset(%d): len(obs) = %d; want 4", seed, len(obs))
		}
		for i, v := range c.State {
			if !(v >= -0.05 && v < 0.05) {
				t.Errorf("Reset(%d): State[%d] = %v; want in [-0.05, 0.05)", seed, i, v)
			}
			if obs[i] != float32(v) {
				t.Errorf("Reset(%d): obs[%d] = %v; want float32(State[%d]) = %v", seed, i, obs[i], i, float32(v))
			}
		}
		if c.StepsBeyondTerminated != -1 {
			t.Errorf("Reset(%d): StepsBeyondTerminated = %d; want -1", seed, c.StepsBeyondTerminated)
		}
	}
}

func TestCartPoleResetSeeding(t *testing.T) {
	reset := func(c *classic.CartPole, seed *uint64) []float32 {
		t.Helper()
		obs, _, err := c.Reset(seed)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), obs...)
	}
	a, b := newCartPole(t), newCartPole(t)
	for _, seed := range []uint64{0, 1, 42, 1 << 40} {
		oa, ob := reset(a, envs.Seed(seed)), reset(b, envs.Seed(seed))
		if fmt.Sprint(oa) != fmt.Sprint(ob) {
			t.Errorf("Reset(%d) = %v on one env and %v on another; want equal", seed, oa, ob)
		}
		// Reseeding the same env replays the stream, and a nil seed continues it.
		next := reset(a, nil)
		if again := reset(a, envs.Seed(seed)); fmt.Sprint(again) != fmt.Sprint(oa) {
			t.Errorf("Reset(%d) again = %v; want %v", seed, again, oa)
		}
		if nextAgain := reset(a, nil); fmt.Sprint(nextAgain) != fmt.Sprint(next) {
			t.Errorf("Reset(nil) after Reset(%d) = %v; want %v as before", seed, nextAgain, next)
		}
		if fmt.Sprint(next) == fmt.Sprint(oa) {
			t.Errorf("Reset(nil) after Reset(%d) = %v; want a new state", seed, next)
		}
	}
	seen := map[string]uint64{}
	for seed := range uint64(100) {
		o := fmt.Sprint(reset(a, envs.Seed(seed)))
		if prev, ok := seen[o]; ok {
			t.Errorf("Reset(%d) = Reset(%d) = %v; want different seeds to give different states", seed, prev, o)
		}
		seen[o] = seed
	}
}

func TestCartPoleInvalidAction(t *testing.T) {
	c := newCartPole(t)
	if _, _, err := c.Reset(envs.Seed(3)); err != nil {
		t.Fatal(err)
	}
	before := c.State
	for _, a := range []int{2, -1, 100} {
		_, err := c.Step(envs.DiscreteAction(a))
		if !errors.Is(err, envs.ErrInvalidAction) {
			t.Errorf("Step(%d) error = %v; want one wrapping envs.ErrInvalidAction", a, err)
		}
		if c.State != before {
			t.Errorf("Step(%d) changed State to %v; want %v unchanged", a, c.State, before)
		}
	}
}

func TestCartPoleSpaces(t *testing.T) {
	c := newCartPole(t)
	g := newGymCartPole()
	as, ok := c.ActionSpace().(envs.Discrete)
	if !ok || as.N != 2 {
		t.Errorf("ActionSpace() = %v; want Discrete(2)", c.ActionSpace())
	}
	box, ok := c.ObservationSpace().(*envs.Box)
	if !ok {
		t.Fatalf("ObservationSpace() = %v; want a *envs.Box", c.ObservationSpace())
	}
	if got := box.Shape(); len(got) != 1 || got[0] != 4 {
		t.Errorf("ObservationSpace().Shape() = %v; want [4]", got)
	}
	// Gymnasium: high = float32([x_threshold*2, max, theta_threshold*2, max]), low = -high.
	wantHigh := map[int]float32{0: float32(g.xThreshold * 2), 2: float32(g.thetaThresholdRadians * 2)}
	for i, want := range wantHigh {
		if box.High[i] != want || box.Low[i] != -want {
			t.Errorf("ObservationSpace() bounds[%d] = [%v, %v]; want [%v, %v]", i, box.Low[i], box.High[i], -want, want)
		}
	}
	for _, i := range []int{1, 3} {
		if box.High[i] < math.MaxFloat32 || box.Low[i] > -math.MaxFloat32 {
			t.Errorf("ObservationSpace() bounds[%d] = [%v, %v]; want at least ±MaxFloat32", i, box.Low[i], box.High[i])
		}
	}
	if _, err := classic.NewCartPole(envs.Options{"gravity": 3.0}); err == nil {
		t.Errorf("NewCartPole({gravity: 3}) error = nil; want an unknown-option error")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
}

// TestCartPoleObsInSpace runs seeded episodes and checks that every
// observation, the terminating ones included, lies in the observation space.
func TestCartPoleObsInSpace(t *testing.T) {
	c := newCartPole(t)
	box := c.ObservationSpace().(*envs.Box)
	rng := envs.NewRand(5, 0)
	for ep := range 20 {
		obs, _, err := c.Reset(envs.Seed(uint64(ep)))
		if err != nil {
			t.Fatal(err)
		}
		if !box.Contains(obs) {
			t.Fatalf("episode %d: Reset obs %v not in %v", ep, obs, box)
		}
		for step := 1; step <= 500; step++ {
			r, err := c.Step(c.ActionSpace().SampleAction(rng))
			if err != nil {
				t.Fatal(err)
			}
			if !box.Contains(r.Obs) {
				t.Fatalf("episode %d step %d: obs %v not in %v", ep, step, r.Obs, box)
			}
			if r.Terminated {
				break
			}
		}
	}
}

// goldenActions is the fixed action sequence of the golden test: 0,1,1,0 repeated.
func goldenActions(n int) []int {
	a := make([]int, n)
	for i := range a {
		a[i] = []int{0, 1, 1, 0}[i%4]
	}
	return a
}

func fmtObs(obs []float32) string {
	s := make([]string, len(obs))
	for i, v := range obs {
		s[i] = strconv.FormatFloat(float64(v), 'g', -1, 32)
	}
	return strings.Join(s, " ")
}

// TestCartPoleGolden replays Reset(seed 42) and 30 fixed actions against
// testdata/cartpole_seed42.golden (go test -update rewrites it).
func TestCartPoleGolden(t *testing.T) {
	env, err := envs.Make("CartPole-v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("# CartPole-v1: Reset(seed 42), then actions 0,1,1,0,... (go test -update rewrites this file)\n")
	b.WriteString("# step action | x x_dot theta theta_dot | reward terminated truncated\n")
	obs, _, err := env.Reset(envs.Seed(42))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "0 - | %s | - - -\n", fmtObs(obs))
	for i, a := range goldenActions(30) {
		r, err := env.Step(envs.DiscreteAction(a))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %d | %s | %v %v %v\n", i+1, a, fmtObs(r.Obs), r.Reward, r.Terminated, r.Truncated)
		if r.Done() {
			break
		}
	}
	got := b.String()
	path := filepath.Join("testdata", "cartpole_seed42.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantB, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	want := string(wantB)
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("%s line %d:\n got %q\nwant %q", path, i+1, g, w)
		}
	}
}

// TestCartPoleGoldenFollowsReference checks that the golden trajectory
// itself is Gymnasium's: from the seed-42 reset state, each step equals the
// reference step.
func TestCartPoleGoldenFollowsReference(t *testing.T) {
	g := newGymCartPole()
	c := newCartPole(t)
	if _, _, err := c.Reset(envs.Seed(42)); err != nil {
		t.Fatal(err)
	}
	s := c.State
	for _, a := range goldenActions(30) {
		want, wantTerm := g.step(s, a)
		checkStep(t, c, s, a, want, wantTerm)
		if wantTerm || t.Failed() {
			break
		}
		s = want
	}
}

func TestMakeCartPole(t *testing.T) {
	spec, err := envs.Lookup("CartPole-v1")
	if err != nil {
		t.Fatalf("Lookup(CartPole-v1) error: %v", err)
	}
	if spec.MaxEpisodeSteps != 500 || !spec.HasThreshold || spec.RewardThreshold != 475 {
		t.Errorf("Lookup(CartPole-v1) = MaxEpisodeSteps %d, RewardThreshold %v (set %v); want 500, 475 (true)",
			spec.MaxEpisodeSteps, spec.RewardThreshold, spec.HasThreshold)
	}
	env, err := envs.Make("CartPole-v1", nil)
	if err != nil {
		t.Fatalf("Make(CartPole-v1) error: %v", err)
	}
	defer env.Close()
	tl, ok := env.(*envs.TimeLimit)
	if !ok || tl.MaxSteps != 500 {
		t.Fatalf("Make(CartPole-v1) = %T %+v; want a *envs.TimeLimit of 500 steps", env, env)
	}
	cp, ok := envs.Unwrapped(env).(*classic.CartPole)
	if !ok {
		t.Fatalf("Unwrapped(Make(CartPole-v1)) = %T; want *classic.CartPole", envs.Unwrapped(env))
	}
	for episode := range 2 {
		if _, _, err := env.Reset(envs.Seed(uint64(episode))); err != nil {
			t.Fatal(err)
		}
		for step := 1; step <= 500; step++ {
			cp.State = [4]float64{} // balanced: the pole never falls
			r, err := env.Step(envs.DiscreteAction(step % 2))
			if err != nil {
				t.Fatalf("episode %d: Step %d error: %v", episode, step, err)
			}
			if r.Terminated {
				t.Fatalf("episode %d: Step %d: Terminated = true; want false", episode, step)
			}
			if want := step == 500; r.Truncated != want {
				t.Fatalf("episode %d: Step %d: Truncated = %v; want %v", episode, step, r.Truncated, want)
			}
			if tl.Elapsed() != step {
				t.Fatalf("episode %d: after Step %d: Elapsed() = %d; want %d", episode, step, tl.Elapsed(), step)
			}
		}
	}

	short, err := envs.Make("CartPole-v1", envs.Options{envs.MaxEpisodeStepsOption: 7})
	if err != nil {
		t.Fatalf("Make(CartPole-v1, max_episode_steps=7) error: %v", err)
	}
	if tl, ok := short.(*envs.TimeLimit); !ok || tl.MaxSteps != 7 {
		t.Errorf("Make(CartPole-v1, max_episode_steps=7) = %T %+v; want a *envs.TimeLimit of 7 steps", short, short)
	}
	if _, err := envs.Make("CartPole-v1", envs.Options{"max_steps": 7}); err == nil {
		t.Errorf("Make(CartPole-v1, max_steps=7) error = nil; want an unknown-option error")
	}
}
