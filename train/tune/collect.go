package tune

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rlgo/rlgo/train/checkpoint"
)

func nan() float64 { return math.NaN() }

var trialDirRE = regexp.MustCompile(`^trial-\d+$`)

// Collect builds experiment.csv, experiment.json and the report from
// trial run directories written elsewhere (Kubernetes Jobs from
// EmitK8s): location is a local experiment directory or an S3 prefix
// (s3://bucket/prefix) holding trial-NNN/ run directories. From S3, each
// trial's files but its checkpoints are downloaded into out/trial-NNN;
// a local location is summarised in place (out is "" or location). The
// trials and their parameters come from an experiment.json in out or at
// location (EmitK8s writes one); without one, they are the trial-NNN
// directories, with the config keys whose values differ between them as
// parameters.
func Collect(ctx context.Context, location, out string, log io.Writer) (*Experiment, error) {
	if log == nil {
		log = io.Discard
	}
	dir := location
	if strings.HasPrefix(location, "s3://") {
		if out == "" {
			return nil, fmt.Errorf("tune: --collect %s: give --out DIR for the downloaded run directories and the summary", location)
		}
		dir = out
		if err := download(ctx, location, out); err != nil {
			return nil, err
		}
	} else if out != "" && filepath.Clean(out) != filepath.Clean(location) {
		return nil, fmt.Errorf("tune: --collect of a local directory writes its summary there; --out %s differs", out)
	}
	exp, err := ReadExperiment(dir)
	if err != nil {
		if exp, err = deriveExperiment(dir); err != nil {
			return nil, err
		}
	}
	for _, t := range exp.Trials {
		rd := filepath.Join(dir, t.Dir)
		t.Status, t.Error = collectStatus(rd)
		summarize(t, rd, exp.Tune.Metric, exp.Tune.Mode)
	}
	if err := exp.write(dir); err != nil {
		return nil, err
	}
	return exp, writeReport(dir, exp, log)
}

// download copies the files of location's trial-NNN run directories
// (checkpoints and the lease aside) and its experiment.json into out.
func download(ctx context.Context, location, out string) error {
	store, err := checkpoint.OpenStore(strings.TrimRight(location, "/"))
	if err != nil {
		return fmt.Errorf("tune: --collect %s: %w", location, err)
	}
	keys, err := store.List(ctx, "")
	if err != nil {
		return fmt.Errorf("tune: --collect %s: %w", location, err)
	}
	n := 0
	for _, k := range keys {
		first, rest, _ := strings.Cut(k, "/")
		switch {
		case k == StateFile:
			if _, err := os.Stat(filepath.Join(out, StateFile)); err == nil {
				continue // the one in out (from --emit-k8s) wins
			}
		case !trialDirRE.MatchString(first) || rest == "" || strings.HasPrefix(rest, checkpoint.Dir+"/") || rest == checkpoint.LeaseKey:
			continue
		}
		data, err := store.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("tune: --collect %s: %w", location, err)
		}
		p := filepath.Join(out, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("tune: %w", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("tune: %w", err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("tune: --collect %s: no trial-NNN run directories there", location)
	}
	return nil
}

// collectStatus reads a trial's status from its run directory.
func collectStatus(rd string) (string, string) {
	var rf struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if b, err := os.ReadFile(filepath.Join(rd, "result.json")); err == nil && json.Unmarshal(b, &rf) == nil {
		switch rf.Status {
		case "finished":
			return StatusFinished, ""
		case "interrupted":
			return StatusInterrupted, ""
		case "error":
			return StatusFailed, rf.Error
		}
	}
	if _, err := os.Stat(filepath.Join(rd, "progress.csv")); err == nil {
		return StatusRunning, ""
	}
	return StatusPending, ""
}

// deriveExperiment makes the experiment of dir's trial-NNN run
// directories: its parameters are the config keys whose values differ.
func deriveExperiment(dir string) (*Experiment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("tune: --collect: %w", err)
	}
	exp := &Experiment{Config: dir}
	exp.Tune.fill()
	var configs []map[string]string
	for _, e := range ents {
		if !e.IsDir() || !trialDirRE.MatchString(e.Name()) {
			continue
		}
		flat := map[string]string{}
		if b, err := os.ReadFile(filepath.Join(dir, e.Name(), "config.yaml")); err == nil {
			var root yaml.Node
			if yaml.Unmarshal(b, &root) == nil {
				flatten(&root, flat)
			}
		}
		configs = append(configs, flat)
		exp.Trials = append(exp.Trials, &TrialState{Trial: Trial{ID: len(exp.Trials), Name: e.Name()}, Dir: e.Name(), Cost: 1, Status: StatusPending})
	}
	if len(exp.Trials) == 0 {
		return nil, fmt.Errorf("tune: --collect %s: no %s and no trial-NNN run directories", dir, StateFile)
	}
	all := map[string]bool{}
	for _, c := range configs {
		for k := range c {
			all[k] = true
		}
	}
	var keys []string
	for k := range all {
		differ := false
		for _, c := range configs[1:] {
			if c[k] != configs[0][k] {
				differ = true
			}
		}
		if differ && k != "name" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, t := range exp.Trials {
		for _, k := range keys {
			t.Params = append(t.Params, Param{Key: k, Value: configs[i][k]})
		}
	}
	return exp, nil
}

// flatten records every scalar or list under n by its dotted key, as
// one line of flow YAML.
func flatten(n *yaml.Node, out map[string]string) {
	walk(n, "", func(key string, _ int, v *yaml.Node) {
		if v.Kind == yaml.MappingNode {
			return // walk goes on into it
		}
		if s, err := flowYAML(v); err == nil {
			out[key] = s
		}
	})
}
