package envs

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"time"
)

// This file holds the env-level wrappers, Gymnasium's gymnasium.wrappers
// for a single env: ClipAction, FrameStack, EpisodeStatistics,
// NormalizeObservation, NormalizeReward and TransformReward. Each is an Env
// that wraps an Env, implements Wrapper (so Unwrapped and Find see through
// it) and never writes into the observation slice of the env it wraps: a
// wrapper that changes observations returns its own buffer, which, like
// any env's, is valid until its next Reset or Step.

// Find returns the outermost wrapper of type T in env's chain of wrappers
// (env itself included), following Wrapper.Unwrap, and whether there is
// one. For example Find[*NormalizeObservation](env) reaches the running
// statistics of an env made with several wrappers around it.
func Find[T Env](env Env) (T, bool) {
	for env != nil {
		if t, ok := env.(T); ok {
			return t, true
		}
		w, ok := env.(Wrapper)
		if !ok {
			break
		}
		env = w.Unwrap()
	}
	var zero T
	return zero, false
}

// ---------------------------------------------------------------------------
// ClipAction

// ClipAction clips every continuous action to the bounds of the wrapped
// env's Box action space before stepping it, like Gymnasium's ClipAction:
// a Gaussian policy can then sample freely. Unlike Gymnasium 1.0, whose
// ClipAction advertises an unbounded action space, ActionSpace stays the
// wrapped env's Box, because rlgo's policies read the bounds from it. An
// action of the wrong length is passed through unchanged for the env to
// reject.
type ClipAction struct {
	Env
	box *Box
	buf []float32
}

// NewClipAction wraps env, whose action space must be a *Box.
func NewClipAction(env Env) (*ClipAction, error) {
	box, ok := env.ActionSpace().(*Box)
	if !ok {
		return nil, fmt.Errorf("ClipAction: action space %v is not a Box", env.ActionSpace())
	}
	return &ClipAction{Env: env, box: box, buf: make([]float32, box.Size())}, nil
}

// Step clips a.Continuous to the action space and steps the wrapped env.
// The caller's slice is not modified.
func (c *ClipAction) Step(a Action) (StepResult, error) {
	if len(a.Continuous) == c.box.Size() {
		c.buf = c.box.Clip(c.buf, a.Continuous)
		a.Continuous = c.buf
	}
	return c.Env.Step(a)
}

// Unwrap returns the wrapped env.
func (c *ClipAction) Unwrap() Env { return c.Env }

// ---------------------------------------------------------------------------
// FrameStack

// FramePadding says what fills a FrameStack's older frames after Reset.
type FramePadding int

const (
	// PadReset repeats the reset observation in every frame: Gymnasium 1.0
	// FrameStackObservation's default, padding_type="reset".
	PadReset FramePadding = iota
	// PadZero fills the older frames with zeros (moved inside the bounds
	// where the space excludes zero) and puts the reset observation last:
	// Gymnasium's padding_type="zero".
	PadZero
)

// FrameStack stacks the last N observations, like Gymnasium 1.0's
// FrameStackObservation (gymnasium/wrappers/stateful_observation.py). The
// observation space is the wrapped Box repeated N times, with shape
// (N, inner shape...); observations are flat and row-major, so frame k
// occupies [k*size, (k+1)*size), oldest first and the newest observation
// last. After Reset the N-1 older frames hold the padding (by default the
// reset observation itself, see FramePadding); each Step drops the oldest
// frame and appends the new observation.
//
// An image Box of shape (H, W, C) (channels last, as MinAtar and
// Gymnasium's Atari give them) is stacked along its channels instead:
// the stack has shape (H, W, N·C), each pixel's channels frame by frame,
// oldest first — what a convolutional torso reads.
type FrameStack struct {
	Env
	// N is the number of stacked frames.
	N       int
	padding FramePadding
	frame   int
	space   *Box
	pad     []float32
	buf     []float32 // the frames, oldest first
	// pixels and channels are the image's H·W and C when the stack is
	// along channels (out holds it); 0 for a frame-major stack.
	pixels, channels int
	out              []float32
}

