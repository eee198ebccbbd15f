package tune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/checkpoint"
	"github.com/rlgo/rlgo/train/config"
)

// PBTDir holds the PBT checkpoint copies (snapshots) in the experiment
// directory; it is removed when the experiment ends.
const PBTDir = "pbt"

// pbtRunner carries PBT through the run loop: trials run as `rltrain
// train` children to their next boundary (stop.env_steps set to it),
// exit, and are decided on; an exploit puts the donor's checkpoint and
// config into the trial's run directory before its next segment, which
// resumes from there with the perturbed values in its config.
type pbtRunner struct {
	p   *PBT
	pcg *rand.PCG
	dir string
	exp *Experiment
	log io.Writer
}

func newPBTRunner(dir string, exp *Experiment, log io.Writer) (*pbtRunner, error) {
	pcg := rand.NewPCG(exp.Tune.Seed, 0x7062_74) // "pbt"
	if len(exp.PBTRand) > 0 {
		if err := pcg.UnmarshalBinary(exp.PBTRand); err != nil {
			return nil, fmt.Errorf("tune: %s: pbt_rand: %w", StateFile, err)
		}
	}
	r := &pbtRunner{pcg: pcg, dir: dir, exp: exp, log: log}
	r.p = NewPBT(exp.Tune.Scheduler, exp.Tune.Mode, rand.New(pcg))
	return r, nil
}

// initPBT fills every trial's PBT state from its loaded config: its
// env-step budget and its values of the mutated keys. PBT copies
// checkpoints between run directories, so they must be in them.
func initPBT(spec *Spec, exp *Experiment, loaded []*config.Loaded) error {
	for i, t := range exp.Trials {
		l := loaded[i]
		if l.Checkpoint.Dir != "" {
			return spec.errAt("checkpoint.dir", "pbt copies checkpoints between the trials' run directories: leave checkpoint.dir unset")
		}
		y, err := l.Config.YAML()
		if err != nil {
			return fmt.Errorf("tune: %s: %w", t.Name, err)
		}
		st := &PBTState{Budget: l.Stop.EnvSteps}
		for _, m := range spec.Tune.Scheduler.Mutations {
			v, ok := lookupKey(y, m.Key)
			if !ok {
				return &config.Error{Where: fmt.Sprintf("%s:%d", spec.Path, m.Line), Key: "tune.scheduler.hyperparam_mutations." + m.Key, Msg: "not a key of the resolved config"}
			}
			st.Values = append(st.Values, Param{Key: m.Key, Value: v})
		}
		t.PBT = st
	}
	return nil
}

// checkMutations loads trial with each value a mutation can produce at
// its ends (a list's and choice's values, a space's bounds), so a
// mistyped key or a value the config refuses is an error at the
// mutation's line before anything runs.
func (s *Spec) checkMutations(t Trial) error {
	for _, m := range s.Tune.Scheduler.Mutations {
		var vals []string
		switch m.Kind {
		case MutationList, Choice:
			vals = m.Values
		case RandInt:
			vals = []string{strconv.FormatInt(int64(m.Lo), 10), strconv.FormatInt(int64(m.Hi)-1, 10)}
		default:
			vals = []string{formatFloat(m.Lo), formatFloat(m.Hi)}
		}
		for _, v := range vals {
			if _, err := config.Parse(s.Path, s.Base, append(t.Sets(), m.Key+"="+v)); err != nil {
				var ce *config.Error
				msg := err.Error()
				if errors.As(err, &ce) {
					msg = ce.Msg
				}
				return &config.Error{Where: fmt.Sprintf("%s:%d", s.Path, m.Line), Key: "tune.scheduler.hyperparam_mutations." + m.Key, Msg: fmt.Sprintf("%s=%s: %s", m.Key, v, msg)}
			}
		}
	}
	return nil
}

