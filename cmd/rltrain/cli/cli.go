// Package cli is the rltrain command line as a library: a program that
// registers its own envs (envs.Register) and then calls Main gets every
// rltrain command — train, envs and the rest — over its envs too.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic" // the built-in envs
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/checkpoint"
	"github.com/rlgo/rlgo/train/config"
	"github.com/rlgo/rlgo/train/dashboard"
	"github.com/rlgo/rlgo/train/metrics"
	"github.com/rlgo/rlgo/train/mlflow"
	"github.com/rlgo/rlgo/train/report"
	"github.com/rlgo/rlgo/train/tensorboard"
)

// Exit codes, for orchestrators.
const (
	ExitOK           = 0   // finished (with --as-test: the target was met)
	ExitError        = 1   // runtime error
	ExitUsage        = 2   // usage or config error
	ExitTargetMissed = 3   // --as-test: budget spent before the target
	ExitInterrupted  = 130 // interrupted by SIGINT or SIGTERM
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Options customise rltrain for a program that embeds it (its own
// envs registered, its own callbacks).
type Options struct {
	// Stdout and Stderr receive the commands' output; nil means
	// os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
	// Callbacks are called by train and learner runs: on every completed
	// training episode and at the end of every iteration, where they may
	// add the custom metrics they declare (custom/<name> columns).
	Callbacks algorithms.Callbacks
}

// Main runs rltrain with args (without the program name) and returns the
// exit code. Cancelling ctx interrupts a run gracefully (a final
// checkpoint, exit code 130); a program's main cancels it on SIGINT and
// SIGTERM with signal.NotifyContext, as cmd/rltrain does.
func Main(ctx context.Context, args []string, opts Options) int {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	stderr := opts.Stderr
	root := newRoot(opts)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "rltrain:", ee.err)
		}
		return ee.code
	}
	// cobra's own errors: unknown command or flag, wrong argument count.
	fmt.Fprintln(stderr, "rltrain:", err)
	fmt.Fprintln(stderr, "run 'rltrain --help' for usage")
	return ExitUsage
}

