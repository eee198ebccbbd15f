// Package dashboard serves rltrain train --dashboard: one small page that
// polls the run's progress as JSON and redraws its learning curve
// (episode return against env steps) as inline SVG. Nothing is fetched
// from outside: the page, its script and its style are one response.
package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/train"
)

// Row is one iteration of the curve.
type Row struct {
	Iteration int     `json:"iteration"`
	EnvSteps  int64   `json:"env_steps"`
	TimeS     float64 `json:"time_s"`
	// ReturnMean is episode_return_mean; nil before the first episode.
	ReturnMean *float64 `json:"episode_return_mean"`
	// EvalReturnMean is evaluation_return_mean where the row has one.
	EvalReturnMean *float64 `json:"evaluation_return_mean,omitempty"`
	StepsPerS      float64  `json:"env_steps_per_s"`
}

// Progress is the JSON the page polls (GET /api/progress).
type Progress struct {
	Run       string `json:"run"`
	Algorithm string `json:"algorithm"`
	Env       string `json:"env"`
	// Status is "waiting" (no run yet), "running", or result.json's
	// status once the run ends (finished, interrupted, error).
	Status string `json:"status"`
	// Threshold is the env's reward threshold, else the config's
	// stop.episode_return_mean; nil if neither.
	Threshold *float64 `json:"threshold"`
	// Budget is stop.env_steps.
	Budget int64 `json:"env_steps_budget"`
	// Started identifies the run: when it started (RFC 3339). A page
	// that sees it change starts its curve over.
	Started string `json:"started"`
	// Full reports that Rows are all the rows kept (no ?since=, or a
	// since the run does not know); otherwise Rows are only those after
	// since, to append.
	Full bool `json:"full"`
	// Rows are the iterations, oldest first: all of them up to MaxRows,
	// then thinned (every other old row dropped) to stay under it.
	Rows []Row `json:"rows"`
}

// MaxRows bounds the rows the tracker keeps (and the page draws): a run
// of any length costs at most MaxRows rows of memory on both sides.
const MaxRows = 4096

// Tracker is a train.Tracker that keeps the run's progress for the page.
type Tracker struct {
	mu  sync.Mutex
	p   Progress
	now func() time.Time
}

// NewTracker returns a Tracker with no run yet.
func NewTracker() *Tracker {
	return &Tracker{p: Progress{Status: "waiting", Rows: []Row{}}, now: time.Now}
}

var _ train.Tracker = (*Tracker)(nil)

// Start records the run.
func (t *Tracker) Start(_ context.Context, run train.RunInfo) error {
	c := run.Config
	p := Progress{Run: filepath.Base(run.Dir), Algorithm: c.Algorithm, Env: c.Env.ID, Status: "running", Budget: c.Stop.EnvSteps,
		Started: t.now().UTC().Format(time.RFC3339Nano), Rows: []Row{}}
	if s, err := envs.Lookup(c.Env.ID); err == nil && s.HasThreshold {
		v := s.RewardThreshold
		p.Threshold = &v
	} else if c.Stop.EpisodeReturnMean != nil {
		v := *c.Stop.EpisodeReturnMean
		p.Threshold = &v
	}
	t.mu.Lock()
	t.p = p
	t.mu.Unlock()
	return nil
}

// Iteration appends r's row.
func (t *Tracker) Iteration(_ context.Context, r algorithms.Result) error {
	row := Row{Iteration: r.Iteration, EnvSteps: r.EnvSteps, TimeS: r.TimeS, StepsPerS: r.EnvStepsPerS}
	if r.HasEpisodes {
		v := r.EpisodeReturnMean
		row.ReturnMean = &v
	}
	if r.HasEvaluation {
		v := r.EvaluationReturnMean
		row.EvalReturnMean = &v
	}
	t.mu.Lock()
	t.p.Rows = append(t.p.Rows, row)
	if len(t.p.Rows) > MaxRows {
		t.p.Rows = thin(t.p.Rows)
	}
	t.mu.Unlock()
	return nil
}

