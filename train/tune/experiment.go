package tune

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/train/report"
)

// Trial statuses.
const (
	StatusPending      = "pending"
	StatusRunning      = "running"
	StatusFinished     = "finished"
	StatusFailed       = "failed"
	StatusStoppedEarly = "stopped_early"
	// StatusInterrupted is a trial stopped with the experiment (Ctrl-C):
	// --resume continues it.
	StatusInterrupted = "interrupted"
	// StatusPaused is a PBT trial waiting at a perturbation boundary for
	// its next segment.
	StatusPaused = "paused"
)

// Files in the experiment directory.
const (
	StateFile = "experiment.json"
	CSVFile   = "experiment.csv"
	BaseFile  = "base.yaml"
	ReportDir = "report"
	LogDir    = "logs"
)

// Start records one start of a trial's child process.
type Start struct {
	// At is when it started.
	At time.Time `json:"at"`
	// Resume is true for `train --resume` (from the trial's checkpoint),
	// false for a start from scratch.
	Resume bool `json:"resume"`
}

// TrialState is one trial in experiment.json.
type TrialState struct {
	Trial
	// Dir is the trial's run directory, relative to the experiment directory.
	Dir string `json:"dir"`
	// Cost is the cores it counts for: its rollout.workers, at least 1.
	Cost int `json:"cost"`
	// MaxIterations is its stop.iterations (0: none).
	MaxIterations int `json:"max_iterations,omitempty"`
	// Status is pending, running, finished, failed, stopped_early or interrupted.
	Status string `json:"status"`
	// Error is why a failed trial failed: its last error line.
	Error string `json:"error,omitempty"`
	// StoppedAtRung is the rung (iteration) where a scheduler stopped it.
	StoppedAtRung int `json:"stopped_at_rung,omitempty"`
	// Starts are its child processes' starts; one with Resume false is a
	// start from scratch.
	Starts []Start `json:"starts"`
	// PBT is its population-based-training state (scheduler pbt only).
	PBT *PBTState `json:"pbt,omitempty"`
	// Iteration, EnvSteps and TimeS are its last progress row's.
	Iteration int     `json:"iteration"`
	EnvSteps  int64   `json:"env_steps"`
	TimeS     float64 `json:"time_s"`
	// Final and Best are the metric's last and best value (NaN: none yet;
	// null in JSON).
	Final float64 `json:"-"`
	Best  float64 `json:"-"`
	// Threshold is the env's reward threshold (else the trial's
	// stop.episode_return_mean) and EnvStepsToThreshold/TimeSToThreshold
	// where episode_return_mean first reached it (NaN: never).
	Threshold           float64 `json:"-"`
	EnvStepsToThreshold float64 `json:"-"`
	TimeSToThreshold    float64 `json:"-"`
}

func nullable(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func unnull(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON implements json.Marshaler.
func (t *TrialState) MarshalJSON() ([]byte, error) {
	type plain TrialState
	return json.Marshal(struct {
		*plain
		Final               *float64 `json:"final"`
		Best                *float64 `json:"best"`
		Threshold           *float64 `json:"threshold"`
		EnvStepsToThreshold *float64 `json:"env_steps_to_threshold"`
		TimeSToThreshold    *float64 `json:"time_s_to_threshold"`
	}{(*plain)(t), nullable(t.Final), nullable(t.Best), nullable(t.Threshold), nullable(t.EnvStepsToThreshold), nullable(t.TimeSToThreshold)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *TrialState) UnmarshalJSON(b []byte) error {
	type plain TrialState
	var v struct {
		*plain
		Final               *float64 `json:"final"`
		Best                *float64 `json:"best"`
		Threshold           *float64 `json:"threshold"`
		EnvStepsToThreshold *float64 `json:"env_steps_to_threshold"`
		TimeSToThreshold    *float64 `json:"time_s_to_threshold"`
	}
	v.plain = (*plain)(t)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	t.Final, t.Best, t.Threshold = unnull(v.Final), unnull(v.Best), unnull(v.Threshold)
	t.EnvStepsToThreshold, t.TimeSToThreshold = unnull(v.EnvStepsToThreshold), unnull(v.TimeSToThreshold)
	return nil
}

// Experiment is experiment.json: everything --resume needs.
type Experiment struct {
	// Config is the tune config's path as given.
	Config string `json:"config"`
	// Tune is its tune: section.
	Tune Settings `json:"tune"`
	// Spaces are its search spaces.
	Spaces []Space `json:"spaces"`
	// Trials are the expanded trials and how they stand.
	Trials []*TrialState `json:"trials"`
	// PBTRand is the state of PBT's random source (PCG), so a resumed
	// experiment draws on where it stopped.
	PBTRand []byte `json:"pbt_rand,omitempty"`
}

// Count returns the number of trials with each status.
func (e *Experiment) Count() map[string]int {
	n := map[string]int{}
	for _, t := range e.Trials {
		n[t.Status]++
	}
	return n
}

// ReadExperiment reads dir's experiment.json.
func ReadExperiment(dir string) (*Experiment, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("tune: %s is not an experiment directory: %w", dir, err)
	}
	var e Experiment
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("tune: %s: %w", filepath.Join(dir, StateFile), err)
	}
	return &e, nil
}

// write replaces experiment.json and experiment.csv atomically.
func (e *Experiment) write(dir string) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("tune: encode %s: %w", StateFile, err)
	}
	if err := writeAtomic(filepath.Join(dir, StateFile), append(b, '\n')); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, CSVFile), e.csv())
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	return nil
}

