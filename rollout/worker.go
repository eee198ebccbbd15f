package rollout

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/rlgo/rlgo/envs/external"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// Config is the rollout section of a config (YAML key "rollout").
type Config struct {
	// Workers is the number of rollout workers. Default 2.
	Workers int `yaml:"workers"`
	// EnvsPerWorker is the number of envs each worker steps in lock step. Default 2.
	EnvsPerWorker int `yaml:"envs_per_worker"`
	// FragmentLength is the number of steps per env in one batch. Default 128.
	FragmentLength int `yaml:"fragment_length"`
	// MinWorkers is how many remote workers rltrain learner waits for
	// before the first iteration (it may exceed Workers: the fleet still
	// collects Workers fragments per iteration). Default 1; local fleets
	// ignore it.
	MinWorkers int `yaml:"min_workers"`
}

// DefaultConfig returns 2 workers × 2 envs × 128 steps (512 steps per iteration, CleanRL's 4×128).
func DefaultConfig() Config {
	return Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 128, MinWorkers: 1}
}

// Validate checks the sizes.
func (c Config) Validate() error {
	switch {
	case c.Workers < 1 || c.Workers > 4096:
		return fmt.Errorf("workers: want 1..4096, got %d", c.Workers)
	case c.EnvsPerWorker < 1 || c.EnvsPerWorker > 4096:
		return fmt.Errorf("envs_per_worker: want 1..4096, got %d", c.EnvsPerWorker)
	case c.FragmentLength < 1 || c.FragmentLength > 1<<20:
		return fmt.Errorf("fragment_length: want 1..1048576, got %d", c.FragmentLength)
	case c.MinWorkers < 0 || c.MinWorkers > 4096:
		return fmt.Errorf("min_workers: want 1..4096, got %d", c.MinWorkers)
	}
	return nil
}

// StepsPerIteration returns Workers × EnvsPerWorker × FragmentLength.
func (c Config) StepsPerIteration() int { return c.Workers * c.EnvsPerWorker * c.FragmentLength }

// Policy is what a Worker acts with.
type Policy interface {
	// SetWeights replaces the policy's weights.
	SetWeights(w *policy.Weights) error
	// Version is the version of the weights it acts with.
	Version() uint64
	// Act chooses actions for n observations with rng and writes the
	// actions, their log-probabilities and values (slices of length n).
	// values is nil when the worker's columns lack ColValues: the policy
	// then skips computing them.
	Act(obs []float32, n int, rng *rand.Rand, actions []int, logp, values []float32)
	// Values writes V(s) for n observations.
	Values(obs []float32, n int, dst []float32)
}

// ContinuousPolicy is a Policy for a Box action space: a Worker whose env
// has one acts with ActContinuous instead of Act.
type ContinuousPolicy interface {
	Policy
	// ActContinuous samples actions for n observations with rng and writes
	// them ([n, ActionDim], unclipped), their log-probabilities and values
	// (values nil as for Act).
	ActContinuous(obs []float32, n int, rng *rand.Rand, actions, logp, values []float32)
}

// obsNormer is implemented by policies whose weights may carry
// observation-normalisation statistics (policy.ActorCritic,
// policy.EpsilonGreedy): the Worker normalises what the policy sees with them.
type obsNormer interface {
	ObsNorm() *policy.ObsNorm
}

// WorkerSpec says how to build a worker's envs.
type WorkerSpec struct {
	// EnvID and EnvOptions are passed to envs.Make for every env.
	EnvID      string
	EnvOptions envs.Options
	// Wrappers wrap every env (envs.Wrap), first innermost. A
	// normalize_observation entry is not an env wrapper here: the worker
	// normalises with the statistics its policy's weights carry
	// (policy.ObsNorm) and reports the raw statistics in each batch.
	Wrappers []envs.WrapperSpec
	// Metrics are the custom episode metrics read from step info.
	Metrics []MetricSpec
	// Seed is the run seed; the worker derives its own streams from it and its index.
	Seed uint64
	// Columns are the optional batch columns to compute and fill; the
	// zero value fills them all (see Columns).
	Columns Columns
	// External, when set, steps the envs in a server process (an env in
	// any language, e.g. a Python Gymnasium env through python/rlgo_env)
	// instead of making them from the registry: each worker starts or
	// dials its own server for all its envs and steps them in one call
	// per step. EnvID then only names the env. Env wrappers other than
	// normalize_observation cannot wrap remote envs and are refused.
	External *external.Config `msgpack:"external,omitempty"`
}

