package tune

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/report"
)

// ErrInterrupted is returned (wrapped) when the context was cancelled:
// the running trials were stopped and checkpointed, and Resume goes on.
var ErrInterrupted = errors.New("tune: interrupted")

// Options configure Run and Resume.
type Options struct {
	// Parallel is the core budget: running trials' costs (each its
	// rollout.workers, at least 1) sum to at most this; a trial that
	// costs more runs alone. 0 means runtime.NumCPU().
	Parallel int
	// Command is the argv prefix that runs rltrain, e.g. the path of
	// os.Executable(): a trial runs as Command + ["train", ...].
	Command []string
	// Env is added to the children's environment.
	Env []string
	// Stdout receives the live table; nil discards it.
	Stdout io.Writer
	// TTY redraws the table in place; otherwise a line is printed per
	// change of a trial (status or iteration).
	TTY bool
	// Log receives one-off messages; nil discards them.
	Log io.Writer
	// Poll is how often running trials' progress.csv is read. Default 200ms: a scheduler's stop reaches a trial up to this late.
	Poll time.Duration
	// StopTimeout is how long stopped trials get to checkpoint and exit
	// before they are killed. Default 2 minutes.
	StopTimeout time.Duration
}

func (o *Options) fill() {
	if o.Parallel <= 0 {
		o.Parallel = runtime.NumCPU()
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 2 * time.Minute
	}
}

// Run starts a new experiment of spec's trials in directory dir
// (missing or empty), runs it to the end and writes experiment.csv,
// experiment.json and the report. A trial that fails is recorded with
// its error; the others go on. Cancelling ctx stops the trials (they
// checkpoint) and returns ErrInterrupted; Resume continues.
func Run(ctx context.Context, spec *Spec, dir string, opts Options) (*Experiment, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("tune: no rltrain command to run trials with")
	}
	trials := spec.Expand()
	loaded, err := spec.Check(trials)
	if err != nil {
		return nil, err
	}
	exp := &Experiment{Config: spec.Path, Tune: spec.Tune, Spaces: spec.Spaces}
	for i, t := range trials {
		l := loaded[i]
		exp.Trials = append(exp.Trials, &TrialState{Trial: t, Dir: t.Name, Cost: max(1, l.Rollout.Workers), MaxIterations: l.Stop.Iterations,
			Status: StatusPending, Final: math.NaN(), Best: math.NaN(), Threshold: math.NaN(), EnvStepsToThreshold: math.NaN(), TimeSToThreshold: math.NaN()})
	}
	if spec.Tune.Scheduler.Type == SchedulerPBT {
		for _, t := range trials {
			if err := spec.checkMutations(t); err != nil {
				return nil, err
			}
		}
		if err := initPBT(spec, exp, loaded); err != nil {
			return nil, err
		}
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		if _, err := os.Stat(filepath.Join(dir, StateFile)); err == nil {
			return nil, fmt.Errorf("tune: %s already holds an experiment: continue it with --resume %s, or give another --out DIR", dir, dir)
		}
		return nil, fmt.Errorf("tune: %s is not empty: give an empty or new --out DIR", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, LogDir), 0o755); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, BaseFile), spec.Base, 0o644); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	if err := exp.write(dir); err != nil {
		return nil, err
	}
	return exp, run(ctx, dir, exp, opts)
}

// Resume continues the experiment in dir: trials not yet ended start,
// those that were running continue from their checkpoints (`train
// --resume`); finished, failed and stopped trials are left as they are.
func Resume(ctx context.Context, dir string, opts Options) (*Experiment, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("tune: no rltrain command to run trials with")
	}
	exp, err := ReadExperiment(dir)
	if err != nil {
		return nil, err
	}
	return exp, run(ctx, dir, exp, opts)
}

// ended reports that a trial's status is final.
func ended(status string) bool {
	return status == StatusFinished || status == StatusFailed || status == StatusStoppedEarly
}

type child struct {
	t        *TrialState
	cmd      *exec.Cmd
	logFile  *os.File
	logStart int64
	stopRung int
}

type exitEvent struct {
	id  int
	err error
}

