package classic_test

// Helpers shared by the Acrobot, MountainCar, MountainCarContinuous and
// Pendulum tests: the C-library functions a reference step calls, the
// CPython transcripts in testdata, a Go model of NumPy 2's scalar
// promotion, and the checks every env gets (seeding, golden files,
// registration, observations inside the space).

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

// libm gives the functions of the C library a reference step calls. Go's
// math.Cos and math.Sin may differ from the C library's in the last bit,
// and Python's x**2 is the C library's pow(x, 2), which glibc does not
// always round like x*x: a reference step runs on goLibm to be compared
// with the env (which uses math and x*x) and on a transcript's recorded
// values to be compared with CPython bit for bit.
type libm interface {
	Cos(x float64) float64
	Sin(x float64) float64
	// Sq is x**2 for a float64 x.
	Sq(x float64) float64
}

// goLibm is what the envs use: math.Cos, math.Sin and x*x.
type goLibm struct{}

func (goLibm) Cos(x float64) float64 { return math.Cos(x) }
func (goLibm) Sin(x float64) float64 { return math.Sin(x) }
func (goLibm) Sq(x float64) float64  { return x * x }

// libmCall names a recorded call: the function and its argument's bits.
type libmCall struct {
	name string
	x    uint64
}

// cpythonLibm answers with the values CPython computed, recorded in a
// transcript. A call it has no record of fails the test.
type cpythonLibm struct {
	t     testing.TB
	calls map[libmCall]float64
}

func (c *cpythonLibm) get(name string, x float64) float64 {
	y, ok := c.calls[libmCall{name, math.Float64bits(x)}]
	if !ok {
		c.t.Fatalf("the transcript has no %s(%x): the reference step computed an argument CPython did not", name, x)
	}
	return y
}

func (c *cpythonLibm) Cos(x float64) float64 { return c.get("cos", x) }
func (c *cpythonLibm) Sin(x float64) float64 { return c.get("sin", x) }
func (c *cpythonLibm) Sq(x float64) float64  { return c.get("pow2", x) }

// record is one transition line of a transcript: the values after each
// one-letter marker ("s", "a", "n", ...).
type record struct {
	t      testing.TB
	line   string
	fields map[string][]string
}

func (r record) strs(key string, n int) []string {
	r.t.Helper()
	v, ok := r.fields[key]
	if !ok || len(v) != n {
		r.t.Fatalf("transcript line %q: want %d values after %q, have %v", r.line, n, key, v)
	}
	return v
}

func (r record) floats(key string, n int) []float64 {
	r.t.Helper()
	out := make([]float64, n)
	for i, s := range r.strs(key, n) {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			r.t.Fatalf("transcript line %q: %q: %v", r.line, s, err)
		}
		out[i] = v
	}
	return out
}

func (r record) float(key string) float64 { r.t.Helper(); return r.floats(key, 1)[0] }

func (r record) str(key string) string { r.t.Helper(); return r.strs(key, 1)[0] }

func (r record) int(key string) int {
	r.t.Helper()
	n, err := strconv.Atoi(r.str(key))
	if err != nil {
		r.t.Fatalf("transcript line %q: %v", r.line, err)
	}
	return n
}

func (r record) bool(key string) bool {
	r.t.Helper()
	switch s := r.str(key); s {
	case "true":
		return true
	case "false":
		return false
	default:
		r.t.Fatalf("transcript line %q: %q is not a bool", r.line, s)
		return false
	}
}

// readTranscript reads testdata/<name>, written by a gen_*_steps.py script:
// the calls CPython recorded and the transitions.
func readTranscript(t testing.TB, name string) (*cpythonLibm, []record) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lm := &cpythonLibm{t: t, calls: map[libmCall]float64{}}
	var recs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fs := strings.Fields(line)
		if len(fs) == 0 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		switch fs[0] {
		case "cos", "sin", "pow2":
			if len(fs) != 3 {
				t.Fatalf("%s: bad line %q", name, line)
			}
			x, err1 := strconv.ParseFloat(fs[1], 64)
			y, err2 := strconv.ParseFloat(fs[2], 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: bad line %q", name, line)
			}
			lm.calls[libmCall{fs[0], math.Float64bits(x)}] = y
		case "s":
			r := record{t: t, line: line, fields: map[string][]string{}}
			key := ""
			for _, tok := range fs {
				if len(tok) == 1 && tok[0] >= 'a' && tok[0] <= 'z' {
					key = tok
					r.fields[key] = []string{}
					continue
				}
				r.fields[key] = append(r.fields[key], tok)
			}
			recs = append(recs, r)
		default:
			t.Fatalf("%s: bad line %q", name, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: no transitions", name)
	}
	return lm, recs
}

