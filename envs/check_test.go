package envs_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic"
)

// checkFault is a way for walkEnv to break the Env contract.
type checkFault string

const (
	faultNone             checkFault = ""
	faultObsLen           checkFault = "obs-len"           // Step returns 2 values of 3
	faultNaNObs           checkFault = "nan-obs"           // observation[1] = NaN on step 5
	faultObsBounds        checkFault = "obs-bounds"        // observation[0] = 5 > 1 on step 3
	faultResetBounds      checkFault = "reset-bounds"      // reset observation[2] = -2
	faultNonDeterministic checkFault = "nondeterministic"  // Reset(seed) seeds from a global counter
	faultNilStream        checkFault = "nil-stream"        // Reset(nil) draws from an unseeded source
	faultPanicStep        checkFault = "panic-step"        // Step panics on step 3
	faultResetErr         checkFault = "reset-error"       // Reset fails
	faultStepErr          checkFault = "step-error"        // Step fails on step 7
	faultInfReward        checkFault = "inf-reward"        // reward +Inf on step 4
	faultNaNReward        checkFault = "nan-reward"        // reward NaN on step 4
	faultNilActionSpace   checkFault = "nil-action-space"  // ActionSpace returns nil
	faultZeroActions      checkFault = "zero-actions"      // Discrete{N: 0}
	faultLowAboveHigh     checkFault = "low-above-high"    // observation Box with Low > High
	faultNaNBound         checkFault = "nan-bound"         // observation Box with a NaN bound
	faultEmptyBox         checkFault = "empty-box"         // observation Box with no elements
	faultDiscreteObs      checkFault = "discrete-obs"      // observation space Discrete
	faultSpacePanic       checkFault = "space-panic"       // ObservationSpace panics
	faultLimitTerminated  checkFault = "limit-terminated"  // a 20-step time limit reported as Terminated
	faultNeverEnds        checkFault = "never-ends"        // no terminal state, no time limit
	faultSeedIgnored      checkFault = "seed-ignored"      // no randomness at all
	faultNilReseeds       checkFault = "nil-reseeds"       // Reset(nil) reseeds with the last seed
	faultActionPanic      checkFault = "action-panic"      // Step indexes a table with the action
	faultActionAccepted   checkFault = "action-accepted"   // Step accepts any action
	faultFreshObs         checkFault = "fresh-obs"         // not a fault: a new slice every call
	faultUnboundedActions checkFault = "unbounded-actions" // Box action space with infinite bounds
)

var globalSeeds uint64 // faultNonDeterministic's source

// walkEnv is a small well-behaved env, unless fault says otherwise: a
// noisy 1-D walk in (-1, 1) that terminates past ±0.9. Observations are
// (x, t/100, last action), Discrete(2) actions push left or right.
type walkEnv struct {
	fault    checkFault
	rng      *rand.Rand
	lastSeed uint64
	x        float64
	t        int
	steps    int
	obs      []float32
	act      float32
}

func newWalkEnv(fault checkFault) *walkEnv {
	return &walkEnv{fault: fault, rng: envs.NewRand(99, 0), obs: make([]float32, 3)}
}

func (w *walkEnv) ObservationSpace() envs.Space {
	switch w.fault {
	case faultLowAboveHigh:
		return &envs.Box{Low: []float32{-1, 2, -1}, High: []float32{1, 1, 1}}
	case faultNaNBound:
		b := envs.UniformBox(3, -1, 1)
		b.High[2] = float32(math.NaN())
		return b
	case faultEmptyBox:
		return envs.UniformBox(0, -1, 1)
	case faultDiscreteObs:
		return envs.Discrete{N: 3}
	case faultSpacePanic:
		panic("no space today")
	}
	return envs.UniformBox(3, -1, 1)
}

func (w *walkEnv) ActionSpace() envs.Space {
	switch w.fault {
	case faultNilActionSpace:
		return nil
	case faultZeroActions:
		return envs.Discrete{N: 0}
	case faultUnboundedActions:
		return envs.UniformBox(1, float32(math.Inf(-1)), float32(math.Inf(1)))
	}
	return envs.Discrete{N: 2}
}

func (w *walkEnv) observe() []float32 {
	if w.fault == faultFreshObs {
		return []float32{float32(w.x), float32(min(w.t, 100)) / 100, w.act}
	}
	w.obs[0], w.obs[1], w.obs[2] = float32(w.x), float32(min(w.t, 100))/100, w.act
	return w.obs
}

func (w *walkEnv) Reset(seed *uint64) ([]float32, envs.Info, error) {
	if w.fault == faultResetErr {
		return nil, nil, errors.New("the walk is closed")
	}
	switch {
	case w.fault == faultNonDeterministic:
		globalSeeds++
		w.rng = envs.NewRand(globalSeeds, 0)
	case seed != nil:
		w.rng = envs.NewRand(*seed, 0)
		w.lastSeed = *seed
	case w.fault == faultNilStream:
		globalSeeds++
		w.rng = envs.NewRand(globalSeeds, 1)
	case w.fault == faultNilReseeds:
		w.rng = envs.NewRand(w.lastSeed, 0)
	}
	w.x, w.t, w.act = 0.5*(w.rng.Float64()-0.5), 0, 0
	if w.fault == faultSeedIgnored {
		w.x = 0
	}
	obs := w.observe()
	if w.fault == faultResetBounds {
		obs[2] = -2
	}
	return obs, nil, nil
}

