package mlflow

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/config"
	"github.com/rlgo/rlgo/train/report"
)

const tinyConfig = "name: mlf\nenv: {id: CartPole-v1}\nseed: 3\nstop: {iterations: 3}\nrollout: {workers: 1, envs_per_worker: 2, fragment_length: 32}\n"

// syncBuffer is a bytes.Buffer safe for the tracker's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testTracker(t *testing.T, uri string, log *syncBuffer, opts ...Option) *Tracker {
	t.Helper()
	cl, err := NewClient(uri)
	if err != nil {
		t.Fatal(err)
	}
	cl.Backoff, cl.MaxBackoff = time.Millisecond, 5*time.Millisecond
	tr := New(cl, log, opts...)
	tr.FlushInterval = 0
	tr.FinishTimeout = 30 * time.Second
	return tr
}

func runTiny(t *testing.T, ctx context.Context, cfgYAML string, trackers ...train.Tracker) (string, *train.Outcome, error) {
	t.Helper()
	cfg, err := config.Parse("mlf.yaml", []byte(cfgYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := train.RunConfig(ctx, &cfg.Config, train.Options{Out: dir, Trackers: trackers})
	return dir, out, err
}

// callKinds collapses runs of the same call into one entry, and artifact
// uploads into "PUT artifacts", for comparing the order of requests.
func callKinds(calls []string) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c, "PUT artifacts/") {
			c = "PUT artifacts"
		}
		if len(out) > 0 && out[len(out)-1] == c {
			continue
		}
		out = append(out, c)
	}
	return out
}

