package train

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/train/config"
)

func TestStopReason(t *testing.T) {
	target := 475.0
	s := config.StopConfig{EpisodeReturnMean: &target, EnvSteps: 1000, Iterations: 5, TimeS: 60}
	tests := []struct {
		r    algorithms.Result
		want string
	}{
		{algorithms.Result{Iteration: 1, EnvSteps: 100}, ""},
		{algorithms.Result{Iteration: 1, EnvSteps: 100, HasEpisodes: true, EpisodeReturnMean: 474.9}, ""},
		{algorithms.Result{Iteration: 1, EnvSteps: 100, HasEpisodes: true, EpisodeReturnMean: 475}, "episode_return_mean"},
		// The target wins over a budget met in the same iteration: success is what counts.
		{algorithms.Result{Iteration: 5, EnvSteps: 1000, HasEpisodes: true, EpisodeReturnMean: 500}, "episode_return_mean"},
		{algorithms.Result{Iteration: 2, EnvSteps: 1000}, "env_steps"},
		{algorithms.Result{Iteration: 5, EnvSteps: 500}, "iterations"},
		{algorithms.Result{Iteration: 2, EnvSteps: 500, TimeS: 61}, "time_s"},
	}
	for _, tt := range tests {
		if got := stopReason(s, tt.r); got != tt.want {
			t.Errorf("stopReason(%+v) = %q; want %q", tt.r, got, tt.want)
		}
	}
}

