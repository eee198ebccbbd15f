package ppo

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/minatar"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// randomPolicy picks uniformly random actions from its own stream.
type randomPolicy struct {
	n   int
	rng *rand.Rand
}

func (p randomPolicy) Greedy(_ []float32, n int, actions []int) {
	for i := range n {
		actions[i] = p.rng.IntN(p.n)
	}
}

// TestBreakoutMinAtarBeatsRandom trains PPO with MinAtar's convolutional
// network (conv 16×3×3/1, 128 hidden, ReLU) on Breakout-MinAtar's 10×10×4
// boolean grids for a short budget and checks that its greedy policy,
// evaluated on fresh envs, scores well above a uniformly random policy
// measured on the same envs and seeds.
func TestBreakoutMinAtarBeatsRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for ~100k env steps")
	}
	cfg := DefaultConfig()
	cfg.LR, cfg.Epochs, cfg.Minibatches, cfg.EntropyCoeff = 5e-4, 4, 8, 0.01
	p, err := New(cfg, algorithms.Setup{
		EnvID: "Breakout-MinAtar", Seed: 1,
		Model:   policy.ModelConfig{Conv: []policy.ConvLayer{{Filters: 16, Kernel: 3, Stride: 1}}, Hidden: []int{128}, Activation: policy.ReLU},
		Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 8, FragmentLength: 128, MinWorkers: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	var r algorithms.Result
	for r.EnvSteps < 100_000 {
		if r, err = p.Train(ctx); err != nil {
			t.Fatal(err)
		}
	}
	greedy, err := p.GreedyPolicy()
	if err != nil {
		t.Fatal(err)
	}
	trained, err := algorithms.Evaluate(ctx, "Breakout-MinAtar", nil, greedy, 30, 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	random, err := algorithms.Evaluate(ctx, "Breakout-MinAtar", nil, randomPolicy{n: 6, rng: envs.NewRand(7, 7)}, 30, 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after %d env steps: training return mean %.2f; greedy evaluation %.2f ± %.2f; random policy %.2f ± %.2f",
		r.EnvSteps, r.EpisodeReturnMean, trained.ReturnMean, trained.ReturnStd, random.ReturnMean, random.ReturnStd)
	if trained.ReturnMean < random.ReturnMean+2 {
		t.Errorf("greedy return %.2f after %d env steps; want at least the random policy's %.2f + 2", trained.ReturnMean, r.EnvSteps, random.ReturnMean)
	}
}
