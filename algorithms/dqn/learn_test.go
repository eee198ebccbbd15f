package dqn_test

import (
	"context"
	"os"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/dqn"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/train/config"
)

// shipped loads a shipped config (configs/NAME.yaml) with the given
// seed, so the learning tests check exactly what users run.
func shipped(t *testing.T, name string, seed uint64) (*config.Loaded, dqn.Config, algorithms.Setup) {
	t.Helper()
	c, err := config.Load("../../configs/"+name+".yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, *c.Section.(*dqn.Config), algorithms.Setup{EnvID: c.Env.ID, EnvOptions: c.Env.Options, Seed: seed, Model: c.Model, Rollout: c.Rollout, Device: "cpu"}
}

// solve trains until the mean return of the last 100 training episodes
// reaches the config's target or its env-step budget is spent, like
// rltrain train --as-test, and returns the last result.
func solve(t *testing.T, name string, seed uint64) (algorithms.Result, bool) {
	c, cfg, setup := shipped(t, name, seed)
	d, err := dqn.New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	target := *c.Stop.EpisodeReturnMean
	var r algorithms.Result
	for r.EnvSteps < c.Stop.EnvSteps {
		if r, err = d.Train(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r.HasEpisodes && r.EpisodeReturnMean >= target {
			// The greedy policy of a run that just reached the training
			// target (with ε-greedy exploration) can score a little
			// below it on other seeds (CartPole seed 3: 461; Acrobot
			// seed 3: −134); a broken learner scores near a random
			// policy. So the bar is 80 % of the way from a random
			// policy's return, measured here, to the target.
			random := randomReturn(t, setup)
			checkGreedy(t, d, setup, random+0.8*(target-random))
			return r, true
		}
	}
	return r, false
}

// TestDQNSolvesCartPole is the learning test: with seed 1, the shipped
// CartPole config must reach a mean return of the last 100 training
// episodes of 475 (Gymnasium's reward_threshold) within 150,000 env steps.
func TestDQNSolvesCartPole(t *testing.T) {
	if testing.Short() {
		t.Skip("learning test: skipped with -short")
	}
	r, ok := solve(t, "cartpole-dqn", 1)
	if !ok {
		t.Fatalf("seed 1: episode_return_mean = %.1f after %d env steps (%.1f s); want >= 475 within 150000", r.EpisodeReturnMean, r.EnvSteps, r.TimeS)
	}
	t.Logf("seed 1: episode_return_mean %.1f at %d env steps, %.1f s", r.EpisodeReturnMean, r.EnvSteps, r.TimeS)
}

// TestLongDQNSeeds checks the criteria for seeds 1, 2 and 3 (the
// long suite, RLGO_LONG=1): CartPole-v1 ≥ 475 within 150k env steps,
// Acrobot-v1 ≥ −100 within 100k, MountainCar-v0 ≥ −120 within 200k (each
// config's stop section).
func TestLongDQNSeeds(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	for _, name := range []string{"cartpole-dqn", "acrobot-dqn", "mountaincar-dqn"} {
		for _, seed := range []uint64{1, 2, 3} {
			r, ok := solve(t, name, seed)
			if !ok {
				t.Errorf("%s seed %d: episode_return_mean = %.1f after %d env steps (%.1f s); want the config's target within its budget", name, seed, r.EpisodeReturnMean, r.EnvSteps, r.TimeS)
				continue
			}
			t.Logf("%s seed %d: episode_return_mean %.1f at %d env steps, %.1f s", name, seed, r.EpisodeReturnMean, r.EnvSteps, r.TimeS)
		}
	}
}