// NewFrameStack wraps env, whose observation space must be a *Box, to
// stack its last n ≥ 1 observations, padded as padding says.
func NewFrameStack(env Env, n int, padding FramePadding) (*FrameStack, error) {
	box, ok := env.ObservationSpace().(*Box)
	if !ok {
		return nil, fmt.Errorf("FrameStack: observation space %v is not a Box", env.ObservationSpace())
	}
	if n < 1 {
		return nil, fmt.Errorf("FrameStack: stack size %d, want >= 1", n)
	}
	if padding != PadReset && padding != PadZero {
		return nil, fmt.Errorf("FrameStack: unknown padding %d", padding)
	}
	size := box.Size()
	low := make([]float32, 0, n*size)
	high := make([]float32, 0, n*size)
	for range n {
		low = append(low, box.Low...)
		high = append(high, box.High...)
	}
	pad := make([]float32, size) // Gymnasium's create_zero_array
	for i := range pad {
		pad[i] = min(max(0, box.Low[i]), box.High[i])
	}
	f := &FrameStack{
		Env:     env,
		N:       n,
		padding: padding,
		frame:   size,
		space:   &Box{Low: low, High: high, Dims: append([]int{n}, box.Shape()...)},
		pad:     pad,
		buf:     make([]float32, n*size),
	}
	if sh := box.Shape(); len(sh) == 3 {
		f.pixels, f.channels = sh[0]*sh[1], sh[2]
		f.out = make([]float32, n*size)
		f.space = &Box{Low: f.interleave(low, make([]float32, n*size)), High: f.interleave(high, make([]float32, n*size)), Dims: []int{sh[0], sh[1], n * sh[2]}}
	}
	return f, nil
}

// interleave writes the frame-major stack frames into dst along channels:
// pixel p's channels of frame 0, then of frame 1, ... It returns dst.
func (f *FrameStack) interleave(frames, dst []float32) []float32 {
	c := f.channels
	for k := range f.N {
		frame := frames[k*f.frame : (k+1)*f.frame]
		for p := range f.pixels {
			copy(dst[(p*f.N+k)*c:(p*f.N+k+1)*c], frame[p*c:(p+1)*c])
		}
	}
	return dst
}

// stacked returns the observation: buf, or buf along channels.
func (f *FrameStack) stacked() []float32 {
	if f.out == nil {
		return f.buf
	}
	return f.interleave(f.buf, f.out)
}

// ObservationSpace is the wrapped Box stacked N times: shape (N, ...), or
// (H, W, N·C) for an image.
func (f *FrameStack) ObservationSpace() Space { return f.space }

// Reset resets the wrapped env and fills the stack: the older frames with
// the padding, the newest with the reset observation.
func (f *FrameStack) Reset(seed *uint64) ([]float32, Info, error) {
	obs, info, err := f.Env.Reset(seed)
	if err != nil {
		return nil, info, err
	}
	if len(obs) != f.frame {
		return nil, info, fmt.Errorf("FrameStack: reset observation has %d values, want %d", len(obs), f.frame)
	}
	pad := f.pad
	if f.padding == PadReset {
		pad = obs
	}
	for k := range f.N - 1 {
		copy(f.buf[k*f.frame:], pad)
	}
	copy(f.buf[(f.N-1)*f.frame:], obs)
	return f.stacked(), info, nil
}

// Step steps the wrapped env and pushes its observation onto the stack.
func (f *FrameStack) Step(a Action) (StepResult, error) {
	r, err := f.Env.Step(a)
	if err != nil {
		return r, err
	}
	if len(r.Obs) != f.frame {
		return StepResult{}, fmt.Errorf("FrameStack: observation has %d values, want %d", len(r.Obs), f.frame)
	}
	copy(f.buf, f.buf[f.frame:])
	copy(f.buf[(f.N-1)*f.frame:], r.Obs)
	r.Obs = f.stacked()
	return r, nil
}

// Unwrap returns the wrapped env.
func (f *FrameStack) Unwrap() Env { return f.Env }

// ---------------------------------------------------------------------------
// EpisodeStatistics

// EpisodeInfoKey is the Info key under which EpisodeStatistics puts an
// EpisodeStats on the last step of every episode.
const EpisodeInfoKey = "episode"

// EpisodeStats summarises a finished episode: Gymnasium's
// info["episode"] = {"r": ..., "l": ..., "t": ...}.
type EpisodeStats struct {
	// Return is the undiscounted sum of the rewards the wrapped env gave.
	Return float64
	// Length is the number of steps.
	Length int
	// Time is the wall time from Reset to the last step.
	Time time.Duration
}