func (w *walkEnv) Step(a envs.Action) (envs.StepResult, error) {
	w.steps++
	w.t++
	switch w.fault {
	case faultActionPanic:
		w.act = [2]float32{-1, 1}[a.Discrete]
	case faultActionAccepted:
		w.act = float32(a.Discrete)
	case faultUnboundedActions:
		if len(a.Continuous) != 1 {
			return envs.StepResult{}, fmt.Errorf("walk: %w", envs.ErrInvalidAction)
		}
		w.act = float32(math.Tanh(float64(a.Continuous[0])))
	default:
		if err := envs.CheckDiscreteAction(a, 2); err != nil {
			return envs.StepResult{}, fmt.Errorf("walk: %w", err)
		}
		w.act = float32(2*a.Discrete - 1)
	}
	noise := 0.01 * w.rng.NormFloat64()
	if w.fault == faultSeedIgnored {
		noise = 0
	}
	w.x += 0.1*float64(w.act) + noise
	r := envs.StepResult{Reward: 1, Terminated: math.Abs(w.x) > 0.9}
	switch w.fault {
	case faultLimitTerminated:
		w.x = max(min(w.x, 0.5), -0.5)
		r.Terminated = w.t >= 20
	case faultNeverEnds:
		w.x = max(min(w.x, 0.5), -0.5)
		r.Terminated = false
	}
	r.Obs = w.observe()
	switch {
	case w.fault == faultObsLen:
		r.Obs = r.Obs[:2]
	case w.fault == faultNaNObs && w.steps == 5:
		r.Obs[1] = float32(math.NaN())
	case w.fault == faultObsBounds && w.steps == 3:
		r.Obs[0] = 5
	case w.fault == faultPanicStep && w.steps == 3:
		panic("walk fell over")
	case w.fault == faultStepErr && w.steps == 7:
		return envs.StepResult{}, errors.New("walk: lost the path")
	case w.fault == faultInfReward && w.steps == 4:
		r.Reward = math.Inf(1)
	case w.fault == faultNaNReward && w.steps == 4:
		r.Reward = math.NaN()
	}
	return r, nil
}

func (w *walkEnv) Close() error { return nil }

// limited wraps a walkEnv in a 50-step TimeLimit, unless the fault is
// about time limits.
func limited(fault checkFault) envs.Env {
	w := newWalkEnv(fault)
	if fault == faultLimitTerminated || fault == faultNeverEnds {
		return w
	}
	return envs.NewTimeLimit(w, 50)
}

// dropTruncated is a broken wrapper that hides Truncated.
type dropTruncated struct{ envs.Env }

func (d dropTruncated) Step(a envs.Action) (envs.StepResult, error) {
	r, err := d.Env.Step(a)
	r.Truncated = false
	return r, err
}
func (d dropTruncated) Unwrap() envs.Env { return d.Env }

func problemsString(r *envs.CheckReport) string {
	if len(r.Problems) == 0 {
		return "(none)"
	}
	return "\n" + r.String()
}

