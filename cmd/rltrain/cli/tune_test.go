package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"image"
	"image/png"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"go.yaml.in/yaml/v3"

	"github.com/rlgo/rlgo/train/tune"
)

// tuneChildEnv makes this test binary act as `rltrain ARGS...`, the
// arguments after "--": the trials' (and a tune process's) executable.
const tuneChildEnv = "RLGO_TUNE_TEST_CHILD"

func testTuneCommand() ([]string, []string, error) {
	return []string{os.Args[0], "-test.run=^$", "--"}, []string{tuneChildEnv + "=1"}, nil
}

func init() {
	if os.Getenv(tuneChildEnv) == "" {
		return
	}
	i := slices.Index(os.Args, "--")
	if i < 0 {
		os.Exit(ExitUsage)
	}
	tuneCommand = testTuneCommand
	os.Exit(remoteMain(os.Args[i+1:], os.Stdout, os.Stderr))
}

// useTestTuneCommand runs trials with this test binary for the test.
func useTestTuneCommand(t *testing.T) {
	old := tuneCommand
	tuneCommand = testTuneCommand
	t.Cleanup(func() { tuneCommand = old })
}

// tinySweep is a 2×2 grid × 3 seeds of CartPole PPO trials of a few
// iterations; one worker each, so two run at once on two cores.
const tinySweep = `name: tiny-sweep
env: {id: CartPole-v1}
stop: {iterations: %ITERS%}
rollout: {workers: 1, envs_per_worker: 2, fragment_length: 64}
ppo:
  lr: {grid_search: [1e-3, 3e-3]}
  epochs: {grid_search: [2, 4]}
  minibatches: 2
tune:
  seeds: [1, 2, 3]
`

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sweep.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readExperimentCSV(t *testing.T, dir string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, tune.CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

func TestTuneGridSweep(t *testing.T) {
	useTestTuneCommand(t)
	cfg := writeConfig(t, strings.ReplaceAll(tinySweep, "%ITERS%", "3"))
	out := filepath.Join(t.TempDir(), "exp")
	start := time.Now()
	code, stdout, stderr := run(t, context.Background(), "tune", cfg, "--out", out)
	if code != ExitOK {
		t.Fatalf("tune = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Logf("12 trials in %.1f s", time.Since(start).Seconds())
	rows := readExperimentCSV(t, out)
	if len(rows) != 12 {
		t.Fatalf("experiment.csv has %d rows; want 12", len(rows))
	}
	groups := map[string]int{}
	for _, r := range rows {
		if r["status"] != tune.StatusFinished || r["iterations"] != "3" || r["final_episode_return_mean"] == "" {
			t.Errorf("row %v: want finished after 3 iterations with a final return", r)
		}
		groups[r["ppo.lr"]+" "+r["ppo.epochs"]]++
		if _, err := os.Stat(filepath.Join(out, r["run_dir"], "progress.csv")); err != nil {
			t.Errorf("%s: %v", r["trial"], err)
		}
	}
	if len(groups) != 4 {
		t.Errorf("parameter combinations %v; want 4 of 3 seeds each", groups)
	}
	for _, f := range []string{"report/report.html", "report/return_steps.png", "report/scatter_ppo.lr.png", "experiment.json", "base.yaml"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("experiment directory lacks %s: %v", f, err)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report", "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	checkTuneReportFigures(t, filepath.Join(out, "report"), string(md), "scatter_ppo.lr", "scatter_ppo.epochs")
	for _, g := range []string{"(ppo.lr=0.001, ppo.epochs=2)", "(ppo.lr=0.001, ppo.epochs=4)", "(ppo.lr=0.003, ppo.epochs=2)", "(ppo.lr=0.003, ppo.epochs=4)"} {
		if !strings.Contains(string(md), "| tiny-sweep "+g+" | 1, 2, 3 |") {
			t.Errorf("report's groups lack %s with seeds 1, 2, 3:\n%s", g, md)
		}
	}
	// A finished experiment resumes to nothing: no trial runs again.
	code, _, stderr = run(t, context.Background(), "tune", "--resume", out)
	exp, err := tune.ReadExperiment(out)
	if err != nil || code != ExitOK {
		t.Fatalf("resume of a finished experiment = %d, %v\n%s", code, err, stderr)
	}
	for _, tr := range exp.Trials {
		if len(tr.Starts) != 1 {
			t.Errorf("%s started %d times; want once", tr.Name, len(tr.Starts))
		}
	}
	// The page, the parallel coordinates and scatter plots included,
	// loads in a browser.
	checkReportInChromium(t, filepath.Join(out, "report"))
}

// checkTuneReportFigures checks the experiment's own figures in report
// directory dir: parcoords.png decodes at 960x480 (10x5 inches at 96
// dpi), and report.html (inline, as data: URIs) and summary.md (links)
// hold it and the named scatter plots, after the report's own figures.
func checkTuneReportFigures(t *testing.T, dir, md string, scatters ...string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, tune.ParCoordsName+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s.png: %v", tune.ParCoordsName, err)
	}
	if got := img.Bounds().Size(); got != (image.Point{X: 960, Y: 480}) {
		t.Errorf("%s.png is %v; want 960x480", tune.ParCoordsName, got)
	}
	page := mustRead(t, filepath.Join(dir, "report.html"))
	for _, name := range append([]string{tune.ParCoordsName}, scatters...) {
		if _, err := os.Stat(filepath.Join(dir, name+".svg")); err != nil {
			t.Errorf("report lacks %s.svg: %v", name, err)
		}
		fig := regexp.MustCompile(`<figure id="` + regexp.QuoteMeta(name) + `">\n<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"`).FindStringSubmatch(page)
		if fig == nil {
			t.Errorf("report.html has no inline figure %s", name)
			continue
		}
		b, err := base64.StdEncoding.DecodeString(fig[1])
		if err != nil {
			t.Errorf("report.html figure %s: %v", name, err)
		} else if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("report.html figure %s is not a PNG: %v", name, err)
		}
		if i, j := strings.Index(page, `id="return_steps"`), strings.Index(page, `id="`+name+`"`); i < 0 || j < i {
			t.Errorf("report.html: figure %s at %d; want it after the report's return_steps (%d)", name, j, i)
		}
		if !strings.Contains(md, "("+name+".png)") {
			t.Errorf("summary.md does not link %s.png:\n%s", name, md)
		}
	}
}

func TestTuneFailingTrialRecorded(t *testing.T) {
	useTestTuneCommand(t)
	cfg := writeConfig(t, `name: fails
env:
  id: CartPole-v1
  options: {grid_search: [{max_episode_steps: 200}, {no_such_option: 1}]}
stop: {iterations: 2}
rollout: {workers: 1, envs_per_worker: 2, fragment_length: 64}
ppo: {minibatches: 2}
tune: {seeds: [1, 2]}
`)
	out := filepath.Join(t.TempDir(), "exp")
	code, stdout, stderr := run(t, context.Background(), "tune", cfg, "--out", out)
	if code != ExitOK {
		t.Fatalf("tune = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rows := readExperimentCSV(t, out)
	if len(rows) != 4 {
		t.Fatalf("experiment.csv has %d rows; want 4", len(rows))
	}
	for i, r := range rows {
		if i < 2 {
			if r["status"] != tune.StatusFinished {
				t.Errorf("%s (%s) = %s; want finished", r["trial"], r["env.options"], r["status"])
			}
			continue
		}
		if r["status"] != tune.StatusFailed || !strings.Contains(r["error"], "no_such_option") {
			t.Errorf("%s (%s) = %s, error %q; want failed naming no_such_option", r["trial"], r["env.options"], r["status"], r["error"])
		}
	}
	if !strings.Contains(stdout, "2 finished, 0 stopped early, 2 failed") {
		t.Errorf("stdout lacks the count of failed trials:\n%s", stdout)
	}
}

func TestTuneConfigErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"env: {id: CartPole-v1}\nppo:\n  lr: {grid_serach: [1e-3]}\n", "sweep.yaml:3: ppo.lr: unknown search space \"grid_serach\""},
		{"env: {id: CartPole-v1}\ntune:\n  seed: 1\n  schedular: {type: asha}\n", "sweep.yaml:4: tune.schedular: unknown key"},
		{"env: {id: CartPole-v1}\nppo:\n  epochs: {grid_search: [4, 0]}\n", "sweep.yaml:3: ppo.epochs"},
		{"env: {id: CartPole-v1}\ntune:\n  scheduler:\n    type: pbt\n    perturbation_interval: 512\n    hyperparam_mutations:\n      ppo.lr: [1e-3, 3e-3]\n      model.hidden: [[32], [64]]\n",
			"sweep.yaml:8: tune.scheduler.hyperparam_mutations.model.hidden: pbt cannot mutate model.hidden"},
	} {
		cfg := writeConfig(t, tc.src)
		code, _, stderr := run(t, context.Background(), "tune", cfg, "--out", filepath.Join(t.TempDir(), "exp"))
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("tune of\n%s= %d, %q; want 2 and %q", tc.src, code, stderr, tc.want)
		}
	}
}

