package envs

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Severity says whether a Problem breaks the Env contract or only looks
// suspicious.
type Severity int

const (
	// SeverityError is a violation of the Env contract: training on the env
	// would fail or learn from wrong data.
	SeverityError Severity = iota
	// SeverityWarning is something that is often a mistake but may be
	// intended (an episode that never ends, a seed that changes nothing).
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Problem is one finding of Check.
type Problem struct {
	Severity Severity
	// Check names the rule, e.g. "observation-bounds" or "determinism".
	Check string
	// Msg says what went wrong in plain words.
	Msg string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s: %s", p.Severity, p.Check, p.Msg) }

// CheckReport is the result of Check.
type CheckReport struct {
	// Problems lists every finding, in the order found. A rule that fails
	// many times is reported once, with the count.
	Problems []Problem
	// Steps and Episodes count the steps taken and episodes finished in the
	// main random rollout.
	Steps, Episodes int
}

// Errors returns the number of problems of SeverityError.
func (r *CheckReport) Errors() int { return r.count(SeverityError) }

// Warnings returns the number of problems of SeverityWarning.
func (r *CheckReport) Warnings() int { return r.count(SeverityWarning) }

// OK reports whether the env passed: no errors (warnings allowed).
func (r *CheckReport) OK() bool { return r.Errors() == 0 }

func (r *CheckReport) count(s Severity) int {
	n := 0
	for _, p := range r.Problems {
		if p.Severity == s {
			n++
		}
	}
	return n
}

// String lists the problems one per line.
func (r *CheckReport) String() string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// CheckOption configures Check.
type CheckOption func(*checkConfig)

type checkConfig struct {
	steps int
	seed  uint64
}

// DefaultCheckSteps is the length of Check's random rollout.
const DefaultCheckSteps = 1000

// CheckSteps sets the number of random steps Check takes (default 1000).
// The rollout is replayed for the determinism checks, so Check steps the
// env about twice as many times.
func CheckSteps(n int) CheckOption { return func(c *checkConfig) { c.steps = max(n, 1) } }

// CheckSeed sets the seed Check resets the env with and draws its random
// actions from (default 0).
func CheckSeed(s uint64) CheckOption { return func(c *checkConfig) { c.seed = s } }

// Check exercises env as a trainer would and reports every way it breaks
// the Env contract, like Stable-Baselines3's check_env:
//
//   - the spaces are well formed: the observation space a non-empty *Box
//     with Low ≤ High and no NaN bound (±Inf is fine), the action space
//     Discrete with N ≥ 1 or a well-formed *Box;
//   - Reset and Step return observations of the space's length, inside its
//     bounds and free of NaN and Inf, and finite rewards;
//   - Reset(seed) makes the env deterministic: replaying the same actions
//     after the same seed gives the same observations, rewards and flags,
//     and so do the Reset(nil) calls that follow (they continue the seeded
//     stream); a different seed should give a different trajectory (a
//     warning if not: fine for an env without randomness);
//   - episodes end: within the TimeLimit when the env is wrapped in one;
//     a warning when none ends within the rollout, or when every episode
//     is Terminated after the same number of steps (a time limit reported
//     as Terminated instead of Truncated stops learners from bootstrapping);
//   - invalid actions (a Discrete index out of range, a Box action of the
//     wrong length) are returned as errors, not panics (a warning when
//     they are accepted);
//   - errors and panics from any method are reported, never propagated.
//
// The env may reuse its observation buffer (the contract allows it): Check
// copies what it keeps. Check resets and steps env but does not close it.
func Check(env Env, opts ...CheckOption) *CheckReport {
	cfg := checkConfig{steps: DefaultCheckSteps}
	for _, o := range opts {
		o(&cfg)
	}
	c := &checker{env: env, cfg: cfg, report: &CheckReport{}, seen: map[string]int{}}
	c.run()
	c.finish()
	return c.report
}

type checker struct {
	env    Env
	cfg    checkConfig
	report *CheckReport
	seen   map[string]int // dedupe key → index in report.Problems
	counts []int          // occurrences, parallel to report.Problems

	obs *Box
	act Space
	rng *rand.Rand // the random actions
}

// add reports a problem once per key, counting repeats.
func (c *checker) add(sev Severity, check, key, msg string) {
	if key != "" {
		if i, ok := c.seen[check+"/"+key]; ok {
			c.counts[i]++
			return
		}
		c.seen[check+"/"+key] = len(c.report.Problems)
	}
	c.report.Problems = append(c.report.Problems, Problem{Severity: sev, Check: check, Msg: msg})
	c.counts = append(c.counts, 1)
}

func (c *checker) errorf(check, key, format string, args ...any) {
	c.add(SeverityError, check, key, fmt.Sprintf(format, args...))
}

func (c *checker) warnf(check, key, format string, args ...any) {
	c.add(SeverityWarning, check, key, fmt.Sprintf(format, args...))
}

func (c *checker) finish() {
	for i, n := range c.counts {
		if n > 1 {
			c.report.Problems[i].Msg += fmt.Sprintf(" (%d times in all)", n)
		}
	}
}

// errPanic wraps the value of a recovered panic.
type errPanic struct{ v any }

func (e errPanic) Error() string { return fmt.Sprintf("panic: %v", e.v) }

// safely calls f, turning a panic into an errPanic.
func safely(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errPanic{v}
		}
	}()
	return f()
}

