package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rlgo/rlgo/train"
)

const shipped = "../../../configs/cartpole-ppo.yaml"

func run(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(ctx, args, Options{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func readResult(t *testing.T, dir string) train.ResultFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r train.ResultFile
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("result.json: %v", err)
	}
	return r
}

func TestEnvsListsCartPole(t *testing.T) {
	code, out, _ := run(t, context.Background(), "envs")
	if code != ExitOK || !strings.Contains(out, "CartPole-v1") || !strings.Contains(out, "475") {
		t.Errorf("rltrain envs = %d, %q; want 0 and a CartPole-v1 row solved at 475", code, out)
	}
}

func TestTrainWritesRunDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, out, stderr := run(t, context.Background(), "train", shipped, "--set", "stop.iterations=3", "--out", dir)
	if code != ExitOK {
		t.Fatalf("train = %d; want 0 (stderr %s)", code, stderr)
	}
	if n := strings.Count(out, "iter "); n != 3 {
		t.Errorf("stdout has %d iteration lines; want 3:\n%s", n, out)
	}
	for _, f := range []string{"config.yaml", "progress.csv", "result.jsonl", "result.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory lacks %s: %v", f, err)
		}
	}
	r := readResult(t, dir)
	if r.Status != "finished" || r.StopReason != "iterations" || r.Iterations != 3 || r.EnvSteps != 3*512 || r.Success {
		t.Errorf("result.json = %+v; want finished by iterations after 3 iterations and 1536 steps, no success", r)
	}
	if _, ok := r.Final["learner/approx_kl"]; !ok {
		t.Errorf("result.json final metrics lack learner/approx_kl: %v", r.Final)
	}
	jl, _ := os.ReadFile(filepath.Join(dir, "result.jsonl"))
	if n := strings.Count(string(jl), "\n"); n != 3 {
		t.Errorf("result.jsonl has %d rows; want 3", n)
	}
	// --resume-less rerun of the resolved config reproduces the config.
	code, _, stderr = run(t, context.Background(), "train", filepath.Join(dir, "config.yaml"), "--set", "stop.iterations=1", "--out", filepath.Join(t.TempDir(), "again"))
	if code != ExitOK {
		t.Errorf("train on the resolved config.yaml = %d; want 0 (stderr %s)", code, stderr)
	}
}

func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("env: {id: CartPole-v1}\nppo: {lrr: 1}\n"), 0o644)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		args     []string
		want     int
		inStderr string
	}{
		{"config typo", context.Background(), []string{"train", bad}, ExitUsage, `bad.yaml:2: ppo.lrr: unknown key "lrr"`},
		{"unknown command", context.Background(), []string{"trian"}, ExitUsage, "unknown command"},
		{"missing argument", context.Background(), []string{"train"}, ExitUsage, "accepts 1 arg"},
		{"unknown flag", context.Background(), []string{"train", shipped, "--bogus"}, ExitUsage, "unknown flag: --bogus"},
		{"cuda without GPU support", context.Background(), []string{"train", shipped, "--set", "learner.device=cuda:0", "--out", t.TempDir()}, ExitUsage, "cuda:0 requested, but this learner is built without GPU support"},
		{"as-test target missed", context.Background(), []string{"train", shipped, "--as-test", "--set", "stop.env_steps=1024", "--out", t.TempDir()}, ExitTargetMissed, "did not reach 475"},
		{"as-test without target", context.Background(), []string{"train", bad, "--as-test"}, ExitUsage, ""},
		{"interrupted", cancelled, []string{"train", shipped, "--out", t.TempDir()}, ExitInterrupted, "interrupted"},
	}
	for _, tt := range tests {
		code, _, stderr := run(t, tt.ctx, tt.args...)
		if code != tt.want || !strings.Contains(stderr, tt.inStderr) {
			t.Errorf("%s: rltrain %q = %d, stderr %q; want %d and %q", tt.name, tt.args, code, stderr, tt.want, tt.inStderr)
		}
	}
}

// TestDeterministicProgress runs the same config and seed twice and
// compares the learning columns of progress.csv byte for byte.
func TestDeterministicProgress(t *testing.T) {
	var runs [2][][]string
	for i := range runs {
		dir := filepath.Join(t.TempDir(), "run")
		if code, _, stderr := run(t, context.Background(), "train", shipped, "--set", "stop.iterations=8", "--set", "seed=7", "--out", dir); code != 0 {
			t.Fatalf("train = %d: %s", code, stderr)
		}
		f, err := os.Open(filepath.Join(dir, "progress.csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = rows
	}
	timing := map[string]bool{}
	for _, c := range train.Columns(nil) {
		timing[c.Name()] = c.Timing
	}
	header := runs[0][0]
	if len(runs[0]) != 9 || len(runs[1]) != 9 {
		t.Fatalf("progress.csv rows = %d, %d; want 9 (header + 8)", len(runs[0]), len(runs[1]))
	}
	for r := 1; r < len(runs[0]); r++ {
		for c, name := range header {
			if timing[name] {
				continue
			}
			if a, b := runs[0][r][c], runs[1][r][c]; a != b {
				t.Errorf("row %d column %s: run 1 = %s, run 2 = %s; want equal", r, name, a, b)
			}
		}
	}
}

// TestSIGINTExits130 runs the real binary and interrupts it.
func TestSIGINTExits130(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "rltrain")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(bin, "train", shipped, "--set", "stop.env_steps=100000000", "--set", "stop.episode_return_mean=1e9", "--out", dir)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the first iteration is reported.
	sc := bufio.NewScanner(pipe)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "iter ") {
	}
	go io.Copy(io.Discard, pipe)
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != ExitInterrupted {
		t.Fatalf("exit code after SIGINT = %d (%v); want 130", code, err)
	}
	if r := readResult(t, dir); r.Status != "interrupted" || r.Iterations < 1 {
		t.Errorf("result.json after SIGINT = %+v; want status interrupted with at least one iteration", r)
	}
}
