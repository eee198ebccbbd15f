package report

import (
	"context"
	"path/filepath"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/train"
)

// Dir is the run directory's subdirectory that the Tracker writes the
// report into.
const Dir = "report"

// Tracker is a train.Tracker that writes the run's report into
// RUN_DIR/report/ when the run ends: finished, failed or interrupted
// (runner calls Finish in every case), so every run leaves a picture.
type Tracker struct {
	dir string
}

// NewTracker returns a Tracker.
func NewTracker() *Tracker { return &Tracker{} }

var _ train.Tracker = (*Tracker)(nil)

// Start records the run directory.
func (t *Tracker) Start(_ context.Context, run train.RunInfo) error {
	t.dir = run.Dir
	return nil
}

// Iteration does nothing: the report is drawn once, from the files the
// runner wrote.
func (t *Tracker) Iteration(context.Context, algorithms.Result) error { return nil }

// Finish writes the report of the run (a run with no iteration yet gets
// empty plots that say so).
func (t *Tracker) Finish(context.Context, *train.ResultFile) error {
	if t.dir == "" {
		return nil
	}
	_, err := Generate([]string{t.dir}, Options{Out: filepath.Join(t.dir, Dir), Title: "Learning curves: " + filepath.Base(t.dir)})
	return err
}