func readState(t *testing.T, dir string) State {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestTrackerLogsRun runs a tiny real training run with the report and
// MLflow trackers against a schema-checking fake server: the requests
// come in MLflow's order, the params are the flattened config, the
// metrics are progress.csv's rows at step env_steps, the report files are
// uploaded as artifacts, and the run ends FINISHED with an end time.
func TestTrackerLogsRun(t *testing.T) {
	f := newFakeMLflow(t)
	var log syncBuffer
	tr := testTracker(t, f.URL(), &log)
	dir, out, err := runTiny(t, context.Background(), tinyConfig, report.NewTracker(), tr)
	if err != nil {
		t.Fatal(err)
	}
	if out.StopReason != "iterations" {
		t.Fatalf("stop reason %q", out.StopReason)
	}
	calls := f.Calls()
	want := []string{"GET experiments/get-by-name", "POST experiments/create", "POST runs/create", "POST runs/log-batch", "PUT artifacts", "POST runs/update"}
	if got := callKinds(calls); !slices.Equal(got, want) {
		t.Fatalf("request order %v; want %v (all calls: %v)", got, want, calls)
	}
	id, run := f.onlyRun()
	if exp := f.exps["mlf"]; run.exp != exp || exp == "" {
		t.Errorf("run in experiment %q; want the experiment named after the config (%q)", run.exp, exp)
	}
	if run.status != StatusFinished || run.end < run.start || run.start == 0 {
		t.Errorf("run status %s, start %d, end %d; want FINISHED with end ≥ start", run.status, run.start, run.end)
	}
	for k, v := range map[string]string{"mlflow.runName": filepath.Base(dir), "rlgo.algorithm": "ppo", "rlgo.env": "CartPole-v1", "rlgo.seed": "3", "rlgo.status": "finished", "rlgo.stop_reason": "iterations"} {
		if run.tags[k] != v {
			t.Errorf("tag %s = %q; want %q", k, run.tags[k], v)
		}
	}
	for k, v := range map[string]string{"name": "mlf", "seed": "3", "algorithm": "ppo", "env.id": "CartPole-v1", "rollout.fragment_length": "32", "ppo.lr": "0.00025"} {
		if run.params[k] != v {
			t.Errorf("param %s = %q; want %q", k, run.params[k], v)
		}
	}
	for k := range run.params {
		if strings.HasPrefix(k, "tracking") {
			t.Errorf("param %s: the tracking section is not a hyperparameter", k)
		}
	}

	// Metrics: every progress.csv cell, at step env_steps.
	rows := readCSV(t, filepath.Join(dir, "progress.csv"))
	if len(rows) != 3 {
		t.Fatalf("%d progress rows", len(rows))
	}
	got := map[string]float64{}
	for _, m := range run.metrics {
		got[fmt.Sprintf("%s@%d", m.Key, m.Step)] = m.Value
	}
	cells := 0
	for _, row := range rows {
		step := int64(row["env_steps"])
		for k, v := range row {
			cells++
			key := fmt.Sprintf("%s@%d", k, step)
			if g, ok := got[key]; !ok || g != v {
				t.Errorf("metric %s = %v (logged %v); want %v", key, g, ok, v)
			}
		}
	}
	if len(run.metrics) != cells {
		t.Errorf("%d metric values logged; want one per progress.csv cell (%d)", len(run.metrics), cells)
	}

	// Artifacts: the report and the result files, byte for byte.
	files := ArtifactFiles(dir)
	for _, need := range []string{"config.yaml", "result.json", "progress.csv", "report/report.html", "report/return_steps.png", "report/summary.md"} {
		if !slices.Contains(files, need) {
			t.Errorf("artifact %s not among %v", need, files)
		}
	}
	for _, rel := range files {
		want, _ := os.ReadFile(filepath.Join(dir, rel))
		if !bytes.Equal(run.artifacts[rel], want) {
			t.Errorf("artifact %s: uploaded %d bytes; want the file's %d", rel, len(run.artifacts[rel]), len(want))
		}
	}
	if ct := run.artifactTypes["report/return_steps.png"]; ct != "image/png" {
		t.Errorf("PNG uploaded as %q", ct)
	}

	st := readState(t, dir)
	if st.RunID != id || st.Status != StatusFinished || st.Failures != 0 || st.MetricsLogged != cells || st.Artifacts != len(files) {
		t.Errorf("mlflow.json = %+v", st)
	}
	if !strings.Contains(log.String(), "mlflow: logging to run "+id) {
		t.Errorf("log %q does not say where the run is", log.String())
	}
}

func readCSV(t *testing.T, path string) []map[string]float64 {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]float64
	for _, rec := range recs[1:] {
		row := map[string]float64{}
		for i, s := range rec {
			if s == "" {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			row[recs[0][i]] = v
		}
		rows = append(rows, row)
	}
	return rows
}

// failingTracker fails the run at its nth iteration.
type failingTracker struct{ n, seen int }

func (f *failingTracker) Start(context.Context, train.RunInfo) error { return nil }
func (f *failingTracker) Iteration(context.Context, algorithms.Result) error {
	f.seen++
	if f.seen == f.n {
		return errors.New("disk on fire")
	}
	return nil
}
func (f *failingTracker) Finish(context.Context, *train.ResultFile) error { return nil }

// TestTrackerFailedRun: a run that errors is marked FAILED, with the
// error as a tag, and the metrics before the error are logged.
func TestTrackerFailedRun(t *testing.T) {
	f := newFakeMLflow(t)
	tr := testTracker(t, f.URL(), &syncBuffer{})
	_, _, err := runTiny(t, context.Background(), tinyConfig, tr, &failingTracker{n: 2})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("run error %v; want the failing tracker's", err)
	}
	_, run := f.onlyRun()
	if run.status != StatusFailed || run.end == 0 {
		t.Errorf("run status %s end %d; want FAILED with an end time", run.status, run.end)
	}
	if run.tags["rlgo.status"] != "error" || !strings.Contains(run.tags["rlgo.error"], "disk on fire") {
		t.Errorf("tags %v; want rlgo.status error and the error", run.tags)
	}
	if calls := f.Calls(); calls[len(calls)-1] != "POST runs/update" {
		t.Errorf("last call %s; want runs/update", calls[len(calls)-1])
	}
	steps := map[int64]bool{}
	for _, m := range run.metrics {
		steps[m.Step] = true
	}
	if len(steps) != 2 {
		t.Errorf("metrics at %d steps; want the 2 iterations that ran", len(steps))
	}
}

// cancelTracker cancels the run's context at its first iteration (Ctrl-C).
type cancelTracker struct{ cancel context.CancelFunc }

func (c *cancelTracker) Start(context.Context, train.RunInfo) error         { return nil }
func (c *cancelTracker) Iteration(context.Context, algorithms.Result) error { c.cancel(); return nil }
func (c *cancelTracker) Finish(context.Context, *train.ResultFile) error    { return nil }