// EpisodeStatistics records each episode's return and length, like
// Gymnasium's RecordEpisodeStatistics: the step that ends an episode
// (terminated or truncated) carries Info[EpisodeInfoKey] = EpisodeStats.
// The statistics are of the rewards the wrapped env returns, so put it
// inside any wrapper that rescales rewards to record the true return; an
// episode record already in the info, from another EpisodeStatistics
// further in, is kept.
// The wrapped env's Info map is copied, never modified.
type EpisodeStatistics struct {
	Env
	ret    float64
	length int
	start  time.Time
}

// NewEpisodeStatistics wraps env to record its episode statistics.
func NewEpisodeStatistics(env Env) *EpisodeStatistics {
	return &EpisodeStatistics{Env: env}
}

// Reset starts counting a new episode.
func (e *EpisodeStatistics) Reset(seed *uint64) ([]float32, Info, error) {
	e.ret, e.length, e.start = 0, 0, time.Now()
	return e.Env.Reset(seed)
}

// Step steps the wrapped env and, when the episode ends, adds its
// EpisodeStats to the info.
func (e *EpisodeStatistics) Step(a Action) (StepResult, error) {
	r, err := e.Env.Step(a)
	if err != nil {
		return r, err
	}
	e.ret += r.Reward
	e.length++
	if _, inner := r.Info[EpisodeInfoKey]; r.Done() && !inner {
		// An EpisodeStatistics further in (one Wrap put inside reward
		// wrappers) recorded the env's own return: keep it.
		info := make(Info, len(r.Info)+1)
		maps.Copy(info, r.Info)
		info[EpisodeInfoKey] = EpisodeStats{Return: e.ret, Length: e.length, Time: time.Since(e.start)}
		r.Info = info
	}
	return r, nil
}

// Unwrap returns the wrapped env.
func (e *EpisodeStatistics) Unwrap() Env { return e.Env }

// ---------------------------------------------------------------------------
// RunningMeanStd

// RunningMeanStd tracks the per-element mean and (population) variance of
// a stream of vectors, merging batches with the parallel algorithm of
// Chan, Golub & LeVeque (1979), as Gymnasium's and Stable-Baselines3's
// RunningMeanStd do. Statistics gathered separately (by rollout workers)
// merge exactly, up to rounding, into those of the concatenated data.
//
// Unlike Gymnasium's, which starts from a pseudo-count of 1e-4, a new
// RunningMeanStd has Count 0 (Mean 0 and Var 1 until the first update), so
// that merging is exact. The fields are exported so that the statistics
// can be saved, sent and restored.
type RunningMeanStd struct {
	Mean  []float64 `json:"mean"`
	Var   []float64 `json:"var"`
	Count float64   `json:"count"`
}

// NewRunningMeanStd returns empty statistics of n-element vectors.
func NewRunningMeanStd(n int) *RunningMeanStd {
	r := &RunningMeanStd{Mean: make([]float64, n), Var: make([]float64, n)}
	for i := range r.Var {
		r.Var[i] = 1
	}
	return r
}

// Clone returns a deep copy.
func (r *RunningMeanStd) Clone() *RunningMeanStd {
	return &RunningMeanStd{Mean: append([]float64(nil), r.Mean...), Var: append([]float64(nil), r.Var...), Count: r.Count}
}

// Update adds a batch of vectors, laid out one after another (so
// len(batch) must be a multiple of len(r.Mean); it panics otherwise).
func (r *RunningMeanStd) Update(batch []float32) { updateRMS(r, batch) }

// UpdateFloat64 is Update for float64 data.
func (r *RunningMeanStd) UpdateFloat64(batch []float64) { updateRMS(r, batch) }

func updateRMS[T float32 | float64](r *RunningMeanStd, batch []T) {
	n := len(r.Mean)
	if n == 0 || len(batch)%n != 0 {
		panic(fmt.Sprintf("envs: RunningMeanStd.Update: %d values is not a whole number of %d-element vectors", len(batch), n))
	}
	k := len(batch) / n
	if k == 0 {
		return
	}
	for j := range n {
		mean := 0.0
		for i := j; i < len(batch); i += n {
			mean += float64(batch[i])
		}
		mean /= float64(k)
		v := 0.0
		for i := j; i < len(batch); i += n {
			d := float64(batch[i]) - mean
			v += d * d
		}
		r.Mean[j], r.Var[j] = mergeMoments(r.Mean[j], r.Var[j], r.Count, mean, v/float64(k), float64(k))
	}
	r.Count += float64(k)
}

