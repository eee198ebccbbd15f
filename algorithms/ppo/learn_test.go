package ppo

import (
	"context"
	"os"
	"reflect"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// cleanRLCartPole returns CleanRL ppo.py's CartPole settings: its defaults
// with the learning rate annealed to 0 over its 500k steps, and 4×128 steps
// per iteration as 2 workers × 2 envs × 128.
func cleanRLCartPole(seed uint64) (Config, algorithms.Setup) {
	cfg := DefaultConfig()
	cfg.LRSchedule = algorithms.Schedule{Final: 0, Steps: 500000}
	return cfg, algorithms.Setup{EnvID: "CartPole-v1", Seed: seed, Model: policy.DefaultModelConfig(), Rollout: rollout.DefaultConfig()}
}

// TestPPOSolvesCartPole is the learning test: with seed 1 and the shipped
// configs/cartpole-ppo.yaml settings (CleanRL's with lr 3e-3), the mean
// return of the last 100 episodes must reach CartPole-v1's solved
// threshold of 475 (Gymnasium's reward_threshold) within 300,000 env steps.
func TestPPOSolvesCartPole(t *testing.T) {
	if testing.Short() {
		t.Skip("learning test: skipped with -short")
	}
	cfg, setup := cleanRLCartPole(1)
	cfg.LR = 3e-3
	solveCartPole(t, cfg, setup, 300000)
}

// TestLongCleanRLHyperparameters checks that with CleanRL's own
// hyperparameters our PPO is as sample-efficient as CleanRL's, which first
// reaches 475 at 262k-283k steps (facts.md, seeds 1-3): 500k budget.
func TestLongCleanRLHyperparameters(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	for _, seed := range []uint64{1, 2, 3} {
		cfg, setup := cleanRLCartPole(seed)
		solveCartPole(t, cfg, setup, 500000)
	}
}

func solveCartPole(t *testing.T, cfg Config, setup algorithms.Setup, budget int64) {
	t.Helper()
	const solved = 475
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
		if r.HasEpisodes && r.EpisodeReturnMean >= solved {
			t.Logf("seed %d solved: episode_return_mean %.1f at %d env steps, iteration %d, %.2f s", setup.Seed, r.EpisodeReturnMean, r.EnvSteps, r.Iteration, r.TimeS)
			checkGreedy(t, p, setup, solved)
			return
		}
	}
	t.Fatalf("seed %d: episode_return_mean = %.1f after %d env steps (%.2f s); want >= %d within %d", setup.Seed, r.EpisodeReturnMean, r.EnvSteps, r.TimeS, solved, budget)
}

// learningFields blanks a Result's wall-clock fields, leaving what the
// seed must determine.
func learningFields(r algorithms.Result) algorithms.Result {
	r.TimeS, r.EnvStepsPerS, r.SampleTimeS, r.LearnTimeS = 0, 0, 0, 0
	return r
}

// TestDeterministic runs PPO twice with the same seed: every learning
// field of every iteration's Result must be identical.
func TestDeterministic(t *testing.T) {
	const iterations = 10
	run := func() []algorithms.Result {
		cfg, setup := cleanRLCartPole(7)
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
	a, b := run(), run()
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Errorf("iteration %d: second run's Result = %+v; want %+v (same seed)", i+1, b[i], a[i])
		}
	}
}
