package train

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train/config"
)

func TestCustomColumns(t *testing.T) {
	dir := t.TempDir()
	p, err := newProgressWriter(dir, Columns([]string{"learner/a"}, "fuel", "share"), false)
	if err != nil {
		t.Fatal(err)
	}
	r1 := algorithms.Result{Iteration: 1, EnvSteps: 8}
	r1.AddCustom("share", 0.25) // a callback's metric before any episode
	r2 := algorithms.Result{Iteration: 2, EnvSteps: 16, Episodes: 1, HasEpisodes: true, EpisodeReturnMean: 3, EpisodeReturnMin: 3, EpisodeReturnMax: 3, EpisodeLenMean: 3,
		Learner: []algorithms.Metric{{Name: "learner/a", Value: 1}}}
	r2.AddCustom("fuel", 1.5)
	for _, r := range []algorithms.Result{r1, r2} {
		if err := p.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	got, _ := os.ReadFile(filepath.Join(dir, "progress.csv"))
	want := "iteration,env_steps,episodes,episode_return_mean,episode_return_min,episode_return_max,episode_len_mean,custom/fuel,custom/share,evaluation_return_mean,evaluation_return_std,evaluation_episode_len_mean,time_s,env_steps_per_s,sample_time_s,learn_time_s,learner/a,fleet/workers,fleet/restarts,fleet/dropped,fleet/stale,fleet/duplicate,fleet/rejected,fleet/bytes_received,fleet/transfer_time_s,fleet/env_restarts\n" +
		"1,8,0,,,,,,0.25,,,,0,0,0,0,,0,0,0,0,0,0,0,0,0\n" +
		"2,16,1,3,3,3,3,1.5,,,,,0,0,0,0,1,0,0,0,0,0,0,0,0,0\n"
	if string(got) != want {
		t.Errorf("progress.csv =\n%s\nwant\n%s", got, want)
	}
	jl, _ := os.ReadFile(filepath.Join(dir, "result.jsonl"))
	if lines := strings.Split(string(jl), "\n"); !strings.Contains(lines[0], `"custom/share":0.25`) || strings.Contains(lines[0], "custom/fuel") || !strings.Contains(lines[1], `"episode_len_mean":3,"custom/fuel":1.5,`) {
		t.Errorf("result.jsonl =\n%s\nwant custom/share in row 1 only, custom/fuel in row 2 after episode_len_mean", jl)
	}
	m := finalMetrics(r2, Columns(nil, "fuel", "share"))
	if _, share := m["custom/share"]; m["custom/fuel"] != 1.5 || share {
		t.Errorf("finalMetrics = %v; want custom/fuel and no custom/share", m)
	}
	if n := len(Columns(nil)); n != 23 {
		t.Errorf("Columns(nil) has %d columns; custom ones must not appear unless declared", n)
	}
}

type columnsTracker struct {
	recordingTracker
	cols []string
}

func (c *columnsTracker) Start(_ context.Context, run RunInfo) error {
	for _, col := range run.Columns {
		c.cols = append(c.cols, col.Name())
	}
	return nil
}

func TestRunCallbacks(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte("name: cb\nenv: {id: CartPole-v1, metrics: [{name: steps, info_key: none}]}\nstop: {iterations: 2}\nrollout: {workers: 2, envs_per_worker: 2, fragment_length: 32}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	seen, ret := 0, 0.0
	cb := algorithms.Callbacks{
		Metrics: []string{"seen", "return_sum"},
		OnEpisodeEnd: func(ep rollout.EpisodeStats) {
			seen++
			ret += ep.Return
			if len(calls) == 0 || calls[len(calls)-1] != "episodes" {
				calls = append(calls, "episodes")
			}
		},
		OnIterationEnd: func(r *algorithms.Result) {
			calls = append(calls, "iteration "+strconv.Itoa(r.Iteration))
			if int64(seen) != r.Episodes {
				t.Errorf("iteration %d: OnEpisodeEnd saw %d episodes; Result says %d", r.Iteration, seen, r.Episodes)
			}
			r.AddCustom("seen", float64(seen))
			if r.HasEpisodes {
				r.AddCustom("return_sum", ret)
			}
		},
	}
	dir := t.TempDir()
	tr := &columnsTracker{}
	if _, err := RunConfig(context.Background(), &cfg.Config, Options{Out: dir, Callbacks: cb, Trackers: []Tracker{tr}}); err != nil {
		t.Fatal(err)
	}
	// CartPole at random ends an episode within 32 steps on some of 4 envs.
	if want := []string{"episodes", "iteration 1", "episodes", "iteration 2"}; !slices.Equal(calls, want) {
		t.Errorf("callback calls = %q; want %q", calls, want)
	}
	f, _ := os.Open(filepath.Join(dir, "progress.csv"))
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 3 {
		t.Fatalf("progress.csv: %d rows, %v; want header and 2 rows", len(rows), err)
	}
	header := rows[0]
	at := slices.Index(header, "episode_len_mean")
	if want := []string{"custom/steps", "custom/seen", "custom/return_sum"}; at < 0 || !slices.Equal(header[at+1:at+4], want) {
		t.Fatalf("header %v; want %v after episode_len_mean", header, want)
	}
	if !slices.Equal(tr.cols, header) {
		t.Errorf("tracker columns %v; want progress.csv's %v", tr.cols, header)
	}
	for _, row := range rows[1:] {
		if row[at+2] != row[slices.Index(header, "episodes")] {
			t.Errorf("custom/seen = %q; want the episodes column %q", row[at+2], row[slices.Index(header, "episodes")])
		}
		if row[at+3] == "" {
			t.Errorf("custom/return_sum is empty in %v", row)
		}
	}
	var rf ResultFile
	b, _ := os.ReadFile(filepath.Join(dir, "result.json"))
	if err := json.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	if v, ok := rf.Final["custom/seen"]; !ok || v != float64(seen) {
		t.Errorf("result.json final custom/seen = %v, %v; want %d", v, ok, seen)
	}
}

func TestRunCallbackErrors(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte("name: cb\nenv: {id: CartPole-v1, metrics: [{name: fuel}]}\nstop: {iterations: 1}\nrollout: {workers: 1, envs_per_worker: 1, fragment_length: 16}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cb   algorithms.Callbacks
		want string
	}{
		{"bad name", algorithms.Callbacks{Metrics: []string{"a b"}}, `callbacks: metrics[0].name: "a b"`},
		{"twice", algorithms.Callbacks{Metrics: []string{"a", "a"}}, "declared twice"},
		{"clash with env.metrics", algorithms.Callbacks{Metrics: []string{"fuel"}}, `"fuel" is already declared in env.metrics`},
		{"undeclared", algorithms.Callbacks{OnIterationEnd: func(r *algorithms.Result) { r.AddCustom("x", 1) }}, `custom metric "custom/x" is not declared`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RunConfig(context.Background(), &cfg.Config, Options{Out: t.TempDir(), Callbacks: tt.cb})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}
