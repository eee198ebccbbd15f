package mlflow

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeMLflow is an MLflow tracking server for tests: it checks every
// request against the REST API 2.0 reference (method, path, content
// type, required fields and their JSON types, log-batch limits, run
// state), answers like MLflow does, and records the calls in order.
type fakeMLflow struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	calls []string // "POST runs/create", "PUT artifacts/<rel>", ...
	exps  map[string]string
	runs  map[string]*fakeRun
	seq   int
	// artifactRoot is the artifact_uri prefix runs get (default
	// mlflow-artifacts:/ — a server that proxies artifacts).
	artifactRoot string
	// inject, when set, may answer a call instead of the server: it gets
	// the call's name and its 1-based count so far, and returns a status
	// (0: answer normally) and headers.
	inject func(call string, n int) (int, http.Header)
	counts map[string]int
	// requests with their raw bodies, for checks on batches.
	batches []map[string]any
}

type fakeRun struct {
	exp, status     string
	start, end      int64
	metrics         []Metric
	params, tags    map[string]string
	artifacts       map[string][]byte
	artifactTypes   map[string]string
	logBatchesCount int
}

func newFakeMLflow(t *testing.T) *fakeMLflow {
	f := &fakeMLflow{t: t, exps: map[string]string{"Default": "0"}, runs: map[string]*fakeRun{}, counts: map[string]int{}, artifactRoot: "mlflow-artifacts:/"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMLflow) URL() string { return f.srv.URL }

func (f *fakeMLflow) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeMLflow) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[call]
}

func (f *fakeMLflow) run(id string) *fakeRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[id]
}

func (f *fakeMLflow) onlyRun() (string, *fakeRun) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.runs) != 1 {
		f.t.Fatalf("the server has %d runs; want 1", len(f.runs))
	}
	for id, r := range f.runs {
		return id, r
	}
	return "", nil
}

// apiError answers like MLflow: a JSON body with error_code and message.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// bad reports a request that breaks the API's schema: a test failure,
// and MLflow's 400 INVALID_PARAMETER_VALUE.
func (f *fakeMLflow) bad(w http.ResponseWriter, call, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.t.Errorf("mlflow request %s breaks the API: %s", call, msg)
	apiError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", msg)
}

const artifactsPrefix = "/api/2.0/mlflow-artifacts/artifacts/"

