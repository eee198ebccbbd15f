package algorithms

import (
	"fmt"

	"github.com/rlgo/rlgo/rollout"
)

// Callbacks are Go functions a program that trains through train.Run
// (train.Options.Callbacks) has called as training goes, to watch
// episodes and add its own metrics. Any of them may be nil. They run on
// the run loop's goroutine, between iterations, so they need no locking but
// should be quick.
type Callbacks struct {
	// Metrics declares the names (without the "custom/" prefix) of the
	// metrics OnIterationEnd adds with Result.AddCustom, so that
	// progress.csv's header is known before the first row: each becomes
	// the column custom/<name>, after the env's declared metrics
	// (env.metrics). Names are 1-64 letters, digits, '_', '.' or '-'.
	Metrics []string
	// OnEpisodeEnd is called for every training episode completed, in
	// the window's order (worker, then completion step, then env), once
	// the iteration that completed it has finished and before its
	// OnIterationEnd. ep.Metrics holds the env.metrics values in declared
	// order.
	OnEpisodeEnd func(ep rollout.EpisodeStats)
	// OnIterationEnd is called after each iteration (and its evaluation,
	// when one ran), before its row is written. It may add the metrics
	// declared in Metrics with r.AddCustom; a metric it leaves out is
	// empty in that row. Other fields are for reading.
	OnIterationEnd func(r *Result)
}

// Validate checks the declared metric names: well-formed and unique.
func (c Callbacks) Validate() error {
	specs := make([]rollout.MetricSpec, len(c.Metrics))
	for i, name := range c.Metrics {
		specs[i] = rollout.MetricSpec{Name: name}
	}
	if err := rollout.ValidateMetrics(specs); err != nil {
		return fmt.Errorf("callbacks: %w", err)
	}
	return nil
}

// Call runs the callbacks for the finished iteration r: OnEpisodeEnd for
// each of r.NewEpisodes in order, then OnIterationEnd.
func (c Callbacks) Call(r *Result) {
	if c.OnEpisodeEnd != nil {
		for _, ep := range r.NewEpisodes {
			c.OnEpisodeEnd(ep)
		}
	}
	if c.OnIterationEnd != nil {
		c.OnIterationEnd(r)
	}
}
