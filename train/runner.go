// Package runner drives a training run for rltrain: it builds the
// algorithm from a config, calls Train until a stop criterion is met,
// and writes the run directory (config.yaml, progress.csv, result.jsonl,
// result.json).
package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train/checkpoint"
	"github.com/rlgo/rlgo/train/config"
)

// Options configure a run. The zero value is usable: a run directory
// runs/<name>-<time>, 1,000,000 env steps, checkpoints every 20
// iterations, no evaluation, no trackers.
type Options struct {
	// Name names the run (result.json, runs/<name>-<time>). Default "run".
	Name string
	// Out is the run directory itself; "" means runs/<name>-<YYYYmmdd-HHMMSS>.
	// A new run (not Resume) needs it missing or empty: anything else is
	// a *NotEmptyError.
	Out string
	// Stop ends the run at the first criterion met; EnvSteps 0 means
	// 1,000,000. EpisodeReturnMean is the success criterion.
	Stop Stop
	// Evaluation runs the greedy policy on separate envs every
	// Evaluation.Interval iterations (0: never); Episodes 0 means 10.
	Evaluation Evaluation
	// Checkpoint says how often to checkpoint and how many to keep; the
	// zero value means checkpoint.DefaultConfig() (every 20 iterations).
	Checkpoint checkpoint.Config
	// Config, when set, is the run's configuration of record (the
	// resolved YAML rltrain train loaded): it is written to config.yaml
	// and checkpoints, and Name, Stop, Evaluation and Checkpoint are
	// taken from it. Nil derives it from the algorithm
	// (algorithms.Loop.Describe) and the fields above, so that
	// `rltrain evaluate`, `export` and `train --resume` work on the run.
	Config *config.Config
	// AsTest makes success (Stop.EpisodeReturnMean) the exit criterion:
	// Outcome.TargetMet false means the target was missed.
	AsTest bool
	// Stdout receives one line per iteration; nil discards them.
	Stdout io.Writer
	// Progress draws a progress bar under the lines (stdout is a terminal).
	Progress bool
	// Log receives one-off messages (resume notes); nil discards them.
	Log io.Writer
	// Resume continues the run in Out from its latest valid checkpoint
	// (rows after it in progress.csv are redone); with no checkpoint yet
	// the run starts over in the same directory. The algorithm must be
	// built as the run's was. A checkpoint that already meets a stop
	// criterion (a spent budget, a reached return target) is refused with
	// a *config.Error saying which --set goes on (ContinueHint).
	Resume bool
	// ResumeFrom, with Resume, names the checkpoint (iter-NNNNNN) to
	// continue from instead of the latest valid one.
	ResumeFrom string
	// Trackers receive the run's progress as it goes (TensorBoard, MLflow,
	// Prometheus, reports); a tracker's error fails the run, and every
	// tracker started is finished, whatever ends the run.
	Trackers []Tracker
	// Callbacks are called after every iteration: OnEpisodeEnd for each
	// episode it completed, then OnIterationEnd before its row is
	// written. Callbacks.Metrics add progress.csv columns custom/<name>
	// after env.metrics'.
	Callbacks algorithms.Callbacks
}

// Stop is a run's stop criteria (config key stop).
type Stop = config.StopConfig

// Evaluation schedules evaluation during training (config key evaluation).
type Evaluation = config.EvaluationConfig

// Outcome is how a run ended.
type Outcome struct {
	// RunDir is the run directory.
	RunDir string
	// Last is the last iteration's result (zero if none ran).
	Last algorithms.Result
	// StopReason names the criterion that ended the run
	// ("episode_return_mean", "env_steps", "iterations", "time_s") or
	// "interrupted".
	StopReason string
	// TargetMet reports that stop.episode_return_mean was reached.
	TargetMet bool
	// Interrupted reports that the context was cancelled (Ctrl-C, SIGTERM).
	Interrupted bool
}

// Tracker sends a run's progress where users already look. Start is
// called once the run directory exists, Iteration after every progress
// row is written, Finish after result.json is written — for every
// tracker whose Start succeeded, whatever ended the run.
type Tracker interface {
	Start(ctx context.Context, run RunInfo) error
	Iteration(ctx context.Context, r algorithms.Result) error
	Finish(ctx context.Context, result *ResultFile) error
}