func (f *fakeMLflow) serve(w http.ResponseWriter, r *http.Request) {
	var call string
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/2.0/mlflow/"):
		call = r.Method + " " + strings.TrimPrefix(r.URL.Path, "/api/2.0/mlflow/")
	case strings.HasPrefix(r.URL.Path, artifactsPrefix):
		call = r.Method + " artifacts"
	default:
		f.t.Errorf("request to %s %s: not an MLflow REST API 2.0 path", r.Method, r.URL.Path)
		apiError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "no such endpoint")
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.counts[call]++
	n := f.counts[call]
	inject := f.inject
	f.mu.Unlock()
	if inject != nil {
		if status, hdr := inject(call, n); status != 0 {
			for k, v := range hdr {
				w.Header()[k] = v
			}
			apiError(w, status, "TEMPORARILY_UNAVAILABLE", "injected failure")
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := call
	if call == "PUT artifacts" {
		rec = "PUT artifacts/" + artifactRel(r.URL.Path)
	}
	f.calls = append(f.calls, rec)

	var m map[string]any
	if r.Method == http.MethodPost {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			f.bad(w, call, "Content-Type %q; the API requires application/json for POST", ct)
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			f.bad(w, call, "body is not a JSON object: %v", err)
			return
		}
		f.batches = append(f.batches, m)
	}
	switch call {
	case "GET experiments/get-by-name":
		name := r.URL.Query().Get("experiment_name")
		if name == "" {
			f.bad(w, call, "experiment_name is required")
			return
		}
		id, ok := f.exps[name]
		if !ok {
			apiError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '"+name+"'")
			return
		}
		answer(w, map[string]any{"experiment": map[string]any{"experiment_id": id, "name": name, "lifecycle_stage": "active", "artifact_location": "mlflow-artifacts:/" + id}})
	case "POST experiments/create":
		if !f.fields(w, call, m, map[string]string{"name": "string!", "artifact_location": "string", "tags": "tags"}) {
			return
		}
		name := m["name"].(string)
		if _, ok := f.exps[name]; ok {
			apiError(w, http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS", "Experiment '"+name+"' already exists.")
			return
		}
		f.seq++
		id := strconv.Itoa(100 + f.seq)
		f.exps[name] = id
		answer(w, map[string]any{"experiment_id": id})
	case "POST runs/create":
		if !f.fields(w, call, m, map[string]string{"experiment_id": "string!", "user_id": "string", "run_name": "string", "start_time": "int64", "tags": "tags"}) {
			return
		}
		exp := m["experiment_id"].(string)
		if !f.hasExp(exp) {
			apiError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id="+exp+" exists")
			return
		}
		f.seq++
		id := fmt.Sprintf("run%04d", f.seq)
		fr := &fakeRun{exp: exp, status: "RUNNING", params: map[string]string{}, tags: map[string]string{}, artifacts: map[string][]byte{}, artifactTypes: map[string]string{}}
		fr.start, _ = asInt(m["start_time"])
		for _, tg := range asTags(m["tags"]) {
			fr.tags[tg.Key] = tg.Value
		}
		if rn, ok := m["run_name"].(string); ok {
			if tn, ok := fr.tags["mlflow.runName"]; ok && tn != rn {
				f.bad(w, call, "run_name %q and tag mlflow.runName %q differ", rn, tn)
				return
			}
			fr.tags["mlflow.runName"] = rn
		}
		f.runs[id] = fr
		answer(w, map[string]any{"run": map[string]any{
			"info": map[string]any{"run_id": id, "run_uuid": id, "experiment_id": exp, "status": "RUNNING", "start_time": fr.start, "artifact_uri": f.artifactRoot + exp + "/" + id + "/artifacts", "lifecycle_stage": "active"},
			"data": map[string]any{},
		}})
	case "POST runs/log-batch":
		if !f.fields(w, call, m, map[string]string{"run_id": "string!", "metrics": "metrics", "params": "params", "tags": "tags"}) {
			return
		}
		fr := f.runs[m["run_id"].(string)]
		if fr == nil {
			apiError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "Run not found")
			return
		}
		nm, np, nt := length(m["metrics"]), length(m["params"]), length(m["tags"])
		switch {
		case nm > MaxMetricsPerBatch:
			f.bad(w, call, "A batch logging request can contain at most 1000 metrics. Got %d metrics.", nm)
			return
		case np > MaxParamsPerBatch:
			f.bad(w, call, "A batch logging request can contain at most 100 params. Got %d params.", np)
			return
		case nt > MaxTagsPerBatch:
			f.bad(w, call, "A batch logging request can contain at most 100 tags. Got %d tags.", nt)
			return
		case nm+np+nt > MaxEntitiesPerBatch:
			f.bad(w, call, "A batch logging request can contain at most 1000 metrics, params and tags in total. Got %d.", nm+np+nt)
			return
		case nm+np+nt == 0:
			f.bad(w, call, "an empty batch")
			return
		case len(body) > 1<<20:
			f.bad(w, call, "request of %d bytes; the limit is 1 MB", len(body))
			return
		}
		if fr.status != "RUNNING" {
			f.bad(w, call, "logging to run in status %s", fr.status)
			return
		}
		for _, p := range asTags(m["params"]) {
			if old, ok := fr.params[p.Key]; ok && old != p.Value {
				apiError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed. Param with key='"+p.Key+"' was already logged")
				return
			}
			if len(p.Value) > MaxParamValueLength {
				f.bad(w, call, "param %s value of %d bytes", p.Key, len(p.Value))
				return
			}
			fr.params[p.Key] = p.Value
		}
		for _, tg := range asTags(m["tags"]) {
			fr.tags[tg.Key] = tg.Value
		}
		ms, _ := m["metrics"].([]any)
		for _, x := range ms {
			o := x.(map[string]any)
			v, _ := o["value"].(json.Number).Float64()
			ts, _ := asInt(o["timestamp"])
			st, _ := asInt(o["step"])
			fr.metrics = append(fr.metrics, Metric{Key: o["key"].(string), Value: v, Timestamp: ts, Step: st})
		}
		fr.logBatchesCount++
		answer(w, map[string]any{})
	case "POST runs/update":
		if !f.fields(w, call, m, map[string]string{"run_id": "string!", "run_uuid": "string", "status": "status", "end_time": "int64", "run_name": "string"}) {
			return
		}
		fr := f.runs[m["run_id"].(string)]
		if fr == nil {
			apiError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "Run not found")
			return
		}
		if s, ok := m["status"].(string); ok {
			fr.status = s
		}
		if e, ok := asInt(m["end_time"]); ok {
			fr.end = e
		}
		answer(w, map[string]any{"run_info": map[string]any{"run_id": m["run_id"], "status": fr.status, "end_time": fr.end}})
	case "PUT artifacts":
		rest := strings.TrimPrefix(r.URL.Path, artifactsPrefix)
		parts := strings.SplitN(rest, "/", 4) // exp/run/artifacts/rel
		if len(parts) != 4 || parts[2] != "artifacts" || parts[3] == "" {
			f.bad(w, call, "path %s: want %s<experiment_id>/<run_id>/artifacts/<path>", r.URL.Path, artifactsPrefix)
			return
		}
		fr := f.runs[parts[1]]
		if fr == nil || fr.exp != parts[0] {
			f.bad(w, call, "path %s: no run %s in experiment %s", r.URL.Path, parts[1], parts[0])
			return
		}
		fr.artifacts[parts[3]] = body
		fr.artifactTypes[parts[3]] = r.Header.Get("Content-Type")
		answer(w, map[string]any{})
	default:
		f.t.Errorf("request %s: not an endpoint the tracker should call", call)
		apiError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "no such endpoint")
	}
}