// TestTrackerInterruptedRun: an interrupted run is marked KILLED.
func TestTrackerInterruptedRun(t *testing.T) {
	f := newFakeMLflow(t)
	tr := testTracker(t, f.URL(), &syncBuffer{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, out, err := runTiny(t, ctx, tinyConfig, tr, &cancelTracker{cancel: cancel})
	if err != nil || !out.Interrupted {
		t.Fatalf("run: %v, interrupted %v", err, out != nil && out.Interrupted)
	}
	_, run := f.onlyRun()
	if run.status != StatusKilled || run.tags["rlgo.status"] != "interrupted" {
		t.Errorf("run status %s, tags %v; want KILLED", run.status, run.tags)
	}
}

// TestTrackerExistingExperiment: tracking.mlflow.experiment names an
// experiment that exists: it is used, not created.
func TestTrackerExistingExperiment(t *testing.T) {
	f := newFakeMLflow(t)
	f.exps["cartpole-sweep"] = "7"
	tr, err := FromConfig(config.MLflowConfig{URI: f.URL(), Experiment: "cartpole-sweep"}, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.FlushInterval = 0
	if _, _, err := runTiny(t, context.Background(), tinyConfig, tr); err != nil {
		t.Fatal(err)
	}
	if calls := f.Calls(); slices.Contains(calls, "POST experiments/create") || calls[0] != "GET experiments/get-by-name" {
		t.Errorf("calls %v; want the existing experiment looked up, not created", calls)
	}
	if _, run := f.onlyRun(); run.exp != "7" {
		t.Errorf("run in experiment %s; want 7", run.exp)
	}
}

// TestLogBatchLimits logs more than one request may hold: the client
// splits into requests within MLflow's limits (the fake server fails any
// request over them), and everything arrives in order.
func TestLogBatchLimits(t *testing.T) {
	f := newFakeMLflow(t)
	cl, _ := NewClient(f.URL())
	ctx := context.Background()
	exp, err := cl.EnsureExperiment(ctx, "limits")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cl.CreateRun(ctx, exp, "r", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ms []Metric
	for i := range 2500 {
		ms = append(ms, Metric{Key: "m", Value: float64(i), Timestamp: 1, Step: int64(i)})
	}
	var ps []Param
	for i := range 250 {
		ps = append(ps, Param{Key: fmt.Sprintf("p%03d", i), Value: strconv.Itoa(i)})
	}
	var ts []Tag
	for i := range 150 {
		ts = append(ts, Tag{Key: fmt.Sprintf("t%03d", i), Value: "v"})
	}
	if err := cl.LogBatch(ctx, info.RunID, ms, ps, ts); err != nil {
		t.Fatal(err)
	}
	run := f.run(info.RunID)
	if len(run.metrics) != 2500 || len(run.params) != 250 || len(run.tags) != 151 /* and mlflow.runName */ {
		t.Fatalf("server has %d metrics, %d params, %d tags", len(run.metrics), len(run.params), len(run.tags))
	}
	for i, m := range run.metrics {
		if m.Step != int64(i) {
			t.Fatalf("metric %d has step %d: out of order", i, m.Step)
		}
	}
	// Greedy: (100 params, 100 tags, 800 metrics), (100, 50, 850),
	// (50, 0, 850): three requests.
	if run.logBatchesCount != 3 {
		t.Errorf("%d requests; want 3", run.logBatchesCount)
	}
	for _, b := range SplitBatch(ms, ps, ts) {
		if len(b.Metrics) > MaxMetricsPerBatch || len(b.Params) > MaxParamsPerBatch || len(b.Tags) > MaxTagsPerBatch || len(b.Metrics)+len(b.Params)+len(b.Tags) > MaxEntitiesPerBatch {
			t.Errorf("batch of %d metrics, %d params, %d tags", len(b.Metrics), len(b.Params), len(b.Tags))
		}
	}
}

// TestRetries: 503 and 429 (with Retry-After) are retried; a 400 is not.
func TestRetries(t *testing.T) {
	f := newFakeMLflow(t)
	f.inject = func(call string, n int) (int, http.Header) {
		switch {
		case call == "POST runs/create" && n == 1:
			return http.StatusServiceUnavailable, nil
		case call == "POST runs/create" && n == 2:
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"0"}}
		}
		return 0, nil
	}
	cl, _ := NewClient(f.URL())
	cl.Backoff = time.Millisecond
	ctx := context.Background()
	if _, err := cl.CreateRun(ctx, "0", "r", time.Now(), nil); err != nil {
		t.Fatalf("create run after a 503 and a 429: %v", err)
	}
	if n := f.count("POST runs/create"); n != 3 {
		t.Errorf("%d attempts; want 3", n)
	}
	_, err := cl.CreateRun(ctx, "nope", "r", time.Now(), nil)
	if !IsNotFound(err) || f.count("POST runs/create") != 4 {
		t.Errorf("create run in a missing experiment: %v after %d attempts; want one RESOURCE_DOES_NOT_EXIST", err, f.count("POST runs/create")-3)
	}
	cl.Attempts = 3
	f.inject = func(string, int) (int, http.Header) { return http.StatusBadGateway, nil }
	if err := cl.UpdateRun(ctx, "x", StatusFinished, time.Now()); err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("update during an outage: %v", err)
	}
}

// TestOutageDoesNotFailTraining: with the server down from the start, or
// failing in the middle of the run, training finishes normally; the
// trouble is logged once and recorded in mlflow.json.
func TestOutageDoesNotFailTraining(t *testing.T) {
	t.Run("down", func(t *testing.T) {
		f := newFakeMLflow(t)
		url := f.URL()
		f.srv.Close()
		var log syncBuffer
		tr := testTracker(t, url, &log)
		dir, out, err := runTiny(t, context.Background(), tinyConfig, tr)
		if err != nil || out.StopReason != "iterations" {
			t.Fatalf("run: %v (%v); want it to finish", err, out)
		}
		if n := strings.Count(log.String(), "training goes on"); n != 1 {
			t.Errorf("the outage is logged %d times; want once:\n%s", n, log.String())
		}
		st := readState(t, dir)
		if st.Failures == 0 || st.RunID != "" || st.Error == "" || st.MetricsDropped == 0 && st.MetricsLogged != 0 {
			t.Errorf("mlflow.json = %+v", st)
		}
	})
	t.Run("mid-run", func(t *testing.T) {
		f := newFakeMLflow(t)
		f.inject = func(call string, n int) (int, http.Header) {
			if call == "POST runs/log-batch" && n >= 2 || call == "PUT artifacts" {
				return http.StatusInternalServerError, nil
			}
			return 0, nil
		}
		var log syncBuffer
		tr := testTracker(t, f.URL(), &log)
		dir, _, err := runTiny(t, context.Background(), tinyConfig, tr)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if n := strings.Count(log.String(), "training goes on"); n != 1 {
			t.Errorf("failures logged %d times; want once:\n%s", n, log.String())
		}
		_, run := f.onlyRun()
		if run.status != StatusFinished {
			t.Errorf("status %s: the status update after failed batches should still be sent", run.status)
		}
		if st := readState(t, dir); st.Failures < 2 || st.MetricsDropped == 0 || st.Status != StatusFinished {
			t.Errorf("mlflow.json = %+v", st)
		}
	})
}

// TestArtifactStoreNotProxied: a server whose runs store artifacts in S3
// (no --serve-artifacts) gets no uploads; the run still ends FINISHED.
func TestArtifactStoreNotProxied(t *testing.T) {
	f := newFakeMLflow(t)
	f.artifactRoot = "s3://bucket/mlflow/"
	var log syncBuffer
	tr := testTracker(t, f.URL(), &log)
	dir, _, err := runTiny(t, context.Background(), tinyConfig, tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, "PUT") {
			t.Errorf("call %s to a server that does not proxy artifacts", c)
		}
	}
	_, run := f.onlyRun()
	st := readState(t, dir)
	if run.status != StatusFinished || !strings.Contains(st.Error, "--serve-artifacts") {
		t.Errorf("status %s, mlflow.json %+v", run.status, st)
	}
}

