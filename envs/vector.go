package envs

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
)

// Episode is the summary of one completed episode.
type Episode struct {
	// EnvIndex is the index of the sub-env in its VectorEnv.
	EnvIndex int
	// Return is the undiscounted sum of rewards (of the env inside any
	// reward-changing wrappers, when an EpisodeStatistics records it).
	Return float64
	// Length is the number of steps.
	Length int
	// Terminated and Truncated tell how it ended.
	Terminated, Truncated bool
}

// VectorStep is the result of one VectorEnv.Step. Its slices belong to the
// VectorEnv and are overwritten by the next Step.
type VectorStep struct {
	// Rewards, Terminated and Truncated have one entry per sub-env.
	Rewards    []float64
	Terminated []bool
	Truncated  []bool
	// FinalObs[i] is non-nil when sub-env i's episode ended on this step: it
	// is that episode's last observation (needed to bootstrap a truncated
	// episode's value), while Obs() already holds the next episode's first.
	FinalObs [][]float32
	// Infos[i] is sub-env i's step info (nil when the env gave none).
	Infos []Info
	// Episodes lists the episodes completed on this step, by sub-env index.
	Episodes []Episode
}

// VectorEnv steps n envs in lock step with same-step auto-reset
// (Gymnasium 0.29's SyncVectorEnv): when a sub-env's episode ends, its final
// observation goes to VectorStep.FinalObs and the sub-env is reset at once,
// so Obs always holds observations the policy can act on.
//
// Sub-env errors and panics are returned as *EnvError naming the sub-env and
// the step; the VectorEnv is then unusable until Reset.
type VectorEnv struct {
	envs   []Env
	dim    int
	obs    []float32
	final  [][]float32
	step   VectorStep
	ret    []float64
	length []int
	steps  int64
}

// EnvError is a failure (error, panic or non-finite observation or reward)
// of one sub-env of a VectorEnv.
type EnvError struct {
	// EnvIndex is the sub-env's index.
	EnvIndex int
	// Step is the vector step count at which it failed (0 during Reset).
	Step int64
	// Panicked reports that the env panicked rather than returned an error.
	Panicked bool
	// Err is the underlying error.
	Err error
}

func (e *EnvError) Error() string {
	what := "failed"
	if e.Panicked {
		what = "panicked"
	}
	return fmt.Sprintf("env %d %s at step %d: %v", e.EnvIndex, what, e.Step, e.Err)
}

func (e *EnvError) Unwrap() error { return e.Err }

// ErrNonFinite is wrapped by an EnvError for a NaN or Inf observation or reward.
var ErrNonFinite = errors.New("non-finite value")

// NewVectorEnv returns a VectorEnv over envs, which must be non-empty and
// share a flat Box observation space of one size.
func NewVectorEnv(envs []Env) (*VectorEnv, error) {
	if len(envs) == 0 {
		return nil, errors.New("vector env: no envs")
	}
	box, ok := envs[0].ObservationSpace().(*Box)
	if !ok {
		return nil, fmt.Errorf("vector env: observation space %v is not a Box", envs[0].ObservationSpace())
	}
	dim := box.Size()
	for i, e := range envs[1:] {
		b, ok := e.ObservationSpace().(*Box)
		if !ok || b.Size() != dim {
			return nil, fmt.Errorf("vector env: env %d observation space %v differs from env 0's %v", i+1, e.ObservationSpace(), box)
		}
	}
	n := len(envs)
	v := &VectorEnv{
		envs:   envs,
		dim:    dim,
		obs:    make([]float32, n*dim),
		final:  make([][]float32, n),
		ret:    make([]float64, n),
		length: make([]int, n),
	}
	for i := range v.final {
		v.final[i] = make([]float32, dim)
	}
	v.step = VectorStep{
		Rewards:    make([]float64, n),
		Terminated: make([]bool, n),
		Truncated:  make([]bool, n),
		FinalObs:   make([][]float32, n),
		Infos:      make([]Info, n),
	}
	return v, nil
}

// Len returns the number of sub-envs.
func (v *VectorEnv) Len() int { return len(v.envs) }

// ObsDim returns the size of one observation.
func (v *VectorEnv) ObsDim() int { return v.dim }

// Env returns sub-env i (for tests and wrappers that need it).
func (v *VectorEnv) Env(i int) Env { return v.envs[i] }

// Obs returns the current observations, sub-env i at [i*ObsDim():(i+1)*ObsDim()].
// The slice belongs to the VectorEnv.
func (v *VectorEnv) Obs() []float32 { return v.obs }