// npKind is the type of a scalar in Gymnasium's Python code under NumPy 2.
type npKind int

const (
	pyFloat npKind = iota // a Python float or int: "weak" under NEP 50
	npF32                 // np.float32
	npF64                 // np.float64
)

// np is a scalar of Gymnasium's Python code and its type. Its methods do
// what NumPy 2 does for scalars (numpy/_core/src/umath/scalarmath.c.src):
// a Python float or int combined with an np.float32 is rounded to float32
// and the operation, arithmetic or comparison, is done in float32;
// np.float32 combined with np.float64 gives np.float64; Python floats
// combined give Python floats.
type np struct {
	v float64
	k npKind
}

func py(v float64) np  { return np{v, pyFloat} }
func f32(v float64) np { return np{float64(float32(v)), npF32} }
func f64(v float64) np { return np{v, npF64} }

// promote is the kind of the result of an operation on a and b.
func promote(a, b np) npKind {
	switch {
	case a.k == npF64 || b.k == npF64:
		return npF64
	case a.k == npF32 || b.k == npF32:
		return npF32
	}
	return pyFloat
}

func (a np) op(b np, op byte) np {
	k := promote(a, b)
	// Each result is converted explicitly so that the compiler cannot fuse
	// a product into a later addition (Python never does).
	if k == npF32 {
		x, y := float32(a.v), float32(b.v)
		var r float32
		switch op {
		case '+':
			r = x + y
		case '-':
			r = x - y
		case '*':
			r = float32(x * y)
		case '/':
			r = x / y
		}
		return np{float64(r), k}
	}
	var r float64
	switch op {
	case '+':
		r = a.v + b.v
	case '-':
		r = a.v - b.v
	case '*':
		r = float64(a.v * b.v)
	case '/':
		r = a.v / b.v
	}
	return np{r, k}
}

func (a np) add(b np) np { return a.op(b, '+') }
func (a np) sub(b np) np { return a.op(b, '-') }
func (a np) mul(b np) np { return a.op(b, '*') }
func (a np) div(b np) np { return a.op(b, '/') }

// mod is a % b for float64 operands (np.float64 or Python floats): Python's
// float % and NumPy's npy_remainder alike take fmod and move it into the
// divisor's sign.
func (a np) mod(b np) np {
	k := promote(a, b)
	if k == npF32 {
		panic("mod of an np.float32: not needed by the ported envs")
	}
	m := math.Mod(a.v, b.v)
	if m != 0 {
		if (b.v < 0) != (m < 0) {
			m += b.v
		}
	} else {
		m = math.Copysign(0, b.v)
	}
	return np{m, k}
}

// neg is -a.
func (a np) neg() np { return np{-a.v, a.k} }

// cmp returns -1, 0 or +1 as a <, == or > b, compared in float32 when
// NumPy would.
func (a np) cmp(b np) int {
	x, y := a.v, b.v
	if promote(a, b) == npF32 {
		x, y = float64(float32(x)), float64(float32(y))
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func (a np) gt(b np) bool { return a.cmp(b) > 0 }
func (a np) lt(b np) bool { return a.cmp(b) < 0 }
func (a np) ge(b np) bool { return a.cmp(b) >= 0 }
func (a np) eq(b np) bool { return a.cmp(b) == 0 }

// pyMax and pyMin are Python's max(a, b) and min(a, b): the first argument
// unless the second compares greater (smaller).
func pyMax(a, b np) np {
	if b.gt(a) {
		return b
	}
	return a
}

func pyMin(a, b np) np {
	if b.lt(a) {
		return b
	}
	return a
}

// sq is a**2: float32 for an np.float32 (powf of a float32 is its
// correctly rounded square, as float64 pow(u, 2) is exact), the C
// library's pow otherwise.
func (a np) sq(lm libm) np {
	if a.k == npF32 {
		return np{float64(float32(a.v * a.v)), npF32}
	}
	return np{lm.Sq(a.v), a.k}
}

// checkGoldenFile compares got with testdata/<name> (go test -update
// rewrites the file), reporting the first lines that differ.
func checkGoldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
	bad := 0
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
			if bad++; bad == 5 {
				t.Fatalf("%s: more lines differ", path)
			}
		}
	}
}