// failure describes a method's error or panic.
func failure(method string, err error) string {
	var p errPanic
	if errors.As(err, &p) {
		return fmt.Sprintf("%s panicked: %v (return an error instead)", method, p.v)
	}
	return fmt.Sprintf("%s returned an error: %v", method, err)
}

func (c *checker) run() {
	if !c.checkSpaces() {
		return
	}
	traj, ok := c.rollout()
	if !ok {
		return
	}
	c.checkEpisodes(traj)
	c.checkDeterminism(traj)
	c.checkSeedMatters(traj)
	c.checkResetNil()
	c.checkInvalidActions()
}

// ---------------------------------------------------------------------------
// Spaces

func (c *checker) checkSpaces() bool {
	var obsSpace, actSpace Space
	if err := safely(func() error { obsSpace = c.env.ObservationSpace(); return nil }); err != nil {
		c.errorf("observation-space", "", "%s", failure("ObservationSpace", err))
		return false
	}
	if err := safely(func() error { actSpace = c.env.ActionSpace(); return nil }); err != nil {
		c.errorf("action-space", "", "%s", failure("ActionSpace", err))
		return false
	}
	ok := true
	switch s := obsSpace.(type) {
	case nil:
		c.errorf("observation-space", "", "ObservationSpace returned nil; return a *Box")
		ok = false
	case *Box:
		if s == nil {
			c.errorf("observation-space", "", "ObservationSpace returned a nil *Box")
			ok = false
		} else if !c.checkBox("observation-space", s) {
			ok = false
		} else {
			c.obs = s
		}
	default:
		c.errorf("observation-space", "", "observation space %v is a %T; rlgo's learners need a *Box (flatten other observations into one)", obsSpace, obsSpace)
		ok = false
	}
	switch s := actSpace.(type) {
	case nil:
		c.errorf("action-space", "", "ActionSpace returned nil; return a Discrete or a *Box")
		ok = false
	case Discrete:
		if s.N < 1 {
			c.errorf("action-space", "", "Discrete action space has N = %d; it needs at least one action", s.N)
			ok = false
		}
	case *Box:
		if s == nil {
			c.errorf("action-space", "", "ActionSpace returned a nil *Box")
			ok = false
		} else if !c.checkBox("action-space", s) {
			ok = false
		} else {
			for i := range s.Low {
				if math.IsInf(float64(s.Low[i]), 0) || math.IsInf(float64(s.High[i]), 0) {
					c.warnf("action-space", "", "Box action space is unbounded in element %d ([%v, %v]); give continuous actions finite bounds so that policies can scale and clip them", i, s.Low[i], s.High[i])
					break
				}
			}
		}
	default:
		c.errorf("action-space", "", "action space %v is a %T; rlgo supports Discrete and *Box action spaces", actSpace, actSpace)
		ok = false
	}
	c.act = actSpace
	return ok
}