// Merge adds other's statistics to r, as if r had been updated with the
// data other was. other must track vectors of r's size (it panics otherwise).
func (r *RunningMeanStd) Merge(other *RunningMeanStd) {
	if len(other.Mean) != len(r.Mean) || len(other.Var) != len(r.Var) {
		panic(fmt.Sprintf("envs: RunningMeanStd.Merge: size %d into size %d", len(other.Mean), len(r.Mean)))
	}
	if other.Count <= 0 {
		return
	}
	for j := range r.Mean {
		r.Mean[j], r.Var[j] = mergeMoments(r.Mean[j], r.Var[j], r.Count, other.Mean[j], other.Var[j], other.Count)
	}
	r.Count += other.Count
}

// mergeMoments is Gymnasium's update_mean_var_count_from_moments for one element.
func mergeMoments(mean, vr, count, bMean, bVar, bCount float64) (float64, float64) {
	tot := count + bCount
	delta := bMean - mean
	newMean := mean + delta*bCount/tot
	m2 := vr*count + bVar*bCount + delta*delta*count*bCount/tot
	return newMean, m2 / tot
}

// Normalize writes (x - Mean) / sqrt(Var + epsilon), clipped to
// [-clip, clip] when clip > 0, into dst (allocating when it is too short)
// and returns it.
func (r *RunningMeanStd) Normalize(dst, x []float32, epsilon, clip float64) []float32 {
	if cap(dst) < len(x) {
		dst = make([]float32, len(x))
	}
	dst = dst[:len(x)]
	for i, v := range x {
		z := (float64(v) - r.Mean[i]) / math.Sqrt(r.Var[i]+epsilon)
		if clip > 0 {
			z = min(max(z, -clip), clip)
		}
		dst[i] = float32(z)
	}
	return dst
}

// ---------------------------------------------------------------------------
// NormalizeObservation

// Defaults of NormalizeObservation and NormalizeReward, Stable-Baselines3
// VecNormalize's (clip_obs=10, epsilon=1e-8) and Gymnasium's (gamma 0.99).
const (
	DefaultNormalizeEpsilon = 1e-8
	DefaultNormalizeClip    = 10.0
	DefaultNormalizeGamma   = 0.99
)

// NormalizeObservation normalises every observation element to zero mean
// and unit variance with running statistics, like Gymnasium's
// NormalizeObservation and SB3's VecNormalize: each observation (reset ones
// included) first updates RMS, unless Frozen, and is then returned as
// (obs - Mean) / sqrt(Var + Epsilon), clipped to [-Clip, Clip] (SB3's
// clip_obs; Gymnasium does not clip — set Clip to 0 for that).
//
// Several wrappers stepped from one goroutine may share one RMS; set
// Frozen for evaluation, so that the statistics stay as training left them.
type NormalizeObservation struct {
	Env
	// RMS holds the running statistics (shared or replaced freely).
	RMS *RunningMeanStd
	// Frozen stops updating RMS (Gymnasium's update_running_mean=False).
	Frozen bool
	// Epsilon keeps the division away from zero. Default 1e-8.
	Epsilon float64
	// Clip bounds the normalised values; 0 disables. Default 10.
	Clip float64

	inner     *Box
	space     *Box
	spaceClip float64
	buf       []float32
}

// NewNormalizeObservation wraps env, whose observation space must be a
// *Box, with fresh statistics and the default Epsilon and Clip.
func NewNormalizeObservation(env Env) (*NormalizeObservation, error) {
	box, ok := env.ObservationSpace().(*Box)
	if !ok {
		return nil, fmt.Errorf("NormalizeObservation: observation space %v is not a Box", env.ObservationSpace())
	}
	return &NormalizeObservation{
		Env:     env,
		RMS:     NewRunningMeanStd(box.Size()),
		Epsilon: DefaultNormalizeEpsilon,
		Clip:    DefaultNormalizeClip,
		inner:   box,
		buf:     make([]float32, box.Size()),
	}, nil
}

// ObservationSpace is Box(-Clip, Clip) of the wrapped shape, unbounded
// when Clip is 0.
func (n *NormalizeObservation) ObservationSpace() Space {
	if n.space == nil || n.spaceClip != n.Clip {
		b := float32(math.Inf(1))
		if n.Clip > 0 {
			b = float32(n.Clip)
		}
		n.space = UniformBox(n.inner.Size(), -b, b)
		n.space.Dims = n.inner.Dims
		n.spaceClip = n.Clip
	}
	return n.space
}

