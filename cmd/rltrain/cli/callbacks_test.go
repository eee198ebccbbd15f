package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	_ "github.com/rlgo/rlgo/examples/customenv/gridworld" // GridWorld-v0: step info with "bumped" and "goal"
	"github.com/rlgo/rlgo/rollout"
)

// TestCustomMetricsAndCallbacks trains the custom-env example config
// (env.metrics from step info) through Main with a Go callback, and
// checks that progress.csv has the declared custom/ columns with values,
// and that the callback saw every episode.
func TestCustomMetricsAndCallbacks(t *testing.T) {
	dir := t.TempDir()
	var episodes, iterations int
	cb := algorithms.Callbacks{
		Metrics:      []string{"iteration_episodes"},
		OnEpisodeEnd: func(rollout.EpisodeStats) { episodes++ },
		OnIterationEnd: func(r *algorithms.Result) {
			iterations++
			r.AddCustom("iteration_episodes", float64(len(r.NewEpisodes)))
		},
	}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"train", "../../../examples/customenv/gridworld.yaml",
		"--out", dir, "--set", "stop.iterations=3"}, Options{Stdout: &stdout, Stderr: &stderr, Callbacks: cb})
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(filepath.Join(dir, "progress.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || iterations != 3 {
		t.Fatalf("%d rows, %d iterations; want a header and 3 rows", len(rows), iterations)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	var sum float64
	for _, name := range []string{"custom/bumps", "custom/success", "custom/iteration_episodes"} {
		i, ok := col[name]
		if !ok {
			t.Fatalf("progress.csv has no %s column: %v", name, rows[0])
		}
		for _, row := range rows[1:] {
			v, err := strconv.ParseFloat(row[i], 64)
			if err != nil {
				t.Fatalf("%s = %q: %v", name, row[i], err)
			}
			if name == "custom/success" && (v < 0 || v > 1) {
				t.Errorf("custom/success = %v, want a share in [0, 1]", v)
			}
			if name == "custom/iteration_episodes" {
				sum += v
			}
		}
	}
	last := rows[len(rows)-1]
	total, _ := strconv.ParseFloat(last[col["episodes"]], 64)
	if int(sum) != episodes || int(total) != episodes {
		t.Errorf("callback counted %d episodes, its column sums to %v, progress.csv says %v", episodes, sum, total)
	}
}
