package algorithms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// Loop is the part of a training iteration every algorithm shares, in
// RLlib's order: sample from the fleet (with the weights-version check of
// an on-policy algorithm), record the episodes in the window, merge the
// fragments' observation statistics, broadcast the next weights, and fill
// the iteration's Result. An algorithm holds a *Loop, keeps what is its
// own (learner, loss, buffers) and calls these pieces from its Train.
type Loop struct {
	// Name prefixes errors ("ppo: iteration 3: ...").
	Name string
	// Setup is the validated setup the run was built from.
	Setup Setup
	// Config is the algorithm's own config section (e.g. *ppo.Config).
	Config Config
	// Fleet steps the envs.
	Fleet rollout.Fleet
	// Window holds the last 100 completed training episodes.
	Window *EpisodeWindow
	// Iteration is the number of the iteration in progress (or last done).
	Iteration int
	// EnvSteps is the total env steps sampled so far.
	EnvSteps int64
	// Version is the weights version the fleet acts with.
	Version uint64

	weights    *policy.Weights // the learner's: observation statistics and broadcasts
	start      time.Time
	iterStart  time.Time
	sampleTime time.Duration
}

// NewLoop starts the fleet for the acting policy fs.Policy (s.NewFleet,
// or a local fleet of goroutine workers) with weights w, which are the
// learner's (observation statistics are merged into w.ObsNorm), and
// broadcasts them as version 1.
func NewLoop(ctx context.Context, name string, cfg Config, s Setup, fs rollout.FleetSpec, w *policy.Weights) (*Loop, error) {
	l := &Loop{Name: name, Setup: s, Config: cfg, Window: NewEpisodeWindow(100), weights: w}
	l.Window.SetMetricNames(MetricNames(s.Metrics))
	var err error
	if s.NewFleet != nil {
		l.Fleet, err = s.NewFleet(fs, w)
	} else {
		ws := s.WorkerSpec()
		ws.Columns = fs.Columns
		l.Fleet, err = rollout.NewLocalFleet(s.Rollout, ws, func() (rollout.Policy, error) {
			return rollout.NewPolicy(fs.Policy, w)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := l.Broadcast(ctx); err != nil {
		l.Fleet.Close()
		return nil, fmt.Errorf("%s: initial weights: %w", name, err)
	}
	l.start = time.Now()
	return l, nil
}

// Description says what an algorithm is, so that a run can be recorded
// (config.yaml) and rebuilt by name: its registered name, its own config
// section and the shared setup.
type Description struct {
	Name   string
	Config Config
	Setup  Setup
}

// Describe returns the algorithm's description.
func (l *Loop) Describe() Description {
	return Description{Name: l.Name, Config: l.Config, Setup: l.Setup}
}

// Begin starts the next iteration.
func (l *Loop) Begin() {
	l.Iteration++
	l.iterStart = time.Now()
}

// Errorf returns an error of this iteration, prefixed with the
// algorithm's name and the iteration number.
func (l *Loop) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: iteration %d: %w", l.Name, l.Iteration, fmt.Errorf(format, args...))
}

// Sample gets one fragment from every worker, in worker order, and
// returns them with their total steps, after adding those steps to
// EnvSteps, their completed episodes to the window and their raw
// observation statistics to the weights' (merged in batch order, for the
// next broadcast). With onPolicy, every fragment must have been acted
// with the current weights (PPO); the batches are valid until the next
// Sample.
func (l *Loop) Sample(ctx context.Context, onPolicy bool) ([]*rollout.SampleBatch, int, error) {
	batches, err := l.Fleet.Sample(ctx)
	if err != nil {
		return nil, 0, l.Errorf("sample: %w", err)
	}
	l.sampleTime = time.Since(l.iterStart)
	n := 0
	for _, b := range batches {
		if onPolicy && b.WeightsVersion != l.Version {
			return nil, 0, l.Errorf("batch %s acted with weights v%d, want v%d (%s is on-policy)", b.ID, b.WeightsVersion, l.Version, l.Name)
		}
		n += b.Len()
	}
	l.EnvSteps += int64(n)
	l.Window.AddBatches(batches)
	if err := rollout.MergeObsStats(l.weights.ObsNorm, batches); err != nil {
		return nil, 0, l.Errorf("%w", err)
	}
	return batches, n, nil
}

// Broadcast sends the learner's weights to every worker as the next
// version; the next fragments act with them. Set what the weights carry
// besides the tensors (e.g. Explore.Epsilon) first.
func (l *Loop) Broadcast(ctx context.Context) error {
	l.Version++
	l.weights.Version = l.Version
	return l.Fleet.SetWeights(ctx, l.weights)
}

// Result returns the iteration's Result: counters, timings (n steps
// sampled, learning taking learn), the learner metrics, the episode
// window's statistics and the fleet's health.
func (l *Loop) Result(n int, learn time.Duration, learner []Metric) Result {
	r := Result{
		Iteration:    l.Iteration,
		EnvSteps:     l.EnvSteps,
		TimeS:        time.Since(l.start).Seconds(),
		EnvStepsPerS: float64(n) / time.Since(l.iterStart).Seconds(),
		SampleTimeS:  l.sampleTime.Seconds(),
		LearnTimeS:   learn.Seconds(),
		Learner:      learner,
	}
	l.Window.Fill(&r)
	r.SetFleet(l.Fleet.Health())
	return r
}

// Elapsed is the run's training time so far (restored by a checkpoint).
func (l *Loop) Elapsed() time.Duration { return time.Since(l.start) }

// Close stops the fleet, then closes each of more (the learner, ...).
func (l *Loop) Close(more ...interface{ Close() error }) error {
	var errs []error
	if l != nil && l.Fleet != nil {
		errs = append(errs, l.Fleet.Close())
	}
	for _, c := range more {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