// RunInfo describes a starting run to trackers.
type RunInfo struct {
	// Dir is the run directory.
	Dir string
	// Config is the run's config of record (Options.Config or the one
	// derived from the algorithm); nil for an algorithm that cannot
	// describe itself.
	Config *config.Config
	// Columns are the metric columns, in progress.csv order.
	Columns []Column
}

// ResultFile is the content of result.json.
type ResultFile struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Env       string `json:"env"`
	Seed      uint64 `json:"seed"`
	// Status is "finished", "interrupted" or "error".
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// StopReason is the criterion that ended the run.
	StopReason string `json:"stop_reason,omitempty"`
	// Target is stop.episode_return_mean, the success criterion (absent if unset).
	Target *float64 `json:"target_episode_return_mean,omitempty"`
	// Success reports that the target was met.
	Success bool `json:"success"`
	// EnvStepsToTarget and TimeSToTarget are where the target was first met.
	EnvStepsToTarget *int64   `json:"env_steps_to_target,omitempty"`
	TimeSToTarget    *float64 `json:"time_s_to_target,omitempty"`
	// Iterations, EnvSteps and TimeS are the run's totals.
	Iterations int     `json:"iterations"`
	EnvSteps   int64   `json:"env_steps"`
	TimeS      float64 `json:"time_s"`
	// BestEpisodeReturnMean is the best episode_return_mean of any iteration.
	BestEpisodeReturnMean *float64 `json:"best_episode_return_mean,omitempty"`
	// Final holds the last iteration's metrics by their stable names.
	Final map[string]float64 `json:"final"`
	// LastCheckpoint is the path of the last checkpoint ("" before checkpoints exist).
	LastCheckpoint string `json:"last_checkpoint"`
}

// NewAlgorithm builds the algorithm cfg names through its registration
// (algorithms.Lookup); newFleet nil means a local fleet. Config errors
// are *config.Error naming the key — including what only making an env
// shows: an unknown env option (env.options.NAME, listing the options
// the env takes) and an algorithm that cannot act in the env's spaces
// (algorithm), so they are found before Run makes a run directory.
func NewAlgorithm(cfg *config.Config, log io.Writer, newFleet rollout.NewFleetFunc) (algorithms.Algorithm, error) {
	dev, err := learner.SelectDevice(cfg.Learner.Device)
	if err != nil {
		return nil, &config.Error{Key: "learner.device", Msg: err.Error()}
	}
	if log != nil {
		fmt.Fprintf(log, "learner device: %s (gorgonia CPU backend)\n", dev)
	}
	reg, err := cfg.Registration()
	if err != nil {
		return nil, &config.Error{Key: "algorithm", Msg: err.Error()}
	}
	if err := reg.Check(cfg.Section, cfg.Setup(newFleet).WithDefaults()); err != nil {
		var fe *algorithms.FieldError
		if errors.As(err, &fe) {
			return nil, &config.Error{Key: fe.Key, Msg: fe.Msg}
		}
		return nil, err
	}
	setup := cfg.Setup(newFleet)
	sp, err := checkEnv(cfg, reg, setup)
	if err != nil {
		return nil, err
	}
	setup.KnownSpaces = &sp // the env checkEnv made: not another (server) for New
	algo, err := reg.Build(cfg.Section, setup)
	if err != nil {
		var fe *algorithms.FieldError
		if errors.As(err, &fe) {
			return nil, &config.Error{Key: fe.Key, Msg: fe.Msg}
		}
		return nil, err
	}
	return algo, nil
}

// RunDir returns the run directory for a run named name and the --out
// flag out, without creating it.
func RunDir(name, out string, now time.Time) string {
	if out != "" {
		return out
	}
	return filepath.Join("runs", name+"-"+now.Format("20060102-150405"))
}

// describer is an algorithm that can say what it is (algorithms.Loop).
type describer interface {
	Describe() algorithms.Description
}

