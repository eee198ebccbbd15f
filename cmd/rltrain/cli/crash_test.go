package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/checkpoint"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// rltrainBinary builds cmd/rltrain once per test run.
func rltrainBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rltrain-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "rltrain")
		if out, err := exec.Command("go", "build", "-o", binPath, "..").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// crashRounds kills `rltrain train` with SIGKILL at random moments —
// checkpoints are written every iteration, so many kills land during a
// checkpoint write — then resumes, rounds times; a last resume must finish
// the run with every row of progress.csv in place exactly once.
func crashRounds(t *testing.T, rounds, iterations int) {
	bin := rltrainBinary(t)
	dir := filepath.Join(t.TempDir(), "run")
	sets := []string{"--set", "stop.iterations=" + strconv.Itoa(iterations), "--set", "checkpoint.every=1", "--set", "checkpoint.keep=2",
		"--set", "rollout.fragment_length=32", "--set", "stop.episode_return_mean=1e9"}
	rng := rand.New(rand.NewPCG(7, uint64(rounds))) // the kill moments, reproducible
	for round := 0; round < rounds; round++ {
		args := []string{"train", "--resume", dir}
		if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err != nil {
			args = append([]string{"train", shipped, "--out", dir}, sets...) // killed before it wrote its config
		}
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		pipe, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for at least one iteration line, then a random moment.
		sc := bufio.NewScanner(pipe)
		finished := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "iter ") {
				break
			}
			if strings.HasPrefix(sc.Text(), "run ") {
				finished = true
			}
		}
		go io.Copy(io.Discard, pipe)
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if !finished && cmd.ProcessState.ExitCode() > 0 {
			t.Fatalf("round %d: rltrain %q failed before the kill: %v\n%s", round, args, err, stderr.String())
		}
		if strings.Contains(stderr.String(), "rltrain:") {
			t.Fatalf("round %d: resume reported an error:\n%s", round, stderr.String())
		}
		if r := readResultIfAny(dir); r != nil && r.Status == "finished" {
			t.Fatalf("round %d: the run finished before its kill; the test needs a longer run", round)
		}
		t.Logf("round %d: killed after %d progress rows; %s", round, len(learningRows(t, dir))-1, firstLine(stderr.String(), "resume: continuing"))
	}
	code, _, stderr := run(t, context.Background(), "train", "--resume", dir)
	if code != 0 && !strings.Contains(stderr, "already finished") {
		t.Fatalf("final resume = %d:\n%s", code, stderr)
	}
	rows := learningRows(t, dir)
	if len(rows) != iterations+1 {
		t.Fatalf("progress.csv has %d rows after %d crashes; want %d", len(rows)-1, rounds, iterations)
	}
	for i, row := range rows[1:] {
		if row[0] != strconv.Itoa(i+1) || row[1] != strconv.Itoa((i+1)*2*2*32) {
			t.Fatalf("row %d = iteration %s, env_steps %s; want %d, %d", i+1, row[0], row[1], i+1, (i+1)*128)
		}
	}
	if r := readResult(t, dir); r.Status != "finished" || r.Iterations != iterations {
		t.Errorf("result.json = %+v; want finished after %d iterations", r, iterations)
	}
}

func readResultIfAny(dir string) *train.ResultFile {
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		return nil
	}
	var r train.ResultFile
	if json.Unmarshal(b, &r) != nil {
		return nil
	}
	return &r
}

func firstLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return "(started afresh)"
}

func TestCrashAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	crashRounds(t, 5, 150)
}

func TestLongCrashAndResume50(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	crashRounds(t, 50, 1500)
}

