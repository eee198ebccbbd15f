// Package mlflow logs rltrain runs to an MLflow tracking server over
// MLflow's documented REST API 2.0 (plain net/http, no SDK): experiments
// (get-by-name, create), runs (create, log-batch, update) and the
// mlflow-artifacts proxy for artifact uploads. The requests follow MLflow's
// REST API reference for MLflow 2.x (checked against the 2.0.1 and 2.20.3
// pages and the current one, https://mlflow.org/docs/latest/rest-api.html,
// which keep these endpoints and fields unchanged); artifact uploads need
// a server that proxies artifacts (--serve-artifacts, the default since
// MLflow 2.0). See docs/tracking.md.
package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MLflow's documented request limits for runs/log-batch.
const (
	MaxMetricsPerBatch  = 1000
	MaxParamsPerBatch   = 100
	MaxTagsPerBatch     = 100
	MaxEntitiesPerBatch = 1000
	// MaxParamValueLength is the param value length every MLflow version
	// accepts (1.x: 500; 2.x raised it to 6000); longer values are cut.
	MaxParamValueLength = 500
	// MaxTagValueLength is the tag value length every MLflow version
	// accepts (5000); longer values are cut.
	MaxTagValueLength = 5000
)

// Run statuses for UpdateRun.
const (
	StatusFinished = "FINISHED"
	StatusFailed   = "FAILED"
	StatusKilled   = "KILLED"
)

// Metric is one metric value (a RunData metric).
type Metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"` // milliseconds since the Unix epoch
	Step      int64   `json:"step"`
}

// Param is one run parameter.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Tag is one run tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RunInfo is the part of runs/create's answer the tracker uses.
type RunInfo struct {
	RunID        string `json:"run_id"`
	ExperimentID string `json:"experiment_id"`
	ArtifactURI  string `json:"artifact_uri"`
}

// APIError is an MLflow error answer: the HTTP status and the body's
// error_code and message.
type APIError struct {
	Method, Path string
	StatusCode   int
	Code         string
	Message      string
}

func (e *APIError) Error() string {
	msg := e.Message
	if e.Code != "" {
		msg = e.Code + ": " + msg
	}
	return fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.StatusCode, strings.TrimSpace(msg))
}

// IsNotFound reports whether err is MLflow's RESOURCE_DOES_NOT_EXIST.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == "RESOURCE_DOES_NOT_EXIST" || ae.Code == "" && ae.StatusCode == http.StatusNotFound)
}

// IsAlreadyExists reports whether err is MLflow's RESOURCE_ALREADY_EXISTS.
func IsAlreadyExists(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == "RESOURCE_ALREADY_EXISTS"
}

// Client calls one tracking server. Requests that fail with a network
// error, HTTP 5xx or 429 are retried with jittered exponential backoff
// (429's Retry-After is honoured).
type Client struct {
	base *url.URL
	// HTTP sends the requests. Default: 30 s timeout per request.
	HTTP *http.Client
	// Attempts is the number of tries per request. Default 5.
	Attempts int
	// Backoff is the wait before the first retry, doubled each retry up
	// to MaxBackoff. Defaults 500 ms and 8 s.
	Backoff, MaxBackoff time.Duration
	// Token, or User and Password, authenticate (Bearer or Basic).
	Token, User, Password string
}