// thin drops every other row but the last, halving rows in place.
func thin(rows []Row) []Row {
	n := 0
	for i, r := range rows {
		if i%2 == 0 || i == len(rows)-1 {
			rows[n] = r
			n++
		}
	}
	clear(rows[n:])
	return rows[:n]
}

// Finish records how the run ended.
func (t *Tracker) Finish(_ context.Context, rf *train.ResultFile) error {
	t.mu.Lock()
	t.p.Status = rf.Status
	t.mu.Unlock()
	return nil
}

// Snapshot returns a copy of the progress, every row kept.
func (t *Tracker) Snapshot() Progress { return t.Since(0) }

// Since returns a copy of the progress with the rows after iteration
// since; since 0, or a since past the last row (a new run), returns all
// of them (Full).
func (t *Tracker) Since(since int) Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.p
	rows := t.p.Rows
	p.Full = true
	if n := len(rows); since > 0 && n > 0 && since <= rows[n-1].Iteration {
		i := sort.Search(n, func(i int) bool { return rows[i].Iteration > since })
		rows, p.Full = rows[i:], false
	}
	p.Rows = append(make([]Row, 0, len(rows)), rows...)
	return p
}

// Handler serves the page at / and the progress at /api/progress
// (?since=ITERATION: only the rows after it, so a page open all day
// fetches what is new rather than every row at every poll).
func Handler(t *Tracker) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// No script or style from anywhere but this response.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
		p := t.Since(0)
		data := struct {
			Progress
			MaxRows int
		}{p, MaxRows}
		if err := page.Execute(w, data); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /api/progress", func(w http.ResponseWriter, r *http.Request) {
		since := 0
		if s := r.URL.Query().Get("since"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				http.Error(w, "since: want an iteration number >= 0", http.StatusBadRequest)
				return
			}
			since = n
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(t.Since(since))
	})
	return mux
}

// Server serves the dashboard.
type Server struct {
	ln  net.Listener
	srv *http.Server
	err chan error
}

// Serve listens on addr (host:port; port 0 picks one) and serves t's page.
func Serve(addr string, t *Tracker) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s := &Server{ln: ln, srv: &http.Server{Handler: Handler(t), ReadHeaderTimeout: 10 * time.Second}, err: make(chan error, 1)}
	go func() { s.err <- s.srv.Serve(ln) }()
	return s, nil
}

// URL returns the page's URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/" }

