package rollout

import (
	"errors"
	"fmt"
	"slices"

	"github.com/rlgo/rlgo/envs"
)

// WorkerState is a Worker's saved state: its envs (when they can snapshot),
// its random stream and its batch sequence number.
type WorkerState struct {
	Index int               `msgpack:"index"`
	Seq   int               `msgpack:"seq"`
	RNG   []byte            `msgpack:"rng"`
	Envs  *envs.VectorState `msgpack:"envs"`
	// Metrics are the custom metrics of the envs' unfinished episodes.
	Metrics []float64 `msgpack:"metrics"`
}

// Snapshot saves the worker. An env without envs.Snapshotter makes it fail
// with an error wrapping envs.ErrNoSnapshot.
func (w *Worker) Snapshot() (*WorkerState, error) {
	rng, err := w.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	sn, ok := w.venv.(snapshotter)
	if !ok {
		return nil, fmt.Errorf("worker %d: external envs: %w", w.index, envs.ErrNoSnapshot)
	}
	venv, err := sn.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("worker %d: %w", w.index, err)
	}
	return &WorkerState{Index: w.index, Seq: w.seq, RNG: rng, Envs: venv, Metrics: slices.Clone(w.metrics.acc)}, nil
}

// Restore returns the worker to a Snapshot of the worker with the same index.
func (w *Worker) Restore(st *WorkerState) error {
	if st.Index != w.index || st.Envs == nil {
		return fmt.Errorf("worker %d: cannot restore the state of worker %d", w.index, st.Index)
	}
	sn, ok := w.venv.(snapshotter)
	if !ok {
		return fmt.Errorf("worker %d: external envs: %w", w.index, envs.ErrNoSnapshot)
	}
	if err := sn.Restore(st.Envs); err != nil {
		return fmt.Errorf("worker %d: %w", w.index, err)
	}
	if err := w.rng.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("worker %d: %w", w.index, err)
	}
	w.seq = st.Seq
	if len(st.Metrics) == len(w.metrics.acc) {
		copy(w.metrics.acc, st.Metrics)
	}
	return nil
}

// FleetSnapshotter is implemented by fleets that can save and restore
// their workers' state (the local fleet); algorithms checkpoint through it.
type FleetSnapshotter interface {
	Snapshot() ([]*WorkerState, error)
	Restore([]*WorkerState) error
}

// ErrFleetChanged is returned by LocalFleet.Restore when the saved state
// belongs to a fleet of another size: the workers then keep their fresh
// episodes (a checkpoint still restores, RLlib #36761).
var ErrFleetChanged = errors.New("fleet size changed since the checkpoint")

// Snapshot saves every worker, in index order.
func (f *LocalFleet) Snapshot() ([]*WorkerState, error) {
	out := make([]*WorkerState, len(f.workers))
	for i, w := range f.workers {
		st, err := w.Snapshot()
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// Restore returns every worker to its saved state. It fails with
// ErrFleetChanged, leaving the workers as they are, when the fleet has
// another number of workers than the snapshot.
func (f *LocalFleet) Restore(states []*WorkerState) error {
	if len(states) != len(f.workers) {
		return fmt.Errorf("%w: %d workers saved, %d now", ErrFleetChanged, len(states), len(f.workers))
	}
	for i, w := range f.workers {
		if err := w.Restore(states[i]); err != nil {
			return err
		}
	}
	return nil
}
