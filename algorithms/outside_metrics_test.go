package algorithms_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/dqn"
	"github.com/rlgo/rlgo/algorithms/ppo"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/rollout/remote"
)

// These tests check the episode metrics every Result reports
// (episode_return_mean, _min, _max, episode_len_mean, episodes) from
// outside the code under test: a fleet decorator records the batches the
// algorithm sampled, the test rebuilds every episode from the batches'
// reward and done columns, checks the episode statistics the batches
// carry against them, and recomputes the metrics over the last 100
// episodes in the documented merge order (design.md: worker index, then
// within a fragment by completion step, then env index; oldest first).
// A learning test that reads episode_return_mean cannot be fooled by a
// window of 1 or a mis-merged fragment while these pass.

// windowSize is design.md's: the mean over the last 100 completed
// training episodes.
const windowSize = 100

// episode is one completed training episode as the test sees it.
type episode struct {
	worker, env, step int
	ret               float64
	length            int
}

// recorder is a rollout.Fleet that records, for every Sample, the
// episodes the batches carry, and checks them against the columns.
type recorder struct {
	rollout.Fleet
	t *testing.T
	// continuous: the fleet keeps each worker's envs across fragments
	// (the local fleet), so whole episodes can be rebuilt from the
	// columns; a remote fleet may hand a task to another process.
	continuous bool

	mu sync.Mutex
	// iterations holds the carried episodes of each Sample, in batch order.
	iterations [][]episode
	// running are the local fleet's per-(worker, env) sums of the
	// episode in progress.
	running map[[2]int]*episode
}

func newRecorder(t *testing.T, continuous bool) *recorder {
	return &recorder{t: t, continuous: continuous, running: map[[2]int]*episode{}}
}

// wrap returns a NewFleetFunc that records the fleet newFleet builds.
func (r *recorder) wrap(newFleet rollout.NewFleetFunc) rollout.NewFleetFunc {
	return func(spec rollout.FleetSpec, w *policy.Weights) (rollout.Fleet, error) {
		f, err := newFleet(spec, w)
		if err != nil {
			return nil, err
		}
		r.Fleet = f
		return r, nil
	}
}

