package algorithms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// The files every algorithm's checkpoint holds (typed msgpack state,
// never code); an algorithm adds its own beside them.
const (
	FileWeights   = "weights.msgpack"   // the learner's weights, their version and what they carry
	FileOptimizer = "optimizer.msgpack" // Adam's moments and step
	FileState     = "state.msgpack"     // LoopState: counters, episode window, the algorithm's RNG
	FileWorkers   = "workers.msgpack"   // local workers' envs and random streams (when they can snapshot)
)

// LoopState is a Loop's saved counters and episode window, with the
// algorithm's own random stream (minibatch shuffling, replay sampling).
type LoopState struct {
	Iteration int         `msgpack:"iteration"`
	EnvSteps  int64       `msgpack:"env_steps"`
	Version   uint64      `msgpack:"version"`
	TimeS     float64     `msgpack:"time_s"`
	RNG       []byte      `msgpack:"rng"`
	Window    WindowState `msgpack:"window"`
}

// Decode decodes the checkpoint file name of files into v. Its limits
// are derived from the file itself: every msgpack element takes at least
// one byte, so decoding allocates at most a small multiple of its size.
func Decode(files map[string][]byte, name string, v any) error {
	b, ok := files[name]
	if !ok {
		return fmt.Errorf("checkpoint lacks %s", name)
	}
	lim := wire.Limits{MaxBytes: max(len(b), 1<<20), MaxElements: max(len(b), 1<<20)}
	if err := wire.Unmarshal(b, v, lim); err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return nil
}

