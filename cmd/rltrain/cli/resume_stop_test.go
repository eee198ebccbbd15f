package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
)

// TestResumeAndStopCriteria (issue 13): what --resume does with each stop
// criterion. A reached return target is not lifted by extending the
// budget: the resume is refused (exit 2) saying how to lift it, and
// lifting it continues. A spent budget, extended, continues; resumed with
// an unrelated --set it is refused with the --set that extends it. A
// checkpoint of a finished run can be resumed from without --set.
func TestResumeAndStopCriteria(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "run")
	// Random CartPole play returns ~20: a target of 10 is reached at once.
	code, out, stderr := run(t, ctx, "train", shipped, "--set", "stop.episode_return_mean=10", "--set", "checkpoint.every=1", "--out", dir)
	if code != ExitOK || !strings.Contains(out, "reached its return target") {
		t.Fatalf("train = %d, %q: %s", code, out, stderr)
	}
	first := readResult(t, dir)
	if first.StopReason != "episode_return_mean" {
		t.Fatalf("stopped by %s; want the return target", first.StopReason)
	}
	code, out, _ = run(t, ctx, "train", "--resume", dir)
	if code != ExitOK || !strings.Contains(out, "already finished") || !strings.Contains(out, "--set stop.episode_return_mean=null") {
		t.Errorf("resume without --set = %d, %q; want 0, 'already finished' and how to lift the target", code, out)
	}
	code, _, stderr = run(t, ctx, "train", "--resume", dir, "--set", "stop.env_steps=600000")
	if code != ExitUsage || !strings.Contains(stderr, "already reached the return target") || !strings.Contains(stderr, "--set stop.episode_return_mean=null") {
		t.Errorf("resume extending only the budget = %d, %q; want 2 and how to lift the target", code, stderr)
	}
	if r := readResult(t, dir); r.Iterations != first.Iterations {
		t.Errorf("the refused resume ran: %d iterations, was %d", r.Iterations, first.Iterations)
	}
	want := first.Iterations + 2
	code, out, stderr = run(t, ctx, "train", "--resume", dir, "--set", "stop.episode_return_mean=null", "--set", "stop.iterations="+strconv.Itoa(want))
	if code != ExitOK || readResult(t, dir).Iterations != want || !strings.Contains(out, "spent its budget of stop.iterations") {
		t.Errorf("resume with the target lifted = %d, %q (%s); want 0 and %d iterations", code, out, stderr, want)
	}
	// The budget is spent: an unrelated --set is refused with the --set that extends it.
	code, _, stderr = run(t, ctx, "train", "--resume", dir, "--set", "ppo.lr=1e-4")
	if code != ExitUsage || !strings.Contains(stderr, "--set stop.iterations=") {
		t.Errorf("resume of a spent budget = %d, %q; want 2 and how to extend it", code, stderr)
	}
	// A checkpoint of the finished run: a branch, no --set needed.
	code, _, stderr = run(t, ctx, "train", "--resume", filepath.Join(dir, "checkpoints", fmt.Sprintf("iter-%06d", want-1)))
	if code != ExitOK || readResult(t, dir).Iterations != want {
		t.Errorf("resume from iter-%06d of a finished run = %d: %s", want-1, code, stderr)
	}
}

// TestResumeNotARunDir (issue 13): --resume of a directory that is not a
// run says so.
func TestResumeNotARunDir(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	for _, dir := range []string{empty, filepath.Join(empty, "missing")} {
		code, _, stderr := run(t, ctx, "train", "--resume", dir)
		if code != ExitUsage || !strings.Contains(stderr, "run directory") || strings.Contains(stderr, "config.yaml: no such file") {
			t.Errorf("--resume %s = %d, %q; want 2 and that it is not a run directory", dir, code, stderr)
		}
	}
}

// TestInterruptSaysHowToGoOn (issue 13): Ctrl-C exits 130, says where
// the results are and the --resume command that goes on, and the closing
// line does not read "stopped by interrupted".
func TestInterruptSaysHowToGoOn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := filepath.Join(t.TempDir(), "run")
	cb := algorithms.Callbacks{OnIterationEnd: func(r *algorithms.Result) {
		if r.Iteration == 2 {
			cancel()
		}
	}}
	var o, e strings.Builder
	code := Main(ctx, []string{"train", shipped, "--out", dir}, Options{Stdout: &o, Stderr: &e, Callbacks: cb})
	if code != ExitInterrupted || !strings.Contains(e.String(), "rltrain train --resume "+dir) {
		t.Errorf("interrupted train = %d, %q; want 130 and the --resume command", code, e.String())
	}
	if strings.Contains(o.String(), "stopped by interrupted") || !strings.Contains(o.String(), "interrupted at iteration 2") {
		t.Errorf("closing line: %q", o.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints", "iter-000002")); err != nil {
		t.Errorf("no final checkpoint: %v", err)
	}
}