// nextStop is the env steps t's next segment ends at.
func (r *pbtRunner) nextStop(t *TrialState) int64 {
	return min(t.PBT.LastPerturbation+r.exp.Tune.Scheduler.PerturbationInterval, t.PBT.Budget)
}

// atBoundary reports whether t's child, which exited 0, stopped at a
// perturbation boundary (its segment's stop.env_steps below its own
// budget) rather than at one of its own stop criteria; envSteps is
// where it stopped.
func atBoundary(rd string, t *TrialState) (bool, int64) {
	var rf train.ResultFile
	b, err := os.ReadFile(filepath.Join(rd, "result.json"))
	if err != nil || json.Unmarshal(b, &rf) != nil {
		return false, 0
	}
	return rf.Status == "finished" && rf.StopReason == "env_steps" && rf.EnvSteps < t.PBT.Budget, rf.EnvSteps
}

// segmentEnded reports whether t, recorded as running, had in fact
// ended its segment: its run directory's result.json, written since
// its last child started, says finished. That happens when the tune
// process dies (SIGKILL) after the child exits and before it records
// the exit; the segment's end is then handled on --resume as if the
// child had just exited. A result.json from an earlier segment is older
// than the last start, and a child stopped with the experiment writes
// "interrupted".
func segmentEnded(rd string, t *TrialState) bool {
	if t.Status != StatusRunning || len(t.Starts) == 0 {
		return false
	}
	path := filepath.Join(rd, "result.json")
	st, err := os.Stat(path)
	if err != nil || st.ModTime().Before(t.Starts[len(t.Starts)-1].At) {
		return false
	}
	var rf train.ResultFile
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &rf) != nil {
		return false
	}
	return rf.Status == "finished"
}

// boundary decides on t, paused at a boundary at envSteps: records its
// score, keeps a copy of its checkpoint if it is in the upper quantile,
// and, if it is in the lower, makes it copy a donor's checkpoint and
// config with perturbed values.
func (r *pbtRunner) boundary(ctx context.Context, t *TrialState, envSteps int64) error {
	rd := filepath.Join(r.dir, t.Dir)
	p, err := readProgress(rd, r.exp.Tune.Metric)
	if err != nil || len(p.iteration) == 0 {
		return fmt.Errorf("tune: pbt: %s: no progress at its boundary: %v", t.Name, err)
	}
	n := len(p.iteration) - 1
	metric, iteration := p.metric[n], p.iteration[n]
	i := indexOfTrial(r.exp.Trials, t)
	d, err := r.p.OnBoundary(r.exp.Trials, i, envSteps, metric)
	defer r.saveRand()
	if err != nil {
		return err
	}
	if !d.Scored {
		return nil
	}
	if d.Snapshot {
		if err := r.snapshot(ctx, t, iteration, envSteps); err != nil {
			return err
		}
	} else {
		t.PBT.Snapshot, t.PBT.SnapshotIteration, t.PBT.SnapshotEnvSteps = "", 0, 0
	}
	if d.Donor >= 0 {
		donor := r.exp.Trials[d.Donor]
		ex := Exploit{At: time.Now().UTC(), Iteration: iteration, EnvSteps: envSteps, Score: nullable(metric),
			Donor: donor.Name, DonorIteration: donor.PBT.SnapshotIteration, DonorEnvSteps: donor.PBT.SnapshotEnvSteps,
			DonorScore: donor.PBT.LastScore, Snapshot: donor.PBT.Snapshot, Changes: d.Changes}
		t.PBT.Values = d.Values
		t.PBT.Pending = &ex
		t.PBT.Lineage = append(t.PBT.Lineage, ex)
		// The trial's own snapshot (if any) is of the state it gives up.
		t.PBT.Snapshot, t.PBT.SnapshotIteration, t.PBT.SnapshotEnvSteps = "", 0, 0
		var parts []string
		for _, c := range d.Changes {
			parts = append(parts, fmt.Sprintf("%s %s -> %s (%s)", c.Key, c.From, c.To, c.Op))
		}
		fmt.Fprintf(r.log, "pbt: %s (%s at %d env steps) copies %s (%s at %d env steps): %v\n", t.Name, num(metric), envSteps,
			donor.Name, num(unnull(donor.PBT.LastScore)), donor.PBT.SnapshotEnvSteps, parts)
	}
	return nil
}