// VectorEnv is what a worker steps: N envs in lock step with same-step
// auto-reset, in this process (*envs.VectorEnv) or in a server process
// (*external.VectorEnv), which the algorithms cannot tell apart.
type VectorEnv interface {
	// Reset seeds env i with seed+i and resets it.
	Reset(seed uint64) error
	// Step applies one action per env (see envs.VectorEnv.Step).
	Step(actions []envs.Action) (*envs.VectorStep, error)
	// Obs holds every env's current observation, env by env.
	Obs() []float32
	// ObsDim is one observation's size.
	ObsDim() int
	// Close releases the envs.
	Close() error
}

// snapshotter is a VectorEnv whose envs can save and restore their state.
type snapshotter interface {
	Snapshot() (*envs.VectorState, error)
	Restore(*envs.VectorState) error
}

// restarter is a VectorEnv that restarts crashed or hung env servers.
type restarter interface {
	Restarts() int64
}

// EnvWrappers returns the wrappers a worker applies to its envs: all but
// normalize_observation, which rollout workers do against shared statistics.
func EnvWrappers(specs []envs.WrapperSpec) []envs.WrapperSpec {
	var out []envs.WrapperSpec
	for _, s := range specs {
		if s.Name != envs.WrapNormalizeObservation {
			out = append(out, s)
		}
	}
	return out
}

// ObsNormWrapper returns the normalize_observation entry of specs and
// whether there is one.
func ObsNormWrapper(specs []envs.WrapperSpec) (envs.WrapperSpec, bool) {
	for _, s := range specs {
		if s.Name == envs.WrapNormalizeObservation {
			return s, true
		}
	}
	return envs.WrapperSpec{}, false
}

// MakeEnv makes one env as a worker of spec does (wrappers included,
// normalize_observation excepted); with spec.External, one env of a server
// (external.OpenEnv), which the caller must Close to stop it.
func MakeEnv(spec WorkerSpec) (envs.Env, error) {
	if spec.External != nil {
		if err := checkExternalWrappers(spec); err != nil {
			return nil, err
		}
		return external.OpenEnv(context.Background(), *spec.External, externalOptions(spec))
	}
	return envs.MakeWrapped(spec.EnvID, spec.EnvOptions, EnvWrappers(spec.Wrappers))
}

// checkExternalWrappers refuses env wrappers around external envs: they
// would have to run inside the server.
func checkExternalWrappers(spec WorkerSpec) error {
	if w := EnvWrappers(spec.Wrappers); len(w) > 0 {
		return fmt.Errorf("env %s: wrapper %s cannot wrap an external env (only normalize_observation, which the workers apply, can)", spec.EnvID, w[0].Name)
	}
	return nil
}

// externalOptions are the client options of spec's external envs: their
// servers' output goes to this process's stderr, prefixed with the env.
func externalOptions(spec WorkerSpec) external.Options {
	return external.Options{EnvID: spec.EnvID, Log: os.Stderr}
}

// newVectorEnv makes a worker's n envs: in this process, or in a server.
func newVectorEnv(spec WorkerSpec, n int) (VectorEnv, envs.Space, error) {
	if spec.External != nil {
		if err := checkExternalWrappers(spec); err != nil {
			return nil, nil, err
		}
		v, err := external.Open(context.Background(), *spec.External, n, externalOptions(spec))
		if err != nil {
			return nil, nil, err
		}
		return v, v.ActionSpace(), nil
	}
	list := make([]envs.Env, n)
	for i := range list {
		e, err := MakeEnv(spec)
		if err != nil {
			for _, m := range list[:i] {
				m.Close()
			}
			return nil, nil, fmt.Errorf("env %d: %w", i, err)
		}
		list[i] = e
	}
	venv, err := envs.NewVectorEnv(list)
	if err != nil {
		return nil, nil, err
	}
	return venv, list[0].ActionSpace(), nil
}

