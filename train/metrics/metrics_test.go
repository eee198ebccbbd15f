package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rlgo/rlgo/algorithms"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/config"
)

// Scrape fetches url and parses the text exposition format.
func Scrape(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok || len(f.Metric) == 0 {
		t.Fatalf("no metric %s in the scrape", name)
	}
	m := f.Metric[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("%s is neither a counter nor a gauge", name)
	return 0
}

// TestScrapeDuringTraining serves /metrics while a real (short) training
// run goes on in-process, scrapes it at two moments, and sees the
// counters rise and the gauges set.
func TestScrapeDuringTraining(t *testing.T) {
	reg := NewRegistry()
	tr := NewTrainer(reg)
	srv, err := Serve("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	cfg, err := config.Parse("m.yaml", []byte("name: prom\nenv: {id: CartPole-v1}\nseed: 2\nstop: {iterations: 400}\nrollout: {workers: 1, envs_per_worker: 2, fragment_length: 32}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := train.RunConfig(ctx, &cfg.Config, train.Options{Out: t.TempDir(), Trackers: []train.Tracker{tr}})
		done <- err
	}()

	// waitFor scrapes until env steps pass min, and returns that scrape.
	waitFor := func(min float64) map[string]*dto.MetricFamily {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			fams, err := Scrape(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			if value(t, fams, "rlgo_env_steps_total") > min {
				return fams
			}
			select {
			case err := <-done:
				t.Fatalf("the run ended (%v) before the scrapes", err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		t.Fatal("env steps did not rise within 60 s")
		return nil
	}
	first := waitFor(0)
	second := waitFor(value(t, first, "rlgo_env_steps_total"))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"rlgo_env_steps_total", "rlgo_iterations_total"} {
		if a, b := value(t, first, name), value(t, second, name); !(b > a && a > 0) {
			t.Errorf("%s: %v then %v; want it rising", name, a, b)
		}
	}
	if a, b := value(t, first, "rlgo_episodes_total"), value(t, second, "rlgo_episodes_total"); b < a {
		t.Errorf("rlgo_episodes_total fell: %v then %v", a, b)
	}
	// A scrape is one moment: the counters of one iteration.
	if it, steps := value(t, second, "rlgo_iterations_total"), value(t, second, "rlgo_env_steps_total"); steps != 64*it {
		t.Errorf("%v iterations of 64 steps but %v env steps", it, steps)
	}
	if v := value(t, second, "rlgo_env_steps_per_second"); v <= 0 {
		t.Errorf("rlgo_env_steps_per_second = %v", v)
	}
	if v := value(t, second, "rlgo_fleet_workers"); v != 1 {
		t.Errorf("rlgo_fleet_workers = %v; want 1", v)
	}
	for _, name := range []string{"rlgo_learn_time_seconds", "rlgo_sample_time_seconds", "rlgo_fleet_restarts_total", "rlgo_episode_return_mean", "go_goroutines"} {
		value(t, second, name) // present
	}
	for _, name := range []string{"rlgo_env_steps_total", "rlgo_episodes_total", "rlgo_iterations_total", "rlgo_fleet_restarts_total"} {
		if second[name].GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s is a %v; want a counter", name, second[name].GetType())
		}
	}
	info := second["rlgo_run_info"].Metric[0]
	labels := map[string]string{}
	for _, l := range info.Label {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["name"] != "prom" || labels["algorithm"] != "ppo" || labels["env"] != "CartPole-v1" || labels["seed"] != "2" {
		t.Errorf("rlgo_run_info labels %v", labels)
	}
}

// TestScrapeIsOneMoment scrapes the registry while iterations are
// recorded as fast as they come: every scrape's env steps belong to its
// iteration count, none to an iteration the count has not reached.
func TestScrapeIsOneMoment(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr := NewTrainer(reg)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tr.Iteration(context.Background(), algorithms.Result{EnvSteps: 64 * i, Episodes: i})
		}
	}()
	defer func() { close(stop); <-done }()
	for range 300 {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]*dto.MetricFamily{}
		for _, f := range fams {
			m[f.GetName()] = f
		}
		it, steps, eps := value(t, m, "rlgo_iterations_total"), value(t, m, "rlgo_env_steps_total"), value(t, m, "rlgo_episodes_total")
		if steps != 64*it || eps != it {
			t.Fatalf("one scrape: %v iterations, %v env steps, %v episodes; want 64 steps and 1 episode an iteration", it, steps, eps)
		}
	}
}

// TestWorkerMetrics: the worker counters count what the worker reports.
func TestWorkerMetrics(t *testing.T) {
	reg := NewRegistry()
	w := NewWorker(reg)
	srv, err := Serve("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w.Sampled(64)
	w.Sampled(64)
	w.Uploaded()
	w.EnvError()
	fams, err := Scrape(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"rlgo_worker_env_steps_total": 128, "rlgo_worker_batches_uploaded_total": 1, "rlgo_worker_env_errors_total": 1} {
		if got := value(t, fams, name); got != want {
			t.Errorf("%s = %v; want %v", name, got, want)
		}
	}
	if _, ok := fams["rlgo_env_steps_total"]; ok {
		t.Error("a worker serves the trainer's metrics too")
	}
	// The registry is private: nothing lands in prometheus's global one.
	global, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range global {
		if strings.HasPrefix(f.GetName(), "rlgo_") {
			t.Errorf("%s is in the global registry", f.GetName())
		}
	}
}
