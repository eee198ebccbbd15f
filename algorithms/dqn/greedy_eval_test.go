package dqn_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/dqn"
)

// greedyEpisodes is how many fresh episodes a learning test's greedy
// evaluation runs.
const greedyEpisodes = 20

// checkGreedy is every learning test's independent check: the
// Q-network's greedy actions (algorithms.Evaluate on a fresh env reset
// with seeds no training env used) must average at least min over
// greedyEpisodes episodes. It reads nothing the training loop computed,
// so a broken episode window cannot pass it, and a learner broken by a
// swapped τ or a wrong target (returns near a random policy's ~22 on
// CartPole) cannot either.
func checkGreedy(t *testing.T, d *dqn.DQN, setup algorithms.Setup, min float64) {
	t.Helper()
	pol, err := d.GreedyPolicy()
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

// uniformPolicy acts uniformly at random from its own stream.
type uniformPolicy struct {
	n   int
	rng *rand.Rand
}

func (p uniformPolicy) Greedy(_ []float32, n int, actions []int) {
	for i := range n {
		actions[i] = p.rng.IntN(p.n)
	}
}

// randomReturn is a uniformly random policy's mean return on the fresh
// envs checkGreedy evaluates on.
func randomReturn(t *testing.T, setup algorithms.Setup) float64 {
	t.Helper()
	sp, err := setup.WithDefaults().Spaces()
	if err != nil {
		t.Fatal(err)
	}
	seed := 1_000_000 + 1000*setup.Seed
	ev, err := algorithms.EvaluateWrapped(context.Background(), setup.EnvID, setup.EnvOptions, setup.Wrappers, uniformPolicy{n: sp.NumActions, rng: rand.New(rand.NewPCG(seed, 7))}, greedyEpisodes, seed)
	if err != nil {
		t.Fatal(err)
	}
	return ev.ReturnMean
}