// checkBox reports a malformed Box and returns whether it is usable.
func (c *checker) checkBox(check string, b *Box) bool {
	ok := true
	if len(b.Low) != len(b.High) {
		c.errorf(check, "", "Box has %d lower bounds but %d upper bounds", len(b.Low), len(b.High))
		return false
	}
	if len(b.Low) == 0 {
		c.errorf(check, "", "Box is empty (no elements)")
		return false
	}
	if b.Dims != nil {
		n := 1
		for _, d := range b.Dims {
			if d < 1 {
				n = -1
				break
			}
			n *= d
		}
		if n != len(b.Low) {
			c.errorf(check, "", "Box shape %v does not hold its %d elements", b.Dims, len(b.Low))
			ok = false
		}
	}
	for i := range b.Low {
		lo, hi := float64(b.Low[i]), float64(b.High[i])
		switch {
		case math.IsNaN(lo) || math.IsNaN(hi):
			c.errorf(check, "nan-bound", "Box bound of element %d is NaN ([%v, %v]); use ±Inf for an unbounded element", i, lo, hi)
			ok = false
		case lo > hi:
			c.errorf(check, "low>high", "Box element %d has Low %v > High %v", i, lo, hi)
			ok = false
		case math.IsInf(lo, 1) || math.IsInf(hi, -1):
			c.errorf(check, "inf-bound", "Box element %d has bounds [%v, %v], which contain no number", i, lo, hi)
			ok = false
		}
	}
	return ok
}

// ---------------------------------------------------------------------------
// Observations and rewards

// checkObs reports a bad observation; where says when it came ("Reset(seed=0)", "step 12").
func (c *checker) checkObs(kind, where string, obs []float32) {
	if len(obs) != c.obs.Size() {
		c.errorf("observation-length", kind, "%s returned an observation of %d values; the observation space has %d", where, len(obs), c.obs.Size())
		return
	}
	for i, v := range obs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			c.errorf("observation-finite", kind, "%s returned observation[%d] = %v; observations must be finite", where, i, v)
			return
		}
	}
	for i, v := range obs {
		if v < c.obs.Low[i] || v > c.obs.High[i] {
			c.errorf("observation-bounds", kind, "%s returned observation[%d] = %v, outside the observation space's [%v, %v]", where, i, v, c.obs.Low[i], c.obs.High[i])
			return
		}
	}
}

func (c *checker) checkReward(where string, r float64) {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		c.errorf("reward-finite", "", "%s returned reward %v; rewards must be finite", where, r)
	}
}

// ---------------------------------------------------------------------------
// The random rollout

// transition is what Check keeps of one Reset or Step, copied.
type transition struct {
	reset      bool // a Reset; seed is nil for Reset(nil)
	seed       *uint64
	action     Action
	obs        []float32
	reward     float64
	terminated bool
	truncated  bool
	length     int // steps into the episode (0 for a Reset)
}

// rollout resets with the seed and takes cfg.steps random actions,
// resetting with Reset(nil) whenever an episode ends. It returns the
// transitions and whether the env got through without an error or panic.
func (c *checker) rollout() ([]transition, bool) {
	c.rng = NewRand(c.cfg.seed, 0xc4ec)
	seed := c.cfg.seed
	var traj []transition
	obs, err := c.reset(&seed)
	where := fmt.Sprintf("Reset(seed=%d)", seed)
	if err != nil {
		c.errorf("reset", "", "%s", failure(where, err))
		return nil, false
	}
	c.checkObs("reset", where, obs)
	traj = append(traj, transition{reset: true, seed: &seed, obs: slices.Clone(obs)})
	tl, hasLimit := Find[*TimeLimit](c.env)
	length := 0
	for step := 1; step <= c.cfg.steps; step++ {
		a := cloneAction(c.act.SampleAction(c.rng))
		r, err := c.step(a)
		where := fmt.Sprintf("step %d (step %d of episode %d)", step, length+1, c.report.Episodes+1)
		if err != nil {
			c.errorf("step", "", "%s", failure("Step at "+where, err))
			return traj, false
		}
		length++
		c.report.Steps++
		c.checkObs("step", "Step at "+where, r.Obs)
		c.checkReward("Step at "+where, r.Reward)
		traj = append(traj, transition{action: a, obs: slices.Clone(r.Obs), reward: r.Reward, terminated: r.Terminated, truncated: r.Truncated, length: length})
		if hasLimit && length >= tl.MaxSteps && !r.Done() {
			c.errorf("time-limit", "", "the env is wrapped in a TimeLimit of %d steps, but step %d of an episode did not end it: a wrapper above the TimeLimit drops Truncated", tl.MaxSteps, length)
		}
		if !r.Done() {
			continue
		}
		c.report.Episodes++
		length = 0
		obs, err := c.reset(nil)
		if err != nil {
			c.errorf("reset", "", "%s", failure(fmt.Sprintf("Reset(nil) after episode %d", c.report.Episodes), err))
			return traj, false
		}
		c.checkObs("reset", "Reset(nil)", obs)
		traj = append(traj, transition{reset: true, obs: slices.Clone(obs)})
	}
	return traj, true
}

