package remote

import (
	"sync"
	"testing"
	"time"

	"github.com/rlgo/rlgo/envs"
)

// countingMetrics is a WorkerMetrics that counts.
type countingMetrics struct {
	mu                       sync.Mutex
	steps, uploads, envError int
}

func (c *countingMetrics) Sampled(n int) { c.mu.Lock(); c.steps += n; c.mu.Unlock() }
func (c *countingMetrics) Uploaded()     { c.mu.Lock(); c.uploads++; c.mu.Unlock() }
func (c *countingMetrics) EnvError()     { c.mu.Lock(); c.envError++; c.mu.Unlock() }

func (c *countingMetrics) get() (int, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.steps, c.uploads, c.envError
}

// TestWorkerMetricsHook: a worker reports the env steps it sampled, the
// batches it uploaded and its env failures to WorkerConfig.Metrics.
func TestWorkerMetricsHook(t *testing.T) {
	run := cartPoleRun()
	run.EnvID = "rlgo-test/FlakyCartPole-v0"
	flakySteps.Lock()
	at := flakySteps.n + 20
	flakySteps.Unlock()
	run.EnvOptions = envs.Options{"panic_at": float64(at)}
	s := startBuf(t, fastConfig(), run)
	spec := cartPoleSpec()
	f, _ := s.Fleet(spec, initWeights(spec, 1))
	m := &countingMetrics{}
	_, stop := startWorkers(t, s, 1, WorkerConfig{Metrics: m})
	for v := uint64(1); v <= 3; v++ {
		iterate(t, f, run, spec, v)
	}
	st := f.Stats().Total
	// The last upload's answer may still be on its way to the worker.
	eventually(t, 5*time.Second, "the worker sees its last upload answered", func() bool {
		_, u, _ := m.get()
		return u >= int(st.Fragments)
	})
	stop()
	steps, uploads, envErrors := m.get()
	frag := run.Rollout.EnvsPerWorker * run.Rollout.FragmentLength
	if uploads != int(st.Fragments) || steps != uploads*frag || envErrors != 1 {
		t.Errorf("metrics: %d steps, %d uploads, %d env errors; want %d uploads (the learner's fragments) of %d steps and 1 env error",
			steps, uploads, envErrors, st.Fragments, frag)
	}
}