// goldenTrajectory resets env (made with envs.Make) with seed 42 and steps
// it with actions, stopping early if the episode ends, and writes each
// transition as a golden-file line.
func goldenTrajectory(t *testing.T, id, header string, actions []envs.Action, fmtAction func(envs.Action) string) string {
	t.Helper()
	env, err := envs.Make(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: Reset(seed 42), then the actions below (go test -update rewrites this file)\n", id)
	fmt.Fprintf(&b, "# step action | %s | reward terminated truncated\n", header)
	obs, _, err := env.Reset(envs.Seed(42))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "0 - | %s | - - -\n", fmtObs(obs))
	for i, a := range actions {
		r, err := env.Step(a)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %s | %s | %s %v %v\n", i+1, fmtAction(a), fmtObs(r.Obs),
			strconv.FormatFloat(r.Reward, 'g', -1, 64), r.Terminated, r.Truncated)
		if r.Done() {
			break
		}
	}
	return b.String()
}

func fmtDiscrete(a envs.Action) string { return strconv.Itoa(a.Discrete) }

func fmtContinuous(a envs.Action) string { return fmtObs(a.Continuous) }

// checkResetSeeding checks Gymnasium's seeding contract: the same seed gives
// the same first observation on any env, Reset(nil) continues the stream,
// and different seeds give different states.
func checkResetSeeding(t *testing.T, newEnv func() envs.Env) {
	t.Helper()
	reset := func(e envs.Env, seed *uint64) string {
		t.Helper()
		obs, _, err := e.Reset(seed)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(obs)
	}
	a, b := newEnv(), newEnv()
	for _, seed := range []uint64{0, 1, 42, 1 << 40} {
		oa, ob := reset(a, envs.Seed(seed)), reset(b, envs.Seed(seed))
		if oa != ob {
			t.Errorf("Reset(%d) = %v on one env and %v on another; want equal", seed, oa, ob)
		}
		next := reset(a, nil)
		if again := reset(a, envs.Seed(seed)); again != oa {
			t.Errorf("Reset(%d) again = %v; want %v", seed, again, oa)
		}
		if nextAgain := reset(a, nil); nextAgain != next {
			t.Errorf("Reset(nil) after Reset(%d) = %v; want %v as before", seed, nextAgain, next)
		}
		if next == oa {
			t.Errorf("Reset(nil) after Reset(%d) = %v; want a new state", seed, next)
		}
	}
	seen := map[string]uint64{}
	for seed := range uint64(100) {
		o := reset(a, envs.Seed(seed))
		if prev, ok := seen[o]; ok {
			t.Errorf("Reset(%d) = Reset(%d) = %v; want different seeds to give different states", seed, prev, o)
		}
		seen[o] = seed
	}
}

// checkObsInSpace runs seeded episodes of env with actions drawn from its
// action space (widened by sample when given) and checks that every
// observation lies in the observation space and every reward is finite.
func checkObsInSpace(t *testing.T, env envs.Env, episodes, steps int, sample func(rng *rand.Rand) envs.Action) {
	t.Helper()
	box := env.ObservationSpace().(*envs.Box)
	rng := envs.NewRand(5, 0)
	for ep := range episodes {
		obs, _, err := env.Reset(envs.Seed(uint64(ep)))
		if err != nil {
			t.Fatal(err)
		}
		if !box.Contains(obs) {
			t.Fatalf("episode %d: Reset obs %v not in %v", ep, obs, box)
		}
		for step := 1; step <= steps; step++ {
			a := env.ActionSpace().SampleAction(rng)
			if sample != nil {
				a = sample(rng)
			}
			r, err := env.Step(a)
			if err != nil {
				t.Fatal(err)
			}
			if !box.Contains(r.Obs) {
				t.Fatalf("episode %d step %d: obs %v not in %v", ep, step, r.Obs, box)
			}
			if math.IsNaN(r.Reward) || math.IsInf(r.Reward, 0) {
				t.Fatalf("episode %d step %d: reward %v", ep, step, r.Reward)
			}
			if r.Terminated {
				break
			}
		}
	}
}

