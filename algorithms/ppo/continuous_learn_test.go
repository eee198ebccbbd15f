package ppo

import (
	"context"
	"os"
	"reflect"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// Learning tests for PPO with a Box action space (diagonal Gaussian
// policy). The settings mirror the shipped YAML configs field by field;
// change both together.

// pendulumPPO returns configs/pendulum-ppo.yaml's settings.
func pendulumPPO(seed uint64) (Config, algorithms.Setup) {
	cfg := DefaultConfig()
	cfg.LR = 1e-3
	cfg.LRSchedule = algorithms.Schedule{Final: 0, Steps: 500000}
	cfg.Gamma = 0.9
	cfg.Lambda = 0.95
	cfg.Clip = 0.2
	cfg.ClipValueLoss = false
	cfg.Epochs = 10
	cfg.Minibatches = 64
	cfg.EntropyCoeff = 0
	cfg.VFCoeff = 0.5
	cfg.MaxGradNorm = 0.5
	ro := rollout.DefaultConfig()
	ro.Workers, ro.EnvsPerWorker, ro.FragmentLength = 2, 2, 1024
	return cfg, algorithms.Setup{
		EnvID: "Pendulum-v1",
		Wrappers: []envs.WrapperSpec{
			{Name: envs.WrapNormalizeObservation, Options: envs.Options{"clip": 10}},
			{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": 0.9, "clip": 10}},
		},
		Seed:    seed,
		Model:   policy.ModelConfig{Hidden: []int{64, 64}, Activation: policy.Tanh},
		Rollout: ro,
	}
}

// mountainCarContinuousPPO returns configs/mountaincarcontinuous-ppo.yaml's
// settings.
func mountainCarContinuousPPO(seed uint64) (Config, algorithms.Setup) {
	cfg := DefaultConfig()
	cfg.LR = 3e-4
	cfg.Gamma = 0.999
	cfg.Lambda = 0.95
	cfg.Clip = 0.2
	cfg.ClipValueLoss = false
	cfg.Epochs = 10
	cfg.Minibatches = 32
	cfg.EntropyCoeff = 0
	cfg.VFCoeff = 0.5
	cfg.MaxGradNorm = 0.5
	ro := rollout.DefaultConfig()
	ro.Workers, ro.EnvsPerWorker, ro.FragmentLength = 2, 2, 1024
	return cfg, algorithms.Setup{
		EnvID: "MountainCarContinuous-v0",
		Wrappers: []envs.WrapperSpec{
			{Name: envs.WrapNormalizeObservation, Options: envs.Options{"clip": 10}},
			{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": 0.99, "clip": 10}},
		},
		Seed:    seed,
		Model:   policy.ModelConfig{Hidden: []int{64, 64}, Activation: policy.Tanh, LogStdInit: 0.5},
		Rollout: ro,
	}
}

// TestPPOSolvesPendulum is the Box-action learning test: with seed 1 and
// configs/pendulum-ppo.yaml's settings, the mean return of the last 100
// training episodes must reach -250 within 500,000 env steps (it does at
// about 78k steps, ~5 s on a 2-core machine).
func TestPPOSolvesPendulum(t *testing.T) {
	if testing.Short() {
		t.Skip("learning test: skipped with -short")
	}
	cfg, setup := pendulumPPO(1)
	reachReturn(t, cfg, setup, -250, 500000)
}

// TestLongPendulumPPO runs configs/pendulum-ppo.yaml for seeds 1-3, each
// to -250 within 500,000 env steps, and logs the steps and seconds taken.
func TestLongPendulumPPO(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	for _, seed := range []uint64{1, 2, 3} {
		cfg, setup := pendulumPPO(seed)
		reachReturn(t, cfg, setup, -250, 500000)
	}
}

// TestLongMountainCarContinuousPPO runs
// configs/mountaincarcontinuous-ppo.yaml for seeds 1-3, each to
// Gymnasium's reward threshold of 90 within 1,000,000 env steps (they
// reach it at 53k-57k steps), and logs the steps and seconds taken.
func TestLongMountainCarContinuousPPO(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	for _, seed := range []uint64{1, 2, 3} {
		cfg, setup := mountainCarContinuousPPO(seed)
		reachReturn(t, cfg, setup, 90, 1000000)
	}
}

// reachReturn trains until the mean return of the last 100 training
// episodes reaches target, failing the test if budget env steps pass first.
func reachReturn(t *testing.T, cfg Config, setup algorithms.Setup, target float64, budget int64) {
	t.Helper()
	p, err := New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var r algorithms.Result
	for r.EnvSteps < budget {
		if r, err = p.Train(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r.HasEpisodes && r.EpisodeReturnMean >= target {
			t.Logf("%s seed %d: episode_return_mean %.1f >= %g at %d env steps, iteration %d, %.2f s", setup.EnvID, setup.Seed, r.EpisodeReturnMean, target, r.EnvSteps, r.Iteration, r.TimeS)
			checkGreedy(t, p, setup, target)
			return
		}
	}
	t.Fatalf("%s seed %d: episode_return_mean = %.1f after %d env steps (%.2f s); want >= %g within %d", setup.EnvID, setup.Seed, r.EpisodeReturnMean, r.EnvSteps, r.TimeS, target, budget)
}

// TestDeterministicContinuous is TestDeterministic for a Box action space,
// with observation normalisation (statistics merged at the learner) and
// reward normalisation: two runs with the same seed must give identical
// learning fields in every iteration's Result, and a run with another seed
// must not.
func TestDeterministicContinuous(t *testing.T) {
	const iterations = 5
	run := func(seed uint64) []algorithms.Result {
		cfg, setup := pendulumPPO(seed)
		cfg.Minibatches = 8
		setup.Rollout.FragmentLength = 256 // 1024 steps per iteration
		p, err := New(cfg, setup)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		var out []algorithms.Result
		for i := 0; i < iterations; i++ {
			r, err := p.Train(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, learningFields(r))
		}
		return out
	}
	a, b := run(7), run(7)
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Errorf("iteration %d: second run's Result = %+v; want %+v (same seed)", i+1, b[i], a[i])
		}
	}
	if !a[0].HasEpisodes {
		t.Errorf("iteration 1 finished no episodes; the comparison should cover episode returns")
	}
	if c := run(8); reflect.DeepEqual(a[iterations-1], c[iterations-1]) {
		t.Errorf("seeds 7 and 8 gave the same last Result %+v; want them to differ", a[iterations-1])
	}
}