// TestS3CheckpointsAndResume keeps a run's checkpoints in an S3-compatible
// server on loopback (gofakes3, reached over HTTP by minio-go with the
// standard AWS environment), then resumes and evaluates from S3.
func TestS3CheckpointsAndResume(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("runs"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "rlgo-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "rlgo-test-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "run")
	code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=6", "--set", "checkpoint.every=3", "--set", "checkpoint.dir=s3://runs/exp1", "--out", dir)
	if code != 0 {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints")); err == nil {
		t.Error("checkpoints were written locally, not to S3")
	}
	if r := readResult(t, dir); r.LastCheckpoint != "s3://runs/exp1/checkpoints/iter-000006" {
		t.Errorf("last_checkpoint = %q; want s3://runs/exp1/checkpoints/iter-000006", r.LastCheckpoint)
	}
	code, _, stderr = run(t, ctx, "train", "--resume", dir, "--set", "stop.iterations=8")
	if code != 0 || !strings.Contains(stderr, "continuing from s3://runs/exp1/checkpoints/iter-000006") {
		t.Fatalf("resume from S3 = %d: %s", code, stderr)
	}
	code, out, stderr := run(t, ctx, "evaluate", "s3://runs/exp1", "--episodes", "2")
	if code != 0 || !strings.Contains(out, "s3://runs/exp1/checkpoints/iter-000008") {
		t.Errorf("evaluate s3://runs/exp1 = %d, %q (%s); want the iteration-8 checkpoint", code, out, stderr)
	}
}

// TestRestoreAcrossWorkerCounts restores a 4-worker checkpoint with 1
// worker and the reverse (RLlib #36761): training continues, saying that
// the workers start fresh episodes.
func TestRestoreAcrossWorkerCounts(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ from, to int }{{4, 1}, {1, 4}} {
		dir := filepath.Join(t.TempDir(), "run")
		code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=3", "--set", fmt.Sprintf("rollout.workers=%d", c.from), "--out", dir)
		if code != 0 {
			t.Fatalf("train with %d workers = %d: %s", c.from, code, stderr)
		}
		code, _, stderr = run(t, ctx, "train", "--resume", dir, "--set", "stop.iterations=5", "--set", fmt.Sprintf("rollout.workers=%d", c.to))
		if code != 0 || !strings.Contains(stderr, "fleet size changed") {
			t.Errorf("resume %d→%d workers = %d, %q; want 0 and a note that the fleet size changed", c.from, c.to, code, stderr)
		}
		if r := readResult(t, dir); r.Iterations != 5 {
			t.Errorf("resume %d→%d workers: %d iterations; want 5", c.from, c.to, r.Iterations)
		}
	}
}

// TestEvaluateSolvedCheckpoint trains the shipped config to 475 and checks
// that its final checkpoint's greedy policy scores at least 475 too.
func TestEvaluateSolvedCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("trains to the target")
	}
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := run(t, context.Background(), "train", shipped, "--out", dir); code != 0 {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	ev, err := evaluate(context.Background(), dir, 20, 0, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ReturnMean < 475 {
		t.Errorf("greedy return of the solved checkpoint = %.1f ± %.1f; want >= 475", ev.ReturnMean, ev.ReturnStd)
	}
}

// TestS3RunDirectory keeps the whole run directory in S3 (--out s3://...):
// progress, results and checkpoints land in the bucket, and --resume
// s3://... continues from there.
func TestS3RunDirectory(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("runs"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "rlgo-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "rlgo-test-secret")
	ctx := context.Background()
	code, out, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=4", "--set", "checkpoint.every=2", "--out", "s3://runs/exp2")
	if code != 0 || !strings.Contains(out, "run directory: s3://runs/exp2") {
		t.Fatalf("train --out s3://runs/exp2 = %d, %q: %s", code, out, stderr)
	}
	code, _, stderr = run(t, ctx, "train", "--resume", "s3://runs/exp2", "--set", "stop.iterations=6")
	if code != 0 || !strings.Contains(stderr, "continuing from s3://runs/exp2/checkpoints/iter-000004") {
		t.Fatalf("resume s3://runs/exp2 = %d: %s", code, stderr)
	}
	st, err := checkpoint.OpenStore("s3://runs/exp2")
	if err != nil {
		t.Fatal(err)
	}
	progress, err := st.Get(ctx, "progress.csv")
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(progress), "\n"); rows != 7 {
		t.Errorf("progress.csv in S3 has %d lines; want header + 6 iterations", rows)
	}
	for _, key := range []string{"config.yaml", "result.json", "result.jsonl", "report/report.html"} {
		if _, err := st.Get(ctx, key); err != nil {
			t.Errorf("%s not in S3: %v", key, err)
		}
	}
}