func (n *NormalizeObservation) normalize(obs []float32) ([]float32, error) {
	if len(obs) != len(n.RMS.Mean) {
		return nil, fmt.Errorf("NormalizeObservation: observation has %d values, want %d", len(obs), len(n.RMS.Mean))
	}
	if !n.Frozen {
		n.RMS.Update(obs)
	}
	n.buf = n.RMS.Normalize(n.buf, obs, n.Epsilon, n.Clip)
	return n.buf, nil
}

// Reset resets the wrapped env and normalises its first observation.
func (n *NormalizeObservation) Reset(seed *uint64) ([]float32, Info, error) {
	obs, info, err := n.Env.Reset(seed)
	if err != nil {
		return nil, info, err
	}
	obs, err = n.normalize(obs)
	return obs, info, err
}

// Step steps the wrapped env and normalises the observation.
func (n *NormalizeObservation) Step(a Action) (StepResult, error) {
	r, err := n.Env.Step(a)
	if err != nil {
		return r, err
	}
	if r.Obs, err = n.normalize(r.Obs); err != nil {
		return StepResult{}, err
	}
	return r, nil
}

// Unwrap returns the wrapped env.
func (n *NormalizeObservation) Unwrap() Env { return n.Env }

// ---------------------------------------------------------------------------
// NormalizeReward

// NormalizeReward scales rewards so that their discounted sum has roughly
// unit variance, exactly as Gymnasium 1.0's NormalizeReward
// (gymnasium/wrappers/stateful_reward.py): each step updates
// G ← G·Gamma·(1 - terminated) + reward, adds G to RMS unless Frozen, and
// returns reward / sqrt(RMS.Var + Epsilon). The reward is not centred
// (openai/baselines#538) nor clipped, and, as in Gymnasium, G is not reset
// by Reset nor by truncation, only by termination.
type NormalizeReward struct {
	Env
	// RMS holds the running statistics of G (one element).
	RMS *RunningMeanStd
	// Frozen stops updating RMS.
	Frozen bool
	// Gamma is the discount of G. Default 0.99.
	Gamma float64
	// Epsilon keeps the division away from zero. Default 1e-8.
	Epsilon float64
	// G is the running discounted return.
	G float64
}

// NewNormalizeReward wraps env with fresh statistics and discount gamma
// (in [0, 1]).
func NewNormalizeReward(env Env, gamma float64) (*NormalizeReward, error) {
	if !(gamma >= 0 && gamma <= 1) {
		return nil, fmt.Errorf("NormalizeReward: gamma %v, want in [0, 1]", gamma)
	}
	return &NormalizeReward{Env: env, RMS: NewRunningMeanStd(1), Gamma: gamma, Epsilon: DefaultNormalizeEpsilon}, nil
}

// Step steps the wrapped env and scales its reward.
func (n *NormalizeReward) Step(a Action) (StepResult, error) {
	r, err := n.Env.Step(a)
	if err != nil {
		return r, err
	}
	if r.Terminated {
		n.G = 0
	}
	n.G = n.G*n.Gamma + r.Reward
	if !n.Frozen {
		n.RMS.UpdateFloat64([]float64{n.G})
	}
	r.Reward /= math.Sqrt(n.RMS.Var[0] + n.Epsilon)
	return r, nil
}

// Unwrap returns the wrapped env.
func (n *NormalizeReward) Unwrap() Env { return n.Env }

// ---------------------------------------------------------------------------
// TransformReward

// TransformReward replaces every reward r by F(r), like Gymnasium's
// TransformReward (e.g. F = func(r float64) float64 { return r / 100 }).
type TransformReward struct {
	Env
	// F maps the wrapped env's reward to this env's.
	F func(float64) float64
}

// NewTransformReward wraps env to transform its rewards with f (non-nil).
func NewTransformReward(env Env, f func(float64) float64) (*TransformReward, error) {
	if f == nil {
		return nil, errors.New("TransformReward: nil function")
	}
	return &TransformReward{Env: env, F: f}, nil
}

// Step steps the wrapped env and transforms its reward.
func (t *TransformReward) Step(a Action) (StepResult, error) {
	r, err := t.Env.Step(a)
	if err != nil {
		return r, err
	}
	r.Reward = t.F(r.Reward)
	return r, nil
}

// Unwrap returns the wrapped env.
func (t *TransformReward) Unwrap() Env { return t.Env }
