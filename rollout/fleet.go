package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/rlgo/rlgo/policy"
)

// Fleet is the set of rollout workers an algorithm samples from. The local
// fleet runs workers as goroutines in this process; the remote fleet runs
// them as processes that reach the learner over gRPC. Algorithms see only
// this interface.
type Fleet interface {
	// SetWeights sends w to every worker; their next fragments act with it.
	SetWeights(ctx context.Context, w *policy.Weights) error
	// Sample returns one fragment from every healthy worker, ordered by
	// worker index, all produced with the weights last set.
	//
	// The fleet owns the batches and the slice: they are valid until the
	// next call to Sample, which may reuse their storage for the next
	// fragments. Read them within the iteration, and copy what must
	// outlive it (algorithms/ppo flattens the columns into its own
	// buffers, algorithms/dqn copies transitions into its replay buffer).
	Sample(ctx context.Context) ([]*SampleBatch, error)
	// Health reports the fleet's size and restarts.
	Health() Health
	// Close stops the workers and releases their envs.
	Close() error
}

// Health is a fleet's state, reported every iteration as the fleet/...
// columns. The counters cover the last Sample; a local fleet reports only
// its worker count.
type Health struct {
	Workers  int // fleet/workers: workers currently healthy
	Restarts int // fleet/restarts: workers that came back since the run started
	// Dropped counts fragments given up mid-way (their worker died or hung).
	Dropped int64 // fleet/dropped
	// Stale counts batches refused because they acted with old weights.
	Stale int64 // fleet/stale
	// Duplicate counts retried uploads of a batch already accepted.
	Duplicate int64 // fleet/duplicate
	// Rejected counts uploads refused as malformed, over the run's size
	// budget, or with values out of range.
	Rejected int64 // fleet/rejected
	// BytesReceived is the on-wire size of the batches received.
	BytesReceived int64 // fleet/bytes_received
	// TransferTimeS is the time spent receiving them, in seconds.
	TransferTimeS float64 // fleet/transfer_time_s
	// EnvRestarts counts restarts of crashed or hung external env servers
	// (their episodes in progress ended truncated).
	EnvRestarts int64 // fleet/env_restarts
}

// LocalFleet runs Workers as goroutines, one per worker per Sample call,
// and returns their batches in worker order: with the same seed it is
// deterministic, however the goroutines are scheduled.
type LocalFleet struct {
	workers []*Worker
	// bufs holds one batch per worker, refilled by every Sample (see
	// Fleet.Sample for how long a caller may read them).
	bufs   []*SampleBatch
	closed bool
}

// NewLocalFleet creates cfg.Workers workers; newPolicy builds each one's
// policy copy (from the initial weights).
func NewLocalFleet(cfg Config, spec WorkerSpec, newPolicy func() (Policy, error)) (*LocalFleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("local fleet: %w", err)
	}
	f := &LocalFleet{}
	for i := 0; i < cfg.Workers; i++ {
		p, err := newPolicy()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("local fleet: worker %d policy: %w", i, err)
		}
		w, err := NewWorker(i, cfg, spec, p)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("local fleet: %w", err)
		}
		f.workers = append(f.workers, w)
		f.bufs = append(f.bufs, new(SampleBatch))
	}
	return f, nil
}

// SetWeights copies w into every worker's policy.
func (f *LocalFleet) SetWeights(_ context.Context, w *policy.Weights) error {
	if f.closed {
		return ErrClosed
	}
	for _, wk := range f.workers {
		if err := wk.SetWeights(w); err != nil {
			return err
		}
	}
	return nil
}

// Sample runs every worker's SampleInto concurrently, each into the
// fleet's batch for it, and returns the batches in worker order. They are
// valid until the next Sample (see Fleet.Sample). The errors of every
// failed worker are returned, joined in worker order.
//
// A local fragment takes milliseconds, so cancelling ctx does not cut it
// short: cancellation takes effect at the iteration boundary, where the
// workers' envs are in a state a checkpoint can save exactly.
func (f *LocalFleet) Sample(ctx context.Context) ([]*SampleBatch, error) {
	if f.closed {
		return nil, ErrClosed
	}
	ctx = context.WithoutCancel(ctx)
	errs := make([]error, len(f.workers))
	var wg sync.WaitGroup
	for i, w := range f.workers {
		wg.Go(func() { errs[i] = w.SampleInto(ctx, f.bufs[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.Clone(f.bufs), nil
}

// Health reports the worker count; local workers are never restarted.
func (f *LocalFleet) Health() Health {
	h := Health{Workers: len(f.workers)}
	for _, w := range f.workers {
		h.EnvRestarts += w.EnvRestarts()
	}
	return h
}

// Close closes every worker's envs.
func (f *LocalFleet) Close() error {
	f.closed = true
	var errs []error
	for _, w := range f.workers {
		errs = append(errs, w.Close())
	}
	return errors.Join(errs...)
}