func newRoot(opts Options) *cobra.Command {
	stdout, stderr := opts.Stdout, opts.Stderr
	root := &cobra.Command{
		Use:           "rltrain",
		Short:         "Train reinforcement-learning agents from YAML configs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newTrain(stdout, stderr, opts.Callbacks), newLearner(stdout, stderr, opts.Callbacks), newWorker(stdout, stderr), newEnvs(stdout), newDevices(stdout, stderr), newReport(stdout, stderr), newEvaluate(stdout, stderr), newExport(stdout, stderr), newCheckEnv(stdout, stderr), newServe(stdout, stderr), newServeEnv(stdout, stderr), newTune(stdout, stderr))
	return root
}

// runFlags are the flags shared by the commands that run training.
type runFlags struct {
	sets   []string
	out    string
	asTest bool
	resume string
	// resumeFrom is the checkpoint (iter-NNNNNN) --resume named, if any.
	resumeFrom string
	// metricsAddr serves Prometheus metrics; dashboard serves the live page.
	metricsAddr string
	dashboard   string
	// dashboardLinger is how long the dashboard stays up after the run
	// ends: "" until Ctrl-C, else a duration.
	dashboardLinger string
	// cpus pins the process to these CPUs (taskset's list syntax).
	cpus string
	// command is the rltrain command these flags belong to (train,
	// learner), for the --resume hint after an interruption.
	command string
}

func (f *runFlags) register(c *cobra.Command) {
	f.command = c.Name()
	c.Flags().StringArrayVar(&f.sets, "set", nil, "override a config key, e.g. --set ppo.lr=1e-4 (repeatable)")
	c.Flags().StringVar(&f.out, "out", "", "run directory (default runs/<name>-<YYYYmmdd-HHMMSS>)")
	c.Flags().BoolVar(&f.asTest, "as-test", false, "exit 3 unless stop.episode_return_mean is reached within the budget")
	c.Flags().StringVar(&f.resume, "resume", "", "continue the run in `RUN_DIR` from its latest valid checkpoint, or from RUN_DIR/checkpoints/iter-NNNNNN (no CONFIG; --set may extend the budget)")
	c.Flags().StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://`ADDR`/metrics while the run goes (e.g. :9090)")
	c.Flags().StringVar(&f.dashboard, "dashboard", "", "serve a live learning-curve page at http://`ADDR`/ while the run goes (e.g. localhost:8080)")
	c.Flags().StringVar(&f.dashboardLinger, "dashboard-linger", "", "keep serving --dashboard this `DURATION` after the run ends (e.g. 10m; 0 stops at once; default until Ctrl-C)")
	c.Flags().StringVar(&f.cpus, "cpus", "", "pin the process to these CPUs and set GOMAXPROCS to their number, as taskset -c `LIST` (e.g. 0, 0-1; Linux): one core runs a DQN with in-process workers fastest on a VM (docs/benchmarks.md)")
}

// configArg resolves the CONFIG argument: required, unless --resume names
// a run directory, whose config.yaml is then used.
func (f *runFlags) configArg(args []string) (string, error) {
	switch {
	case f.resume != "" && len(args) > 0:
		return "", fmt.Errorf("give either CONFIG or --resume RUN_DIR, not both")
	case f.resume != "" && isS3(f.resume):
		if f.out != "" && f.out != f.resume {
			return "", fmt.Errorf("--resume continues in its own run directory; --out %s differs", f.out)
		}
		f.out = f.resume
		return "", nil // the config is downloaded with the run's files
	case f.resume != "" && strings.HasPrefix(filepath.Base(filepath.Clean(f.resume)), "iter-"):
		// RUN_DIR/checkpoints/iter-NNNNNN: that checkpoint of that run.
		ck := filepath.Clean(f.resume)
		f.resumeFrom, f.resume = filepath.Base(ck), filepath.Dir(filepath.Dir(ck))
		return f.configArg(nil)
	case f.resume != "":
		if f.out != "" && filepath.Clean(f.out) != filepath.Clean(f.resume) {
			return "", fmt.Errorf("--resume continues in its own run directory; --out %s differs", f.out)
		}
		f.out = f.resume
		return filepath.Join(f.resume, "config.yaml"), nil
	case len(args) != 1:
		return "", fmt.Errorf("accepts 1 arg(s), received %d", len(args))
	}
	return args[0], nil
}

func newTrain(stdout, stderr io.Writer, cb algorithms.Callbacks) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "train CONFIG | --resume RUN_DIR",
		Short: "Train with local workers until the config's stop criteria",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := f.configArg(args)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			return runTrain(cmd.Context(), path, f, stdout, stderr, cb, nil)
		},
	}
	f.register(c)
	return c
}

// fleetFactory builds a run's fleet from its config; nil means local workers.
type fleetFactory func(cfg *config.Loaded) (rollout.NewFleetFunc, error)

