package remote

// WorkerMetrics receives a worker's counts as it runs (rltrain worker
// --metrics-addr serves them to Prometheus). Its methods are called from
// the worker's loop and must not block.
type WorkerMetrics interface {
	// Sampled is called after a fragment of envSteps env steps (all the
	// worker's envs together) is sampled.
	Sampled(envSteps int)
	// Uploaded is called after the learner answered a batch's upload
	// (accepted, or not counted as stale or duplicate), not for a batch
	// given up on.
	Uploaded()
	// EnvError is called when an env fails (panics or returns NaN),
	// whether the worker recreates its envs or ends.
	EnvError()
}

// nopMetrics is the WorkerMetrics of a worker without one.
type nopMetrics struct{}

func (nopMetrics) Sampled(int) {}
func (nopMetrics) Uploaded()   {}
func (nopMetrics) EnvError()   {}

// metrics returns cfg.Metrics, or a WorkerMetrics that does nothing.
func (c WorkerConfig) metrics() WorkerMetrics {
	if c.Metrics == nil {
		return nopMetrics{}
	}
	return c.Metrics
}
