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
}

// SetFleet records the fleet's health in r.
func (r *Result) SetFleet(h rollout.Health) {
	r.Fleet = h
	r.FleetWorkers, r.FleetRestart = h.Workers, h.Restarts
}

// EpisodeWindow keeps the last Size completed episodes, in the order they
// are added (design.md: worker index, then env index, then completion step).
type EpisodeWindow struct {
	Size    int
	returns []float64
	lengths []int
	next    int
	total   int64
}

// NewEpisodeWindow returns a window of the last size episodes (RLlib and
// SB3 use 100).
func NewEpisodeWindow(size int) *EpisodeWindow { return &EpisodeWindow{Size: size} }

// AddBatches adds the episodes of batches in order: batches by worker
// index, episodes within a batch by completion step, then env index.
func (w *EpisodeWindow) AddBatches(batches []*rollout.SampleBatch) {
	for _, b := range batches {
		for _, e := range b.Episodes {
			w.Add(e.Return, e.Length)
		}
	}
}

// Add records one episode.
func (w *EpisodeWindow) Add(ret float64, length int) {
	w.total++
	if len(w.returns) < w.Size {
		w.returns = append(w.returns, ret)
		w.lengths = append(w.lengths, length)
		return
	}
	w.returns[w.next], w.lengths[w.next] = ret, length
	w.next = (w.next + 1) % w.Size
}

// Total returns the number of episodes ever added.
func (w *EpisodeWindow) Total() int64 { return w.total }

// Fill writes the window's statistics into r (and leaves them absent when
// there are none). Sums run oldest to newest, so results are deterministic.
func (w *EpisodeWindow) Fill(r *Result) {
	r.Episodes = w.total
	n := len(w.returns)
	if n == 0 {
		return
	}
	r.HasEpisodes = true
	var sum, lsum float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for k := 0; k < n; k++ {
		i := (w.next + k) % n
		sum += w.returns[i]
		lsum += float64(w.lengths[i])
		lo, hi = math.Min(lo, w.returns[i]), math.Max(hi, w.returns[i])
	}
	r.EpisodeReturnMean = sum / float64(n)
	r.EpisodeLenMean = lsum / float64(n)
	r.EpisodeReturnMin, r.EpisodeReturnMax = lo, hi
}

// Schedule is a value annealed linearly from its initial value to Final
// over Steps env steps, then held (YAML: {final: 0, steps: 500000}). Steps
// 0 means constant. The horizon is the schedule's own, never the run's
// budget, so changing stop.env_steps or resuming does not change learning.
type Schedule struct {
	Final float64 `yaml:"final"`
	Steps int64   `yaml:"steps"`
}

// At returns the value at env step t for a schedule starting at initial.
func (s Schedule) At(initial float64, t int64) float64 {
	if s.Steps <= 0 {
		return initial
	}
	frac := math.Min(1, float64(t)/float64(s.Steps))
	return initial + frac*(s.Final-initial)
}

// Validate checks the horizon.
func (s Schedule) Validate() error {
	if s.Steps < 0 {
		return fmt.Errorf("steps: want >= 0, got %d", s.Steps)
	}
	return nil
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
}

// State returns a copy of the window's state.
func (w *EpisodeWindow) State() WindowState {
	return WindowState{Returns: append([]float64(nil), w.returns...), Lengths: append([]int(nil), w.lengths...), Next: w.next, Total: w.total}
}

// SetState restores a saved state.
func (w *EpisodeWindow) SetState(s WindowState) error {
	if len(s.Returns) != len(s.Lengths) || len(s.Returns) > w.Size || s.Next < 0 || (len(s.Returns) > 0 && s.Next >= len(s.Returns)) {
		return fmt.Errorf("episode window: inconsistent state (%d returns, %d lengths, next %d, size %d)", len(s.Returns), len(s.Lengths), s.Next, w.Size)
	}
	w.returns, w.lengths, w.next, w.total = s.Returns, s.Lengths, s.Next, s.Total
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