func (r *pbtRunner) saveRand() {
	if b, err := r.pcg.MarshalBinary(); err == nil {
		r.exp.PBTRand = b
	}
}

func indexOfTrial(ts []*TrialState, t *TrialState) int {
	for i, x := range ts {
		if x == t {
			return i
		}
	}
	return -1
}

// snapshot copies t's latest checkpoint (the one its segment ended
// with, at iteration) and its config.yaml into the experiment's pbt
// directory.
func (r *pbtRunner) snapshot(ctx context.Context, t *TrialState, iteration int, envSteps int64) error {
	rd := filepath.Join(r.dir, t.Dir)
	ck, _, err := checkpoint.Latest(ctx, checkpoint.LocalStore{Root: rd})
	if err != nil {
		return fmt.Errorf("tune: pbt: %s: %w", t.Name, err)
	}
	if ck.Meta.Iteration != iteration {
		return fmt.Errorf("tune: pbt: %s: latest checkpoint is of iteration %d, its boundary %d", t.Name, ck.Meta.Iteration, iteration)
	}
	rel := filepath.Join(PBTDir, t.Name+"-"+checkpoint.Name(iteration))
	dst := filepath.Join(r.dir, rel)
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("tune: pbt: %w", err)
	}
	if err := copyCheckpoint(ctx, ck, dst); err != nil {
		return fmt.Errorf("tune: pbt: snapshot of %s: %w", t.Name, err)
	}
	cfgYAML, err := os.ReadFile(filepath.Join(rd, "config.yaml"))
	if err != nil {
		return fmt.Errorf("tune: pbt: %w", err)
	}
	if err := writeAtomic(filepath.Join(dst, "config.yaml"), cfgYAML); err != nil {
		return err
	}
	t.PBT.Snapshot, t.PBT.SnapshotIteration, t.PBT.SnapshotEnvSteps = rel, iteration, envSteps
	return nil
}

// copyCheckpoint writes ck (verified on load) as a checkpoint of the
// run directory root: state files first, metadata last, as any
// checkpoint is written.
func copyCheckpoint(ctx context.Context, ck *checkpoint.Checkpoint, root string) error {
	files := map[string][]byte{}
	for name := range ck.Meta.Files {
		b, err := ck.File(name)
		if err != nil {
			return err
		}
		files[name] = b
	}
	_, err := checkpoint.Write(ctx, checkpoint.LocalStore{Root: root}, ck.Meta, files)
	return err
}