func cloneAction(a Action) Action {
	a.Continuous = slices.Clone(a.Continuous)
	return a
}

func (c *checker) reset(seed *uint64) (obs []float32, err error) {
	err = safely(func() error {
		var e error
		obs, _, e = c.env.Reset(seed)
		return e
	})
	return obs, err
}

func (c *checker) step(a Action) (r StepResult, err error) {
	// The env gets its own copy: it must not matter what the env does with it.
	a = cloneAction(a)
	err = safely(func() error {
		var e error
		r, e = c.env.Step(a)
		return e
	})
	return r, err
}

// ---------------------------------------------------------------------------
// Episodes

func (c *checker) checkEpisodes(traj []transition) {
	if c.report.Episodes == 0 {
		c.warnf("episode-end", "", "no episode ended within %d random steps: if the task has no terminal state, give it a time limit (Spec.MaxEpisodeSteps, or NewTimeLimit) so that episodes end Truncated", c.cfg.steps)
		return
	}
	// Every episode Terminated after the same number of steps, whatever
	// the actions: that looks like a time limit reported as termination.
	var lengths []int
	allTerminated := true
	for _, t := range traj {
		if t.reset || !(t.terminated || t.truncated) {
			continue
		}
		if !t.terminated || t.truncated {
			allTerminated = false
			break
		}
		lengths = append(lengths, t.length)
	}
	if allTerminated && len(lengths) >= 3 && lengths[0] > 1 && !slices.ContainsFunc(lengths, func(l int) bool { return l != lengths[0] }) {
		c.warnf("truncation", "", "all %d episodes ended Terminated after exactly %d steps whatever the actions: if that is a time limit, report it as Truncated (Terminated means a terminal state of the task, whose value is zero; learners bootstrap the value of a Truncated episode's last state)", len(lengths), lengths[0])
	}
}

// ---------------------------------------------------------------------------
// Determinism

