package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/train"
)

// randomActions is a uniformly random policy over n discrete actions,
// the baseline a learnt policy must beat.
type randomActions struct {
	rng *rand.Rand
	n   int
}

func (r randomActions) Greedy(_ []float32, n int, actions []int) {
	for i := range n {
		actions[i] = r.rng.IntN(r.n)
	}
}

func learningRows(t *testing.T, dir string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "progress.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	timing := map[string]bool{}
	for _, c := range train.Columns(nil) {
		timing[c.Name()] = c.Timing
	}
	var out [][]string
	for _, row := range rows {
		var keep []string
		for i, name := range rows[0] {
			if !timing[name] {
				keep = append(keep, row[i])
			}
		}
		out = append(out, keep)
	}
	return out
}

// TestResumeIsExact stops a run at iteration 12 (its budget), resumes it
// with a larger budget, and compares progress.csv with a run that was
// never stopped: the learning columns are byte for byte the same.
func TestResumeIsExact(t *testing.T) {
	ctx := context.Background()
	full := filepath.Join(t.TempDir(), "full")
	if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=20", "--set", "checkpoint.every=5", "--out", full); code != 0 {
		t.Fatalf("uninterrupted run = %d: %s", code, stderr)
	}
	split := filepath.Join(t.TempDir(), "split")
	if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=12", "--set", "checkpoint.every=5", "--out", split); code != 0 {
		t.Fatalf("first half = %d: %s", code, stderr)
	}
	// A crash after the last checkpoint leaves rows the resumed run redoes.
	code, stdout, _ := run(t, ctx, "train", "--resume", split)
	if code != 0 || !strings.Contains(stdout, "already finished") {
		t.Errorf("resume of a finished run = %d, %q; want 0 and 'already finished'", code, stdout)
	}
	code, _, stderr := run(t, ctx, "train", "--resume", split, "--set", "stop.iterations=20")
	if code != 0 {
		t.Fatalf("resume = %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "continuing from") {
		t.Errorf("resume log %q does not say where it continued from", stderr)
	}
	a, b := learningRows(t, full), learningRows(t, split)
	if len(a) != 21 || len(b) != 21 {
		t.Fatalf("rows: %d uninterrupted, %d resumed; want 21 each", len(a), len(b))
	}
	for i := range a {
		if strings.Join(a[i], ",") != strings.Join(b[i], ",") {
			t.Errorf("row %d differs after resume:\n got %v\nwant %v", i, b[i], a[i])
		}
	}
	var rf train.ResultFile
	raw, _ := os.ReadFile(filepath.Join(split, "result.json"))
	json.Unmarshal(raw, &rf)
	if rf.LastCheckpoint != filepath.Join(split, "checkpoints", "iter-000020") {
		t.Errorf("last_checkpoint = %q; want the iteration-20 checkpoint", rf.LastCheckpoint)
	}
}

