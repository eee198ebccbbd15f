package train

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rlgo/rlgo/algorithms"
)

// Column is one metric column of progress.csv and key of result.jsonl.
type Column struct {
	name string
	// Timing marks wall-clock columns, which differ between identical runs.
	Timing bool
	value  func(algorithms.Result) (float64, bool)
}

// Name returns the stable metric name.
func (c Column) Name() string { return c.name }

// Value returns the column's value in r, and false where it is absent
// (episode metrics before the first episode, custom metrics without a
// value, non-finite values).
func (c Column) Value(r algorithms.Result) (float64, bool) {
	v, ok := c.value(r)
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// Columns returns the metric columns in order: design.md's stable names,
// with custom/<name> for each of customNames (env.metrics, then
// Callbacks.Metrics) after episode_len_mean, then the algorithm's
// learner/<name> metrics, then the fleet's.
func Columns(learnerNames []string, customNames ...string) []Column {
	always := func(f func(algorithms.Result) float64) func(algorithms.Result) (float64, bool) {
		return func(r algorithms.Result) (float64, bool) { return f(r), true }
	}
	episodic := func(f func(algorithms.Result) float64) func(algorithms.Result) (float64, bool) {
		return func(r algorithms.Result) (float64, bool) { return f(r), r.HasEpisodes }
	}
	evaluated := func(f func(algorithms.Result) float64) func(algorithms.Result) (float64, bool) {
		return func(r algorithms.Result) (float64, bool) { return f(r), r.HasEvaluation }
	}
	cols := []Column{
		{name: "iteration", value: always(func(r algorithms.Result) float64 { return float64(r.Iteration) })},
		{name: "env_steps", value: always(func(r algorithms.Result) float64 { return float64(r.EnvSteps) })},
		{name: "episodes", value: always(func(r algorithms.Result) float64 { return float64(r.Episodes) })},
		{name: "episode_return_mean", value: episodic(func(r algorithms.Result) float64 { return r.EpisodeReturnMean })},
		{name: "episode_return_min", value: episodic(func(r algorithms.Result) float64 { return r.EpisodeReturnMin })},
		{name: "episode_return_max", value: episodic(func(r algorithms.Result) float64 { return r.EpisodeReturnMax })},
		{name: "episode_len_mean", value: episodic(func(r algorithms.Result) float64 { return r.EpisodeLenMean })},
	}
	for _, name := range customNames {
		cols = append(cols, Column{name: algorithms.CustomPrefix + name, value: func(r algorithms.Result) (float64, bool) {
			return r.CustomValue(name)
		}})
	}
	cols = append(cols, []Column{
		{name: "evaluation_return_mean", value: evaluated(func(r algorithms.Result) float64 { return r.EvaluationReturnMean })},
		{name: "evaluation_return_std", value: evaluated(func(r algorithms.Result) float64 { return r.EvaluationReturnStd })},
		{name: "evaluation_episode_len_mean", value: evaluated(func(r algorithms.Result) float64 { return r.EvaluationEpisodeLenMean })},
		{name: "time_s", Timing: true, value: always(func(r algorithms.Result) float64 { return r.TimeS })},
		{name: "env_steps_per_s", Timing: true, value: always(func(r algorithms.Result) float64 { return r.EnvStepsPerS })},
		{name: "sample_time_s", Timing: true, value: always(func(r algorithms.Result) float64 { return r.SampleTimeS })},
		{name: "learn_time_s", Timing: true, value: always(func(r algorithms.Result) float64 { return r.LearnTimeS })},
	}...)
	for i, name := range learnerNames {
		cols = append(cols, Column{name: name, value: func(r algorithms.Result) (float64, bool) {
			if i >= len(r.Learner) {
				return 0, false
			}
			return r.Learner[i].Value, true
		}})
	}
	cols = append(cols,
		Column{name: "fleet/workers", value: always(func(r algorithms.Result) float64 { return float64(r.FleetWorkers) })},
		Column{name: "fleet/restarts", value: always(func(r algorithms.Result) float64 { return float64(r.FleetRestart) })},
		Column{name: "fleet/dropped", value: always(func(r algorithms.Result) float64 { return float64(r.Fleet.Dropped) })},
		Column{name: "fleet/stale", value: always(func(r algorithms.Result) float64 { return float64(r.Fleet.Stale) })},
		Column{name: "fleet/duplicate", value: always(func(r algorithms.Result) float64 { return float64(r.Fleet.Duplicate) })},
		Column{name: "fleet/rejected", value: always(func(r algorithms.Result) float64 { return float64(r.Fleet.Rejected) })},
		Column{name: "fleet/bytes_received", value: always(func(r algorithms.Result) float64 { return float64(r.Fleet.BytesReceived) })},
		Column{name: "fleet/transfer_time_s", Timing: true, value: always(func(r algorithms.Result) float64 { return r.Fleet.TransferTimeS })},
		Column{name: "fleet/env_restarts", value: always(func(r algorithms.Result) float64 { return float64(r.Fleet.EnvRestarts) })},
	)
	return cols
}

// progressWriter appends one row per iteration to progress.csv and
// result.jsonl, flushing each so a crashed run keeps every finished row.
type progressWriter struct {
	cols      []Column
	csvFile   *os.File
	csv       *csv.Writer
	jsonlFile *os.File
}

func newProgressWriter(dir string, cols []Column, appendRows bool) (*progressWriter, error) {
	p := &progressWriter{cols: cols}
	header := make([]string, len(p.cols))
	for i, c := range p.cols {
		header[i] = c.name
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendRows {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		if err := checkHeader(filepath.Join(dir, "progress.csv"), header); err != nil {
			return nil, err
		}
	}
	var err error
	if p.csvFile, err = os.OpenFile(filepath.Join(dir, "progress.csv"), flags, 0o644); err != nil {
		return nil, fmt.Errorf("open progress.csv: %w", err)
	}
	if p.jsonlFile, err = os.OpenFile(filepath.Join(dir, "result.jsonl"), flags, 0o644); err != nil {
		p.csvFile.Close()
		return nil, fmt.Errorf("open result.jsonl: %w", err)
	}
	p.csv = csv.NewWriter(p.csvFile)
	if appendRows {
		return p, nil
	}
	if err := p.csv.Write(header); err != nil {
		return nil, err
	}
	p.csv.Flush()
	return p, p.csv.Error()
}

// checkHeader makes sure an existing progress.csv has the columns this
// run writes, so appended rows line up.
func checkHeader(path string, header []string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	defer f.Close()
	got, err := csv.NewReader(f).Read()
	if err != nil {
		return fmt.Errorf("resume: read progress.csv header: %w", err)
	}
	if strings.Join(got, ",") != strings.Join(header, ",") {
		return fmt.Errorf("resume: progress.csv has columns %v, this run writes %v", got, header)
	}
	return nil
}

// formatValue writes integers without a fraction and floats in the
// shortest form that reads back exactly; non-finite values are absent.
func formatValue(v float64) (string, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "", false
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10), true
	}
	return strconv.FormatFloat(v, 'g', -1, 64), true
}

// Write appends r's row to both files.
func (p *progressWriter) Write(r algorithms.Result) error {
	row := make([]string, len(p.cols))
	var js bytes.Buffer
	js.WriteByte('{')
	first := true
	for i, c := range p.cols {
		v, ok := c.value(r)
		if !ok {
			continue
		}
		s, ok := formatValue(v)
		if !ok {
			continue
		}
		row[i] = s
		if !first {
			js.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&js, "%q:%s", c.name, s)
	}
	js.WriteString("}\n")
	if err := p.csv.Write(row); err != nil {
		return fmt.Errorf("write progress.csv: %w", err)
	}
	p.csv.Flush()
	if err := p.csv.Error(); err != nil {
		return fmt.Errorf("write progress.csv: %w", err)
	}
	if _, err := p.jsonlFile.Write(js.Bytes()); err != nil {
		return fmt.Errorf("write result.jsonl: %w", err)
	}
	return nil
}

// Close closes both files.
func (p *progressWriter) Close() error {
	p.csv.Flush()
	err1 := p.csvFile.Close()
	err2 := p.jsonlFile.Close()
	if err1 != nil {
		return err1
	}
	return err2
}
