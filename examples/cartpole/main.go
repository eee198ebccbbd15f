// Command cartpole trains PPO on CartPole-v1 from Go with train.Run — the
// README's Go example: go run ./examples/cartpole
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/ppo"
	_ "github.com/rlgo/rlgo/envs/classic" // registers CartPole-v1 and friends
	"github.com/rlgo/rlgo/train"
)

func main() {
	out, err := run(context.Background(), "", 300_000)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: stopped by %s at %d env steps, return %.1f\n", out.RunDir, out.StopReason, out.Last.EnvSteps, out.Last.EpisodeReturnMean)
}

// run trains until the mean return of the last 100 episodes reaches 475
// or budget env steps are spent, writing the run directory dir ("" means
// runs/cartpole-<time>).
func run(ctx context.Context, dir string, budget int64) (*train.Outcome, error) {
	cfg := ppo.DefaultConfig()
	cfg.LR, cfg.LRSchedule.Steps = 3e-3, 500_000
	algo, err := ppo.New(cfg, algorithms.Setup{EnvID: "CartPole-v1", Seed: 1}) // 2 workers × 2 envs × 128 steps, 64×64 tanh
	if err != nil {
		return nil, err
	}
	defer algo.Close()
	target := 475.0
	return train.Run(ctx, algo, train.Options{
		Name: "cartpole", Out: dir,
		Stop: train.Stop{EpisodeReturnMean: &target, EnvSteps: budget},
	})
}