// Worker steps its own vector env with its own policy copy and RNG and
// returns fixed-length fragments. It is not safe for concurrent use.
type Worker struct {
	index   int
	cfg     Config
	venv    VectorEnv
	policy  Policy
	rng     *envs.RNG
	seq     int
	actions []int
	acts    []envs.Action
	boot    []float32
	// cols are the optional columns it fills; logp receives the
	// log-probabilities the policy writes when they are not wanted.
	cols Columns
	logp []float32

	// Continuous actions: the Box bounds the env's actions are clipped to.
	cont          ContinuousPolicy
	actDim        int
	actLow, actHi []float32
	// Observation normalisation: the normalised observations the policy sees.
	normObs, normFinal []float32
	metrics            *episodeMetrics
}

// WorkerSeed derives worker index's seed from the run seed (splitmix64),
// so workers' streams differ and do not overlap across nearby run seeds.
func WorkerSeed(runSeed uint64, index int) uint64 {
	z := runSeed + 0x9e3779b97f4a7c15*uint64(index+1)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// NewWorker creates worker index: cfg.EnvsPerWorker envs made from spec,
// reset with seeds derived from spec.Seed and index, acting with p.
func NewWorker(index int, cfg Config, spec WorkerSpec, p Policy) (*Worker, error) {
	venv, actions, err := newVectorEnv(spec, cfg.EnvsPerWorker)
	if err != nil {
		return nil, fmt.Errorf("worker %d: %w", index, err)
	}
	seed := WorkerSeed(spec.Seed, index)
	if err := venv.Reset(seed); err != nil {
		venv.Close()
		return nil, fmt.Errorf("worker %d: %w", index, err)
	}
	n := cfg.EnvsPerWorker
	w := &Worker{
		index:   index,
		cfg:     cfg,
		venv:    venv,
		policy:  p,
		rng:     envs.NewRNG(seed, 1),
		actions: make([]int, n),
		acts:    make([]envs.Action, n),
		boot:    make([]float32, 1),
		cols:    spec.Columns.Resolve(),
		logp:    make([]float32, n),
		metrics: newEpisodeMetrics(spec.Metrics, n),
	}
	if box, ok := actions.(*envs.Box); ok {
		cp, ok := p.(ContinuousPolicy)
		if !ok {
			venv.Close()
			return nil, fmt.Errorf("worker %d: env %s has a Box action space; its policy %T acts with discrete actions only", index, spec.EnvID, p)
		}
		w.cont, w.actDim, w.actLow, w.actHi = cp, box.Size(), box.Low, box.High
		for i := range w.acts {
			w.acts[i].Continuous = make([]float32, w.actDim)
		}
	}
	return w, nil
}

// EnvRestarts is how many times the worker's external env server was
// restarted after a crash or a hang (0 for envs in this process).
func (w *Worker) EnvRestarts() int64 {
	if r, ok := w.venv.(restarter); ok {
		return r.Restarts()
	}
	return 0
}

// Index returns the worker's index.
func (w *Worker) Index() int { return w.index }

// SetWeights hands the worker new weights for its next fragment.
func (w *Worker) SetWeights(wts *policy.Weights) error {
	if err := w.policy.SetWeights(wts); err != nil {
		return fmt.Errorf("worker %d: %w", w.index, err)
	}
	return nil
}

// WorkerError reports a failure inside a worker, naming the worker and,
// for env failures, the env and step.
type WorkerError struct {
	Worker int
	Err    error
}

func (e *WorkerError) Error() string { return fmt.Sprintf("worker %d: %v", e.Worker, e.Err) }
func (e *WorkerError) Unwrap() error { return e.Err }

// Sample steps every env FragmentLength times and returns the fragment in
// a new batch. Episodes continue across fragments. It returns ctx's error
// if ctx is done between steps.
func (w *Worker) Sample(ctx context.Context) (*SampleBatch, error) {
	b := new(SampleBatch)
	if err := w.SampleInto(ctx, b); err != nil {
		return nil, err
	}
	return b, nil
}

// SampleInto is Sample writing the fragment into b, reusing the storage
// of its columns (and of its final observations and observation
// statistics) where it has room: a fleet that hands the same batch back
// every fragment allocates nothing for it after the first. Everything b
// held before is overwritten, except Episodes' entries, which are new. On
// error b holds a partial fragment.
//
// Only the optional columns of the worker's WorkerSpec.Columns are
// computed; the others are left empty. Which columns are computed does not
// change what the envs see: actions and the worker's random streams are
// the same for any Columns.
func (w *Worker) SampleInto(ctx context.Context, b *SampleBatch) error {
	T, N, D := w.cfg.FragmentLength, w.cfg.EnvsPerWorker, w.venv.ObsDim()
	n := T * N
	var norm *policy.ObsNorm
	if on, ok := w.policy.(obsNormer); ok {
		norm = on.ObsNorm()
	}
	if norm != nil && len(norm.Mean) != D {
		return &WorkerError{Worker: w.index, Err: fmt.Errorf("observation normalisation of %d values for observations of %d", len(norm.Mean), D)}
	}
	cols := w.cols
	old := *b
	// want returns b's column c resized to size if the worker fills it,
	// else nil.
	want := func(c Columns, col []float32, size int) []float32 {
		if cols&c == 0 {
			return nil
		}
		return resize(col, size)
	}
	*b = SampleBatch{
		ID:              fmt.Sprintf("w%d-%d", w.index, w.seq),
		WorkerIndex:     w.index,
		WeightsVersion:  w.policy.Version(),
		NumEnvs:         N,
		Steps:           T,
		ObsDim:          D,
		Columns:         cols,
		Obs:             resize(old.Obs, n*D),
		ActionDim:       w.actDim,
		Rewards:         resize(old.Rewards, n),
		Terminated:      resize(old.Terminated, n),
		Truncated:       resize(old.Truncated, n),
		LogProbs:        want(ColLogProbs, old.LogProbs, n),
		Values:          want(ColValues, old.Values, n),
		BootstrapValues: want(ColBootstrapValues, old.BootstrapValues, n),
		LastObs:         want(ColLastObs, old.LastObs, N*D),
		LastValues:      want(ColLastValues, old.LastValues, N),
	}
	if w.cont != nil {
		b.ContinuousActions = resize(old.ContinuousActions, n*w.actDim)
	} else {
		b.Actions = resize(old.Actions, n)
	}
	if cols&ColFinalObs != 0 {
		b.FinalObs = old.FinalObs[:0]
	}
	clear(b.BootstrapValues) // written only where an episode was truncated
	if norm != nil {
		b.ObsStats = resetObsStats(old.ObsStats, D)
		w.normObs = resize(w.normObs, N*D)
		w.normFinal = resize(w.normFinal, D)
	}
	// see returns what the policy sees of obs: obs itself, or obs
	// normalised into buf.
	see := func(obs, buf []float32) []float32 {
		if norm == nil {
			return obs
		}
		norm.Apply(buf, obs)
		return buf
	}
	w.seq++
	for t := 0; t < T; t++ {
		if t%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k := t * N
		raw := w.venv.Obs()
		if b.ObsStats != nil {
			b.ObsStats.Update(raw)
		}
		obs := see(raw, w.normObs)
		copy(b.Obs[k*D:], obs)
		logp := w.logp
		if b.LogProbs != nil {
			logp = b.LogProbs[k : k+N]
		}
		var values []float32 // nil: the policy skips the critic
		if b.Values != nil {
			values = b.Values[k : k+N]
		}
		if w.cont != nil {
			// The loss sees the sampled action; the env gets it clipped
			// to the action space's bounds (CleanRL's ClipAction).
			A := w.actDim
			acts := b.ContinuousActions[k*A : (k+N)*A]
			w.cont.ActContinuous(obs, N, w.rng.Rand, acts, logp, values)
			for i := range N {
				for j, a := range acts[i*A : (i+1)*A] {
					w.acts[i].Continuous[j] = min(max(a, w.actLow[j]), w.actHi[j])
				}
			}
		} else {
			w.policy.Act(obs, N, w.rng.Rand, w.actions, logp, values)
			for i, a := range w.actions {
				b.Actions[k+i] = int32(a)
				w.acts[i] = envs.DiscreteAction(a)
			}
		}
		s, err := w.venv.Step(w.acts)
		if err != nil {
			return &WorkerError{Worker: w.index, Err: err}
		}
		for i := 0; i < N; i++ {
			b.Rewards[k+i] = float32(s.Rewards[i])
			b.Terminated[k+i] = s.Terminated[i]
			b.Truncated[k+i] = s.Truncated[i]
			w.metrics.step(i, s.Infos[i])
			if s.FinalObs[i] == nil || cols&(ColFinalObs|ColBootstrapValues) == 0 {
				continue
			}
			final := see(s.FinalObs[i], w.normFinal)
			if cols&ColFinalObs != 0 {
				b.FinalObs = appendFinalObs(b.FinalObs, k+i, final)
			}
			if b.BootstrapValues != nil && s.Truncated[i] && !s.Terminated[i] {
				w.policy.Values(final, 1, w.boot)
				b.BootstrapValues[k+i] = w.boot[0]
			}
		}
		for _, ep := range s.Episodes {
			b.Episodes = append(b.Episodes, EpisodeStats{Worker: w.index, Env: ep.EnvIndex, Step: t, Return: ep.Return, Length: ep.Length, Metrics: w.metrics.finish(ep.EnvIndex)})
		}
	}
	if b.LastObs != nil || b.LastValues != nil {
		last := see(w.venv.Obs(), w.normObs)
		if b.LastObs != nil {
			copy(b.LastObs, last)
		}
		if b.LastValues != nil {
			w.policy.Values(last, N, b.LastValues)
		}
	}
	return nil
}

// appendFinalObs appends the final observation obs at index to fs, reusing
// the storage of the entry it overwrites when it has room.
func appendFinalObs(fs []FinalObs, index int, obs []float32) []FinalObs {
	var buf []float32
	if len(fs) < cap(fs) {
		buf = fs[:len(fs)+1][len(fs)].Obs
	}
	buf = resize(buf, len(obs))
	copy(buf, obs)
	return append(fs, FinalObs{Index: index, Obs: buf})
}

// resetObsStats returns s emptied for dim-sized observations, or new
// statistics if s is nil or of another size.
func resetObsStats(s *policy.ObsStats, dim int) *policy.ObsStats {
	if s == nil || len(s.Mean) != dim || len(s.Var) != dim {
		return policy.NewObsStats(dim)
	}
	clear(s.Mean)
	clear(s.Var)
	s.Count = 0
	return s
}

// Close closes the worker's envs.
func (w *Worker) Close() error { return w.venv.Close() }

// ErrClosed is returned by a Fleet used after Close.
var ErrClosed = errors.New("fleet closed")

// resize returns x with length n, reusing its storage when it has room
// (the contents are then whatever x held).
func resize[T any](x []T, n int) []T {
	if cap(x) < n {
		return make([]T, n)
	}
	return x[:n]
}

// NewObsNorm returns the initial observation-normalisation statistics for
// dim-sized observations when specs has a normalize_observation entry
// (its clip and epsilon options applied), else nil.
func NewObsNorm(specs []envs.WrapperSpec, dim int) (*policy.ObsNorm, error) {
	s, ok := ObsNormWrapper(specs)
	if !ok {
		return nil, nil
	}
	clip, eps, err := envs.ObsNormOptions(s.Options)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envs.WrapNormalizeObservation, err)
	}
	n := policy.NewObsNorm(dim, clip)
	n.Epsilon = eps
	if clip == 0 {
		n.Clip = math.Inf(1) // clip 0: no clipping
	}
	return n, nil
}

// MergeObsStats merges the observation statistics of batches, in order,
// into norm (the learner's, broadcast with the next weights). A nil norm
// (no observation normalisation) merges nothing. Every batch must carry
// statistics; if one does not, nothing is merged.
func MergeObsStats(norm *policy.ObsNorm, batches []*SampleBatch) error {
	if norm == nil {
		return nil
	}
	for _, b := range batches {
		if b.ObsStats == nil {
			return fmt.Errorf("batch %s has no observation statistics", b.ID)
		}
	}
	for _, b := range batches {
		norm.Merge(b.ObsStats)
	}
	return nil
}
