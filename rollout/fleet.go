package rollout

import (
	"context"
	"errors"
	"fmt"
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
	// BytesReceived is the on-wire size of the batches received.
	BytesReceived int64 // fleet/bytes_received
	// TransferTimeS is the time spent receiving them, in seconds.
	TransferTimeS float64 // fleet/transfer_time_s
}

// LocalFleet runs Workers as goroutines, one per worker per Sample call,
// and returns their batches in worker order: with the same seed it is
// deterministic, however the goroutines are scheduled.
type LocalFleet struct {
	workers []*Worker
	closed  bool
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

// Sample runs every worker's Sample concurrently and returns the batches
// in worker order. The first error (by worker order) is returned.
//
// A local fragment takes milliseconds, so cancelling ctx does not cut it
// short: cancellation takes effect at the iteration boundary, where the
// workers' envs are in a state a checkpoint can save exactly.
func (f *LocalFleet) Sample(ctx context.Context) ([]*SampleBatch, error) {
	if f.closed {
		return nil, ErrClosed
	}
	ctx = context.WithoutCancel(ctx)
	out := make([]*SampleBatch, len(f.workers))
	errs := make([]error, len(f.workers))
	var wg sync.WaitGroup
	for i, w := range f.workers {
		wg.Go(func() { out[i], errs[i] = w.Sample(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Health reports the worker count; local workers are never restarted.
func (f *LocalFleet) Health() Health { return Health{Workers: len(f.workers)} }

// Close closes every worker's envs.
func (f *LocalFleet) Close() error {
	f.closed = true
	var errs []error
	for _, w := range f.workers {
		errs = append(errs, w.Close())
	}
	return errors.Join(errs...)
}