func TestResumeDamagedCheckpointUsesPrevious(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=10", "--set", "checkpoint.every=5", "--out", dir); code != 0 {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	// Damage the newest checkpoint's weights: it must be set aside.
	os.WriteFile(filepath.Join(dir, "checkpoints", "iter-000010", "weights.msgpack"), []byte{0x90}, 0o644)
	code, _, stderr := run(t, ctx, "train", "--resume", dir, "--set", "stop.iterations=12")
	if code != 0 {
		t.Fatalf("resume = %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "set aside") || !strings.Contains(stderr, "iteration 5,") {
		t.Errorf("resume log = %q; want the damaged checkpoint set aside and iteration 5 used", stderr)
	}
}

func TestResumeWithoutCheckpointStartsOver(t *testing.T) {
	dir := t.TempDir()
	raw, _ := os.ReadFile(shipped)
	os.WriteFile(filepath.Join(dir, "config.yaml"), append(raw, []byte("\ncheckpoint: {every: 0}\n")...), 0o644)
	code, _, stderr := run(t, context.Background(), "train", "--resume", dir, "--set", "stop.iterations=2")
	if code != 0 || !strings.Contains(stderr, "no checkpoint yet") {
		t.Errorf("resume without checkpoints = %d, %q; want 0 and 'no checkpoint yet'", code, stderr)
	}
}

func TestEvaluate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=3", "--out", dir); code != 0 {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	code, stdout, stderr := run(t, ctx, "evaluate", dir, "--episodes", "4", "--seed", "9", "--json")
	if code != 0 {
		t.Fatalf("evaluate = %d: %s", code, stderr)
	}
	var ev Evaluation
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatalf("evaluate --json printed %q: %v", stdout, err)
	}
	if ev.Episodes != 4 || len(ev.Returns) != 4 || !strings.HasSuffix(ev.Checkpoint, "iter-000003") {
		t.Errorf("evaluation = %+v; want 4 CartPole returns from iter-000003", ev)
	}
	// Three iterations of learning already beat a uniformly random policy
	// on the same episode seeds (it averages ~22 on CartPole).
	random, err := algorithms.Evaluate(ctx, "CartPole-v1", nil, randomActions{envs.NewRand(9, 9), 2}, 4, 9)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ReturnMean <= 2*random.ReturnMean {
		t.Errorf("greedy return after 3 iterations = %.1f; want more than twice a random policy's %.1f on the same seeds", ev.ReturnMean, random.ReturnMean)
	}
	t.Logf("greedy %.1f, random %.1f", ev.ReturnMean, random.ReturnMean)
	// Greedy and seeded: the same command gives the same numbers.
	if _, again, _ := run(t, ctx, "evaluate", dir, "--episodes", "4", "--seed", "9", "--json"); again != stdout {
		t.Errorf("evaluate is not deterministic:\n%s\n%s", stdout, again)
	}
	if code, _, _ := run(t, ctx, "evaluate", filepath.Join(dir, "nope")); code != ExitUsage {
		t.Errorf("evaluate of a missing directory = %d; want 2", code)
	}
	// A checkpoint the run does not hold (mistyped, or pruned by
	// checkpoint.keep) is a usage error naming the ones it does hold.
	code, _, stderr = run(t, ctx, "evaluate", filepath.Join(dir, "checkpoints", "iter-000042"))
	if code != ExitUsage || !strings.Contains(stderr, "no such checkpoint") || !strings.Contains(stderr, "iter-000003") {
		t.Errorf("evaluate of a checkpoint the run does not hold = %d, %q; want 2, naming iter-000003", code, stderr)
	}

	// --stochastic samples the actions from a stream seeded by --seed: the
	// same command repeats its numbers, and the episodes differ from the
	// greedy ones (after three iterations the policy is far from
	// deterministic).
	code, sampled, stderr := run(t, ctx, "evaluate", dir, "--episodes", "4", "--seed", "9", "--json", "--stochastic")
	if code != 0 {
		t.Fatalf("evaluate --stochastic = %d: %s", code, stderr)
	}
	var sev Evaluation
	if err := json.Unmarshal([]byte(sampled), &sev); err != nil {
		t.Fatalf("evaluate --stochastic --json printed %q: %v", sampled, err)
	}
	if !sev.Stochastic || ev.Stochastic || len(sev.Returns) != 4 {
		t.Errorf("stochastic evaluation %+v, greedy %+v; want stochastic marked only on the first, 4 returns", sev, ev)
	}
	if slices.Equal(sev.Returns, ev.Returns) {
		t.Errorf("sampled returns %v equal the greedy ones: the actions were not sampled", sev.Returns)
	}
	if _, again, _ := run(t, ctx, "evaluate", dir, "--episodes", "4", "--seed", "9", "--json", "--stochastic"); again != sampled {
		t.Errorf("evaluate --stochastic is not reproducible:\n%s\n%s", sampled, again)
	}
	if _, other, _ := run(t, ctx, "evaluate", dir, "--episodes", "4", "--seed", "10", "--json", "--stochastic"); other == sampled {
		t.Error("evaluate --stochastic ignores --seed")
	}
}

// TestResumeFromCheckpointPath resumes from a named, older checkpoint: the
// run continues from it, rows after it are redone, and the newer
// checkpoints of the abandoned timeline are moved aside.
func TestResumeFromCheckpointPath(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=9", "--set", "checkpoint.every=3", "--set", "checkpoint.keep=0", "--out", dir); code != 0 {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	code, _, stderr := run(t, ctx, "train", "--resume", filepath.Join(dir, "checkpoints", "iter-000003"), "--set", "stop.iterations=5")
	if code != 0 || !strings.Contains(stderr, "iteration 3,") || !strings.Contains(stderr, "superseded") {
		t.Fatalf("resume from iter-000003 = %d: %s", code, stderr)
	}
	if rows := learningRows(t, dir); len(rows) != 6 {
		t.Errorf("progress.csv has %d rows; want header + 5", len(rows))
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints", "superseded", "iter-000009", "metadata.json")); err != nil {
		t.Errorf("iter-000009 was not moved aside: %v", err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "checkpoints", "iter-000005", "metadata.json"))
	if !strings.Contains(string(raw), `"weights_version": 6`) {
		t.Errorf("metadata of iteration 5 lacks weights_version 6:\n%s", raw)
	}
}