// runTrain loads the config and runs it to its stop criteria, mapping the
// outcome to an exit code. rltrain train and rltrain learner share it.
func runTrain(ctx context.Context, path string, f runFlags, stdout, stderr io.Writer, cb algorithms.Callbacks, fleet fleetFactory) error {
	restore, err := withCPUs(f.cpus)
	if err != nil {
		return err
	}
	defer restore()
	var s3 *s3Run
	if isS3(f.out) {
		// A run directory in S3: work in a local copy, upload as it goes.
		var err error
		if s3, err = newS3Run(ctx, f.out, f.resume != ""); err != nil {
			var held *checkpoint.LeaseHeldError
			if errors.As(err, &held) {
				return &exitError{code: ExitError, err: err}
			}
			return &exitError{code: ExitUsage, err: err}
		}
		defer s3.release(ctx)
		f.out = s3.local
		if f.resume != "" {
			f.resume, path = s3.local, filepath.Join(s3.local, "config.yaml")
		}
	}
	if f.resume != "" {
		if err := checkRunDir(f.resume); err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
		// Resuming a finished run with nothing changed has nothing to do;
		// from one of its checkpoints (a branch) it has.
		if rf, done := finished(f.resume); done && len(f.sets) == 0 && f.resumeFrom == "" {
			shown := f.resume
			if s3 != nil {
				shown = s3.remote
			}
			fmt.Fprintf(stdout, "run %s already finished (%s); %s\n", shown, stopText(rf.StopReason, rf.Iterations, rf.EnvSteps),
				train.ContinueHint(rf.StopReason, config.StopConfig{EnvSteps: rf.EnvSteps, Iterations: rf.Iterations, TimeS: rf.TimeS},
					algorithms.Result{Iteration: rf.Iterations, EnvSteps: rf.EnvSteps, TimeS: rf.TimeS}))
			return nil
		}
	}
	cfg, err := config.Load(path, f.sets)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if s3 != nil {
		if cfg.Checkpoint.Dir == "" {
			cfg.Checkpoint.Dir = s3.remote + "/"
		}
		s3.every = cfg.Checkpoint.Every
	}
	var newFleet rollout.NewFleetFunc
	if fleet != nil {
		if newFleet, err = fleet(cfg); err != nil {
			return &exitError{code: ExitError, err: err}
		}
	}
	// Every run leaves TensorBoard event files and a report (also when
	// interrupted) in its run directory.
	trackers := []train.Tracker{tensorboard.NewTracker(), report.NewTracker()}
	if f.metricsAddr != "" {
		reg := metrics.NewRegistry()
		trackers = append(trackers, metrics.NewTrainer(reg))
		srv, err := metrics.Serve(f.metricsAddr, reg)
		if err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("--metrics-addr: %w", err)}
		}
		defer srv.Close()
		fmt.Fprintf(stderr, "metrics: %s\n", srv.URL())
	}
	linger, dashURL := time.Duration(-1), "" // until Ctrl-C
	if f.dashboardLinger != "" {
		if f.dashboard == "" {
			return &exitError{code: ExitUsage, err: errors.New("--dashboard-linger needs --dashboard")}
		}
		if linger, err = time.ParseDuration(f.dashboardLinger); err != nil || linger < 0 {
			return &exitError{code: ExitUsage, err: fmt.Errorf("--dashboard-linger %q: want a duration >= 0, e.g. 10m", f.dashboardLinger)}
		}
	}
	if f.dashboard != "" {
		dt := dashboard.NewTracker()
		trackers = append(trackers, dt)
		srv, err := dashboard.Serve(f.dashboard, dt)
		if err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("--dashboard: %w", err)}
		}
		defer srv.Close()
		dashURL = srv.URL()
		fmt.Fprintf(stderr, "dashboard: %s\n", dashURL)
	}
	// MLflow goes last: it uploads the report the report tracker wrote.
	mlf, err := mlflow.FromConfig(cfg.Tracking.MLflow, os.Getenv, stderr)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if mlf != nil {
		trackers = append(trackers, mlf)
	}
	if s3 != nil {
		trackers = append(trackers, s3) // last: it uploads what the others wrote
	}
	algo, err := train.NewAlgorithm(&cfg.Config, stderr, newFleet)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			if ce.Where == "" {
				ce.Where = cfg.Where(ce.Key)
			}
			return &exitError{code: ExitUsage, err: err}
		}
		return &exitError{code: ExitError, err: err}
	}
	defer algo.Close()
	out, err := train.Run(ctx, algo, train.Options{
		Config:     &cfg.Config,
		Trackers:   trackers,
		Out:        f.out,
		AsTest:     f.asTest,
		Resume:     f.resume != "",
		Callbacks:  cb,
		ResumeFrom: f.resumeFrom,
		Stdout:     stdout,
		Progress:   isTerminal(stdout),
		Log:        stderr,
	})
	if err != nil {
		return runError(err)
	}
	if s3 != nil {
		out.RunDir = s3.remote
	}
	fmt.Fprintf(stdout, "run directory: %s (%s)\n", out.RunDir, stopText(out.StopReason, out.Last.Iteration, out.Last.EnvSteps))
	if dashURL != "" {
		// Keep the page up after the run, so a short run can be looked at.
		lingerDashboard(ctx, dashURL, linger, stderr)
	}
	switch {
	case out.Interrupted:
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted; results written to %s; to go on: rltrain %s --resume %s", out.RunDir, f.command, out.RunDir)}
	case f.asTest && !out.TargetMet:
		return &exitError{code: ExitTargetMissed, err: fmt.Errorf("--as-test: episode_return_mean %.1f after %d env steps did not reach %v", out.Last.EpisodeReturnMean, out.Last.EnvSteps, *cfg.Stop.EpisodeReturnMean)}
	}
	return nil
}