func sameObs(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameReward(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

// replay resets env with seed and replays traj's actions and Reset(nil)s,
// calling visit with each transition of traj and the replay's counterpart
// until visit returns false. It returns false if the env failed.
func (c *checker) replay(seed uint64, traj []transition, visit func(i int, want, got transition) bool) bool {
	for i, t := range traj {
		var got transition
		if t.reset {
			s := t.seed
			if s != nil {
				s = &seed
			}
			obs, err := c.reset(s)
			if err != nil {
				c.errorf("determinism", "", "%s", failure("Reset during the replay", err))
				return false
			}
			got = transition{reset: true, seed: s, obs: obs}
		} else {
			r, err := c.step(t.action)
			if err != nil {
				c.errorf("determinism", "", "%s", failure("Step during the replay", err))
				return false
			}
			got = transition{action: t.action, obs: r.Obs, reward: r.Reward, terminated: r.Terminated, truncated: r.Truncated, length: t.length}
		}
		if !visit(i, t, got) {
			return true
		}
	}
	return true
}

func (c *checker) checkDeterminism(traj []transition) {
	episode, step := 1, 0
	c.replay(c.cfg.seed, traj, func(i int, want, got transition) bool {
		if want.reset && i > 0 {
			episode++
		}
		if !want.reset {
			step++
		}
		what := ""
		switch {
		case !sameObs(want.obs, got.obs):
			what = fmt.Sprintf("observation %v, then %v", want.obs, got.obs)
		case !want.reset && !sameReward(want.reward, got.reward):
			what = fmt.Sprintf("reward %v, then %v", want.reward, got.reward)
		case !want.reset && (want.terminated != got.terminated || want.truncated != got.truncated):
			what = fmt.Sprintf("terminated=%v truncated=%v, then terminated=%v truncated=%v", want.terminated, want.truncated, got.terminated, got.truncated)
		default:
			return true
		}
		at := fmt.Sprintf("step %d (episode %d)", step, episode)
		if want.reset {
			at = fmt.Sprintf("the reset of episode %d", episode)
		}
		if episode == 1 {
			c.errorf("determinism", "", "not deterministic under a seed: after Reset(seed=%d) and the same actions, %s gave %s (draw every random number from a source seeded in Reset, and keep no state across Reset)", c.cfg.seed, at, what)
		} else {
			c.errorf("determinism", "", "Reset(nil) does not continue the seeded random stream reproducibly: after Reset(seed=%d) and the same actions, %s gave %s (Reset(nil) must keep drawing from the source Reset(seed) seeded)", c.cfg.seed, at, what)
		}
		return false
	})
}

// checkSeedMatters warns when another seed gives the same first episode.
func (c *checker) checkSeedMatters(traj []transition) {
	same := true
	c.replay(c.cfg.seed+1, traj, func(i int, want, got transition) bool {
		if i > 0 && want.reset {
			return false // first episode only
		}
		if !sameObs(want.obs, got.obs) || (!want.reset && (!sameReward(want.reward, got.reward) || want.terminated != got.terminated || want.truncated != got.truncated)) {
			same = false
			return false
		}
		return true
	})
	if same {
		c.warnf("seed", "", "Reset(seed=%d) and Reset(seed=%d) gave the same first episode under the same actions: the seed changes nothing (fine for an env without randomness; otherwise seed the env's random source in Reset)", c.cfg.seed, c.cfg.seed+1)
	}
}

// checkResetNil warns when Reset(nil) restarts the seeded episode instead
// of drawing a new one, in an env whose reset depends on the seed.
func (c *checker) checkResetNil() {
	seed, other := c.cfg.seed, c.cfg.seed+1
	var first [4][]float32
	for i, s := range []*uint64{&seed, nil, nil, &other} {
		obs, err := c.reset(s)
		if err != nil {
			c.errorf("reset", "", "%s", failure("Reset", err))
			return
		}
		first[i] = slices.Clone(obs)
	}
	if !sameObs(first[0], first[3]) && sameObs(first[0], first[1]) && sameObs(first[0], first[2]) {
		c.warnf("reset-nil", "", "Reset(nil) after Reset(seed=%d) returned the seeded first observation again, twice, though the seed matters: Reset(nil) should continue the random stream, not reseed it", seed)
	}
}

// ---------------------------------------------------------------------------
// Invalid actions

func (c *checker) checkInvalidActions() {
	var bad Action
	var what string
	switch s := c.act.(type) {
	case Discrete:
		bad, what = DiscreteAction(s.N), fmt.Sprintf("the out-of-range Discrete action %d", s.N)
	case *Box:
		bad, what = ContinuousAction(make([]float32, s.Size()+1)...), fmt.Sprintf("a Box action of %d values (the space has %d)", s.Size()+1, s.Size())
	default:
		return
	}
	seed := c.cfg.seed
	if _, err := c.reset(&seed); err != nil {
		c.errorf("reset", "", "%s", failure("Reset", err))
		return
	}
	_, err := c.step(bad)
	var p errPanic
	switch {
	case errors.As(err, &p):
		c.errorf("invalid-action", "", "Step panicked on %s: %v (return an error wrapping envs.ErrInvalidAction instead)", what, p.v)
	case err == nil:
		c.warnf("invalid-action", "", "Step accepted %s without an error (return an error wrapping envs.ErrInvalidAction)", what)
	}
	// Leave the env in a clean state.
	_, _ = c.reset(&seed)
}