// run drives the experiment's unended trials to their end.
func run(ctx context.Context, dir string, exp *Experiment, opts Options) error {
	opts.fill()
	if err := os.MkdirAll(filepath.Join(dir, LogDir), 0o755); err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	maxT := 0
	for _, t := range exp.Trials {
		maxT = max(maxT, t.MaxIterations)
	}
	sched := NewScheduler(exp.Tune.Scheduler, exp.Tune.Mode, maxT)
	var pbt *pbtRunner
	if exp.Tune.Scheduler.Type == SchedulerPBT {
		var err error
		if pbt, err = newPBTRunner(dir, exp, opts.Log); err != nil {
			return err
		}
	}
	fed := map[int]int{} // last iteration fed to the scheduler, per trial
	feed := func(t *TrialState, p progress) (stop bool, rung int) {
		for i, it := range p.iteration {
			if it <= fed[t.ID] {
				continue
			}
			fed[t.ID] = it
			if sched == nil || stop {
				continue
			}
			stop, rung = sched.OnResult(t.ID, it, p.metric[i])
		}
		return stop, rung
	}
	var queue []*TrialState
	// Resuming: ended trials' histories first, then the rest's, so the
	// scheduler's rungs hold what they held before.
	for _, pass := range []bool{true, false} {
		for _, t := range exp.Trials {
			if ended(t.Status) != pass {
				continue
			}
			rd := filepath.Join(dir, t.Dir)
			if p, err := readProgress(rd, exp.Tune.Metric); err == nil && len(p.iteration) > 0 {
				if stop, rung := feed(t, p); stop && !pass {
					t.Status, t.StoppedAtRung = StatusStoppedEarly, rung
					summarize(t, rd, exp.Tune.Metric, exp.Tune.Mode)
					continue
				}
			}
			if !pass {
				queue = append(queue, t)
			}
		}
	}
	tbl := &table{w: opts.Stdout, tty: opts.TTY, metric: exp.Tune.Metric, printed: map[int]string{}, at: map[int]time.Time{}, now: time.Now}
	running := map[int]*child{}
	exits := make(chan exitEvent)
	used := 0
	interrupting := false
	var killTimer <-chan time.Time
	ticker := time.NewTicker(opts.Poll)
	defer ticker.Stop()
	save := func() {
		if err := exp.write(dir); err != nil {
			fmt.Fprintln(opts.Log, err)
		}
	}
	warnedMetric := false
	// segmentEnd handles a PBT trial whose segment ended with its child
	// exiting 0: at a perturbation boundary it is paused and decided on
	// (an exploit's files put in place) and queued for its next segment;
	// at its own stop criteria it has finished.
	segmentEnd := func(t *TrialState) {
		if at, steps := atBoundary(filepath.Join(dir, t.Dir), t); at {
			t.Status = StatusPaused
			if err := pbt.boundary(ctx, t, steps); err != nil {
				t.Status, t.Error = StatusFailed, err.Error()
			} else {
				save() // the decision (a pending exploit) before its files
				if t.PBT.Pending != nil {
					if err := pbt.applyExploit(context.Background(), t); err != nil {
						t.Status, t.Error = StatusFailed, err.Error()
					}
				}
				pbt.gc(false)
			}
			if t.Status == StatusPaused && !interrupting {
				queue = append(queue, t)
			}
		} else if err := pbt.restoreBudget(t); err != nil {
			fmt.Fprintln(opts.Log, err)
		}
	}
	for {
		if pbt != nil {
			sortQueue(queue)
		}
		for !interrupting && len(queue) > 0 {
			t := queue[0]
			if len(running) > 0 && (used+t.Cost > opts.Parallel || exp.Tune.MaxConcurrent > 0 && len(running) >= exp.Tune.MaxConcurrent) {
				break
			}
			queue = queue[1:]
			if pbt != nil && t.PBT != nil && segmentEnded(filepath.Join(dir, t.Dir), t) {
				// The tune process died after the child ended its segment and
				// before it recorded that; starting it again with the
				// segment's stop.env_steps would be refused (budget spent).
				t.Status = StatusFinished
				summarize(t, filepath.Join(dir, t.Dir), exp.Tune.Metric, exp.Tune.Mode)
				fmt.Fprintf(opts.Log, "tune: %s had ended its segment at %d env steps before the experiment stopped\n", t.Name, t.EnvSteps)
				segmentEnd(t)
				save()
				continue
			}
			c, err := start(ctx, dir, exp, t, opts, exits, pbt)
			if err != nil {
				t.Status, t.Error = StatusFailed, err.Error()
				save()
				continue
			}
			running[t.ID] = c
			used += t.Cost
			save()
		}
		tbl.render(exp)
		if len(running) == 0 && (len(queue) == 0 || interrupting) {
			break
		}
		select {
		case ev := <-exits:
			c := running[ev.id]
			delete(running, ev.id)
			used -= c.t.Cost
			if c.stopRung == 0 {
				// The results since the last poll: a trial that ended
				// between polls still has its rungs recorded for the
				// trials that come after it.
				if p, err := readProgress(filepath.Join(dir, c.t.Dir), exp.Tune.Metric); err == nil {
					feed(c.t, p)
				}
			}
			finish(c, ev.err, interrupting, dir, exp)
			if pbt != nil && c.t.Status == StatusFinished && c.t.PBT != nil {
				segmentEnd(c.t)
			}
			save()
		case <-ticker.C:
			for _, c := range running {
				rd := filepath.Join(dir, c.t.Dir)
				p, err := readProgress(rd, exp.Tune.Metric)
				if err != nil || len(p.iteration) == 0 {
					continue
				}
				if !p.hasMetric && !warnedMetric {
					warnedMetric = true
					fmt.Fprintf(opts.Log, "tune: progress.csv of %s has no column %q (tune.metric); the metric stays empty and no scheduler acts\n", c.t.Name, exp.Tune.Metric)
				}
				n := len(p.iteration) - 1
				c.t.Iteration, c.t.EnvSteps, c.t.TimeS = p.iteration[n], p.envSteps[n], p.timeS[n]
				c.t.Final = p.metric[n]
				if stop, rung := feed(c.t, p); stop && c.stopRung == 0 && !interrupting {
					c.stopRung = rung
					c.cmd.Process.Signal(os.Interrupt) // it checkpoints and exits 130
				}
			}
		case <-ctx.Done():
			if !interrupting {
				interrupting = true
				for _, c := range running {
					c.cmd.Process.Signal(os.Interrupt)
				}
				killTimer = time.After(opts.StopTimeout)
			}
		case <-killTimer:
			for _, c := range running {
				fmt.Fprintf(opts.Log, "tune: %s did not stop within %s; killing it\n", c.t.Name, opts.StopTimeout)
				c.cmd.Process.Kill()
			}
		}
		if interrupting {
			ctx = context.Background() // ctx.Done fired; wait for the children only
		}
	}
	tbl.render(exp)
	tbl.done()
	for _, t := range exp.Trials {
		if rd := filepath.Join(dir, t.Dir); train.IsRunDir(rd) {
			summarize(t, rd, exp.Tune.Metric, exp.Tune.Mode)
		}
	}
	if pbt != nil && !interrupting {
		pbt.gc(true)
	}
	save()
	if interrupting {
		return fmt.Errorf("%w; to go on: rltrain tune --resume %s", ErrInterrupted, dir)
	}
	return writeReport(dir, exp, opts.Log)
}