// applyExploit puts t's pending exploit in its run directory: the
// donor's checkpoint becomes its only checkpoint (its own are removed
// after the copy is complete, so a crash in between leaves a valid
// one), and config.yaml is the donor's with the perturbed values. It
// can be repeated: --resume redoes a pending exploit.
func (r *pbtRunner) applyExploit(ctx context.Context, t *TrialState) error {
	ex := t.PBT.Pending
	src := filepath.Join(r.dir, ex.Snapshot)
	ck, err := checkpoint.Load(ctx, checkpoint.LocalStore{Root: src}, checkpoint.Dir+"/"+checkpoint.Name(ex.DonorIteration))
	if err != nil {
		return fmt.Errorf("tune: pbt: %s copies %s: %w", t.Name, ex.Donor, err)
	}
	rd := filepath.Join(r.dir, t.Dir)
	own := filepath.Join(rd, checkpoint.Dir, checkpoint.Name(ex.DonorIteration))
	if err := os.RemoveAll(own); err != nil {
		return fmt.Errorf("tune: pbt: %w", err)
	}
	if err := copyCheckpoint(ctx, ck, rd); err != nil {
		return fmt.Errorf("tune: pbt: %s copies %s: %w", t.Name, ex.Donor, err)
	}
	ents, err := os.ReadDir(filepath.Join(rd, checkpoint.Dir))
	if err != nil {
		return fmt.Errorf("tune: pbt: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() && e.Name() != checkpoint.Name(ex.DonorIteration) && len(e.Name()) > 5 && e.Name()[:5] == "iter-" {
			if err := os.RemoveAll(filepath.Join(rd, checkpoint.Dir, e.Name())); err != nil {
				return fmt.Errorf("tune: pbt: %w", err)
			}
		}
	}
	var sets []string
	for _, c := range ex.Changes {
		sets = append(sets, c.Key+"="+c.To)
	}
	cfgPath := filepath.Join(src, "config.yaml")
	l, err := config.Load(cfgPath, sets)
	if err != nil {
		return fmt.Errorf("tune: pbt: %s: %w", t.Name, err)
	}
	y, err := l.Config.YAML()
	if err != nil {
		return fmt.Errorf("tune: pbt: %s: %w", t.Name, err)
	}
	if err := writeAtomic(filepath.Join(rd, "config.yaml"), y); err != nil {
		return err
	}
	t.PBT.Pending = nil
	return nil
}

// restoreBudget rewrites the config.yaml of t, which has ended, with its
// own stop.env_steps instead of its last segment's boundary, so that
// the run directory says what the trial ran to (and the report does not
// tell trials apart by their last boundaries).
func (r *pbtRunner) restoreBudget(t *TrialState) error {
	path := filepath.Join(r.dir, t.Dir, "config.yaml")
	l, err := config.Load(path, []string{"stop.env_steps=" + strconv.FormatInt(t.PBT.Budget, 10)})
	if err != nil {
		return fmt.Errorf("tune: pbt: %s: %w", t.Name, err)
	}
	y, err := l.Config.YAML()
	if err != nil {
		return fmt.Errorf("tune: pbt: %s: %w", t.Name, err)
	}
	return writeAtomic(path, y)
}

// gc removes the snapshots no trial holds or waits to copy; with all
// true (the experiment has ended) the whole pbt directory.
func (r *pbtRunner) gc(all bool) {
	root := filepath.Join(r.dir, PBTDir)
	if all {
		os.RemoveAll(root)
		return
	}
	keep := map[string]bool{}
	for _, t := range r.exp.Trials {
		if t.PBT == nil {
			continue
		}
		keep[t.PBT.Snapshot] = true
		if t.PBT.Pending != nil {
			keep[t.PBT.Pending.Snapshot] = true
		}
	}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if rel := filepath.Join(PBTDir, e.Name()); !keep[rel] {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// sortQueue orders waiting trials as Ray Tune's PBT does: least trained
// (env steps at its last boundary) first, so the population advances
// evenly when it does not all fit on the cores at once.
func sortQueue(q []*TrialState) {
	sort.SliceStable(q, func(a, b int) bool {
		ta, tb := int64(0), int64(0)
		if q[a].PBT != nil {
			ta = q[a].PBT.LastTrain
		}
		if q[b].PBT != nil {
			tb = q[b].PBT.LastTrain
		}
		if ta != tb {
			return ta < tb
		}
		return q[a].ID < q[b].ID
	})
}

// BestTrial returns the trial with the best metric (by tune.mode) and
// that metric; nil when no trial has a value.
func (e *Experiment) BestTrial() (*TrialState, float64) {
	var bt *TrialState
	best := math.NaN()
	for _, t := range e.Trials {
		if math.IsNaN(t.Best) {
			continue
		}
		if bt == nil || (e.Tune.Mode == "min" && t.Best < best) || (e.Tune.Mode != "min" && t.Best > best) {
			bt, best = t, t.Best
		}
	}
	return bt, best
}
