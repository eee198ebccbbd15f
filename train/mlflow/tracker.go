package mlflow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/config"
	"github.com/rlgo/rlgo/train/tensorboard"
)

// URIEnv is the environment variable that names the tracking server when
// the config has no tracking.mlflow.uri (MLflow's own name for it).
const URIEnv = "MLFLOW_TRACKING_URI"

// StateFile is written into the run directory when the run ends: where
// the MLflow run is, and whether tracking had trouble.
const StateFile = "mlflow.json"

// State is the content of RUN_DIR/mlflow.json.
type State struct {
	TrackingURI    string `json:"tracking_uri"`
	Experiment     string `json:"experiment"`
	ExperimentID   string `json:"experiment_id,omitempty"`
	RunID          string `json:"run_id,omitempty"`
	RunURL         string `json:"run_url,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	Status         string `json:"status,omitempty"`
	MetricsLogged  int    `json:"metrics_logged"`
	MetricsDropped int    `json:"metrics_dropped"`
	Artifacts      int    `json:"artifacts_uploaded"`
	// Failures counts requests that failed after their retries; Error is
	// the first failure. A failure never fails the training run.
	Failures int    `json:"failures"`
	Error    string `json:"error,omitempty"`
}

// Tracker is a train.Tracker that logs a run to MLflow: at Start, the
// experiment (got by name, created if missing), a run with tags, and the
// resolved config as params; after each iteration, every progress.csv
// column as a metric at step env_steps (batched: everything queued while
// the previous request was in flight goes in the next runs/log-batch);
// at Finish, result tags, the run directory's report and result files as
// artifacts, and the run's status (FINISHED, FAILED for a run that
// errored, KILLED for an interrupted one) and end time.
//
// Requests go from one background goroutine, so a slow or unreachable
// server never holds training up. Failures are retried (5xx, 429, network
// errors), then logged once; they never fail the run. RUN_DIR/mlflow.json
// records the MLflow run and any trouble.
type Tracker struct {
	client     *Client
	experiment string
	log        io.Writer
	now        func() time.Time
	// FlushInterval is the least time between two runs/log-batch requests
	// of metrics. Default 1 s.
	FlushInterval time.Duration
	// FinishTimeout bounds how long Finish waits for the queued requests,
	// the artifacts and the status update. Default 2 min.
	FinishTimeout time.Duration
	// MaxQueued bounds the metrics queued while the server is slow or
	// down; the oldest are dropped beyond it. Default 100,000.
	MaxQueued int

	dir   string
	cols  []train.Column
	start time.Time

	mu       sync.Mutex
	queue    []Metric
	finish   *train.ResultFile // set when Finish is called
	wake     chan struct{}
	done     chan struct{}
	cancel   context.CancelFunc
	state    State
	info     RunInfo
	disabled bool
	warned   bool
	started  bool
}

// Option configures a Tracker.
type Option func(*Tracker)

// WithClock sets the clock of start/end times and metric timestamps.
func WithClock(now func() time.Time) Option { return func(t *Tracker) { t.now = now } }

// WithExperiment overrides the experiment name (default: the config's name).
func WithExperiment(name string) Option { return func(t *Tracker) { t.experiment = name } }

// New returns a Tracker that logs to client; log receives its one-off
// messages (nil discards them).
func New(client *Client, log io.Writer, opts ...Option) *Tracker {
	if log == nil {
		log = io.Discard
	}
	t := &Tracker{client: client, log: log, now: time.Now, FlushInterval: time.Second, FinishTimeout: 2 * time.Minute, MaxQueued: 100_000}
	for _, o := range opts {
		o(t)
	}
	return t
}

// FromConfig returns the Tracker for a run's config: tracking.mlflow.uri,
// else $MLFLOW_TRACKING_URI (getenv), with credentials from
// $MLFLOW_TRACKING_TOKEN or $MLFLOW_TRACKING_USERNAME and
// $MLFLOW_TRACKING_PASSWORD. It returns nil, nil when neither names a
// server. A $MLFLOW_TRACKING_URI that is not an http(s) server (a local
// ./mlruns path, "databricks") is reported on log and skipped.
func FromConfig(c config.MLflowConfig, getenv func(string) string, log io.Writer) (*Tracker, error) {
	uri := c.URI
	if uri == "" {
		uri = getenv(URIEnv)
		if uri == "" {
			return nil, nil
		}
		if !strings.HasPrefix(uri, "http://") && !strings.HasPrefix(uri, "https://") {
			if log != nil {
				fmt.Fprintf(log, "mlflow: $%s=%s is not an http(s) tracking server; rltrain logs to MLflow over its REST API only, so this run is not tracked there\n", URIEnv, uri)
			}
			return nil, nil
		}
	}
	cl, err := NewClient(uri)
	if err != nil {
		return nil, err
	}
	cl.Token = getenv("MLFLOW_TRACKING_TOKEN")
	cl.User, cl.Password = getenv("MLFLOW_TRACKING_USERNAME"), getenv("MLFLOW_TRACKING_PASSWORD")
	var opts []Option
	if c.Experiment != "" {
		opts = append(opts, WithExperiment(c.Experiment))
	}
	return New(cl, log, opts...), nil
}

var _ train.Tracker = (*Tracker)(nil)

// Start queues the creation of the MLflow run and returns at once.
func (t *Tracker) Start(_ context.Context, run train.RunInfo) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started {
		return fmt.Errorf("mlflow: tracker started twice")
	}
	t.started = true
	t.dir, t.cols, t.start = run.Dir, run.Columns, t.now()
	exp := t.experiment
	if exp == "" {
		exp = run.Config.Name
	}
	t.state = State{TrackingURI: t.client.URI(), Experiment: exp}
	tags := runTags(run)
	params, err := Params(run.Config)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.wake, t.done = make(chan struct{}, 1), make(chan struct{})
	go t.loop(ctx, exp, tags, params)
	return nil
}

func runTags(run train.RunInfo) []Tag {
	c := run.Config
	return []Tag{
		{Key: "mlflow.runName", Value: filepath.Base(run.Dir)},
		{Key: "mlflow.source.name", Value: "rltrain"},
		{Key: "mlflow.source.type", Value: "LOCAL"},
		{Key: "rlgo.algorithm", Value: c.Algorithm},
		{Key: "rlgo.env", Value: c.Env.ID},
		{Key: "rlgo.seed", Value: strconv.FormatUint(c.Seed, 10)},
		{Key: "rlgo.config_name", Value: c.Name},
		{Key: "rlgo.run_dir", Value: cut(absPath(run.Dir), MaxTagValueLength)},
	}
}

// Params returns the resolved config flattened to dotted keys (ppo.lr,
// model.hidden, ...) as MLflow params, without the tracking section (it
// says where the run is logged, not how it trains).
func Params(c *config.Config) ([]Param, error) {
	y, err := c.YAML()
	if err != nil {
		return nil, err
	}
	hp, _, err := tensorboard.HParams(y)
	if err != nil {
		return nil, err
	}
	out := make([]Param, 0, len(hp))
	for _, h := range hp {
		if h.Name == "tracking" || strings.HasPrefix(h.Name, "tracking.") {
			continue
		}
		var v string
		switch x := h.Value.(type) {
		case float64:
			v = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			v = strconv.FormatBool(x)
		default:
			v = fmt.Sprint(x)
		}
		out = append(out, Param{Key: h.Name, Value: cut(v, MaxParamValueLength)})
	}
	return out, nil
}

// Iteration queues the iteration's metrics; it never blocks on the server.
func (t *Tracker) Iteration(_ context.Context, r algorithms.Result) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started || t.disabled || t.finish != nil {
		return nil
	}
	ts := t.now().UnixMilli()
	for _, c := range t.cols {
		if v, ok := c.Value(r); ok {
			t.queue = append(t.queue, Metric{Key: c.Name(), Value: v, Timestamp: ts, Step: r.EnvSteps})
		}
	}
	if n := len(t.queue) - t.MaxQueued; t.MaxQueued > 0 && n > 0 {
		t.queue = append(t.queue[:0], t.queue[n:]...)
		t.state.MetricsDropped += n
	}
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return nil
}

// Finish waits (at most FinishTimeout) for the queued metrics, uploads the
// artifacts, sets the run's status and writes RUN_DIR/mlflow.json. It
// returns nil whatever the server did: tracking never fails a run.
func (t *Tracker) Finish(_ context.Context, rf *train.ResultFile) error {
	t.mu.Lock()
	if !t.started || t.finish != nil {
		t.mu.Unlock()
		return nil
	}
	t.finish = rf
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	timer := time.NewTimer(max(t.FinishTimeout, time.Millisecond))
	defer timer.Stop()
	select {
	case <-t.done:
	case <-timer.C:
		t.cancel()
		<-t.done
		t.mu.Lock()
		t.fail(fmt.Errorf("mlflow: gave up on the tracking server after %s at the end of the run", t.FinishTimeout))
		t.mu.Unlock()
	}
	t.cancel()
	t.mu.Lock()
	st := t.state
	t.mu.Unlock()
	b, err := json.MarshalIndent(st, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(t.dir, StateFile), append(b, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(t.log, "mlflow: write %s: %v\n", StateFile, err)
	}
	if st.Failures > 0 || st.MetricsDropped > 0 {
		fmt.Fprintf(t.log, "mlflow: %d request(s) failed, %d metric value(s) not logged; see %s\n", st.Failures, st.MetricsDropped, filepath.Join(t.dir, StateFile))
	}
	return nil
}

// fail records a failed request; the first is logged. t.mu is held.
func (t *Tracker) fail(err error) {
	t.state.Failures++
	if t.state.Error == "" {
		t.state.Error = err.Error()
	}
	if !t.warned {
		t.warned = true
		fmt.Fprintf(t.log, "mlflow: %v (training goes on; later failures are counted in %s)\n", err, filepath.Join(t.dir, StateFile))
	}
}

func (t *Tracker) failed(err error) {
	t.mu.Lock()
	t.fail(err)
	t.mu.Unlock()
}

// loop sends every request, in order: the run's creation, the metric
// batches, and at the end the artifacts and the status.
func (t *Tracker) loop(ctx context.Context, exp string, tags []Tag, params []Param) {
	defer close(t.done)
	if err := t.begin(ctx, exp, tags, params); err != nil {
		t.mu.Lock()
		t.disabled = true
		t.state.MetricsDropped += len(t.queue)
		t.queue = nil
		t.fail(err)
		rf := t.finish
		t.mu.Unlock()
		for rf == nil {
			select {
			case <-ctx.Done():
				return
			case <-t.wake:
			}
			t.mu.Lock()
			rf = t.finish
			t.mu.Unlock()
		}
		return
	}
	var last time.Time
	for {
		t.mu.Lock()
		batch, rf := t.queue, t.finish
		t.queue = nil
		t.mu.Unlock()
		if len(batch) > 0 {
			if err := t.client.LogBatch(ctx, t.info.RunID, batch, nil, nil); err != nil {
				t.mu.Lock()
				t.state.MetricsDropped += len(batch)
				t.fail(err)
				t.mu.Unlock()
			} else {
				t.mu.Lock()
				t.state.MetricsLogged += len(batch)
				t.mu.Unlock()
			}
			last = time.Now()
		}
		if rf != nil {
			t.mu.Lock()
			empty := len(t.queue) == 0
			t.mu.Unlock()
			if empty {
				t.end(ctx, rf)
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		}
		// Let metrics gather for a batch, unless the run is ending.
		if wait := t.FlushInterval - time.Since(last); wait > 0 {
			tm := time.NewTimer(wait)
			select {
			case <-tm.C:
			case <-ctx.Done():
				tm.Stop()
				return
			}
		}
	}
}

// begin creates the run and logs its params.
func (t *Tracker) begin(ctx context.Context, exp string, tags []Tag, params []Param) error {
	expID, err := t.client.EnsureExperiment(ctx, exp)
	if err != nil {
		return fmt.Errorf("experiment %q: %w", exp, err)
	}
	info, err := t.client.CreateRun(ctx, expID, tags[0].Value, t.start, tags)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.info = info
	t.state.ExperimentID, t.state.RunID, t.state.ArtifactURI = info.ExperimentID, info.RunID, info.ArtifactURI
	t.state.RunURL = fmt.Sprintf("%s/#/experiments/%s/runs/%s", strings.TrimRight(t.client.URI(), "/"), info.ExperimentID, info.RunID)
	t.state.Status = "RUNNING"
	t.mu.Unlock()
	fmt.Fprintf(t.log, "mlflow: logging to run %s in experiment %q: %s\n", info.RunID, exp, t.state.RunURL)
	if err := t.client.LogBatch(ctx, info.RunID, nil, params, nil); err != nil {
		t.failed(fmt.Errorf("log params: %w", err))
	}
	return nil
}

// end logs the result tags and artifacts and sets the final status.
func (t *Tracker) end(ctx context.Context, rf *train.ResultFile) {
	status := StatusFinished
	switch rf.Status {
	case "error":
		status = StatusFailed
	case "interrupted":
		status = StatusKilled
	}
	tags := []Tag{
		{Key: "rlgo.status", Value: rf.Status},
		{Key: "rlgo.success", Value: strconv.FormatBool(rf.Success)},
	}
	if rf.StopReason != "" {
		tags = append(tags, Tag{Key: "rlgo.stop_reason", Value: rf.StopReason})
	}
	if rf.Error != "" {
		tags = append(tags, Tag{Key: "rlgo.error", Value: cut(rf.Error, MaxTagValueLength)})
	}
	if err := t.client.LogBatch(ctx, t.info.RunID, nil, nil, tags); err != nil {
		t.failed(fmt.Errorf("log result tags: %w", err))
	}
	n, err := t.uploadArtifacts(ctx)
	t.mu.Lock()
	t.state.Artifacts = n
	t.mu.Unlock()
	if err != nil {
		t.failed(fmt.Errorf("artifacts: %w", err))
	}
	if err := t.client.UpdateRun(ctx, t.info.RunID, status, t.now()); err != nil {
		t.failed(fmt.Errorf("set run status %s: %w", status, err))
		return
	}
	t.mu.Lock()
	t.state.Status = status
	t.mu.Unlock()
}

// ArtifactFiles returns the run directory's files that are uploaded as
// artifacts, relative and slash-separated: the report (report/...), the
// config and results, in a stable order.
func ArtifactFiles(dir string) []string {
	var out []string
	for _, f := range []string{"config.yaml", "result.json", "progress.csv", "result.jsonl"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil && st.Mode().IsRegular() {
			out = append(out, f)
		}
	}
	var rep []string
	root := filepath.Join(dir, "report")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if rel, err := filepath.Rel(dir, p); err == nil {
			rep = append(rep, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(rep)
	return append(out, rep...)
}

func (t *Tracker) uploadArtifacts(ctx context.Context) (int, error) {
	if _, err := ArtifactPath(t.info); err != nil {
		return 0, err
	}
	n := 0
	for _, rel := range ArtifactFiles(t.dir) {
		data, err := os.ReadFile(filepath.Join(t.dir, filepath.FromSlash(rel)))
		if err != nil {
			return n, err
		}
		ct := mime.TypeByExtension(filepath.Ext(rel))
		if err := t.client.UploadArtifact(ctx, t.info, rel, data, ct); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// cut shortens s to at most n bytes without splitting a UTF-8 character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