// Reset resets every sub-env, seeding sub-env i with seed+i as Gymnasium's
// vector envs do, and clears episode statistics.
func (v *VectorEnv) Reset(seed uint64) error {
	v.steps = 0
	for i := range v.envs {
		if err := v.resetOne(i, Seed(seed+uint64(i))); err != nil {
			return err
		}
	}
	return nil
}

// ResetEnv replaces sub-env i with env (a recreated one after a crash) and
// resets it with seed, dropping its unfinished episode.
func (v *VectorEnv) ResetEnv(i int, env Env, seed uint64) error {
	v.envs[i] = env
	return v.resetOne(i, Seed(seed))
}

func (v *VectorEnv) resetOne(i int, seed *uint64) (err error) {
	defer v.recoverEnv(i, &err)
	obs, _, err := v.envs[i].Reset(seed)
	if err != nil {
		return &EnvError{EnvIndex: i, Step: v.steps, Err: fmt.Errorf("reset: %w", err)}
	}
	if err := v.checkObs(i, obs); err != nil {
		return err
	}
	copy(v.obs[i*v.dim:], obs)
	v.ret[i], v.length[i] = 0, 0
	return nil
}

func (v *VectorEnv) recoverEnv(i int, err *error) {
	if r := recover(); r != nil {
		*err = &EnvError{EnvIndex: i, Step: v.steps, Panicked: true, Err: fmt.Errorf("%v\n%s", r, debug.Stack())}
	}
}

func (v *VectorEnv) checkObs(i int, obs []float32) error {
	if len(obs) != v.dim {
		return &EnvError{EnvIndex: i, Step: v.steps, Err: fmt.Errorf("observation has %d values, want %d", len(obs), v.dim)}
	}
	for j, x := range obs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return &EnvError{EnvIndex: i, Step: v.steps, Err: fmt.Errorf("observation[%d] = %v: %w", j, x, ErrNonFinite)}
		}
	}
	return nil
}

// Step applies actions[i] to sub-env i and auto-resets the sub-envs whose
// episodes ended. The returned VectorStep is valid until the next Step.
func (v *VectorEnv) Step(actions []Action) (*VectorStep, error) {
	if len(actions) != len(v.envs) {
		return nil, fmt.Errorf("vector env: %d actions for %d envs", len(actions), len(v.envs))
	}
	v.steps++
	s := &v.step
	s.Episodes = s.Episodes[:0]
	for i := range v.envs {
		if err := v.stepOne(i, actions[i]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (v *VectorEnv) stepOne(i int, a Action) (err error) {
	defer v.recoverEnv(i, &err)
	s := &v.step
	r, err := v.envs[i].Step(a)
	if err != nil {
		return &EnvError{EnvIndex: i, Step: v.steps, Err: err}
	}
	if err := v.checkObs(i, r.Obs); err != nil {
		return err
	}
	if math.IsNaN(r.Reward) || math.IsInf(r.Reward, 0) {
		return &EnvError{EnvIndex: i, Step: v.steps, Err: fmt.Errorf("reward = %v: %w", r.Reward, ErrNonFinite)}
	}
	s.Rewards[i], s.Terminated[i], s.Truncated[i], s.Infos[i] = r.Reward, r.Terminated, r.Truncated, r.Info
	v.ret[i] += r.Reward
	v.length[i]++
	if !r.Done() {
		s.FinalObs[i] = nil
		copy(v.obs[i*v.dim:], r.Obs)
		return nil
	}
	copy(v.final[i], r.Obs)
	s.FinalObs[i] = v.final[i]
	ep := Episode{EnvIndex: i, Return: v.ret[i], Length: v.length[i], Terminated: r.Terminated, Truncated: r.Truncated}
	if st, ok := r.Info[EpisodeInfoKey].(EpisodeStats); ok {
		// An EpisodeStatistics inside reward-changing wrappers saw the
		// env's own rewards: report those.
		ep.Return, ep.Length = st.Return, st.Length
	}
	s.Episodes = append(s.Episodes, ep)
	obs, _, err := v.envs[i].Reset(nil)
	if err != nil {
		return &EnvError{EnvIndex: i, Step: v.steps, Err: fmt.Errorf("auto-reset: %w", err)}
	}
	if err := v.checkObs(i, obs); err != nil {
		return err
	}
	copy(v.obs[i*v.dim:], obs)
	v.ret[i], v.length[i] = 0, 0
	return nil
}

// Close closes every sub-env and returns the first error.
func (v *VectorEnv) Close() error {
	var first error
	for i, e := range v.envs {
		if err := e.Close(); err != nil && first == nil {
			first = fmt.Errorf("close env %d: %w", i, err)
		}
	}
	return first
}