// Sample records the batches (they are only valid until the next Sample).
func (r *recorder) Sample(ctx context.Context) ([]*rollout.SampleBatch, error) {
	batches, err := r.Fleet.Sample(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var eps []episode
	for _, b := range batches {
		eps = append(eps, r.record(b)...)
	}
	r.iterations = append(r.iterations, eps)
	return batches, nil
}

// record returns b's carried episodes after checking them against its
// columns: each ends where its env's terminated or truncated flag is
// set, in completion order (step, then env), one per flag; an episode
// that started inside the fragment has the return and length of its
// rewards; with a continuous fleet every episode is rebuilt in full.
func (r *recorder) record(b *rollout.SampleBatch) []episode {
	t := r.t
	N := b.NumEnvs
	var derived []ended
	start := make([]int, N) // first step of each env's episode within the fragment
	for step := 0; step < b.Steps; step++ {
		for env := 0; env < N; env++ {
			k := step*N + env
			key := [2]int{b.WorkerIndex, env}
			run := r.running[key]
			if run == nil {
				run = &episode{}
				r.running[key] = run
			}
			run.ret += float64(b.Rewards[k])
			run.length++
			if !b.Terminated[k] && !b.Truncated[k] {
				continue
			}
			e := ended{env: env, step: step, start: start[env], ret0: sumRewards(b, env, start[env], step), ret: run.ret, length: run.length}
			derived = append(derived, e)
			*run = episode{}
			start[env] = step + 1
		}
	}
	if len(b.Episodes) != len(derived) {
		t.Errorf("batch %s (worker %d): %d episodes carried; the done flags end %d", b.ID, b.WorkerIndex, len(b.Episodes), len(derived))
		return nil
	}
	out := make([]episode, len(derived))
	for i, c := range b.Episodes {
		d := derived[i]
		out[i] = episode{worker: b.WorkerIndex, env: c.Env, step: c.Step, ret: c.Return, length: c.Length}
		if c.Worker != b.WorkerIndex || c.Env != d.env || c.Step != d.step {
			t.Errorf("batch %s: episode %d carried as worker %d env %d step %d; the columns end one at worker %d env %d step %d (completion order: step, then env)", b.ID, i, c.Worker, c.Env, c.Step, b.WorkerIndex, d.env, d.step)
			continue
		}
		// Episodes that began inside the fragment: return and length from its columns alone.
		if d.start > 0 || c.Length == d.step+1 {
			if n := d.step - d.start + 1; c.Length != n || !near(c.Return, d.ret0, 1e-4) {
				t.Errorf("batch %s: episode ending at step %d env %d carried as return %v length %d; its rewards sum to %v over %d steps", b.ID, c.Step, c.Env, c.Return, c.Length, d.ret0, n)
			}
		} else if c.Length < d.step+1 {
			t.Errorf("batch %s: episode ending at step %d env %d has length %d; it spans at least %d steps of the fragment", b.ID, c.Step, c.Env, c.Length, d.step+1)
		}
		if r.continuous && (c.Length != d.length || !near(c.Return, d.ret, 1e-4)) {
			t.Errorf("batch %s: episode ending at step %d env %d carried as return %v length %d; rebuilt from every fragment: %v, %d", b.ID, c.Step, c.Env, c.Return, c.Length, d.ret, d.length)
		}
	}
	return out
}

// ended is an episode end found in a fragment's done flags: its env and
// step, the step its episode began at within the fragment (0 if earlier),
// the sum of its rewards within the fragment, and, with a continuous
// fleet, its whole return and length.
type ended struct {
	env, step, start int
	ret0, ret        float64
	length           int
}

func sumRewards(b *rollout.SampleBatch, env, from, to int) float64 {
	var s float64
	for step := from; step <= to; step++ {
		s += float64(b.Rewards[step*b.NumEnvs+env])
	}
	return s
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// check compares results[i] (the Result of Sample i) with the metrics
// recomputed from the recorded episodes.
func (r *recorder) check(results []algorithms.Result) (episodes int) {
	t := r.t
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(results) != len(r.iterations) {
		t.Fatalf("%d results for %d Sample calls", len(results), len(r.iterations))
	}
	var all []episode
	for i, res := range results {
		all = append(all, r.iterations[i]...)
		if res.Episodes != int64(len(all)) || res.HasEpisodes != (len(all) > 0) {
			t.Errorf("iteration %d: episodes = %d (has %v); the batches carried %d", res.Iteration, res.Episodes, res.HasEpisodes, len(all))
		}
		if len(res.NewEpisodes) != len(r.iterations[i]) {
			t.Errorf("iteration %d: %d new episodes; the batches carried %d", res.Iteration, len(res.NewEpisodes), len(r.iterations[i]))
		}
		if len(all) == 0 {
			continue
		}
		last := all[max(0, len(all)-windowSize):]
		var sum, lsum float64
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, e := range last {
			sum += e.ret
			lsum += float64(e.length)
			lo, hi = math.Min(lo, e.ret), math.Max(hi, e.ret)
		}
		want := []float64{sum / float64(len(last)), lo, hi, lsum / float64(len(last))}
		got := []float64{res.EpisodeReturnMean, res.EpisodeReturnMin, res.EpisodeReturnMax, res.EpisodeLenMean}
		for j, name := range []string{"episode_return_mean", "episode_return_min", "episode_return_max", "episode_len_mean"} {
			if !near(got[j], want[j], 1e-9) {
				t.Errorf("iteration %d: %s = %v; want %v over the last %d of %d episodes the batches carried", res.Iteration, name, got[j], want[j], len(last), len(all))
			}
		}
	}
	return len(all)
}

// train runs n iterations and returns their Results.
func train(t *testing.T, a algorithms.Algorithm, n int) []algorithms.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out []algorithms.Result
	for i := 0; i < n; i++ {
		r, err := a.Train(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// localFleet is what algorithms.NewLoop builds when Setup.NewFleet is nil.
func localFleet(s algorithms.Setup) rollout.NewFleetFunc {
	return func(fs rollout.FleetSpec, w *policy.Weights) (rollout.Fleet, error) {
		return rollout.NewLocalFleet(s.Rollout, s.WorkerSpec(), func() (rollout.Policy, error) { return rollout.NewPolicy(fs.Policy, w) })
	}
}

// remoteFleet serves a remote fleet on a loopback port with s.Rollout.Workers
// worker goroutines (remote.RunWorker, real gRPC over TCP) and returns its
// NewFleetFunc; everything stops at the end of the test.
func remoteFleet(t *testing.T, s algorithms.Setup) rollout.NewFleetFunc {
	t.Helper()
	srv, err := remote.Listen(remote.Config{Listen: "127.0.0.1:0", MinWorkers: s.Rollout.Workers, StartTimeout: time.Minute, SampleTimeout: time.Minute},
		remote.Run{EnvID: s.EnvID, EnvOptions: s.EnvOptions, Wrappers: s.Wrappers, Rollout: s.Rollout, Seed: s.Seed})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	addr := srv.Addr().(*net.TCPAddr).String()
	for i := 0; i < s.Rollout.Workers; i++ {
		wg.Go(func() {
			if err := remote.RunWorker(ctx, remote.WorkerConfig{Learner: addr}); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("worker %d: %v", i, err)
			}
		})
	}
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
	})
	return srv.NewFleet
}

// unevenCartPole is CartPole-v1 paying 1 for pushing left and ½ for
// pushing right, so that an episode's return and its length differ and
// cannot be mistaken for each other.
const unevenCartPole = "rlgo-test/UnevenCartPole-v0"

func init() {
	envs.Register(envs.Spec{ID: unevenCartPole, MaxEpisodeSteps: 500, New: func(envs.Options) (envs.Env, error) {
		c, err := classic.NewCartPole(nil)
		return &unevenEnv{c}, err
	}})
}

type unevenEnv struct{ envs.Env }

func (e *unevenEnv) Step(a envs.Action) (envs.StepResult, error) {
	r, err := e.Env.Step(a)
	if a.Discrete == 1 {
		r.Reward /= 2
	}
	return r, err
}

func ppoSetup() (ppo.Config, algorithms.Setup) {
	cfg := ppo.DefaultConfig()
	return cfg, algorithms.Setup{EnvID: unevenCartPole, Seed: 3, Device: "cpu", Model: policy.DefaultModelConfig(),
		Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 128}}
}

