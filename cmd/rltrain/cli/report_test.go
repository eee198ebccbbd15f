package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rlgo/rlgo/train/report"
)

// runReportCmd runs `rltrain report ARGS` through the cobra command and
// returns the exit code that Run would map its error to.
func runReportCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := newReport(&stdout, &stderr)
	c.SetArgs(args)
	c.SetOut(&stderr)
	c.SetErr(&stderr)
	c.SilenceErrors, c.SilenceUsage = true, true
	err := c.ExecuteContext(context.Background())
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK, stdout.String()
	case errors.As(err, &ee):
		return ee.code, stdout.String() + ee.Error()
	}
	return ExitUsage, err.Error()
}

// TestReportCommand trains two seeds of the shipped config for a few
// iterations, then reports on them: one group, every file, the default
// --out for one run, and usage errors for paths that are not runs.
func TestReportCommand(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for _, seed := range []int{1, 2} {
		dir := filepath.Join(root, fmt.Sprintf("seed%d", seed))
		if code, _, stderr := run(t, context.Background(), "train", shipped, "--set", "stop.iterations=4", "--set", fmt.Sprintf("seed=%d", seed), "--out", dir); code != ExitOK {
			t.Fatalf("train seed %d: exit %d: %s", seed, code, stderr)
		}
		dirs = append(dirs, dir)
	}
	out := filepath.Join(root, "rep")
	code, stdout := runReportCmd(t, append(dirs, "--out", out)...)
	if code != ExitOK {
		t.Fatalf("rltrain report = exit %d: %s", code, stdout)
	}
	if !strings.Contains(stdout, "group cartpole-ppo: 2 run(s)") || !strings.Contains(stdout, filepath.Join(out, report.HTMLFile)) {
		t.Errorf("stdout = %q; want one group of 2 runs and the page's path", stdout)
	}
	for _, f := range []string{"return_steps.png", "return_steps.svg", "return_time.png", "return_time.svg", "learner.png", "learner.svg", report.HTMLFile, report.MarkdownFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	f, err := os.Open(filepath.Join(out, "return_steps.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != report.ReturnWidthPx || cfg.Height != report.ReturnHeightPx {
		t.Errorf("return_steps.png: %dx%d, %v; want %dx%d", cfg.Width, cfg.Height, err, report.ReturnWidthPx, report.ReturnHeightPx)
	}

	// One run, no --out: RUN_DIR/report.
	if code, stdout := runReportCmd(t, dirs[0]); code != ExitOK {
		t.Fatalf("rltrain report RUN_DIR = exit %d: %s", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], report.Dir, report.HTMLFile)); err != nil {
		t.Errorf("rltrain report RUN_DIR: %v", err)
	}
	// The parent directory stands for the runs in it.
	if code, stdout := runReportCmd(t, root, "--out", filepath.Join(t.TempDir(), "r")); code != ExitOK || !strings.Contains(stdout, "2 run(s)") {
		t.Errorf("rltrain report PARENT = exit %d: %s; want both runs", code, stdout)
	}

	for _, args := range [][]string{{filepath.Join(root, "missing")}, {t.TempDir()}, {}} {
		if code, msg := runReportCmd(t, args...); code != ExitUsage {
			t.Errorf("rltrain report %q = exit %d (%s); want %d", args, code, msg, ExitUsage)
		}
	}
}

func TestReportDefaultOutForSeveralRuns(t *testing.T) {
	root := t.TempDir()
	for _, s := range []string{"a", "b"} {
		if code, _, stderr := run(t, context.Background(), "train", shipped, "--set", "stop.iterations=2", "--out", filepath.Join(root, s)); code != ExitOK {
			t.Fatalf("train: exit %d: %s", code, stderr)
		}
	}
	t.Chdir(t.TempDir())
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	var stdout bytes.Buffer
	if err := runReport([]string{filepath.Join(root, "a"), filepath.Join(root, "b")}, "", "", &stdout, io.Discard, now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("reports", "report-20260102-030405", report.HTMLFile)); err != nil {
		t.Errorf("default --out for several runs: %v", err)
	}
}

// TestReportWarnsPerRun (issue 13, reports): rltrain report of a good run
// and a run whose progress.csv is torn warns per run and file, reports
// the rest and exits 0; of only runs with nothing readable it exits 1.
func TestReportWarnsPerRun(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	good, torn := filepath.Join(root, "good"), filepath.Join(root, "torn")
	for _, d := range []string{good, torn} {
		if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=3", "--out", d); code != 0 {
			t.Fatalf("train = %d: %s", code, stderr)
		}
	}
	b, _ := os.ReadFile(filepath.Join(torn, "progress.csv"))
	header := strings.SplitN(string(b), "\n", 2)[0]
	os.WriteFile(filepath.Join(torn, "progress.csv"), []byte(header+"\n1,2,3\n4,5\n"), 0o644)
	code, out, stderr := run(t, ctx, "report", good, torn, "--out", filepath.Join(root, "r1"))
	if code != ExitOK || !strings.Contains(stderr, "warning: "+torn+"/progress.csv: skipped 2 row(s)") || !strings.Contains(out, "2 run(s)") {
		t.Errorf("report of a good and a torn run = %d, %q, %q; want 0, a warning naming the torn file, both runs", code, out, stderr)
	}
	code, _, stderr = run(t, ctx, "report", torn, "--out", filepath.Join(root, "r2"))
	if code != ExitError || !strings.Contains(stderr, "nothing could be drawn") {
		t.Errorf("report of a fully torn run = %d, %q; want 1 and 'nothing could be drawn'", code, stderr)
	}
}