// NewClient returns a Client for the tracking server at uri (http or https).
func NewClient(uri string) (*Client, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("mlflow: tracking uri: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("mlflow: tracking uri %q: want an http:// or https:// server URL", uri)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return &Client{base: u, HTTP: &http.Client{Timeout: 30 * time.Second}, Attempts: 5, Backoff: 500 * time.Millisecond, MaxBackoff: 8 * time.Second}, nil
}

// URI returns the tracking server's base URL.
func (c *Client) URI() string { return c.base.String() }

// endpoint returns the URL of an API path ("/api/2.0/mlflow/...").
func (c *Client) endpoint(path string) string {
	return strings.TrimRight(c.base.String(), "/") + path
}

// call sends a JSON request (in nil: no body; GET puts query in the URL)
// and decodes the answer into out (nil: ignore it).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("mlflow: encode %s: %w", path, err)
		}
	}
	target := c.endpoint(path)
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	resp, err := c.send(ctx, method, target, path, "application/json", body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp, out); err != nil {
		return fmt.Errorf("mlflow: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send does one request with retries and returns the answer's body.
func (c *Client) send(ctx context.Context, method, target, path, contentType string, body []byte) ([]byte, error) {
	attempts := max(c.Attempts, 1)
	wait := c.Backoff
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			d := wait/2 + rand.N(wait/2+1)
			if ae, ok := last.(*retryAfter); ok && ae.after > 0 {
				d = ae.after
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("mlflow: %s %s: %w (last error: %v)", method, path, ctx.Err(), unwrapRetry(last))
			case <-t.C:
			}
			wait = min(2*wait, max(c.MaxBackoff, c.Backoff))
		}
		b, err := c.once(ctx, method, target, path, contentType, body)
		if err == nil {
			return b, nil
		}
		last = err
		if _, ok := err.(*retryAfter); !ok {
			return nil, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("mlflow: gave up after %d attempts: %w", attempts, unwrapRetry(last))
}

// retryAfter marks a retryable failure, with the server's Retry-After.
type retryAfter struct {
	err   error
	after time.Duration
}

func (r *retryAfter) Error() string { return r.err.Error() }
func (r *retryAfter) Unwrap() error { return r.err }

func unwrapRetry(err error) error {
	if r, ok := err.(*retryAfter); ok {
		return r.err
	}
	return err
}

func (c *Client) once(ctx context.Context, method, target, path, contentType string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("mlflow: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "rlgo-rltrain")
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.User != "":
		req.SetBasicAuth(c.User, c.Password)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("mlflow: %s %s: %w", method, path, err)
		}
		return nil, &retryAfter{err: fmt.Errorf("mlflow: %s %s: %w", method, path, err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, &retryAfter{err: fmt.Errorf("mlflow: %s %s: read answer: %w", method, path, err)}
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	ae := &APIError{Method: method, Path: path, StatusCode: resp.StatusCode}
	var eb struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &eb) == nil && (eb.Code != "" || eb.Message != "") {
		ae.Code, ae.Message = eb.Code, eb.Message
	} else {
		ae.Message = string(b[:min(len(b), 300)])
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		r := &retryAfter{err: ae}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			r.after = min(time.Duration(s)*time.Second, time.Minute)
		}
		return nil, r
	}
	return nil, ae
}

// GetExperimentByName returns the id of the experiment named name; an
// error satisfying IsNotFound if there is none.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (string, error) {
	var out struct {
		Experiment struct {
			ID             string `json:"experiment_id"`
			LifecycleStage string `json:"lifecycle_stage"`
		} `json:"experiment"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/2.0/mlflow/experiments/get-by-name", url.Values{"experiment_name": {name}}, nil, &out); err != nil {
		return "", err
	}
	if out.Experiment.ID == "" {
		return "", fmt.Errorf("mlflow: experiments/get-by-name %q: answer has no experiment_id", name)
	}
	if out.Experiment.LifecycleStage == "deleted" {
		return "", fmt.Errorf("mlflow: experiment %q (id %s) is deleted: restore it in the MLflow UI, or choose another tracking.mlflow.experiment", name, out.Experiment.ID)
	}
	return out.Experiment.ID, nil
}

// CreateExperiment creates the experiment name and returns its id.
func (c *Client) CreateExperiment(ctx context.Context, name string) (string, error) {
	var out struct {
		ID string `json:"experiment_id"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/2.0/mlflow/experiments/create", nil, map[string]any{"name": name}, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("mlflow: experiments/create %q: answer has no experiment_id", name)
	}
	return out.ID, nil
}

// EnsureExperiment returns the id of the experiment name, creating it if
// it does not exist (and looking it up again if another client created
// it in between).
func (c *Client) EnsureExperiment(ctx context.Context, name string) (string, error) {
	id, err := c.GetExperimentByName(ctx, name)
	if err == nil || !IsNotFound(err) {
		return id, err
	}
	id, err = c.CreateExperiment(ctx, name)
	if IsAlreadyExists(err) {
		return c.GetExperimentByName(ctx, name)
	}
	return id, err
}

// CreateRun creates a run in experiment expID.
func (c *Client) CreateRun(ctx context.Context, expID, runName string, start time.Time, tags []Tag) (RunInfo, error) {
	in := map[string]any{"experiment_id": expID, "start_time": start.UnixMilli(), "tags": nonNil(tags)}
	if runName != "" {
		in["run_name"] = runName
	}
	var out struct {
		Run struct {
			Info struct {
				RunInfo
				RunUUID string `json:"run_uuid"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/create", nil, in, &out); err != nil {
		return RunInfo{}, err
	}
	info := out.Run.Info.RunInfo
	if info.RunID == "" {
		info.RunID = out.Run.Info.RunUUID // MLflow before 1.0 answered run_uuid only
	}
	if info.RunID == "" {
		return RunInfo{}, errors.New("mlflow: runs/create: answer has no run_id")
	}
	if info.ExperimentID == "" {
		info.ExperimentID = expID
	}
	return info, nil
}

// LogBatch logs metrics, params and tags to run, in as many runs/log-batch
// requests as MLflow's limits need (metrics, params and tags each keep
// their order).
func (c *Client) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	for _, b := range SplitBatch(metrics, params, tags) {
		in := map[string]any{"run_id": runID, "metrics": nonNil(b.Metrics), "params": nonNil(b.Params), "tags": nonNil(b.Tags)}
		if err := c.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/log-batch", nil, in, nil); err != nil {
			return err
		}
	}
	return nil
}

// Batch is the content of one runs/log-batch request.
type Batch struct {
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

// SplitBatch splits metrics, params and tags into batches within MLflow's
// limits: at most 1000 metrics, 100 params, 100 tags and 1000 in all.
func SplitBatch(metrics []Metric, params []Param, tags []Tag) []Batch {
	var out []Batch
	for len(metrics)+len(params)+len(tags) > 0 {
		var b Batch
		n := min(len(params), MaxParamsPerBatch)
		b.Params, params = params[:n:n], params[n:]
		n = min(len(tags), MaxTagsPerBatch)
		b.Tags, tags = tags[:n:n], tags[n:]
		n = min(len(metrics), MaxMetricsPerBatch, MaxEntitiesPerBatch-len(b.Params)-len(b.Tags))
		b.Metrics, metrics = metrics[:n:n], metrics[n:]
		out = append(out, b)
	}
	return out
}

// UpdateRun sets the run's status (StatusFinished, StatusFailed,
// StatusKilled) and end time.
func (c *Client) UpdateRun(ctx context.Context, runID, status string, end time.Time) error {
	in := map[string]any{"run_id": runID, "status": status, "end_time": end.UnixMilli()}
	return c.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/update", nil, in, nil)
}

// ErrArtifactStore is returned by UploadArtifact when the run's artifact
// store is not reachable over the tracking server's REST API.
var ErrArtifactStore = errors.New("the run's artifact store is not served by the tracking server")

// ArtifactPath returns the URL path under which the run's artifacts are
// uploaded: for artifact_uri mlflow-artifacts:/<path> (a server that
// proxies artifacts), /api/2.0/mlflow-artifacts/artifacts/<path>.
func ArtifactPath(info RunInfo) (string, error) {
	uri := info.ArtifactURI
	if uri == "" {
		// The layout of MLflow's proxied artifact root.
		return "/api/2.0/mlflow-artifacts/artifacts/" + url.PathEscape(info.ExperimentID) + "/" + url.PathEscape(info.RunID) + "/artifacts", nil
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "mlflow-artifacts" {
		return "", fmt.Errorf("%w (artifact_uri %s; start the server with --serve-artifacts)", ErrArtifactStore, uri)
	}
	return "/api/2.0/mlflow-artifacts/artifacts/" + strings.Trim(u.Path, "/"), nil
}

// UploadArtifact uploads data as the artifact relPath (slash-separated)
// of the run, with MLflow's artifact proxy (PUT
// /api/2.0/mlflow-artifacts/artifacts/<experiment_id>/<run_id>/artifacts/<relPath>).
func (c *Client) UploadArtifact(ctx context.Context, info RunInfo, relPath string, data []byte, contentType string) error {
	base, err := ArtifactPath(info)
	if err != nil {
		return err
	}
	parts := strings.Split(relPath, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	path := base + "/" + strings.Join(parts, "/")
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	_, err = c.send(ctx, http.MethodPut, c.endpoint(path), path, contentType, data)
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
