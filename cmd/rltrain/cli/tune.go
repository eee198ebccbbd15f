package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/config"
	"github.com/rlgo/rlgo/train/tune"
)

// tuneCommand returns the argv prefix and extra environment that run
// rltrain for a trial: this executable. Tests replace it.
var tuneCommand = func() ([]string, []string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find rltrain's executable for the trials: %w", err)
	}
	return []string{exe}, nil, nil
}

// tunePoll is how often tune reads running trials' progress (0: tune's
// default). Tests of the schedulers shorten it for their fast trials.
var tunePoll time.Duration

func newTune(stdout, stderr io.Writer) *cobra.Command {
	var out, resume, emitK8s, collect, image, namespace string
	var parallel int
	c := &cobra.Command{
		Use:   "tune CONFIG | --resume EXP_DIR | CONFIG --emit-k8s DIR --out s3://... | --collect EXP_DIR_OR_S3_PREFIX",
		Short: "Run the trials of a config's search spaces and seeds, and compare them",
		Long: `tune expands the search spaces of CONFIG (grid_search, choice, uniform,
loguniform, randint on any key) and its tune: section (seeds, num_samples,
metric, mode, max_concurrent, scheduler) into trials, runs each as an
'rltrain train' child process in EXP_DIR/trial-NNN, and writes
EXP_DIR/experiment.csv, experiment.json and report/. See docs/tune.md.

With --emit-k8s DIR it runs nothing: it writes one Kubernetes Job per
trial (run directories under --out s3://bucket/prefix) and a ConfigMap
into DIR; --collect builds the summary from those run directories. See
deploy/kubernetes/tune.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case emitK8s != "" && (resume != "" || collect != "" || len(args) != 1):
				return &exitError{code: ExitUsage, err: errors.New("--emit-k8s DIR takes a CONFIG (and --out s3://bucket/prefix), not --resume or --collect")}
			case emitK8s != "":
				spec, err := tune.Load(args[0])
				if err != nil {
					return &exitError{code: ExitUsage, err: err}
				}
				files, err := tune.EmitK8s(spec, emitK8s, tune.K8sOptions{Out: out, Image: image, Namespace: namespace})
				if err != nil {
					return &exitError{code: ExitUsage, err: err}
				}
				fmt.Fprintf(stdout, "wrote %d files to %s; run the trials with kubectl apply -f %s, then summarise with rltrain tune --collect %s --out %s\n",
					len(files), emitK8s, emitK8s, out, filepath.Join(emitK8s, tune.K8sExperimentDir))
				return nil
			case collect != "" && (resume != "" || len(args) > 0):
				return &exitError{code: ExitUsage, err: errors.New("--collect takes no CONFIG and no --resume")}
			case collect != "":
				exp, err := tune.Collect(cmd.Context(), collect, out, stderr)
				if err != nil {
					if exp == nil {
						return &exitError{code: ExitUsage, err: err}
					}
					return &exitError{code: ExitError, err: err}
				}
				dir := out
				if dir == "" {
					dir = collect
				}
				n := exp.Count()
				fmt.Fprintf(stdout, "experiment %s: %d trials, %d finished, %d failed, %d running, %d pending; %s, %s\n", dir, len(exp.Trials),
					n[tune.StatusFinished], n[tune.StatusFailed], n[tune.StatusRunning], n[tune.StatusPending],
					filepath.Join(dir, tune.CSVFile), filepath.Join(dir, tune.ReportDir, "report.html"))
				return nil
			case image != "" || namespace != "":
				return &exitError{code: ExitUsage, err: errors.New("--image and --namespace go with --emit-k8s")}
			}
			argv, env, err := tuneCommand()
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			opts := tune.Options{Parallel: parallel, Poll: tunePoll, Command: argv, Env: env, Stdout: stdout, TTY: isTerminal(stdout), Log: stderr}
			var exp *tune.Experiment
			switch {
			case resume != "" && len(args) > 0:
				return &exitError{code: ExitUsage, err: errors.New("give either CONFIG or --resume EXP_DIR, not both")}
			case resume != "":
				if out != "" && filepath.Clean(out) != filepath.Clean(resume) {
					return &exitError{code: ExitUsage, err: fmt.Errorf("--resume continues in its own experiment directory; --out %s differs", out)}
				}
				if _, err := os.Stat(filepath.Join(resume, tune.StateFile)); err != nil {
					return &exitError{code: ExitUsage, err: fmt.Errorf("--resume %s: not an experiment directory (no %s)", resume, tune.StateFile)}
				}
				out = resume
				exp, err = tune.Resume(cmd.Context(), resume, opts)
			case len(args) != 1:
				return &exitError{code: ExitUsage, err: fmt.Errorf("accepts 1 arg(s), received %d", len(args))}
			default:
				spec, err2 := tune.Load(args[0])
				if err2 != nil {
					return &exitError{code: ExitUsage, err: err2}
				}
				if out == "" {
					trials := spec.Expand()
					name := "tune"
					if l, err := spec.Check(trials[:1]); err == nil {
						name = l[0].Name
					}
					out = train.RunDir(name+"-tune", "", time.Now())
				}
				exp, err = tune.Run(cmd.Context(), spec, out, opts)
			}
			if err != nil {
				var ce *config.Error
				switch {
				case errors.As(err, &ce):
					return &exitError{code: ExitUsage, err: err}
				case errors.Is(err, tune.ErrInterrupted):
					return &exitError{code: ExitInterrupted, err: err}
				case exp == nil:
					return &exitError{code: ExitUsage, err: err}
				}
				return &exitError{code: ExitError, err: err}
			}
			n := exp.Count()
			fmt.Fprintf(stdout, "experiment %s: %d trials, %d finished, %d stopped early, %d failed; %s, %s, %s\n", out, len(exp.Trials),
				n[tune.StatusFinished], n[tune.StatusStoppedEarly], n[tune.StatusFailed],
				filepath.Join(out, tune.CSVFile), filepath.Join(out, tune.StateFile), filepath.Join(out, tune.ReportDir, "report.html"))
			if bt, best := exp.BestTrial(); bt != nil {
				fmt.Fprintf(stdout, "best %s: %g (%s)\n", exp.Tune.Metric, best, bt.Name)
			}
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "experiment directory (default runs/<name>-tune-<YYYYmmdd-HHMMSS>)")
	c.Flags().IntVar(&parallel, "parallel", 0, "cores the trials may use at once, each trial counting its rollout.workers (default: all cores)")
	c.Flags().StringVar(&emitK8s, "emit-k8s", "", "write one Kubernetes Job per trial and a ConfigMap into `DIR` instead of running (needs --out s3://bucket/prefix)")
	c.Flags().StringVar(&collect, "collect", "", "build experiment.csv/json and the report from the trial run directories in `EXP_DIR_OR_S3_PREFIX` (from S3: into --out DIR)")
	c.Flags().StringVar(&image, "image", "", "with --emit-k8s: the rltrain image (default rlgo/rltrain:latest, deploy/kubernetes/Dockerfile)")
	c.Flags().StringVar(&namespace, "namespace", "", "with --emit-k8s: the namespace (default rlgo)")
	c.Flags().StringVar(&resume, "resume", "", "continue the experiment in `EXP_DIR`: unfinished trials from their checkpoints, none run again")
	return c
}
