// Package metrics serves Prometheus metrics of training runs and rollout
// workers (rltrain train|learner|worker --metrics-addr) from a private
// registry with client_golang. Names carry the rlgo_ prefix; see
// docs/tracking.md for the list.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/rollout/remote"
	"github.com/rlgo/rlgo/train"
)

// NewRegistry returns a private registry (not prometheus's global one)
// with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Trainer is a train.Tracker that keeps a training run's metrics: the
// counters add the growth of the run's totals at every iteration, the
// gauges hold the last iteration's values. It is the prometheus.Collector
// of those metrics, and a scrape reads them all at one moment: the
// metrics of one iteration, never the env steps of a later iteration
// beside the iteration count of an earlier one.
type Trainer struct {
	mu sync.Mutex
	// last holds the totals already counted.
	lastSteps, lastEpisodes int64
	lastRestarts            int

	run                                                   []string // rlgo_run_info's label values; nil before Start
	envSteps, episodes, iterations, restarts              float64
	returnMean, stepsPerS, learnTime, sampleTime, workers float64
}

// The training metrics' descriptions.
var (
	descInfo       = prometheus.NewDesc("rlgo_run_info", "The training run (1), with its config's name, algorithm, env and seed as labels.", []string{"name", "algorithm", "env", "seed"}, nil)
	descEnvSteps   = prometheus.NewDesc("rlgo_env_steps_total", "Env steps sampled for training.", nil, nil)
	descEpisodes   = prometheus.NewDesc("rlgo_episodes_total", "Training episodes completed.", nil, nil)
	descIterations = prometheus.NewDesc("rlgo_iterations_total", "Training iterations completed.", nil, nil)
	descRestarts   = prometheus.NewDesc("rlgo_fleet_restarts_total", "Rollout workers restarted or replaced.", nil, nil)
	descReturnMean = prometheus.NewDesc("rlgo_episode_return_mean", "Mean return of the last 100 training episodes (NaN before the first).", nil, nil)
	descStepsPerS  = prometheus.NewDesc("rlgo_env_steps_per_second", "Env steps per second of the last iteration.", nil, nil)
	descLearnTime  = prometheus.NewDesc("rlgo_learn_time_seconds", "Time the learner spent on the last iteration's update.", nil, nil)
	descSampleTime = prometheus.NewDesc("rlgo_sample_time_seconds", "Time the last iteration spent sampling.", nil, nil)
	descWorkers    = prometheus.NewDesc("rlgo_fleet_workers", "Healthy rollout workers in the last iteration.", nil, nil)
)

// NewTrainer registers the training metrics on reg.
func NewTrainer(reg prometheus.Registerer) *Trainer {
	t := &Trainer{returnMean: nan()}
	reg.MustRegister(t)
	return t
}

var (
	_ train.Tracker        = (*Trainer)(nil)
	_ prometheus.Collector = (*Trainer)(nil)
)

// Describe sends the training metrics' descriptions.
func (t *Trainer) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInfo, descEnvSteps, descEpisodes, descIterations, descRestarts,
		descReturnMean, descStepsPerS, descLearnTime, descSampleTime, descWorkers} {
		ch <- d
	}
}

// Collect sends the training metrics' values, all of one moment.
func (t *Trainer) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.run != nil {
		ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, t.run...)
	}
	for _, m := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v float64
	}{
		{descEnvSteps, prometheus.CounterValue, t.envSteps},
		{descEpisodes, prometheus.CounterValue, t.episodes},
		{descIterations, prometheus.CounterValue, t.iterations},
		{descRestarts, prometheus.CounterValue, t.restarts},
		{descReturnMean, prometheus.GaugeValue, t.returnMean},
		{descStepsPerS, prometheus.GaugeValue, t.stepsPerS},
		{descLearnTime, prometheus.GaugeValue, t.learnTime},
		{descSampleTime, prometheus.GaugeValue, t.sampleTime},
		{descWorkers, prometheus.GaugeValue, t.workers},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v)
	}
}

// Start labels rlgo_run_info with the run.
func (t *Trainer) Start(_ context.Context, run train.RunInfo) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := run.Config
	t.run = []string{c.Name, c.Algorithm, c.Env.ID, strconv.FormatUint(c.Seed, 10)}
	return nil
}

// Iteration updates the metrics from r.
func (t *Trainer) Iteration(_ context.Context, r algorithms.Result) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := r.EnvSteps - t.lastSteps; d > 0 {
		t.envSteps += float64(d)
	}
	if d := r.Episodes - t.lastEpisodes; d > 0 {
		t.episodes += float64(d)
	}
	if d := r.FleetRestart - t.lastRestarts; d > 0 {
		t.restarts += float64(d)
	}
	t.lastSteps, t.lastEpisodes, t.lastRestarts = r.EnvSteps, r.Episodes, r.FleetRestart
	t.iterations++
	if r.HasEpisodes {
		t.returnMean = r.EpisodeReturnMean
	}
	t.stepsPerS = r.EnvStepsPerS
	t.learnTime = r.LearnTimeS
	t.sampleTime = r.SampleTimeS
	t.workers = float64(r.FleetWorkers)
	return nil
}

// Finish does nothing: the metrics stay as the last iteration left them.
func (t *Trainer) Finish(context.Context, *train.ResultFile) error { return nil }

// Worker is a remote.WorkerMetrics for rltrain worker.
type Worker struct {
	envSteps, batches, envErrors prometheus.Counter
}

// NewWorker registers the worker metrics on reg.
func NewWorker(reg prometheus.Registerer) *Worker {
	w := &Worker{
		envSteps:  prometheus.NewCounter(prometheus.CounterOpts{Name: "rlgo_worker_env_steps_total", Help: "Env steps this worker sampled."}),
		batches:   prometheus.NewCounter(prometheus.CounterOpts{Name: "rlgo_worker_batches_uploaded_total", Help: "Sample batches this worker uploaded to the learner."}),
		envErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "rlgo_worker_env_errors_total", Help: "Env failures (panic or NaN) this worker met."}),
	}
	reg.MustRegister(w.envSteps, w.batches, w.envErrors)
	return w
}

var _ remote.WorkerMetrics = (*Worker)(nil)

// Sampled counts a fragment's env steps.
func (w *Worker) Sampled(n int) { w.envSteps.Add(float64(n)) }

// Uploaded counts an uploaded batch.
func (w *Worker) Uploaded() { w.batches.Inc() }

// EnvError counts an env failure.
func (w *Worker) EnvError() { w.envErrors.Inc() }

// Server serves /metrics.
type Server struct {
	ln  net.Listener
	srv *http.Server
	err chan error
}

// Serve listens on addr (host:port; port 0 picks one) and serves reg's
// metrics at /metrics in the Prometheus text exposition format (or
// OpenMetrics when the scraper asks for it).
func Serve(addr string, reg *prometheus.Registry) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "rltrain metrics: see /metrics")
	})
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, err: make(chan error, 1)}
	go func() { s.err <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the address it listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL returns the metrics URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/metrics" }

// Close stops serving.
func (s *Server) Close() error {
	err := s.srv.Close()
	if e := <-s.err; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

func nan() float64 {
	var zero float64
	return zero / zero
}