// TestTuneKillAndResume kills the tune process with SIGKILL while trials
// run; its children checkpoint (they get SIGTERM when it dies), and
// --resume finishes the experiment with no trial started from scratch
// twice and every trial's progress.csv whole.
func TestTuneKillAndResume(t *testing.T) {
	useTestTuneCommand(t)
	const iters = 150
	cfg := writeConfig(t, strings.Replace(strings.ReplaceAll(tinySweep, "%ITERS%", strconv.Itoa(iters)), "seeds: [1, 2, 3]", "seeds: [1]", 1))
	out := filepath.Join(t.TempDir(), "exp")
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "tune", cfg, "--out", out)
	cmd.Env = append(os.Environ(), tuneChildEnv+"=1")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Kill once one trial has finished and another is part-way.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		finished, partway := 0, 0
		for i := 0; i < 4; i++ {
			rd := filepath.Join(out, "trial-"+strconv.Itoa(1000 + i)[1:])
			if _, err := os.Stat(filepath.Join(rd, "result.json")); err == nil {
				finished++
			} else if b, err := os.ReadFile(filepath.Join(rd, "progress.csv")); err == nil && strings.Count(string(b), "\n") > 5 {
				partway++
			}
		}
		if finished >= 1 && partway >= 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("tune ended before the kill (%v); the test needs longer trials\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no trial part-way within 3 minutes\n%s", stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	before, err := tune.ReadExperiment(out)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, errs := run(t, context.Background(), "tune", "--resume", out)
	if code != ExitOK {
		t.Fatalf("tune --resume = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, errs)
	}
	exp, err := tune.ReadExperiment(out)
	if err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for i, tr := range exp.Trials {
		fresh := 0
		for _, s := range tr.Starts {
			if !s.Resume {
				fresh++
			} else {
				resumed++
			}
		}
		if fresh != 1 || tr.Status != tune.StatusFinished || tr.Iteration != iters {
			t.Errorf("%s: %d starts from scratch, status %s at iteration %d (before the kill: %s); want 1, finished at %d",
				tr.Name, fresh, tr.Status, tr.Iteration, before.Trials[i].Status, iters)
		}
		rows := learningRows(t, filepath.Join(out, tr.Dir))
		if len(rows) != iters+1 {
			t.Errorf("%s: progress.csv has %d rows; want %d", tr.Name, len(rows)-1, iters)
		}
	}
	if resumed == 0 {
		t.Errorf("no trial continued from a checkpoint; the kill found none running")
	}
	t.Logf("before the kill: %v; after resume: %d trial(s) continued from their checkpoints", before.Count(), resumed)
}

// TestTuneASHAStopsWeakTrials runs a small random search over the
// learning rate under ASHA: some trials stop early at a rung, and the
// experiment spends fewer env steps than running every trial to the end.
func TestTuneASHAStopsWeakTrials(t *testing.T) {
	useTestTuneCommand(t)
	const iters = 60
	cfg := writeConfig(t, `name: asha
env: {id: CartPole-v1}
stop: {iterations: 60}
rollout: {workers: 1, envs_per_worker: 2, fragment_length: 128}
ppo:
  lr: {loguniform: [1e-5, 1e-2]}
  minibatches: 2
tune:
  num_samples: 8
  seed: 3
  scheduler: {type: asha, grace_period: 2, reduction_factor: 3}
`)
	out := filepath.Join(t.TempDir(), "exp")
	// Two at a time, as on two cores: with all eight at once on a larger
	// machine, trials of a second each would end before ASHA had results
	// at a rung to stop any of them against. And progress read every
	// 10 ms: a trial here takes a fraction of a second, under the default
	// poll's few reads.
	old := tunePoll
	tunePoll = 10 * time.Millisecond
	t.Cleanup(func() { tunePoll = old })
	code, stdout, stderr := run(t, context.Background(), "tune", cfg, "--out", out, "--parallel", "2")
	if code != ExitOK {
		t.Fatalf("tune = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rows := readExperimentCSV(t, out)
	stopped, steps, full := 0, 0, 0
	for _, r := range rows {
		n, _ := strconv.Atoi(r["env_steps"])
		it, _ := strconv.Atoi(r["iterations"])
		steps += n
		full += n / max(it, 1) * iters
		if r["status"] == tune.StatusStoppedEarly {
			stopped++
			if rung := r["stopped_at_rung"]; !slices.Contains([]string{"2", "6", "18", "54"}, rung) || it >= iters {
				t.Errorf("%s stopped at rung %q after %d iterations; want one of rungs 2, 6, 18, 54 before %d", r["trial"], rung, it, iters)
			}
		}
		t.Logf("%s lr %s: %s after %d iterations, best %s", r["trial"], r["ppo.lr"], r["status"], it, r["best_episode_return_mean"])
	}
	if stopped == 0 || steps >= full {
		t.Errorf("ASHA stopped %d of 8 trials, %d env steps of %d for all to the end; want some stopped and fewer steps", stopped, steps, full)
	}
}

// TestTuneCtrlC cancels the tune command (Ctrl-C) while trials run: it
// stops them cleanly (interrupted, exit 130) and --resume finishes them
// from their checkpoints.
func TestTuneCtrlC(t *testing.T) {
	useTestTuneCommand(t)
	const iters = 150
	cfg := writeConfig(t, strings.Replace(strings.ReplaceAll(tinySweep, "%ITERS%", strconv.Itoa(iters)), "seeds: [1, 2, 3]", "seeds: [1]", 1))
	out := filepath.Join(t.TempDir(), "exp")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if b, err := os.ReadFile(filepath.Join(out, "trial-000", "progress.csv")); err == nil && strings.Count(string(b), "\n") > 5 {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	code, _, stderr := run(t, ctx, "tune", cfg, "--out", out)
	cancel()
	if code != ExitInterrupted || !strings.Contains(stderr, "rltrain tune --resume "+out) {
		t.Fatalf("interrupted tune = %d, %q; want 130 and the --resume command", code, stderr)
	}
	exp, err := tune.ReadExperiment(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := exp.Count(); n[tune.StatusInterrupted] == 0 || n[tune.StatusRunning] != 0 || n[tune.StatusFailed] != 0 {
		t.Fatalf("after Ctrl-C: %v; want interrupted trials and none running or failed", n)
	}
	if code, _, stderr := run(t, context.Background(), "tune", "--resume", out); code != ExitOK {
		t.Fatalf("tune --resume = %d\n%s", code, stderr)
	}
	exp, _ = tune.ReadExperiment(out)
	for _, tr := range exp.Trials {
		if tr.Status != tune.StatusFinished || tr.Iteration != iters || tr.Starts[0].Resume || len(tr.Starts) > 1 && !tr.Starts[1].Resume {
			t.Errorf("%s: %s at iteration %d, starts %+v; want finished at %d, started from scratch once", tr.Name, tr.Status, tr.Iteration, tr.Starts, iters)
		}
	}
}

// TestTunePBT runs population-based training on a population of four
// with a tiny budget: trials stop at each perturbation boundary and are
// decided on; the bottom one copies the top one's checkpoint and config
// with a perturbed ppo.lr. It checks the lineage in experiment.json,
// that the copied learning rate is the one the learner then uses (the
// learner/lr column after the copy), that every trial's progress.csv
// runs through its iterations once, and that no trial started from
// scratch twice.
func TestTunePBT(t *testing.T) {
	useTestTuneCommand(t)
	const budget, interval = 3072, 512 // 24 iterations of 128 env steps; a boundary every 4
	cfg := writeConfig(t, `name: pbt
env: {id: CartPole-v1}
stop: {env_steps: 3072}
rollout: {workers: 1, envs_per_worker: 2, fragment_length: 64}
ppo:
  lr: {choice: [1e-6, 3e-3]}
  minibatches: 2
tune:
  num_samples: 4
  seed: 2
  scheduler:
    type: pbt
    perturbation_interval: 512
    resample_probability: 0.5
    hyperparam_mutations:
      ppo.lr: {loguniform: [1e-5, 1e-2]}
`)
	out := filepath.Join(t.TempDir(), "exp")
	start := time.Now()
	code, stdout, stderr := run(t, context.Background(), "tune", cfg, "--out", out)
	if code != ExitOK {
		t.Fatalf("tune = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Logf("4 trials in %.1f s\n%s", time.Since(start).Seconds(), stderr)
	exp, err := tune.ReadExperiment(out)
	if err != nil {
		t.Fatal(err)
	}
	exploits := 0
	for _, tr := range exp.Trials {
		rd := filepath.Join(out, tr.Dir)
		fresh := 0
		for _, s := range tr.Starts {
			if !s.Resume {
				fresh++
			}
		}
		if tr.Status != tune.StatusFinished || tr.EnvSteps != budget || fresh != 1 || len(tr.Starts) < budget/interval {
			t.Errorf("%s: %s at %d env steps, %d starts (%d from scratch); want finished at %d, at least %d starts, one from scratch",
				tr.Name, tr.Status, tr.EnvSteps, len(tr.Starts), fresh, budget, budget/interval)
		}
		rows := learningRows(t, rd)
		for i, r := range rows[1:] {
			if r[0] != strconv.Itoa(i+1) {
				t.Fatalf("%s: progress.csv row %d is iteration %s; want every iteration once, in order", tr.Name, i+1, r[0])
			}
		}
		lr := column(t, rd, "learner/lr")
		for _, ex := range tr.PBT.Lineage {
			exploits++
			if ex.Donor == tr.Name || len(ex.Changes) != 1 || ex.Changes[0].Key != "ppo.lr" || ex.Snapshot == "" {
				t.Errorf("%s: lineage entry %+v; want another trial copied and ppo.lr changed", tr.Name, ex)
			}
		}
		if n := len(tr.PBT.Lineage); n > 0 {
			// After its last copy the trial trains with the new learning rate.
			ex := tr.PBT.Lineage[n-1]
			want, _ := strconv.ParseFloat(ex.Changes[0].To, 64)
			for it := ex.DonorIteration + 1; it <= len(lr); it++ {
				if math.Abs(lr[it-1]-want) > 1e-9*want {
					t.Errorf("%s: learner/lr at iteration %d = %v; want %v, set when it copied %s at iteration %d", tr.Name, it, lr[it-1], want, ex.Donor, ex.DonorIteration)
					break
				}
			}
			y, err := os.ReadFile(filepath.Join(rd, "config.yaml"))
			if err != nil || !strings.Contains(string(y), "lr: "+tr.PBT.Values[0].Value) || !strings.Contains(string(y), "env_steps: 3072") {
				t.Errorf("%s: config.yaml (%v) lacks its final ppo.lr %s or its budget 3072:\n%s", tr.Name, err, tr.PBT.Values[0].Value, y)
			}
		}
	}
	if exploits == 0 {
		t.Errorf("no trial copied another in %d boundaries", len(exp.Trials)*budget/interval)
	}
	if _, err := os.Stat(filepath.Join(out, tune.PBTDir)); !os.IsNotExist(err) {
		t.Errorf("the checkpoint copies in %s were not removed at the end: %v", tune.PBTDir, err)
	}
	rows := readExperimentCSV(t, out)
	if len(rows) != 4 || rows[0]["pbt_exploits"] == "" || !strings.HasPrefix(rows[0]["pbt_values"], "ppo.lr=") {
		t.Errorf("experiment.csv rows %v; want 4 with pbt_exploits and pbt_values", rows)
	}
}

// column returns a progress.csv column of run directory rd as numbers.
func column(t *testing.T, rd, name string) []float64 {
	t.Helper()
	rows := learningRows(t, rd)
	i := slices.Index(rows[0], name)
	if i < 0 {
		t.Fatalf("%s/progress.csv has no column %s", rd, name)
	}
	var out []float64
	for _, r := range rows[1:] {
		v, _ := strconv.ParseFloat(r[i], 64)
		out = append(out, v)
	}
	return out
}

// TestTuneEmitK8sAndCollect writes the Jobs of a two-trial experiment
// with run directories in S3 (gofakes3 on loopback), runs each Job's
// container args as the pod would (rltrain train, the ConfigMap's
// base.yaml mounted), and builds the summary with --collect: from the
// S3 prefix with the experiment.json --emit-k8s wrote, and without it
// (the parameters then derived from the trials' configs).
func TestTuneEmitK8sAndCollect(t *testing.T) {
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
	cfg := writeConfig(t, strings.Replace(strings.ReplaceAll(tinySweep, "%ITERS%", "2"), "epochs: {grid_search: [2, 4]}", "epochs: 2", 1))
	cfg = writeConfig(t, strings.Replace(mustRead(t, cfg), "seeds: [1, 2, 3]", "seeds: [1]", 1))
	k8s := filepath.Join(t.TempDir(), "k8s")
	code, stdout, stderr := run(t, ctx, "tune", cfg, "--emit-k8s", k8s, "--out", "s3://runs/exp")
	if code != ExitOK || !strings.Contains(stdout, "kubectl apply -f "+k8s) {
		t.Fatalf("tune --emit-k8s = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal([]byte(mustRead(t, filepath.Join(k8s, "configmap.yaml"))), &cm); err != nil {
		t.Fatal(err)
	}
	mounted := filepath.Join(t.TempDir(), "base.yaml")
	if err := os.WriteFile(mounted, []byte(cm.Data["base.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	jobs, _ := filepath.Glob(filepath.Join(k8s, "job-trial-*.yaml"))
	if len(jobs) != 2 {
		t.Fatalf("Jobs %v; want 2", jobs)
	}
	for _, j := range jobs {
		var job struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Args []string `yaml:"args"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal([]byte(mustRead(t, j)), &job); err != nil {
			t.Fatal(err)
		}
		args := job.Spec.Template.Spec.Containers[0].Args
		args[slices.Index(args, "/etc/rlgo-tune/base.yaml")] = mounted
		if code, _, stderr := run(t, ctx, args...); code != ExitOK {
			t.Fatalf("%s's pod: rltrain %v = %d\n%s", filepath.Base(j), args, code, stderr)
		}
	}
	for _, tc := range []struct {
		name, out string
	}{
		{"with experiment.json", filepath.Join(k8s, "experiment")},
		{"derived", filepath.Join(t.TempDir(), "collected")},
	} {
		code, stdout, stderr := run(t, ctx, "tune", "--collect", "s3://runs/exp", "--out", tc.out)
		if code != ExitOK || !strings.Contains(stdout, "2 trials, 2 finished") {
			t.Fatalf("%s: tune --collect = %d\nstdout:\n%s\nstderr:\n%s", tc.name, code, stdout, stderr)
		}
		rows := readExperimentCSV(t, tc.out)
		for _, r := range rows {
			if r["status"] != tune.StatusFinished || r["iterations"] != "2" || r["ppo.lr"] == "" || r["final_episode_return_mean"] == "" {
				t.Errorf("%s: row %v; want finished after 2 iterations with its ppo.lr and a return", tc.name, r)
			}
		}
		if len(rows) != 2 || rows[0]["ppo.lr"] == rows[1]["ppo.lr"] {
			t.Errorf("%s: rows %v; want the two ppo.lr values", tc.name, rows)
		}
		if _, err := os.Stat(filepath.Join(tc.out, "report", "report.html")); err != nil {
			t.Errorf("%s: no report: %v", tc.name, err)
		}
	}
	if code, _, stderr := run(t, ctx, "tune", cfg, "--emit-k8s", k8s, "--out", "runs/local"); code != ExitUsage || !strings.Contains(stderr, "s3://bucket/prefix") {
		t.Errorf("--emit-k8s with a local --out = %d, %q; want 2 asking for s3://", code, stderr)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// progressLines returns the complete lines of run directory rd's
// progress.csv, header first (none if it does not exist yet).
func progressLines(rd string) []string {
	b, err := os.ReadFile(filepath.Join(rd, "progress.csv"))
	if err != nil {
		return nil
	}
	s := string(b)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// TestTunePBTKillAndResume SIGKILLs a `rltrain tune` process (a child of
// the test) right after its first PBT exploit decision, then finishes
// the experiment with --resume. Every trial must end at its budget,
// started from scratch once; the progress.csv rows written before the
// kill must still open its progress.csv (up to the donor's iteration of
// any copy made after the kill, which legitimately truncates it), with
// every iteration once and in order; the lineage recorded before the
// kill must be kept, with no exploit left pending; and after a trial's
// last copy the learner must train with the copied learning rate.
func TestTunePBTKillAndResume(t *testing.T) {
	useTestTuneCommand(t)
	const budget, interval = 4096, 512 // 32 iterations of 128 env steps; a boundary every 4
	cfg := writeConfig(t, `name: pbt-kill
env: {id: CartPole-v1}
stop: {env_steps: 4096}
rollout: {workers: 1, envs_per_worker: 2, fragment_length: 64}
ppo:
  lr: {choice: [1e-6, 3e-3]}
  minibatches: 2
tune:
  num_samples: 4
  seed: 2
  scheduler:
    type: pbt
    perturbation_interval: 512
    resample_probability: 0.5
    hyperparam_mutations:
      ppo.lr: {loguniform: [1e-5, 1e-2]}
`)
	out := filepath.Join(t.TempDir(), "exp")
	start := time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "tune", cfg, "--out", out)
	cmd.Env = append(os.Environ(), tuneChildEnv+"=1")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(stderr.String(), " copies trial-") {
		select {
		case err := <-done:
			t.Fatalf("tune ended before an exploit (%v)\n%s", err, stderr.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no exploit within 2 minutes\n%s", stderr.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	killedAt := time.Since(start)
	before, err := tune.ReadExperiment(out)
	if err != nil {
		t.Fatal(err)
	}
	rowsBefore := map[string][]string{}
	applied := map[string]int{} // exploits in place before the kill, per trial
	pending := 0
	for _, tr := range before.Trials {
		rowsBefore[tr.Name] = progressLines(filepath.Join(out, tr.Dir))
		applied[tr.Name] = len(tr.PBT.Lineage)
		if tr.PBT.Pending != nil {
			applied[tr.Name]-- // decided, its files perhaps half in place: --resume redoes it
			pending++
		}
	}
	code, stdout, errs := run(t, context.Background(), "tune", "--resume", out)
	if code != ExitOK {
		t.Fatalf("tune --resume = %d\nstdout:\n%s\nstderr:\n%s\nbefore the kill:\n%s", code, stdout, errs, stderr.String())
	}
	t.Logf("killed %.1f s in (%v, %d exploit(s) pending; %q), finished %.1f s in\n%s", killedAt.Seconds(), before.Count(), pending, lastLine(stderr.String()), time.Since(start).Seconds(), errs)
	exp, err := tune.ReadExperiment(out)
	if err != nil {
		t.Fatal(err)
	}
	resumed, exploits := 0, 0
	for i, tr := range exp.Trials {
		rd := filepath.Join(out, tr.Dir)
		fresh := 0
		for _, s := range tr.Starts {
			if s.Resume {
				resumed++
			} else {
				fresh++
			}
		}
		if tr.Status != tune.StatusFinished || tr.EnvSteps != budget || fresh != 1 {
			t.Errorf("%s: %s at %d env steps (error %q), %d starts from scratch (before the kill: %s at %d); want finished at %d, one start from scratch\n%s",
				tr.Name, tr.Status, tr.EnvSteps, tr.Error, fresh, before.Trials[i].Status, before.Trials[i].EnvSteps, budget, mustRead(t, filepath.Join(out, tune.LogDir, tr.Name+".log")))
		}
		// Every iteration once, in order.
		lines := progressLines(rd)
		for j, l := range lines[1:] {
			if it, _, _ := strings.Cut(l, ","); it != strconv.Itoa(j+1) {
				t.Fatalf("%s: progress.csv row %d is iteration %s; want every iteration once, in order", tr.Name, j+1, it)
			}
		}
		if len(lines) != budget/128+1 {
			t.Errorf("%s: progress.csv has %d rows; want %d", tr.Name, len(lines)-1, budget/128)
		}
		// The rows from before the kill open it, up to the donor's
		// iteration of a copy made since.
		keep := len(rowsBefore[tr.Name])
		if tr.PBT == nil || len(tr.PBT.Lineage) < applied[tr.Name] {
			t.Fatalf("%s: lineage %+v; want the %d exploits from before the kill", tr.Name, tr.PBT, applied[tr.Name])
		}
		for _, ex := range tr.PBT.Lineage[applied[tr.Name]:] {
			keep = min(keep, ex.DonorIteration+1)
		}
		for j := 0; j < keep; j++ {
			if j >= len(lines) || lines[j] != rowsBefore[tr.Name][j] {
				t.Errorf("%s: progress.csv row %d changed after the kill; want the %d rows from before it kept", tr.Name, j, keep-1)
				break
			}
		}
		// The lineage from before the kill is kept; none is left pending.
		bl := before.Trials[i].PBT.Lineage
		for j := 0; j < applied[tr.Name]; j++ {
			if a, b := tr.PBT.Lineage[j], bl[j]; a.Donor != b.Donor || a.Iteration != b.Iteration || a.DonorIteration != b.DonorIteration || a.Changes[0] != b.Changes[0] {
				t.Errorf("%s: lineage entry %d = %+v after --resume; want %+v as before the kill", tr.Name, j, a, b)
			}
		}
		if tr.PBT.Pending != nil {
			t.Errorf("%s: exploit %+v still pending at the end", tr.Name, tr.PBT.Pending)
		}
		for _, ex := range tr.PBT.Lineage {
			exploits++
			if ex.Donor == tr.Name || ex.DonorIteration < 1 || ex.DonorIteration > ex.Iteration+interval/128 || len(ex.Changes) != 1 || ex.Changes[0].Key != "ppo.lr" {
				t.Errorf("%s: lineage entry %+v; want another trial's checkpoint and ppo.lr changed", tr.Name, ex)
			}
		}
		if n := len(tr.PBT.Lineage); n > 0 {
			ex := tr.PBT.Lineage[n-1]
			want, _ := strconv.ParseFloat(ex.Changes[0].To, 64)
			lr := column(t, rd, "learner/lr")
			for it := ex.DonorIteration + 1; it <= len(lr); it++ {
				if math.Abs(lr[it-1]-want) > 1e-9*want {
					t.Errorf("%s: learner/lr at iteration %d = %v; want %v, set when it copied %s at iteration %d", tr.Name, it, lr[it-1], want, ex.Donor, ex.DonorIteration)
					break
				}
			}
		}
	}
	if resumed == 0 || exploits == 0 {
		t.Errorf("%d starts with --resume, %d exploits; want some of each", resumed, exploits)
	}
	if _, err := os.Stat(filepath.Join(out, tune.PBTDir)); !os.IsNotExist(err) {
		t.Errorf("the checkpoint copies in %s were not removed at the end: %v", tune.PBTDir, err)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}