func artifactRel(p string) string {
	parts := strings.SplitN(strings.TrimPrefix(p, artifactsPrefix), "/", 4)
	if len(parts) == 4 {
		return parts[3]
	}
	return p
}

func (f *fakeMLflow) hasExp(id string) bool {
	for _, e := range f.exps {
		if e == id {
			return true
		}
	}
	return false
}

// fields checks m's fields against want: name → type ("string",
// "int64", "tags", "params", "metrics", "status"; a trailing ! marks it
// required). Unknown fields are errors too: the tracker sends only
// documented ones.
func (f *fakeMLflow) fields(w http.ResponseWriter, call string, m map[string]any, want map[string]string) bool {
	for k := range m {
		if _, ok := want[k]; !ok {
			f.bad(w, call, "unknown field %q", k)
			return false
		}
	}
	for k, typ := range want {
		req := strings.HasSuffix(typ, "!")
		typ = strings.TrimSuffix(typ, "!")
		v, ok := m[k]
		if !ok {
			if req {
				f.bad(w, call, "missing required field %q", k)
				return false
			}
			continue
		}
		if err := checkType(v, typ); err != nil {
			f.bad(w, call, "field %q: %v", k, err)
			return false
		}
	}
	return true
}

func checkType(v any, typ string) error {
	switch typ {
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("want a string, got %T", v)
		}
	case "int64":
		if _, ok := asInt(v); !ok {
			return fmt.Errorf("want an int64 (a JSON integer), got %v", v)
		}
	case "status":
		s, _ := v.(string)
		switch s {
		case "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED":
		default:
			return fmt.Errorf("want a RunStatus, got %v", v)
		}
	case "tags", "params", "metrics":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want an array, got %T", v)
		}
		for i, x := range arr {
			o, ok := x.(map[string]any)
			if !ok {
				return fmt.Errorf("[%d]: want an object, got %T", i, x)
			}
			key, ok := o["key"].(string)
			if !ok || key == "" || len(key) > 250 {
				return fmt.Errorf("[%d]: want a key string of 1-250 bytes, got %v", i, o["key"])
			}
			if typ != "metrics" {
				if _, ok := o["value"].(string); !ok {
					return fmt.Errorf("[%d] %s: want a string value, got %T", i, key, o["value"])
				}
				if len(o) != 2 {
					return fmt.Errorf("[%d] %s: want key and value only, got %v", i, key, o)
				}
				continue
			}
			if _, ok := o["value"].(json.Number); !ok {
				return fmt.Errorf("[%d] %s: want a number value, got %v", i, key, o["value"])
			}
			if _, ok := asInt(o["timestamp"]); !ok {
				return fmt.Errorf("[%d] %s: timestamp is required, an int64, got %v", i, key, o["timestamp"])
			}
			if s, ok := o["step"]; ok {
				if _, ok := asInt(s); !ok {
					return fmt.Errorf("[%d] %s: step: want an int64, got %v", i, key, s)
				}
			}
			for k := range o {
				if k != "key" && k != "value" && k != "timestamp" && k != "step" {
					return fmt.Errorf("[%d] %s: unknown field %q", i, key, k)
				}
			}
			if !validMetricKey(key) {
				return fmt.Errorf("metric key %q has characters MLflow refuses", key)
			}
		}
	}
	return nil
}

// validMetricKey is MLflow's rule: alphanumerics, underscores, dashes,
// periods, spaces, colons and slashes.
func validMetricKey(k string) bool {
	for _, c := range k {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-. :/", c)
		if !ok {
			return false
		}
	}
	return true
}

// asInt accepts what proto3 JSON accepts for int64: a JSON integer or a
// decimal string.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func asTags(v any) []Tag {
	arr, _ := v.([]any)
	out := make([]Tag, 0, len(arr))
	for _, x := range arr {
		o := x.(map[string]any)
		out = append(out, Tag{Key: o["key"].(string), Value: o["value"].(string)})
	}
	return out
}

func length(v any) int {
	arr, _ := v.([]any)
	return len(arr)
}