// start starts t's child: from scratch, or with --resume when its run
// directory holds a run (it was running when the experiment stopped).
func start(ctx context.Context, dir string, exp *Experiment, t *TrialState, opts Options, exits chan<- exitEvent, pbt *pbtRunner) (*child, error) {
	rd := filepath.Join(dir, t.Dir)
	resume := train.IsRunDir(rd)
	var args []string
	if resume {
		// A child of a killed tune process may still be checkpointing.
		if err := waitUnlocked(ctx, rd, opts.StopTimeout); err != nil {
			return nil, err
		}
		if pbt != nil && t.PBT != nil && t.PBT.Pending != nil {
			// Decided before the experiment stopped; its files may be half in place.
			if err := pbt.applyExploit(ctx, t); err != nil {
				return nil, err
			}
		}
		args = []string{"train", "--resume", rd}
	} else {
		args = append([]string{"train", filepath.Join(dir, BaseFile)}, setArgs(t.Sets())...)
		args = append(args, "--out", rd)
	}
	if pbt != nil && t.PBT != nil {
		// The segment ends at the trial's next perturbation boundary.
		args = append(args, "--set", "stop.env_steps="+strconv.FormatInt(pbt.nextStop(t), 10))
	}
	lf, err := os.OpenFile(filepath.Join(dir, LogDir, t.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	off, _ := lf.Seek(0, io.SeekEnd)
	fmt.Fprintf(lf, "# %s %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	argv := append(append([]string(nil), opts.Command...), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("tune: start %s: %w", t.Name, err)
	}
	t.Status, t.Error = StatusRunning, ""
	t.Starts = append(t.Starts, Start{At: time.Now().UTC(), Resume: resume})
	c := &child{t: t, cmd: cmd, logFile: lf, logStart: off}
	go func() { exits <- exitEvent{id: t.ID, err: cmd.Wait()} }()
	return c, nil
}

func setArgs(sets []string) []string {
	var out []string
	for _, s := range sets {
		out = append(out, "--set", s)
	}
	return out
}

// waitUnlocked waits until no process holds run directory rd's lock.
func waitUnlocked(ctx context.Context, rd string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		l, err := train.Lock(rd)
		if err == nil {
			return l.Unlock()
		}
		var le *train.LockedError
		if !errors.As(err, &le) || time.Now().After(deadline) {
			return fmt.Errorf("tune: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tune: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// finish records how c's child ended.
func finish(c *child, err error, interrupting bool, dir string, exp *Experiment) {
	c.logFile.Close()
	t := c.t
	code := c.cmd.ProcessState.ExitCode()
	switch {
	case code == 0:
		t.Status = StatusFinished
	case c.stopRung > 0:
		t.Status, t.StoppedAtRung = StatusStoppedEarly, c.stopRung
	case interrupting || code == 130:
		// 130: the child was interrupted (Ctrl-C reaches the whole
		// process group), perhaps before this process saw it.
		t.Status = StatusInterrupted
	default:
		t.Status, t.Error = StatusFailed, childError(filepath.Join(dir, LogDir, t.Name+".log"), c.logStart, err)
	}
	summarize(t, filepath.Join(dir, t.Dir), exp.Tune.Metric, exp.Tune.Mode)
}

// childError is the last "rltrain: ..." line the child wrote since
// offset, else its last line, else the wait error.
func childError(logPath string, offset int64, waitErr error) string {
	f, err := os.Open(logPath)
	if err != nil {
		return fmt.Sprint(waitErr)
	}
	defer f.Close()
	f.Seek(offset, io.SeekStart)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var last, lastErr string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "# ") {
			continue
		}
		last = line
		if s, ok := strings.CutPrefix(line, "rltrain: "); ok && !strings.HasPrefix(s, "run 'rltrain --help'") {
			lastErr = s
		}
	}
	switch {
	case lastErr != "":
		return lastErr
	case last != "":
		return fmt.Sprintf("%v: %s", waitErr, last)
	}
	return fmt.Sprint(waitErr)
}

// writeReport writes the comparison report of the trials that have a
// run directory into dir/report.
func writeReport(dir string, exp *Experiment, log io.Writer) error {
	var dirs []string
	for _, t := range exp.Trials {
		rd := filepath.Join(dir, t.Dir)
		if _, err := os.Stat(filepath.Join(rd, "progress.csv")); err == nil {
			dirs = append(dirs, rd)
		}
	}
	if len(dirs) == 0 {
		fmt.Fprintln(log, "tune: no trial has progress to report")
		return nil
	}
	out, err := report.Generate(dirs, report.Options{Out: filepath.Join(dir, ReportDir), Title: "Experiment " + filepath.Base(dir)})
	if err != nil {
		return err
	}
	for _, w := range out.Warnings {
		fmt.Fprintln(log, "report:", w)
	}
	rd := filepath.Join(dir, ReportDir)
	var figs []figure
	if ok, err := writeParCoords(rd, exp); err != nil {
		return err
	} else if ok {
		figs = append(figs, figure{name: ParCoordsName, title: "Trials: parameters and best " + exp.Tune.Metric + " (parallel coordinates)"})
	}
	scatters, err := writeScatter(rd, exp)
	if err != nil {
		return err
	}
	return addFigures(rd, append(figs, scatters...))
}