func TestProgressRows(t *testing.T) {
	dir := t.TempDir()
	p, err := newProgressWriter(dir, Columns([]string{"learner/a", "learner/b"}), false)
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	rows := []algorithms.Result{
		{Iteration: 1, EnvSteps: 512, TimeS: 0.25, Learner: []algorithms.Metric{{Name: "learner/a", Value: 0.5}, {Name: "learner/b", Value: nan}}, FleetWorkers: 2},
		{Iteration: 2, EnvSteps: 1024, Episodes: 3, HasEpisodes: true, EpisodeReturnMean: 21.5, EpisodeReturnMin: 9, EpisodeReturnMax: 40, EpisodeLenMean: 21.5, Learner: []algorithms.Metric{{Name: "learner/a", Value: 1e-7}, {Name: "learner/b", Value: 2}}, FleetWorkers: 2},
	}
	for _, r := range rows {
		if err := p.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	csv, _ := os.ReadFile(filepath.Join(dir, "progress.csv"))
	wantCSV := "iteration,env_steps,episodes,episode_return_mean,episode_return_min,episode_return_max,episode_len_mean,evaluation_return_mean,evaluation_return_std,evaluation_episode_len_mean,time_s,env_steps_per_s,sample_time_s,learn_time_s,learner/a,learner/b,fleet/workers,fleet/restarts,fleet/dropped,fleet/stale,fleet/duplicate,fleet/rejected,fleet/bytes_received,fleet/transfer_time_s,fleet/env_restarts\n" +
		"1,512,0,,,,,,,,0.25,0,0,0,0.5,,2,0,0,0,0,0,0,0,0\n" +
		"2,1024,3,21.5,9,40,21.5,,,,0,0,0,0,1e-07,2,2,0,0,0,0,0,0,0,0\n"
	if string(csv) != wantCSV {
		t.Errorf("progress.csv =\n%s\nwant\n%s", csv, wantCSV)
	}
	jl, _ := os.ReadFile(filepath.Join(dir, "result.jsonl"))
	wantJL := `{"iteration":1,"env_steps":512,"episodes":0,"time_s":0.25,"env_steps_per_s":0,"sample_time_s":0,"learn_time_s":0,"learner/a":0.5,"fleet/workers":2,"fleet/restarts":0,"fleet/dropped":0,"fleet/stale":0,"fleet/duplicate":0,"fleet/rejected":0,"fleet/bytes_received":0,"fleet/transfer_time_s":0,"fleet/env_restarts":0}` + "\n" +
		`{"iteration":2,"env_steps":1024,"episodes":3,"episode_return_mean":21.5,"episode_return_min":9,"episode_return_max":40,"episode_len_mean":21.5,"time_s":0,"env_steps_per_s":0,"sample_time_s":0,"learn_time_s":0,"learner/a":1e-07,"learner/b":2,"fleet/workers":2,"fleet/restarts":0,"fleet/dropped":0,"fleet/stale":0,"fleet/duplicate":0,"fleet/rejected":0,"fleet/bytes_received":0,"fleet/transfer_time_s":0,"fleet/env_restarts":0}` + "\n"
	if string(jl) != wantJL {
		t.Errorf("result.jsonl =\n%s\nwant\n%s", jl, wantJL)
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	bar := &progressBar{w: &b, enabled: true, total: 1000}
	bar.line("iter 1", 250)
	bar.done()
	want := "\r\033[Kiter 1\n[#######.......................]  25% 250/1000 env steps\r\033[K"
	if b.String() != want {
		t.Errorf("progress bar wrote %q; want %q", b.String(), want)
	}
	b.Reset()
	plain := &progressBar{w: &b, total: 1000}
	plain.line("iter 1", 250)
	plain.done()
	if b.String() != "iter 1\n" {
		t.Errorf("without a terminal wrote %q; want just the line", b.String())
	}
}

func TestRunDir(t *testing.T) {
	now := time.Date(2026, 11, 25, 19, 30, 5, 0, time.UTC)
	if got := RunDir("cartpole-ppo", "", now); got != filepath.Join("runs", "cartpole-ppo-20261125-193005") {
		t.Errorf("RunDir = %s", got)
	}
	if got := RunDir("x", "/tmp/out", now); got != "/tmp/out" {
		t.Errorf("RunDir with --out = %s; want the --out directory itself", got)
	}
	if !strings.HasPrefix(formatLine(algorithms.Result{Iteration: 3}), "iter     3") {
		t.Error("formatLine does not start with the iteration")
	}
}

type recordingTracker struct{ calls []string }

func (r *recordingTracker) Start(_ context.Context, run RunInfo) error {
	r.calls = append(r.calls, "start "+run.Config.Name+" "+run.Columns[0].Name())
	return nil
}
func (r *recordingTracker) Iteration(_ context.Context, res algorithms.Result) error {
	r.calls = append(r.calls, "iteration "+strconv.Itoa(res.Iteration))
	return nil
}
func (r *recordingTracker) Finish(_ context.Context, rf *ResultFile) error {
	r.calls = append(r.calls, "finish "+rf.Status)
	return nil
}

func TestTrackersSeeTheRun(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte("name: tracked\nenv: {id: CartPole-v1}\nstop: {iterations: 2}\nrollout: {workers: 1, envs_per_worker: 1, fragment_length: 16}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &recordingTracker{}
	if _, err := RunConfig(context.Background(), &cfg.Config, Options{Out: t.TempDir(), Trackers: []Tracker{tr}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"start tracked iteration", "iteration 1", "iteration 2", "finish finished"}
	if !reflect.DeepEqual(tr.calls, want) {
		t.Errorf("tracker calls = %q; want %q", tr.calls, want)
	}
}

func TestEvaluationColumnsAndStop(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte("name: ev\nenv: {id: CartPole-v1}\nstop: {iterations: 4, evaluation_return_mean: 1e9}\nevaluation: {interval: 2, episodes: 2}\nrollout: {workers: 1, envs_per_worker: 1, fragment_length: 16}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := RunConfig(context.Background(), &cfg.Config, Options{Out: dir}); err != nil {
		t.Fatal(err)
	}
	rows, _ := os.ReadFile(filepath.Join(dir, "result.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(rows)), "\n")
	for i, line := range lines {
		has := strings.Contains(line, `"evaluation_return_mean":`)
		if want := (i+1)%2 == 0; has != want {
			t.Errorf("iteration %d: evaluation_return_mean present = %v; want %v", i+1, has, want)
		}
	}
	if _, err := config.Parse("bad.yaml", []byte("env: {id: CartPole-v1}\nstop: {evaluation_return_mean: 1}\n"), nil); err == nil || !strings.Contains(err.Error(), "needs evaluation.interval") {
		t.Errorf("stop.evaluation_return_mean without evaluation = %v; want an error", err)
	}
}

func TestFinalMetricsOmitNaN(t *testing.T) {
	r := algorithms.Result{Iteration: 1, Learner: []algorithms.Metric{{Name: "learner/explained_var", Value: math.NaN()}}}
	m := finalMetrics(r, Columns([]string{"learner/explained_var"}))
	if _, ok := m["learner/explained_var"]; ok {
		t.Errorf("finalMetrics kept a NaN: %v", m)
	}
	if err := writeJSON(filepath.Join(t.TempDir(), "result.json"), &ResultFile{Final: m}); err != nil {
		t.Errorf("writeJSON = %v", err)
	}
}