// lingerDashboard waits, after the run, until ctx is cancelled (Ctrl-C)
// or linger has passed (linger < 0: no limit), so the dashboard stays up.
// An interrupted run (ctx already cancelled) does not wait.
func lingerDashboard(ctx context.Context, url string, linger time.Duration, stderr io.Writer) {
	if linger == 0 || ctx.Err() != nil {
		return
	}
	if linger < 0 {
		fmt.Fprintf(stderr, "dashboard: the run has ended; still serving %s until Ctrl-C (--dashboard-linger sets a limit)\n", url)
		<-ctx.Done()
		return
	}
	fmt.Fprintf(stderr, "dashboard: the run has ended; still serving %s for %s or until Ctrl-C\n", url, linger)
	t := time.NewTimer(linger)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// runError maps an error that stopped a run to its exit code: config
// errors and a non-empty --out directory are usage errors (2), a run
// directory in use by another process and anything else exit 1.
func runError(err error) error {
	var ce *config.Error
	var ne *train.NotEmptyError
	if errors.As(err, &ce) || errors.As(err, &ne) {
		return &exitError{code: ExitUsage, err: err}
	}
	return &exitError{code: ExitError, err: err}
}

// finished returns the result.json of the run in dir and whether it
// ended normally (status finished).
func finished(dir string) (train.ResultFile, bool) {
	var rf train.ResultFile
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil || json.Unmarshal(b, &rf) != nil {
		return rf, false
	}
	return rf, rf.Status == "finished"
}

// checkRunDir says when --resume names something that is not a run
// directory, before config.yaml's absence is reported as a config error.
func checkRunDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("--resume %s: no such run directory", dir)
	case !st.IsDir():
		return fmt.Errorf("--resume %s: not a run directory (a file; give the directory train --out wrote)", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err != nil {
		return fmt.Errorf("--resume %s: not a run directory (it has no config.yaml; give the directory train --out wrote)", dir)
	}
	return nil
}

// stopText says why a run stopped, for the closing line.
func stopText(reason string, iteration int, envSteps int64) string {
	switch reason {
	case "interrupted":
		return fmt.Sprintf("interrupted at iteration %d, %d env steps", iteration, envSteps)
	case "episode_return_mean":
		return fmt.Sprintf("reached its return target, stop.episode_return_mean, at iteration %d, %d env steps", iteration, envSteps)
	case "evaluation_return_mean":
		return fmt.Sprintf("reached its evaluation target, stop.evaluation_return_mean, at iteration %d, %d env steps", iteration, envSteps)
	case "env_steps":
		return fmt.Sprintf("spent its budget of stop.env_steps: %d env steps, %d iterations", envSteps, iteration)
	case "iterations":
		return fmt.Sprintf("spent its budget of stop.iterations: %d iterations, %d env steps", iteration, envSteps)
	case "time_s":
		return fmt.Sprintf("spent its budget of stop.time_s at iteration %d, %d env steps", iteration, envSteps)
	case "":
		return "stopped"
	}
	return "stopped by " + reason
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newEnvs(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "envs",
		Short: "List the registered environments",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tMAX STEPS\tSOLVED AT\tDESCRIPTION")
			for _, s := range envs.Registered() {
				thr := "-"
				if s.HasThreshold {
					thr = fmt.Sprint(s.RewardThreshold)
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.ID, s.MaxEpisodeSteps, thr, s.Description)
			}
			return tw.Flush()
		},
	}
}