// Close stops serving.
func (s *Server) Close() error {
	err := s.srv.Close()
	if e := <-s.err; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

var page = template.Must(template.New("page").Parse(pageHTML))

// pageHTML is the whole page. The script polls api/progress every
// second and redraws the curve; #curve's data-points says how many
// points it drew (the headless-browser test reads it).
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rltrain: {{.Run}}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.2em; margin: 0 0 .3em; }
#meta { color: #555; margin-bottom: .8em; }
svg { border: 1px solid #ccc; background: #fff; }
.axis { stroke: #888; stroke-width: 1; }
.grid { stroke: #eee; stroke-width: 1; }
.curve { fill: none; stroke: #1f77b4; stroke-width: 2; }
.eval { fill: #d62728; }
.threshold { stroke: #2ca02c; stroke-width: 1.5; stroke-dasharray: 6 4; }
text { font-size: 11px; fill: #555; }
</style>
</head>
<body>
<h1>Learning curve: <span id="run">{{.Run}}</span></h1>
<div id="meta"><span id="what">{{.Algorithm}} on {{.Env}}</span> · status <b id="status">{{.Status}}</b> · <span id="points">0</span> points · <span id="last"></span></div>
<svg id="curve" width="900" height="480" viewBox="0 0 900 480" data-points="0" role="img" aria-label="episode return mean against env steps"></svg>
<p>episode_return_mean (blue) against env_steps; evaluation returns as red dots; the env's reward threshold dashed. Updated every second from <a href="api/progress">api/progress</a>.</p>
<script>
"use strict";
(function () {
  const svg = document.getElementById("curve");
  const NS = "http://www.w3.org/2000/svg";
  const W = 900, H = 480, L = 60, R = 20, T = 20, B = 40;
  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  }
  function fmt(v) {
    const a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k";
    return a >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1);
  }
  // The page keeps at most MAX rows: past it, every other old row goes,
  // as the server thins its own.
  const MAX = {{.MaxRows}};
  let rows = [], started = null, since = 0;
  function merge(p) {
    if (p.full || p.started !== started) rows = [];
    started = p.started;
    rows = rows.concat(p.rows);
    if (rows.length > MAX) rows = rows.filter((r, i) => i % 2 === 0 || i === rows.length - 1);
    since = rows.length ? rows[rows.length - 1].iteration : 0;
    p.rows = rows;
    return p;
  }
  function draw(p) {
    document.getElementById("status").textContent = p.status;
    document.getElementById("run").textContent = p.run;
    document.getElementById("what").textContent = p.algorithm + " on " + p.env;
    const pts = p.rows.filter(r => r.episode_return_mean !== null);
    const evals = p.rows.filter(r => r.evaluation_return_mean !== undefined && r.evaluation_return_mean !== null);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const xmax = Math.max(1, ...p.rows.map(r => r.env_steps));
    let ys = pts.map(r => r.episode_return_mean).concat(evals.map(r => r.evaluation_return_mean));
    if (p.threshold !== null) ys.push(p.threshold);
    let ymin = ys.length ? Math.min(...ys) : 0, ymax = ys.length ? Math.max(...ys) : 1;
    if (ymin > 0 && ymin < 0.5 * ymax) ymin = 0;
    if (ymax === ymin) { ymax += 1; ymin -= 1; }
    const pad = 0.05 * (ymax - ymin); ymax += pad; ymin -= pad;
    const x = v => L + (W - L - R) * v / xmax;
    const y = v => H - B - (H - T - B) * (v - ymin) / (ymax - ymin);
    for (let i = 0; i <= 5; i++) {
      const yv = ymin + (ymax - ymin) * i / 5, xv = xmax * i / 5;
      el("line", {class: "grid", x1: L, x2: W - R, y1: y(yv), y2: y(yv)});
      el("text", {x: L - 6, y: y(yv) + 4, "text-anchor": "end"}, fmt(yv));
      el("text", {x: x(xv), y: H - B + 16, "text-anchor": "middle"}, fmt(xv));
    }
    el("line", {class: "axis", x1: L, x2: L, y1: T, y2: H - B});
    el("line", {class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B});
    el("text", {x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle"}, "env steps");
    if (p.threshold !== null) {
      el("line", {class: "threshold", x1: L, x2: W - R, y1: y(p.threshold), y2: y(p.threshold)});
      el("text", {x: W - R - 4, y: y(p.threshold) - 4, "text-anchor": "end"}, "threshold " + p.threshold);
    }
    if (pts.length) {
      el("polyline", {class: "curve", id: "line", points: pts.map(r => x(r.env_steps).toFixed(1) + "," + y(r.episode_return_mean).toFixed(1)).join(" ")});
    }
    for (const r of evals) el("circle", {class: "eval", cx: x(r.env_steps), cy: y(r.evaluation_return_mean), r: 3});
    svg.setAttribute("data-points", String(pts.length));
    document.getElementById("points").textContent = String(pts.length);
    const last = p.rows[p.rows.length - 1];
    document.getElementById("last").textContent = last ?
      "iteration " + last.iteration + ", " + last.env_steps + " env steps, return " + (last.episode_return_mean === null ? "-" : last.episode_return_mean.toFixed(1)) + ", " + last.time_s.toFixed(1) + " s" : "no iteration yet";
  }
  let busy = false;
  async function poll() {
    if (busy) return;
    busy = true;
    try {
      const resp = await fetch("api/progress?since=" + since, {cache: "no-store"});
      if (resp.ok) draw(merge(await resp.json()));
    } catch (e) {
      document.getElementById("status").textContent = "unreachable (" + e + ")";
    } finally {
      busy = false;
    }
  }
  poll();
  setInterval(poll, 1000);
})();
</script>
</body>
</html>
`
