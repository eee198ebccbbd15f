// Package report draws learning-curve reports from run directories:
// episode return against env steps and wall time (seeds of one config
// as a mean ± standard-deviation band with each seed's own thin line,
// the env's reward threshold dashed), learner panels, as PNG and SVG,
// one self-contained HTML page and a Markdown summary.
//
// It reads only what the runner writes (config.yaml, progress.csv,
// result.json), so it reports on finished, interrupted, failed and
// still-running runs alike.
package report

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/tensorboard"
)

// ErrNotRunDir is returned (wrapped) for a path that holds no run
// directory.
var ErrNotRunDir = errors.New("not a run directory (no progress.csv)")

// Run is one run directory as the report reads it.
type Run struct {
	// Dir is the run directory.
	Dir string
	// Name, Algorithm, EnvID and Seed come from config.yaml.
	Name, Algorithm, EnvID, Seed string
	// Config is config.yaml flattened to dotted keys, in file order.
	Config []tensorboard.HParam
	// GroupKey is shared by runs whose configs differ only in seed.
	GroupKey string
	// Target is stop.episode_return_mean, if set.
	Target *float64
	// Columns are progress.csv's columns, in file order.
	Columns []string
	// Rows holds progress.csv's rows; an empty cell is NaN.
	Rows [][]float64
	// Result is result.json, or nil while the run has not written it.
	Result *train.ResultFile
	// Warnings name what LoadRun skipped: progress.csv rows with the wrong
	// number of cells or a cell that is not a number (by line).
	Warnings []string

	col map[string]int
}

// Has reports whether the run has column name.
func (r *Run) Has(name string) bool { _, ok := r.col[name]; return ok }

// Series returns the (x, y) pairs of the rows where both columns have
// values, in file order.
func (r *Run) Series(x, y string) (xs, ys []float64) {
	xi, ok1 := r.col[x]
	yi, ok2 := r.col[y]
	if !ok1 || !ok2 {
		return nil, nil
	}
	for _, row := range r.Rows {
		if !math.IsNaN(row[xi]) && !math.IsNaN(row[yi]) {
			xs = append(xs, row[xi])
			ys = append(ys, row[yi])
		}
	}
	return xs, ys
}

// ConfigValue returns the flattened config key's value and whether it is set.
func (r *Run) ConfigValue(key string) (any, bool) {
	for _, h := range r.Config {
		if h.Name == key {
			return h.Value, true
		}
	}
	return nil, false
}

// Expand resolves the command line's paths to run directories: a path
// holding progress.csv is a run directory; otherwise its immediate
// subdirectories that hold one are (so `rltrain report runs` works).
// The result is sorted within each argument and has no duplicates.
func Expand(paths []string) ([]string, error) {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if c := filepath.Clean(d); !seen[c] {
			seen[c] = true
			dirs = append(dirs, c)
		}
	}
	for _, p := range paths {
		if isRunDir(p) {
			add(p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, ErrNotRunDir)
		}
		var found []string
		for _, e := range ents {
			if d := filepath.Join(p, e.Name()); e.IsDir() && isRunDir(d) {
				found = append(found, d)
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: %w", p, ErrNotRunDir)
		}
		sort.Strings(found)
		for _, d := range found {
			add(d)
		}
	}
	return dirs, nil
}

func isRunDir(p string) bool {
	st, err := os.Stat(filepath.Join(p, "progress.csv"))
	return err == nil && st.Mode().IsRegular()
}

// LoadRun reads a run directory.
func LoadRun(dir string) (*Run, error) {
	if !isRunDir(dir) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotRunDir)
	}
	r := &Run{Dir: dir, Name: filepath.Base(dir), col: map[string]int{}}
	y, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	var group string
	if r.Config, group, err = tensorboard.HParams(y); err != nil {
		return nil, fmt.Errorf("%s/config.yaml: %w", dir, err)
	}
	r.GroupKey = group
	str := func(k string) string {
		if v, ok := r.ConfigValue(k); ok {
			return fmt.Sprint(v)
		}
		return ""
	}
	if n := str("name"); n != "" {
		r.Name = n
	}
	r.Algorithm, r.EnvID, r.Seed = str("algorithm"), str("env.id"), str("seed")
	if v, ok := r.ConfigValue("stop.episode_return_mean"); ok {
		if f, ok := v.(float64); ok {
			r.Target = &f
		}
	}

	f, err := os.Open(filepath.Join(dir, "progress.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var skipped []string
	if r.Columns, r.Rows, skipped, err = readProgress(f); err != nil {
		return nil, fmt.Errorf("%s/progress.csv: %w", dir, err)
	}
	if len(skipped) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s/progress.csv: skipped %d row(s) that cannot be read, reported the other %d: %s",
			dir, len(skipped), len(r.Rows), summarizeLines(skipped)))
	}
	for i, c := range r.Columns {
		r.col[c] = i
	}

	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	switch {
	case errors.Is(err, os.ErrNotExist): // still running, or killed
	case err != nil:
		return nil, err
	default:
		var rf train.ResultFile
		if err := json.Unmarshal(b, &rf); err != nil {
			return nil, fmt.Errorf("%s/result.json: %w", dir, err)
		}
		r.Result = &rf
	}
	return r, nil
}

// readProgress parses progress.csv: a header of column names, then rows
// of numbers where an empty cell is an absent value (NaN here). A row
// that cannot be read — the wrong number of cells (the half-written last
// line of a killed run, two writers' rows interleaved), a cell that is
// not a number, broken quoting — is skipped and named in skipped ("line
// 7: 3 cells, want 23"); only an unreadable header is an error.
func readProgress(rd io.Reader) (header []string, rows [][]float64, skipped []string, err error) {
	cr := csv.NewReader(rd)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err = cr.Read()
	if err == io.EOF {
		return nil, nil, nil, errors.New("empty file")
	}
	if err != nil {
		return nil, nil, nil, err
	}
	seen := map[string]bool{}
	for _, h := range header {
		if h == "" || seen[h] {
			return nil, nil, nil, fmt.Errorf("header: empty or repeated column %q", h)
		}
		seen[h] = true
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				skipped = append(skipped, fmt.Sprintf("line %d: %v", pe.StartLine, pe.Err))
				continue
			}
			return nil, nil, nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			skipped = append(skipped, fmt.Sprintf("line %d: %d cells, want %d", line, len(rec), len(header)))
			continue
		}
		row := make([]float64, len(rec))
		bad := ""
		for i, s := range rec {
			if s == "" {
				row[i] = math.NaN()
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				bad = fmt.Sprintf("line %d: column %s: %q is not a number", line, header[i], s)
				break
			}
			if math.IsInf(v, 0) {
				v = math.NaN()
			}
			row[i] = v
		}
		if bad != "" {
			skipped = append(skipped, bad)
			continue
		}
		rows = append(rows, row)
	}
	return header, rows, skipped, nil
}

// summarizeLines joins the first few of a list of skipped rows.
func summarizeLines(lines []string) string {
	const show = 3
	if len(lines) <= show {
		return strings.Join(lines, "; ")
	}
	return strings.Join(lines[:show], "; ") + fmt.Sprintf("; and %d more", len(lines)-show)
}
