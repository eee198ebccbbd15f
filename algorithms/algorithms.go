// Package algorithms holds what every algorithm shares: the Algorithm
// interface the runner drives, the per-iteration Result with rlgo's stable
// metric names, the window of recent episodes, and schedules. The
// algorithms themselves live in algorithms/ppo and algorithms/dqn.
package algorithms

import (
	"context"
	"fmt"
	"math"

	"github.com/rlgo/rlgo/rollout"
)

// Algorithm is a training loop that advances one iteration per Train call
// (RLlib's Algorithm.train()).
type Algorithm interface {
	// Train runs one iteration — sample, update, broadcast weights — and
	// returns its result.
	Train(ctx context.Context) (Result, error)
	// LearnerMetrics lists the names of the learner metrics every Result
	// carries, in order (e.g. "learner/policy_loss"), for table headers.
	LearnerMetrics() []string
	// Close releases the algorithm's learner and fleet.
	Close() error
}

// Metric is a named value.
type Metric struct {
	Name  string
	Value float64
}

// Result is one iteration's metrics. Field comments give the stable metric
// names used in progress.csv, result.jsonl and every tracker.
type Result struct {
	Iteration int   // iteration
	EnvSteps  int64 // env_steps: total env steps so far
	Episodes  int64 // episodes: total completed training episodes so far
	// HasEpisodes is false until the first episode completes: the episode
	// metrics are then absent (empty in CSV, missing in JSON), not NaN.
	HasEpisodes       bool
	EpisodeReturnMean float64 // episode_return_mean over the last 100 episodes
	EpisodeReturnMin  float64 // episode_return_min
	EpisodeReturnMax  float64 // episode_return_max
	EpisodeLenMean    float64 // episode_len_mean
	TimeS             float64 // time_s: wall time since training started
	EnvStepsPerS      float64 // env_steps_per_s: this iteration's steps / its wall time
	SampleTimeS       float64 // sample_time_s: this iteration's sampling time
	LearnTimeS        float64 // learn_time_s: this iteration's learning time
	// Learner holds the algorithm's learner/<name> metrics, in
	// LearnerMetrics order.
	Learner      []Metric
	FleetWorkers int // fleet/workers
	FleetRestart int // fleet/restarts
	// Fleet holds the rest of the fleet's health (fleet/dropped, ...).
	Fleet rollout.Health
	// HasEvaluation is true on iterations that ran an evaluation (see
	// evaluation.interval); the evaluation metrics are absent otherwise.
	HasEvaluation            bool
	EvaluationReturnMean     float64 // evaluation_return_mean: greedy policy, separate envs
	EvaluationReturnStd      float64 // evaluation_return_std
	EvaluationEpisodeLenMean float64 // evaluation_episode_len_mean
	// Custom holds the custom/<name> metrics: first the mean of each
	// declared episode metric (env.metrics) over the episodes of the
	// window that reported it, in declared order, then those a callback
	// added with AddCustom. A metric with no value yet is absent.
	Custom []Metric
	// NewEpisodes are the training episodes completed in this iteration,
	// in the window's order, for callbacks (Callbacks.OnEpisodeEnd). They
	// are not written to progress.csv.
	NewEpisodes []rollout.EpisodeStats
}

// CustomPrefix starts the name of every custom metric in a Result,
// progress.csv and the trackers.
const CustomPrefix = "custom/"

// AddCustom sets the custom metric custom/<name> to v, replacing an
// earlier value of the same name. Only names declared up front
// (env.metrics, Callbacks.Metrics) get a progress.csv column.
func (r *Result) AddCustom(name string, v float64) {
	full := CustomPrefix + name
	for i := range r.Custom {
		if r.Custom[i].Name == full {
			r.Custom[i].Value = v
			return
		}
	}
	r.Custom = append(r.Custom, Metric{Name: full, Value: v})
}

// CustomValue returns the value of custom/<name>, and false when r has
// none.
func (r *Result) CustomValue(name string) (float64, bool) {
	full := CustomPrefix + name
	for _, m := range r.Custom {
		if m.Name == full {
			return m.Value, true
		}
	}
	return 0, false
}

// SetFleet records the fleet's health in r.
func (r *Result) SetFleet(h rollout.Health) {
	r.Fleet = h
	r.FleetWorkers, r.FleetRestart = h.Workers, h.Restarts
}

