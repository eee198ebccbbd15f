package ppo

import (
	"context"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
)

// greedyEpisodes is how many fresh episodes a learning test's greedy
// evaluation runs.
const greedyEpisodes = 20

// checkGreedy is every learning test's independent check: the policy's
// greedy actions (algorithms.Evaluate, on a fresh env with the training
// wrappers that change what the policy sees, reset with seeds no
// training env used) must average at least min over greedyEpisodes
// episodes. It reads nothing the training loop computed, so a broken
// episode window or a mis-merged fragment cannot pass it.
func checkGreedy(t *testing.T, p *PPO, setup algorithms.Setup, min float64) {
	t.Helper()
	pol, err := p.GreedyPolicy()
	if err != nil {
		t.Fatal(err)
	}
	seed := 1_000_000 + 1000*setup.Seed
	ev, err := algorithms.EvaluateWrapped(context.Background(), setup.EnvID, setup.EnvOptions, setup.Wrappers, pol, greedyEpisodes, seed)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ReturnMean < min {
		t.Errorf("%s seed %d: greedy evaluation over %d fresh episodes (seeds %d…) = %.1f ± %.1f; want >= %g", setup.EnvID, setup.Seed, greedyEpisodes, seed, ev.ReturnMean, ev.ReturnStd, min)
		return
	}
	t.Logf("%s seed %d: greedy evaluation over %d fresh episodes = %.1f ± %.1f (>= %g)", setup.EnvID, setup.Seed, greedyEpisodes, ev.ReturnMean, ev.ReturnStd, min)
}