// SaveState returns the files every algorithm's checkpoint holds: the
// learner's weights at the version the fleet acts with, its optimizer
// state, the loop's counters and window with rng's state, and — when the
// fleet is local and its envs can snapshot — every worker's envs and
// random stream, so that a resumed run continues exactly. The algorithm
// adds its own files to the map.
func (l *Loop) SaveState(lr *learner.Learner, rng *envs.RNG) (map[string][]byte, error) {
	files := map[string][]byte{}
	w := lr.Weights().Clone()
	w.Version = l.Version
	var err error
	if files[FileWeights], err = w.Encode(); err != nil {
		return nil, err
	}
	if files[FileOptimizer], err = wire.Marshal(lr.Optimizer().State()); err != nil {
		return nil, err
	}
	st := LoopState{Iteration: l.Iteration, EnvSteps: l.EnvSteps, Version: l.Version, TimeS: l.Elapsed().Seconds(), Window: l.Window.State()}
	if st.RNG, err = rng.MarshalBinary(); err != nil {
		return nil, err
	}
	if files[FileState], err = wire.Marshal(st); err != nil {
		return nil, err
	}
	if f, ok := l.Fleet.(rollout.FleetSnapshotter); ok {
		ws, err := f.Snapshot()
		switch {
		case errors.Is(err, envs.ErrNoSnapshot):
			// Custom envs without Snapshotter resume with fresh episodes.
		case err != nil:
			return nil, err
		default:
			if files[FileWorkers], err = wire.Marshal(ws); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// Restore is a checkpoint's common state, decoded and checked against
// the run (DecodeState) but not yet applied (Apply): an algorithm
// decodes and checks its own files between the two, so that a bad
// checkpoint changes nothing.
type Restore struct {
	l       *Loop
	lr      *learner.Learner
	rng     *envs.RNG
	weights policy.Weights
	adam    learner.AdamState
	state   LoopState
	scratch *envs.RNG
	workers []*rollout.WorkerState // nil: none saved
}

// DecodeState decodes the common files of a checkpoint written by
// SaveState and checks that they fit this run's learner lr (same
// tensors, optimizer sizes) and rng.
func (l *Loop) DecodeState(files map[string][]byte, lr *learner.Learner, rng *envs.RNG) (*Restore, error) {
	r := &Restore{l: l, lr: lr, rng: rng, scratch: envs.NewRNG(0, 0)}
	if err := Decode(files, FileWeights, &r.weights); err != nil {
		return nil, err
	}
	if err := WeightsFit(lr.Weights(), &r.weights); err != nil {
		return nil, fmt.Errorf("checkpoint weights do not fit this network: %w", err)
	}
	if err := Decode(files, FileOptimizer, &r.adam); err != nil {
		return nil, err
	}
	if err := adamFits(lr.Optimizer().State(), &r.adam); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", FileOptimizer, err)
	}
	if err := Decode(files, FileState, &r.state); err != nil {
		return nil, err
	}
	if r.state.Iteration < 0 || r.state.EnvSteps < 0 {
		return nil, fmt.Errorf("checkpoint %s: negative counters (iteration %d, %d env steps)", FileState, r.state.Iteration, r.state.EnvSteps)
	}
	if err := r.scratch.UnmarshalBinary(r.state.RNG); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", FileState, err)
	}
	probe := NewEpisodeWindow(l.Window.Size)
	if err := probe.SetState(r.state.Window); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", FileState, err)
	}
	if _, ok := files[FileWorkers]; ok {
		if err := Decode(files, FileWorkers, &r.workers); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// HasWorkers reports whether the checkpoint holds the workers' state.
func (r *Restore) HasWorkers() bool { return r.workers != nil }

// Workers returns how many workers' states the checkpoint holds.
func (r *Restore) Workers() int { return len(r.workers) }

// Apply restores the decoded state: the learner's weights and optimizer,
// the RNG, the loop's counters and window; broadcasts the weights (set
// what they carry besides the tensors in prepare, e.g. ε, which runs
// after the counters are restored); and restores the local workers'
// envs when it can. workers reports whether they were restored; notes
// say what could not be restored exactly.
func (r *Restore) Apply(prepare func(w *policy.Weights)) (notes []string, workers bool, err error) {
	l := r.l
	if err := r.lr.SetWeights(&r.weights); err != nil {
		return nil, false, err // checked by DecodeState: not reached
	}
	if err := r.lr.Optimizer().SetState(r.adam); err != nil {
		return nil, false, err
	}
	if err := r.rng.UnmarshalBinary(r.state.RNG); err != nil {
		return nil, false, err
	}
	if err := l.Window.SetState(r.state.Window); err != nil {
		return nil, false, err
	}
	l.Iteration, l.EnvSteps, l.Version = r.state.Iteration, r.state.EnvSteps, r.state.Version
	l.start = time.Now().Add(-time.Duration(r.state.TimeS * float64(time.Second)))
	w := r.lr.Weights()
	if prepare != nil {
		prepare(w)
	}
	w.Version = l.Version
	if err := l.Fleet.SetWeights(context.Background(), w); err != nil {
		return nil, false, fmt.Errorf("broadcast restored weights: %w", err)
	}
	f, local := l.Fleet.(rollout.FleetSnapshotter)
	switch {
	case !local:
		return []string{"remote workers start fresh episodes"}, false, nil
	case r.workers == nil:
		return []string{"the envs cannot snapshot their state (no envs.Snapshotter): workers start fresh episodes"}, false, nil
	}
	if err := f.Restore(r.workers); errors.Is(err, rollout.ErrFleetChanged) {
		return []string{err.Error() + ": workers start fresh episodes"}, false, nil
	} else if err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// WeightsFit checks that src has dst's tensors, in order, with their
// sizes, so that dst.CopyFrom(src) cannot fail half-way.
func WeightsFit(dst, src *policy.Weights) error {
	if len(src.Tensors) != len(dst.Tensors) {
		return fmt.Errorf("%d tensors, want %d", len(src.Tensors), len(dst.Tensors))
	}
	for i := range dst.Tensors {
		d, s := &dst.Tensors[i], &src.Tensors[i]
		if d.Name != s.Name || len(d.Data) != len(s.Data) {
			return fmt.Errorf("tensor %d is %s[%d], want %s[%d]", i, s.Name, len(s.Data), d.Name, len(d.Data))
		}
	}
	return nil
}

// adamFits checks that s has the moments' sizes of want.
func adamFits(want, s *learner.AdamState) error {
	if len(s.M) != len(want.M) || len(s.V) != len(want.V) {
		return fmt.Errorf("adam state: %d/%d moments, want %d", len(s.M), len(s.V), len(want.M))
	}
	for i := range s.M {
		if len(s.M[i]) != len(want.M[i]) || len(s.V[i]) != len(want.V[i]) {
			return fmt.Errorf("adam state: parameter %d has %d values, want %d", i, len(s.M[i]), len(want.M[i]))
		}
	}
	return nil
}