// EpisodeWindow keeps the last Size completed episodes, in the order they
// are added: worker index, then completion step, then env index (design.md
// lists env before step; every run so far has used this order),
// with their custom metrics (SetMetricNames).
type EpisodeWindow struct {
	Size    int
	returns []float64
	lengths []int
	// names are the custom metrics' names; metrics holds each kept
	// episode's values, len(names) per episode in the slots of returns,
	// NaN where the episode did not report one.
	names   []string
	metrics []float64
	next    int
	total   int64
	// pending are the episodes added since the last Fill.
	pending []rollout.EpisodeStats
}

// NewEpisodeWindow returns a window of the last size episodes (RLlib and
// SB3 use 100).
func NewEpisodeWindow(size int) *EpisodeWindow { return &EpisodeWindow{Size: size} }

// MetricNames returns the names of specs, in order, for SetMetricNames.
func MetricNames(specs []rollout.MetricSpec) []string {
	if len(specs) == 0 {
		return nil
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return names
}

// SetMetricNames declares the custom episode metrics, in the order of
// rollout.EpisodeStats.Metrics (the rollout's MetricSpecs). Call it once
// after NewEpisodeWindow; episodes already kept keep the values of the
// names they share with the old declaration.
func (w *EpisodeWindow) SetMetricNames(names []string) {
	w.metrics = remapMetrics(w.names, w.metrics, names, len(w.returns))
	w.names = append([]string(nil), names...)
}

// remapMetrics returns n episodes' values for names from their values
// for old names (NaN for a name old lacks).
func remapMetrics(old []string, vals []float64, names []string, n int) []float64 {
	if len(names) == 0 {
		return nil
	}
	from := make([]int, len(names))
	for j, name := range names {
		from[j] = -1
		for k, o := range old {
			if o == name {
				from[j] = k
				break
			}
		}
	}
	out := make([]float64, n*len(names))
	for e := 0; e < n; e++ {
		for j, k := range from {
			v := math.NaN()
			if k >= 0 {
				v = vals[e*len(old)+k]
			}
			out[e*len(names)+j] = v
		}
	}
	return out
}

// AddBatches adds the episodes of batches in order: batches by worker
// index, episodes within a batch by completion step, then env index.
func (w *EpisodeWindow) AddBatches(batches []*rollout.SampleBatch) {
	for _, b := range batches {
		for _, e := range b.Episodes {
			w.AddEpisode(e)
		}
	}
}

// Add records one episode without custom metrics.
func (w *EpisodeWindow) Add(ret float64, length int) {
	w.AddEpisode(rollout.EpisodeStats{Return: ret, Length: length})
}

// AddEpisode records one episode with its custom metrics (missing
// trailing values count as not reported).
func (w *EpisodeWindow) AddEpisode(e rollout.EpisodeStats) {
	e.Metrics = append([]float64(nil), e.Metrics...)
	w.pending = append(w.pending, e)
	w.total++
	k := len(w.names)
	slot := w.next
	if len(w.returns) < w.Size {
		slot = len(w.returns)
		w.returns = append(w.returns, e.Return)
		w.lengths = append(w.lengths, e.Length)
		for j := 0; j < k; j++ {
			w.metrics = append(w.metrics, math.NaN())
		}
	} else {
		w.returns[slot], w.lengths[slot] = e.Return, e.Length
		w.next = (w.next + 1) % w.Size
	}
	for j := 0; j < k; j++ {
		v := math.NaN()
		if j < len(e.Metrics) {
			v = e.Metrics[j]
		}
		w.metrics[slot*k+j] = v
	}
}

// Total returns the number of episodes ever added.
func (w *EpisodeWindow) Total() int64 { return w.total }

// Fill writes the window's statistics into r (and leaves them absent when
// there are none): the episode metrics, the custom metrics (each averaged
// over the episodes that reported it) and the episodes added since the
// last Fill. Sums run oldest to newest, so results are deterministic.
func (w *EpisodeWindow) Fill(r *Result) {
	r.Episodes = w.total
	r.NewEpisodes, w.pending = w.pending, nil
	n := len(w.returns)
	if n == 0 {
		return
	}
	r.HasEpisodes = true
	var sum, lsum float64
	lo, hi := math.Inf(1), math.Inf(-1)
	k := len(w.names)
	msum := make([]float64, k)
	mcount := make([]int, k)
	for e := 0; e < n; e++ {
		i := (w.next + e) % n
		sum += w.returns[i]
		lsum += float64(w.lengths[i])
		lo, hi = math.Min(lo, w.returns[i]), math.Max(hi, w.returns[i])
		for j := 0; j < k; j++ {
			if v := w.metrics[i*k+j]; !math.IsNaN(v) {
				msum[j] += v
				mcount[j]++
			}
		}
	}
	r.EpisodeReturnMean = sum / float64(n)
	r.EpisodeLenMean = lsum / float64(n)
	r.EpisodeReturnMin, r.EpisodeReturnMax = lo, hi
	for j, name := range w.names {
		if mcount[j] > 0 {
			r.AddCustom(name, msum[j]/float64(mcount[j]))
		}
	}
}

// Schedule is a value annealed linearly from its initial value to Final,
// then held (YAML: {final: 0, steps: 500000}). The value is the initial
// one up to env step Start (default 0), falls linearly to Final between
// Start and Steps, and is Final from Steps on. Steps 0 means constant.
// The horizon is the schedule's own, never the run's budget, so changing
// stop.env_steps or resuming does not change learning.
type Schedule struct {
	Final float64 `yaml:"final"`
	Steps int64   `yaml:"steps"`
	Start int64   `yaml:"start"`
}

// At returns the value at env step t for a schedule starting at initial.
func (s Schedule) At(initial float64, t int64) float64 {
	if s.Steps <= 0 || t <= s.Start {
		return initial
	}
	frac := math.Min(1, float64(t-s.Start)/float64(s.Steps-s.Start))
	return initial + frac*(s.Final-initial)
}

// FieldError is a validation error for one config key. Key is relative to
// the section that produced it (e.g. "lr" in the ppo section); the config
// loader prefixes the section and adds the YAML line.
type FieldError struct {
	Key string
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// WindowState is an EpisodeWindow's saved state.
type WindowState struct {
	Returns []float64 `msgpack:"returns"`
	Lengths []int     `msgpack:"lengths"`
	Next    int       `msgpack:"next"`
	Total   int64     `msgpack:"total"`
	// MetricNames are the custom metrics' names and Metrics their values,
	// len(MetricNames) per episode in the order of Returns (NaN: not
	// reported). Both are empty in checkpoints written before custom
	// metrics existed.
	MetricNames []string  `msgpack:"metric_names,omitempty"`
	Metrics     []float64 `msgpack:"metrics,omitempty"`
}

// State returns a copy of the window's state.
func (w *EpisodeWindow) State() WindowState {
	return WindowState{
		Returns: append([]float64(nil), w.returns...), Lengths: append([]int(nil), w.lengths...), Next: w.next, Total: w.total,
		MetricNames: append([]string(nil), w.names...), Metrics: append([]float64(nil), w.metrics...),
	}
}

// SetState restores a saved state (a copy: s stays the caller's). The window keeps its own metric names
// (SetMetricNames): values saved under the same name are restored, and a
// name the state lacks (an older checkpoint) has no values until new
// episodes report it.
func (w *EpisodeWindow) SetState(s WindowState) error {
	if len(s.Returns) != len(s.Lengths) || len(s.Returns) > w.Size || s.Next < 0 || (len(s.Returns) > 0 && s.Next >= len(s.Returns)) {
		return fmt.Errorf("episode window: inconsistent state (%d returns, %d lengths, next %d, size %d)", len(s.Returns), len(s.Lengths), s.Next, w.Size)
	}
	if len(s.Metrics) != len(s.Returns)*len(s.MetricNames) {
		return fmt.Errorf("episode window: inconsistent state (%d metric values for %d episodes × %d metrics)", len(s.Metrics), len(s.Returns), len(s.MetricNames))
	}
	w.metrics = remapMetrics(s.MetricNames, s.Metrics, w.names, len(s.Returns))
	w.returns, w.lengths = append([]float64(nil), s.Returns...), append([]int(nil), s.Lengths...)
	w.next, w.total = s.Next, s.Total
	w.pending = nil
	return nil
}

// Checkpointer is implemented by algorithms whose state can be saved as
// named files (typed msgpack state, never code) and restored.
type Checkpointer interface {
	// SaveState returns the algorithm's state files.
	SaveState() (map[string][]byte, error)
	// LoadState restores them. notes says what could not be restored
	// exactly (e.g. envs that cannot snapshot resume with fresh episodes).
	LoadState(files map[string][]byte) (notes []string, err error)
}
