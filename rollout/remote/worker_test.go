package remote

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// startWorkers runs n RunWorker goroutines against s until the test ends.
func startWorkers(t *testing.T, s *bufServer, n int, cfg WorkerConfig) (errs chan error, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errs = make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		c := cfg
		c.Learner, c.Dialer = "passthrough:///bufnet", s.dialer()
		if c.PollTimeout == 0 {
			c.PollTimeout = time.Second
		}
		c.MaxBackoff = 200 * time.Millisecond
		wg.Go(func() { errs <- RunWorker(ctx, c) })
	}
	stop = func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return errs, stop
}

// iterate plays PPO's part: SetWeights(version) then Sample, and checks
// what PPO checks — every batch acted with that version, and the
// iteration holds exactly rollout.workers × envs × fragment_length steps.
func iterate(t *testing.T, f rollout.Fleet, run Run, spec policy.ActorCriticSpec, version uint64) []*rollout.SampleBatch {
	t.Helper()
	w := spec.Init(envs.NewRand(version, 3))
	w.Version = version
	if err := f.SetWeights(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	batches, _, err := sampleWithin(f, 20*time.Second)
	if err != nil {
		t.Fatalf("iteration v%d: Sample: %v", version, err)
	}
	steps := 0
	for _, b := range batches {
		if b.WeightsVersion != version {
			t.Fatalf("iteration v%d: batch %s acted with v%d", version, b.ID, b.WeightsVersion)
		}
		steps += b.Len()
	}
	if want := run.Rollout.StepsPerIteration(); steps != want {
		t.Fatalf("iteration v%d: %d steps; want %d", version, steps, want)
	}
	return batches
}

func TestWorkersInProcess(t *testing.T) {
	run := cartPoleRun()
	run.Rollout.Workers = 3 // three fragments from two workers
	cfg := fastConfig()
	cfg.MinWorkers = 2
	s := startBuf(t, cfg, run)
	spec := cartPoleSpec()
	f, err := s.Fleet(spec, initWeights(spec, 1))
	if err != nil {
		t.Fatal(err)
	}
	_, stop := startWorkers(t, s, 2, WorkerConfig{})
	for v := uint64(1); v <= 5; v++ {
		iterate(t, f, run, spec, v)
	}
	st := f.Stats()
	if st.Workers != 2 || st.Restarts != 0 || st.Total.Fragments != 15 || st.Total.Stale+st.Total.Duplicate+st.Total.Rejected != 0 {
		t.Errorf("Stats() = %+v; want 2 workers, 15 fragments, nothing stale, duplicate or rejected", st)
	}
	if st.Total.BytesReceived <= 0 || st.Total.TransferTime <= 0 {
		t.Errorf("Stats() = %+v; want bytes received and transfer time", st.Total)
	}
	// The run ends: workers are told so and return nil.
	f.Close()
	stop()
}

func TestWorkerRecreatesEnvAfterPanic(t *testing.T) {
	run := cartPoleRun()
	run.EnvID = "rlgo-test/FlakyCartPole-v0"
	flakySteps.Lock()
	at := flakySteps.n + 20
	flakySteps.Unlock()
	run.EnvOptions = envs.Options{"panic_at": float64(at)}
	s := startBuf(t, fastConfig(), run)
	spec := cartPoleSpec()
	f, _ := s.Fleet(spec, initWeights(spec, 1))
	startWorkers(t, s, 1, WorkerConfig{})
	for v := uint64(1); v <= 3; v++ {
		iterate(t, f, run, spec, v)
	}
	if st := f.Stats(); st.Total.EnvErrors != 1 || st.Total.Dropped != 1 {
		t.Errorf("Stats() = %+v; want 1 env error and its fragment dropped", st.Total)
	}
}

func TestWorkerFailsOnEnvErrorWhenAsked(t *testing.T) {
	run := cartPoleRun()
	run.EnvID = "rlgo-test/FlakyCartPole-v0"
	flakySteps.Lock()
	at := flakySteps.n + 20
	flakySteps.Unlock()
	run.EnvOptions = envs.Options{"panic_at": float64(at)}
	s := startBuf(t, fastConfig(), run)
	spec := cartPoleSpec()
	f, _ := s.Fleet(spec, initWeights(spec, 1))
	f.SetWeights(context.Background(), initWeights(spec, 1))
	errs, _ := startWorkers(t, s, 1, WorkerConfig{OnEnvError: OnEnvErrorFail})
	select {
	case err := <-errs:
		var ee *envs.EnvError
		if !errors.Is(err, ErrEnv) || !errors.As(err, &ee) {
			t.Errorf("RunWorker = %v; want ErrEnv wrapping *envs.EnvError", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("RunWorker did not fail within 20 s")
	}
}

// TestWorkerReregistersWhenForgotten: the learner drops a worker (as
// after a network partition); the worker's next call gets NotFound and
// it registers again with its old id, which counts as a restart.
func TestWorkerReregistersWhenForgotten(t *testing.T) {
	run := cartPoleRun()
	s := startBuf(t, fastConfig(), run)
	spec := cartPoleSpec()
	f, _ := s.Fleet(spec, initWeights(spec, 1))
	startWorkers(t, s, 1, WorkerConfig{})
	iterate(t, f, run, spec, 1)
	f.mu.Lock()
	for _, m := range f.members {
		f.remove(m, true)
	}
	f.mu.Unlock()
	eventually(t, 10*time.Second, "worker registers again", func() bool { return f.Stats().Workers == 1 })
	iterate(t, f, run, spec, 2)
	if st := f.Stats(); st.Restarts != 1 {
		t.Errorf("Stats().Restarts = %d; want 1", st.Restarts)
	}
}