// checkMake checks id's registration (episode limit and reward threshold)
// and that envs.Make wraps the env in a TimeLimit that truncates, and only
// truncates, the step that reaches the limit when action never terminates
// the episode from a reset state. It returns the unwrapped env.
func checkMake(t *testing.T, id string, limit int, threshold float64, hasThreshold bool, action envs.Action) envs.Env {
	t.Helper()
	spec, err := envs.Lookup(id)
	if err != nil {
		t.Fatalf("Lookup(%s) error: %v", id, err)
	}
	if spec.MaxEpisodeSteps != limit || spec.HasThreshold != hasThreshold || spec.RewardThreshold != threshold {
		t.Errorf("Lookup(%s) = MaxEpisodeSteps %d, RewardThreshold %v (set %v); want %d, %v (%v)",
			id, spec.MaxEpisodeSteps, spec.RewardThreshold, spec.HasThreshold, limit, threshold, hasThreshold)
	}
	if spec.Description == "" {
		t.Errorf("Lookup(%s).Description is empty", id)
	}
	env, err := envs.Make(id, nil)
	if err != nil {
		t.Fatalf("Make(%s) error: %v", id, err)
	}
	tl, ok := env.(*envs.TimeLimit)
	if !ok || tl.MaxSteps != limit {
		t.Fatalf("Make(%s) = %T %+v; want a *envs.TimeLimit of %d steps", id, env, env, limit)
	}
	for episode := range 2 {
		if _, _, err := env.Reset(envs.Seed(uint64(episode))); err != nil {
			t.Fatal(err)
		}
		for step := 1; step <= limit; step++ {
			r, err := env.Step(action)
			if err != nil {
				t.Fatalf("episode %d: Step %d error: %v", episode, step, err)
			}
			if r.Terminated {
				t.Fatalf("episode %d: Step %d: Terminated = true; want false", episode, step)
			}
			if want := step == limit; r.Truncated != want {
				t.Fatalf("episode %d: Step %d: Truncated = %v; want %v", episode, step, r.Truncated, want)
			}
		}
	}
	short, err := envs.Make(id, envs.Options{envs.MaxEpisodeStepsOption: 7})
	if err != nil {
		t.Fatalf("Make(%s, max_episode_steps=7) error: %v", id, err)
	}
	if tl, ok := short.(*envs.TimeLimit); !ok || tl.MaxSteps != 7 {
		t.Errorf("Make(%s, max_episode_steps=7) = %T %+v; want a *envs.TimeLimit of 7 steps", id, short, short)
	}
	if _, err := envs.Make(id, envs.Options{"no_such_option": 7}); err == nil {
		t.Errorf("Make(%s, no_such_option=7) error = nil; want an unknown-option error", id)
	}
	return envs.Unwrapped(env)
}

// checkBoxSpace checks that space is a flat *envs.Box with exactly these bounds.
func checkBoxSpace(t *testing.T, what string, space envs.Space, low, high []float32) {
	t.Helper()
	box, ok := space.(*envs.Box)
	if !ok {
		t.Fatalf("%s = %v; want a *envs.Box", what, space)
	}
	if got := box.Shape(); len(got) != 1 || got[0] != len(low) {
		t.Errorf("%s.Shape() = %v; want [%d]", what, got, len(low))
	}
	if fmt.Sprint(box.Low) != fmt.Sprint(low) || fmt.Sprint(box.High) != fmt.Sprint(high) {
		t.Errorf("%s = %v; want Box(%v, %v)", what, box, low, high)
	}
	for i := range low {
		if box.Low[i] != low[i] || box.High[i] != high[i] {
			t.Errorf("%s bounds[%d] = [%v, %v]; want [%v, %v] exactly", what, i, box.Low[i], box.High[i], low[i], high[i])
		}
	}
}

// ulps32 is how many float32 steps apart a and b are (both finite).
func ulps32(a, b float32) int64 {
	// Map the bits onto a line on which adjacent floats are adjacent integers.
	line := func(x float32) int64 {
		b := int64(math.Float32bits(x))
		if b&0x80000000 != 0 {
			return -(b & 0x7fffffff)
		}
		return b
	}
	d := line(a) - line(b)
	if d < 0 {
		return -d
	}
	return d
}