func TestCheckBuiltinEnvsPassCleanly(t *testing.T) {
	for _, id := range []string{"CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"} {
		t.Run(id, func(t *testing.T) {
			env, err := envs.Make(id, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer env.Close()
			r := envs.Check(env)
			if len(r.Problems) != 0 {
				t.Errorf("Check(%s) found problems:%s", id, problemsString(r))
			}
			if r.Steps != envs.DefaultCheckSteps || r.Episodes == 0 {
				t.Errorf("Check(%s) took %d steps and %d episodes, want %d steps and some episodes", id, r.Steps, r.Episodes, envs.DefaultCheckSteps)
			}
		})
	}
}

func TestCheckWellBehavedFakes(t *testing.T) {
	// faultNone reuses one observation buffer, as the contract allows;
	// faultFreshObs allocates a new one every call.
	for _, fault := range []checkFault{faultNone, faultFreshObs} {
		t.Run(string(fault)+"ok", func(t *testing.T) {
			r := envs.Check(limited(fault), envs.CheckSteps(300), envs.CheckSeed(7))
			if len(r.Problems) != 0 {
				t.Errorf("Check found problems:%s", problemsString(r))
			}
		})
	}
}

func TestCheckFindsEachFault(t *testing.T) {
	tests := []struct {
		fault    checkFault
		severity envs.Severity
		check    string
		msg      string // a substring of the problem's message
	}{
		{faultObsLen, envs.SeverityError, "observation-length", "observation of 2 values; the observation space has 3"},
		{faultNaNObs, envs.SeverityError, "observation-finite", "observation[1] = NaN"},
		{faultObsBounds, envs.SeverityError, "observation-bounds", "observation[0] = 5, outside the observation space's [-1, 1]"},
		{faultResetBounds, envs.SeverityError, "observation-bounds", "Reset(seed=0) returned observation[2] = -2"},
		{faultNonDeterministic, envs.SeverityError, "determinism", "not deterministic under a seed"},
		{faultNilStream, envs.SeverityError, "determinism", "Reset(nil) does not continue the seeded random stream"},
		{faultPanicStep, envs.SeverityError, "step", "panicked: walk fell over"},
		{faultStepErr, envs.SeverityError, "step", "returned an error: walk: lost the path"},
		{faultResetErr, envs.SeverityError, "reset", "Reset(seed=0) returned an error: the walk is closed"},
		{faultInfReward, envs.SeverityError, "reward-finite", "reward +Inf"},
		{faultNaNReward, envs.SeverityError, "reward-finite", "reward NaN"},
		{faultNilActionSpace, envs.SeverityError, "action-space", "ActionSpace returned nil"},
		{faultZeroActions, envs.SeverityError, "action-space", "N = 0"},
		{faultLowAboveHigh, envs.SeverityError, "observation-space", "element 1 has Low 2 > High 1"},
		{faultNaNBound, envs.SeverityError, "observation-space", "element 2 is NaN"},
		{faultEmptyBox, envs.SeverityError, "observation-space", "Box is empty"},
		{faultDiscreteObs, envs.SeverityError, "observation-space", "need a *Box"},
		{faultSpacePanic, envs.SeverityError, "observation-space", "ObservationSpace panicked: no space today"},
		{faultLimitTerminated, envs.SeverityWarning, "truncation", "Terminated after exactly 20 steps"},
		{faultNeverEnds, envs.SeverityWarning, "episode-end", "no episode ended within 300 random steps"},
		{faultSeedIgnored, envs.SeverityWarning, "seed", "the seed changes nothing"},
		{faultNilReseeds, envs.SeverityWarning, "reset-nil", "should continue the random stream"},
		{faultActionPanic, envs.SeverityError, "invalid-action", "Step panicked on the out-of-range Discrete action 2"},
		{faultActionAccepted, envs.SeverityWarning, "invalid-action", "accepted the out-of-range Discrete action 2"},
		{faultUnboundedActions, envs.SeverityWarning, "action-space", "unbounded"},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			var r *envs.CheckReport
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Fatalf("Check panicked: %v", v)
					}
				}()
				r = envs.Check(limited(tt.fault), envs.CheckSteps(300))
			}()
			found := false
			for _, p := range r.Problems {
				if p.Check == tt.check && p.Severity == tt.severity && strings.Contains(p.Msg, tt.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("Check did not report %s %s %q; it reported:%s", tt.severity, tt.check, tt.msg, problemsString(r))
			}
			if got, want := r.OK(), tt.severity == envs.SeverityWarning; got != want {
				t.Errorf("OK() = %v, want %v; problems:%s", got, want, problemsString(r))
			}
		})
	}
}

func TestCheckDroppedTruncation(t *testing.T) {
	w := newWalkEnv(faultNeverEnds)
	env := dropTruncated{envs.NewTimeLimit(w, 30)}
	r := envs.Check(env, envs.CheckSteps(100))
	found := false
	for _, p := range r.Problems {
		if p.Check == "time-limit" && p.Severity == envs.SeverityError && strings.Contains(p.Msg, "TimeLimit of 30 steps") {
			found = true
		}
	}
	if !found {
		t.Errorf("Check did not report the dropped truncation; it reported:%s", problemsString(r))
	}
}

func TestCheckCountsRepeats(t *testing.T) {
	r := envs.Check(limited(faultObsLen), envs.CheckSteps(10))
	if len(r.Problems) == 0 || r.Problems[0].Check != "observation-length" {
		t.Fatalf("problems:%s", problemsString(r))
	}
	if !strings.HasSuffix(r.Problems[0].Msg, "(10 times in all)") {
		t.Errorf("message %q does not count the 10 repeats", r.Problems[0].Msg)
	}
	if got := r.Errors(); got != 1 {
		t.Errorf("Errors() = %d, want 1 (repeats reported once); problems:%s", got, problemsString(r))
	}
}

func TestCheckWrappedEnv(t *testing.T) {
	env, err := envs.Make("CartPole-v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := envs.NewFrameStack(envs.NewEpisodeStatistics(env), 3, envs.PadReset)
	if err != nil {
		t.Fatal(err)
	}
	if r := envs.Check(fs); len(r.Problems) != 0 {
		t.Errorf("Check(FrameStack(EpisodeStatistics(CartPole))) found problems:%s", problemsString(r))
	}
	pend, err := envs.Make("Pendulum-v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := envs.NewClipAction(pend)
	if err != nil {
		t.Fatal(err)
	}
	if r := envs.Check(ca); len(r.Problems) != 0 {
		t.Errorf("Check(ClipAction(Pendulum)) found problems:%s", problemsString(r))
	}
}