func dqnSetup() (dqn.Config, algorithms.Setup) {
	cfg := dqn.DefaultConfig()
	cfg.LR, cfg.BufferSize, cfg.BatchSize = 1e-3, 4000, 32
	cfg.LearningStarts, cfg.TrainFreq, cfg.TargetUpdateInterval = 256, 4, 64
	cfg.EpsilonSchedule = algorithms.Schedule{Final: 0.05, Steps: 2000}
	return cfg, algorithms.Setup{EnvID: unevenCartPole, Seed: 4, Device: "cpu",
		Model:   policy.ModelConfig{Hidden: []int{32, 32}, Activation: policy.ReLU},
		Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 64}}
}

// TestEpisodeMetricsFromOutside runs PPO and DQN on the local fleet and
// on a remote fleet of loopback workers for enough iterations that more
// than 100 episodes complete, and checks every iteration's episode
// metrics against those recomputed from the batches.
func TestEpisodeMetricsFromOutside(t *testing.T) {
	for _, tc := range []struct {
		algo, fleet string
		iterations  int
	}{
		{"ppo", "local", 30}, {"ppo", "remote", 30},
		{"dqn", "local", 30}, {"dqn", "remote", 30},
	} {
		t.Run(tc.algo+"/"+tc.fleet, func(t *testing.T) {
			rec := newRecorder(t, tc.fleet == "local")
			var a algorithms.Algorithm
			var err error
			switch tc.algo {
			case "ppo":
				cfg, s := ppoSetup()
				s.NewFleet = rec.wrap(fleetFor(t, tc.fleet, s))
				a, err = ppo.New(cfg, s)
			case "dqn":
				cfg, s := dqnSetup()
				s.NewFleet = rec.wrap(fleetFor(t, tc.fleet, s))
				a, err = dqn.New(cfg, s)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			results := train(t, a, tc.iterations)
			n := rec.check(results)
			if n <= 2*windowSize {
				t.Errorf("%d episodes in %d iterations; want more than %d so that the window is full and has moved", n, tc.iterations, 2*windowSize)
			}
			t.Logf("%d episodes; last episode_return_mean %.1f", n, results[len(results)-1].EpisodeReturnMean)
		})
	}
}

func fleetFor(t *testing.T, kind string, s algorithms.Setup) rollout.NewFleetFunc {
	switch kind {
	case "local":
		return localFleet(s)
	case "remote":
		return remoteFleet(t, s)
	}
	panic(fmt.Sprintf("fleet %q", kind))
}
