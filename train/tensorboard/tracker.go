package tensorboard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/train"
)

// Dir is the run directory's subdirectory that holds the event files.
const Dir = "tensorboard"

// Tracker is a train.Tracker that writes a run's metrics to
// RUN_DIR/tensorboard/: every progress.csv column as a scalar tag of the
// same name at step env_steps, the resolved config as a text summary,
// and the config's keys as hparams (grouped so that runs differing only
// in seed form one session group).
type Tracker struct {
	now  func() time.Time
	w    *Writer
	cols []train.Column
}

// Option configures a Tracker.
type Option func(*Tracker)

// WithClock sets the clock that stamps events (default time.Now).
func WithClock(now func() time.Time) Option { return func(t *Tracker) { t.now = now } }

// NewTracker returns a Tracker; it writes nothing until Start.
func NewTracker(opts ...Option) *Tracker {
	t := &Tracker{now: time.Now}
	for _, o := range opts {
		o(t)
	}
	return t
}

var _ train.Tracker = (*Tracker)(nil)

// Start creates the event file and writes the config and hparams.
func (t *Tracker) Start(_ context.Context, run train.RunInfo) error {
	now := t.now()
	w, err := NewWriter(filepath.Join(run.Dir, Dir), now)
	if err != nil {
		return err
	}
	t.w, t.cols = w, run.Columns
	y, err := run.Config.YAML()
	if err != nil {
		return err
	}
	hp, group, err := HParams(y)
	if err != nil {
		return err
	}
	if err := w.SessionStart(now, hp, group); err != nil {
		return err
	}
	if err := w.Text("config", 0, now, "```yaml\n"+string(y)+"```\n"); err != nil {
		return err
	}
	return w.Flush()
}

// Iteration writes the iteration's metrics at step env_steps and flushes,
// so TensorBoard shows a running run and a killed one keeps its rows.
func (t *Tracker) Iteration(_ context.Context, r algorithms.Result) error {
	if t.w == nil {
		return nil
	}
	vals := make([]Scalar, 0, len(t.cols))
	for _, c := range t.cols {
		if v, ok := c.Value(r); ok {
			vals = append(vals, Scalar{Tag: c.Name(), Value: v})
		}
	}
	if err := t.w.Scalars(r.EnvSteps, t.now(), vals); err != nil {
		return err
	}
	return t.w.Flush()
}

// Finish writes the hparams session end (success for a finished run,
// failure for an error, unknown for an interrupted one) and a text
// summary of result.json, and closes the file.
func (t *Tracker) Finish(_ context.Context, rf *train.ResultFile) error {
	if t.w == nil {
		return nil
	}
	w := t.w
	t.w = nil
	now := t.now()
	status := StatusUnknown
	switch rf.Status {
	case "finished":
		status = StatusSuccess
	case "error":
		status = StatusFailure
	}
	var b strings.Builder
	fmt.Fprintf(&b, "status: **%s**", rf.Status)
	if rf.StopReason != "" {
		fmt.Fprintf(&b, ", stopped by %s", rf.StopReason)
	}
	fmt.Fprintf(&b, "; %d iterations, %d env steps, %.1f s", rf.Iterations, rf.EnvSteps, rf.TimeS)
	if rf.Target != nil {
		fmt.Fprintf(&b, "; target episode_return_mean %v ", *rf.Target)
		if rf.Success && rf.EnvStepsToTarget != nil {
			fmt.Fprintf(&b, "met at %d env steps", *rf.EnvStepsToTarget)
		} else {
			b.WriteString("not met")
		}
	}
	if rf.Error != "" {
		fmt.Fprintf(&b, "\n\nerror: `%s`", rf.Error)
	}
	err := w.Text("result", rf.EnvSteps, now, b.String())
	if err == nil {
		err = w.SessionEnd(now, status)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// HParams flattens a config's YAML into dotted hyperparameters (numbers,
// strings, bools; lists as their flow-style text) in the file's order,
// and returns the session group name: the config's name and a hash of
// every key but seed, so runs of one config with different seeds share
// it.
func HParams(configYAML []byte) ([]HParam, string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(configYAML, &root); err != nil {
		return nil, "", fmt.Errorf("tensorboard: parse config: %w", err)
	}
	var hp []HParam
	if len(root.Content) > 0 {
		flatten(root.Content[0], "", &hp)
	}
	keys := make([]string, 0, len(hp))
	name := "run"
	for _, h := range hp {
		if h.Name == "name" {
			name = fmt.Sprint(h.Value)
		}
		if h.Name != "seed" {
			keys = append(keys, fmt.Sprintf("%s=%#v", h.Name, h.Value))
		}
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return hp, name + "-" + hex.EncodeToString(sum[:4]), nil
}

func flatten(n *yaml.Node, prefix string, out *[]HParam) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			flatten(n.Content[i+1], key, out)
		}
	case yaml.ScalarNode:
		*out = append(*out, HParam{Name: prefix, Value: scalar(n)})
	default:
		flow := *n
		flow.Style = yaml.FlowStyle
		b, err := yaml.Marshal(&flow)
		s := strings.TrimSpace(string(b))
		if err != nil {
			s = n.Value
		}
		*out = append(*out, HParam{Name: prefix, Value: s})
	}
}

func scalar(n *yaml.Node) any {
	switch n.Tag {
	case "!!int", "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	case "!!bool":
		if b, err := strconv.ParseBool(n.Value); err == nil {
			return b
		}
	}
	return n.Value
}