// record returns the run's config of record and the options its
// sections set.
func (o Options) record(algo algorithms.Algorithm) (*config.Config, Options) {
	if o.Config != nil {
		c := o.Config
		o.Name, o.Stop, o.Evaluation, o.Checkpoint = c.Name, c.Stop, c.Evaluation, c.Checkpoint
		return c, o
	}
	if o.Name == "" {
		o.Name = "run"
	}
	if o.Stop.EnvSteps == 0 {
		o.Stop.EnvSteps = config.Default().Stop.EnvSteps
	}
	if o.Evaluation.Episodes == 0 {
		o.Evaluation.Episodes = config.Default().Evaluation.Episodes
	}
	if o.Evaluation.Seed == 0 {
		o.Evaluation.Seed = config.Default().Evaluation.Seed
	}
	if o.Checkpoint == (checkpoint.Config{}) {
		o.Checkpoint = checkpoint.DefaultConfig()
	}
	d, ok := algo.(describer)
	if !ok {
		return nil, o
	}
	c := config.FromDescription(d.Describe())
	c.Name, c.Stop, c.Evaluation, c.Checkpoint = o.Name, o.Stop, o.Evaluation, o.Checkpoint
	return &c, o
}

// Run trains algo to the stop criteria of opts, writing the run
// directory (config.yaml, progress.csv, result.jsonl, result.json,
// checkpoints) and feeding the trackers and callbacks — everything
// `rltrain train` does, from Go. A cancelled ctx ends the run early with
// Outcome.Interrupted (not an error), after a final checkpoint. Run does
// not close algo.
//
// Run holds the run directory's lock (Lock) while it runs: a second Run
// of the same directory, in this process or another, fails with a
// *LockedError. A new run refuses a non-empty directory (*NotEmptyError).
func Run(ctx context.Context, algo algorithms.Algorithm, opts Options) (*Outcome, error) {
	cfg, opts := opts.record(algo)
	if opts.AsTest && opts.Stop.EpisodeReturnMean == nil {
		return nil, &config.Error{Key: "stop.episode_return_mean", Msg: "--as-test needs a success criterion: set stop.episode_return_mean"}
	}
	if opts.Evaluation.Interval > 0 {
		if _, ok := algo.(algorithms.GreedyPolicy); !ok {
			return nil, fmt.Errorf("evaluation: algorithm %T has no greedy policy", algo)
		}
		if cfg == nil {
			return nil, fmt.Errorf("evaluation: algorithm %T does not describe its env (algorithms.Loop)", algo)
		}
	}
	var metricSpecs []rollout.MetricSpec
	if cfg != nil {
		metricSpecs = cfg.Env.Metrics
	}
	custom, err := customNames(metricSpecs, opts.Callbacks)
	if err != nil {
		return nil, err
	}
	dir := RunDir(opts.Name, opts.Out, time.Now())
	// One process per run directory; a new run only into an empty one,
	// checked under the lock, so two runs never write one directory.
	lock, err := Lock(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if !opts.Resume {
		if err := checkEmpty(dir); err != nil {
			return nil, err
		}
	}
	var y []byte
	if cfg != nil {
		if y, err = cfg.YAML(); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "config.yaml"), y, 0o644); err != nil {
			return nil, fmt.Errorf("write config: %w", err)
		}
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	algoName := fmt.Sprintf("%T", algo)
	if cfg != nil {
		algoName = cfg.Algorithm
	}
	ck, err := newCheckpointer(dir, opts.Checkpoint, algo, algoName, y)
	if err != nil {
		return nil, err
	}
	resumedAt := 0
	if opts.Resume {
		check := func(c *checkpoint.Checkpoint) error { return resumeCheck(dir, opts.Stop, c) }
		if resumedAt, err = ck.restore(ctx, opts.ResumeFrom, log, check); err != nil {
			return nil, err
		}
		if err := truncateProgress(dir, resumedAt); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	cols := Columns(algo.LearnerMetrics(), custom...)
	prog, err := newProgressWriter(dir, cols, resumedAt > 0)
	if err != nil {
		return nil, err
	}
	defer prog.Close()

	rf := &ResultFile{Name: opts.Name, Algorithm: algoName, Target: opts.Stop.EpisodeReturnMean}
	if cfg != nil {
		rf.Env, rf.Seed = cfg.Env.ID, cfg.Seed
	}
	var started []Tracker
	finish := func(runErr error) error {
		for _, t := range started {
			if err := t.Finish(context.WithoutCancel(ctx), rf); err != nil && runErr == nil {
				runErr = fmt.Errorf("finish tracker: %w", err)
			}
		}
		return runErr
	}
	for _, t := range opts.Trackers {
		if err := t.Start(ctx, RunInfo{Dir: dir, Config: cfg, Columns: cols}); err != nil {
			err = fmt.Errorf("start tracker: %w", err)
			rf.Status, rf.Error = "error", err.Error()
			return nil, finish(err)
		}
		started = append(started, t)
	}
	out := &Outcome{RunDir: dir}
	stdout := opts.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	bar := &progressBar{w: stdout, enabled: opts.Progress, total: opts.Stop.EnvSteps}
	runErr := func() error {
		for {
			r, err := algo.Train(ctx)
			if err != nil {
				if ctx.Err() != nil {
					out.Interrupted, out.StopReason = true, "interrupted"
					return nil
				}
				return err
			}
			if ev := opts.Evaluation; ev.Interval > 0 && r.Iteration%ev.Interval == 0 {
				if err := evaluate(ctx, algo, cfg, &r); err != nil {
					if ctx.Err() != nil {
						out.Interrupted, out.StopReason = true, "interrupted"
						return nil
					}
					return err
				}
			}
			opts.Callbacks.Call(&r)
			if err := checkCustom(r, custom); err != nil {
				return err
			}
			out.Last = r
			if err := prog.Write(r); err != nil {
				return err
			}
			for _, t := range opts.Trackers {
				if err := t.Iteration(ctx, r); err != nil {
					return fmt.Errorf("tracker: %w", err)
				}
			}
			if ck.due(r) {
				if err := ck.save(ctx, r); err != nil {
					return err
				}
			}
			bar.line(formatLine(r), r.EnvSteps)
			if r.HasEpisodes && (rf.BestEpisodeReturnMean == nil || r.EpisodeReturnMean > *rf.BestEpisodeReturnMean) {
				best := r.EpisodeReturnMean
				rf.BestEpisodeReturnMean = &best
			}
			if reason := stopReason(opts.Stop, r); reason != "" {
				out.StopReason = reason
				if reason == "episode_return_mean" {
					out.TargetMet = true
					steps, secs := r.EnvSteps, r.TimeS
					rf.EnvStepsToTarget, rf.TimeSToTarget = &steps, &secs
				}
				return nil
			}
			if ctx.Err() != nil {
				out.Interrupted, out.StopReason = true, "interrupted"
				return nil
			}
		}
	}()
	bar.done()
	// A final checkpoint when the run ends or is interrupted (not after an
	// error: that state may be what failed), unless this iteration has one.
	if runErr == nil && out.Last.Iteration > 0 && !ck.due(out.Last) {
		if err := ck.save(context.Background(), out.Last); err != nil {
			runErr = err
		}
	}
	rf.LastCheckpoint = ck.last
	rf.StopReason = out.StopReason
	rf.Success = out.TargetMet
	rf.Iterations, rf.EnvSteps, rf.TimeS = out.Last.Iteration, out.Last.EnvSteps, out.Last.TimeS
	rf.Final = finalMetrics(out.Last, cols)
	switch {
	case runErr != nil:
		rf.Status, rf.Error = "error", runErr.Error()
	case out.Interrupted:
		rf.Status = "interrupted"
	default:
		rf.Status = "finished"
	}
	if err := writeJSON(filepath.Join(dir, "result.json"), rf); err != nil && runErr == nil {
		runErr = err
	}
	runErr = finish(runErr)
	if runErr != nil {
		return out, runErr
	}
	return out, nil
}

// customNames returns the names of the run's custom metrics, in column
// order: env.metrics, then the callbacks' own.
func customNames(specs []rollout.MetricSpec, cb algorithms.Callbacks) ([]string, error) {
	if err := cb.Validate(); err != nil {
		return nil, err
	}
	names := algorithms.MetricNames(specs)
	for _, n := range cb.Metrics {
		if slices.Contains(names, n) {
			return nil, fmt.Errorf("callbacks: metric %q is already declared in env.metrics", n)
		}
	}
	return append(names, cb.Metrics...), nil
}

// checkCustom makes sure every custom metric of r has a column, so a
// callback's undeclared metric is an error rather than silently lost.
func checkCustom(r algorithms.Result, names []string) error {
	for _, m := range r.Custom {
		if !slices.Contains(names, strings.TrimPrefix(m.Name, algorithms.CustomPrefix)) {
			return fmt.Errorf("iteration %d: custom metric %q is not declared (env.metrics or Callbacks.Metrics)", r.Iteration, m.Name)
		}
	}
	return nil
}

// stopReason returns the first stop criterion r meets, or "".
func stopReason(s config.StopConfig, r algorithms.Result) string {
	switch {
	case s.EpisodeReturnMean != nil && r.HasEpisodes && r.EpisodeReturnMean >= *s.EpisodeReturnMean:
		return "episode_return_mean"
	case s.EvaluationReturnMean != nil && r.HasEvaluation && r.EvaluationReturnMean >= *s.EvaluationReturnMean:
		return "evaluation_return_mean"
	case r.EnvSteps >= s.EnvSteps:
		return "env_steps"
	case s.Iterations > 0 && r.Iteration >= s.Iterations:
		return "iterations"
	case s.TimeS > 0 && r.TimeS >= s.TimeS:
		return "time_s"
	}
	return ""
}

// evaluate runs the algorithm's greedy policy on separate envs and records
// the evaluation metrics in r.
func evaluate(ctx context.Context, algo algorithms.Algorithm, cfg *config.Config, r *algorithms.Result) error {
	gp, ok := algo.(algorithms.GreedyPolicy)
	if !ok {
		return fmt.Errorf("evaluation: algorithm %s has no greedy policy", cfg.Algorithm)
	}
	pol, err := gp.GreedyPolicy()
	if err != nil {
		return fmt.Errorf("evaluation: %w", err)
	}
	ev, err := algorithms.EvaluateSetup(ctx, cfg.Setup(nil), pol, cfg.Evaluation.Episodes, cfg.Evaluation.Seed)
	if err != nil {
		return err
	}
	r.HasEvaluation = true
	r.EvaluationReturnMean, r.EvaluationReturnStd, r.EvaluationEpisodeLenMean = ev.ReturnMean, ev.ReturnStd, ev.LengthMean
	return nil
}

func formatLine(r algorithms.Result) string {
	ret := "       -"
	if r.HasEpisodes {
		ret = fmt.Sprintf("%8s", sig(r.EpisodeReturnMean))
	}
	return fmt.Sprintf("iter %5d  env_steps %9d  return_mean %s  steps/s %8.0f  time %7.1fs",
		r.Iteration, r.EnvSteps, ret, r.EnvStepsPerS, r.TimeS)
}

func finalMetrics(r algorithms.Result, cols []Column) map[string]float64 {
	m := map[string]float64{}
	for _, c := range cols {
		if v, ok := c.Value(r); ok { // non-finite values are absent: JSON has no NaN
			m[c.name] = v
		}
	}
	return m
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return os.Rename(tmp, path)
}

// progressBar draws one line at the bottom of a terminal, redrawn after
// every iteration line. It is a dozen lines, so it is written here rather
// than taken from a library that would have to share the line with our
// own output.
type progressBar struct {
	w       io.Writer
	enabled bool
	total   int64
	steps   int64
}

func (b *progressBar) line(s string, steps int64) {
	if !b.enabled {
		fmt.Fprintln(b.w, s)
		return
	}
	fmt.Fprintf(b.w, "\r\033[K%s\n", s)
	b.steps = steps
	frac := math.Min(1, float64(b.steps)/float64(b.total))
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(b.w, "[%s%s] %3.0f%% %d/%d env steps", strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac, b.steps, b.total)
}

func (b *progressBar) done() {
	if b.enabled {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

// RunConfig builds the algorithm cfg describes (NewAlgorithm, local
// workers) and runs it with cfg as the config of record — what
// `rltrain train` does with a loaded YAML file.
func RunConfig(ctx context.Context, cfg *config.Config, opts Options) (*Outcome, error) {
	algo, err := NewAlgorithm(cfg, opts.Log, nil)
	if err != nil {
		return nil, err
	}
	defer algo.Close()
	opts.Config = cfg
	return Run(ctx, algo, opts)
}