// TestFromConfig: tracking.mlflow.uri wins over $MLFLOW_TRACKING_URI;
// without either there is no tracker; credentials come from the env.
func TestFromConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if tr, err := FromConfig(config.MLflowConfig{}, getenv, nil); tr != nil || err != nil {
		t.Errorf("no uri: %v, %v; want no tracker", tr, err)
	}
	env[URIEnv] = "http://env:5000"
	env["MLFLOW_TRACKING_TOKEN"] = "tok"
	tr, err := FromConfig(config.MLflowConfig{}, getenv, nil)
	if err != nil || tr.client.URI() != "http://env:5000" || tr.client.Token != "tok" {
		t.Errorf("env uri: %v, %v", tr, err)
	}
	tr, err = FromConfig(config.MLflowConfig{URI: "https://cfg/mlflow/"}, getenv, nil)
	if err != nil || tr.client.URI() != "https://cfg/mlflow" || tr.client.endpoint("/api/2.0/mlflow/runs/create") != "https://cfg/mlflow/api/2.0/mlflow/runs/create" {
		t.Errorf("config uri: %v, %v; want it to win over the env", tr, err)
	}
	env[URIEnv] = "./mlruns"
	var log syncBuffer
	if tr, err := FromConfig(config.MLflowConfig{}, getenv, &log); tr != nil || err != nil || !strings.Contains(log.String(), "not an http(s) tracking server") {
		t.Errorf("file store in env: %v, %v, log %q", tr, err, log.String())
	}
}
