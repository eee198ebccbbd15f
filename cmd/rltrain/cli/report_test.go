package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
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
	if err := runReport([]string{filepath.Join(root, "a"), filepath.Join(root, "b")}, "", "", &stdout, now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("reports", "report-20260102-030405", report.HTMLFile)); err != nil {
		t.Errorf("default --out for several runs: %v", err)
	}
}