// paramKeys returns the tuned keys in order (the spaces', then seed).
func (e *Experiment) paramKeys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, t := range e.Trials {
		for _, p := range t.Params {
			if !seen[p.Key] {
				seen[p.Key] = true
				keys = append(keys, p.Key)
			}
		}
	}
	return keys
}

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// csv renders experiment.csv: one row per trial.
func (e *Experiment) csv() []byte {
	keys := e.paramKeys()
	m := e.Tune.Metric
	header := append([]string{"trial"}, keys...)
	header = append(header, "status", "final_"+m, "best_"+m, "iterations", "env_steps", "time_s",
		"threshold", "env_steps_to_threshold", "time_s_to_threshold", "stopped_at_rung", "error", "run_dir")
	pbt := e.Tune.Scheduler.Type == SchedulerPBT
	if pbt {
		// PBT: how often each trial copied another, and its values now.
		header = append(header, "pbt_exploits", "pbt_values")
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	for _, t := range e.Trials {
		row := []string{t.Name}
		for _, k := range keys {
			v := ""
			for _, p := range t.Params {
				if p.Key == k {
					v = p.Value
				}
			}
			row = append(row, v)
		}
		rung := ""
		if t.StoppedAtRung > 0 {
			rung = strconv.Itoa(t.StoppedAtRung)
		}
		row = append(row, t.Status, num(t.Final), num(t.Best), strconv.Itoa(t.Iteration), strconv.FormatInt(t.EnvSteps, 10), num(t.TimeS),
			num(t.Threshold), num(t.EnvStepsToThreshold), num(t.TimeSToThreshold), rung, t.Error, t.Dir)
		if pbt {
			n, vals := 0, ""
			if t.PBT != nil {
				n = len(t.PBT.Lineage)
				vals = strings.Join(Trial{Params: t.PBT.Values}.Sets(), " ")
			}
			row = append(row, strconv.Itoa(n), vals)
		}
		w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}

// progress is what a trial's progress.csv holds so far.
type progress struct {
	iteration []int
	envSteps  []int64
	timeS     []float64
	metric    []float64
	hasMetric bool
}

// readProgress reads the complete rows of dir/progress.csv (a missing
// file is no rows); metric is the column the trial is judged by.
func readProgress(dir, metric string) (progress, error) {
	var p progress
	b, err := os.ReadFile(filepath.Join(dir, "progress.csv"))
	if os.IsNotExist(err) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1] // a row still being written is left for the next read
	} else {
		return p, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	col := map[string]int{}
	first := true
	for sc.Scan() {
		cells := strings.Split(sc.Text(), ",")
		if first {
			for i, c := range cells {
				col[c] = i
			}
			first = false
			_, p.hasMetric = col[metric]
			continue
		}
		get := func(name string) float64 {
			i, ok := col[name]
			if !ok || i >= len(cells) || cells[i] == "" {
				return math.NaN()
			}
			v, err := strconv.ParseFloat(cells[i], 64)
			if err != nil {
				return math.NaN()
			}
			return v
		}
		if len(cells) != len(col) {
			continue
		}
		it := get("iteration")
		if math.IsNaN(it) {
			continue
		}
		p.iteration = append(p.iteration, int(it))
		p.envSteps = append(p.envSteps, int64(get("env_steps")))
		p.timeS = append(p.timeS, get("time_s"))
		p.metric = append(p.metric, get(metric))
	}
	return p, sc.Err()
}

// summarize fills t's results from its run directory.
func summarize(t *TrialState, dir, metric, mode string) {
	t.Final, t.Best = math.NaN(), math.NaN()
	t.Threshold, t.EnvStepsToThreshold, t.TimeSToThreshold = math.NaN(), math.NaN(), math.NaN()
	p, err := readProgress(dir, metric)
	if err != nil {
		return
	}
	if n := len(p.iteration); n > 0 {
		t.Iteration, t.EnvSteps, t.TimeS = p.iteration[n-1], p.envSteps[n-1], p.timeS[n-1]
	}
	for _, v := range p.metric {
		if math.IsNaN(v) {
			continue
		}
		t.Final = v
		if math.IsNaN(t.Best) || (mode == "min" && v < t.Best) || (mode != "min" && v > t.Best) {
			t.Best = v
		}
	}
	r, err := report.LoadRun(dir)
	if err != nil {
		return
	}
	threshold, has := 0.0, false
	if spec, err := envs.Lookup(r.EnvID); err == nil && spec.HasThreshold {
		threshold, has = spec.RewardThreshold, true
	} else if r.Target != nil {
		threshold, has = *r.Target, true
	}
	if has {
		s := report.Stats(r, threshold, true)
		t.Threshold, t.EnvStepsToThreshold, t.TimeSToThreshold = threshold, s.StepsToThreshold, s.TimeToThreshold
	}
}
