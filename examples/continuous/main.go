// Command continuous trains PPO with a diagonal Gaussian policy on
// Pendulum-v1 (a Box action space), with observations normalised across
// the fleet and rewards normalised per env: go run ./examples/continuous
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/ppo"
	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train"
)

func main() {
	out, err := run(context.Background(), "", 500_000)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: stopped by %s at %d env steps, return %.1f\n", out.RunDir, out.StopReason, out.Last.EnvSteps, out.Last.EpisodeReturnMean)
}

// run trains with configs/pendulum-ppo.yaml's settings until the mean
// return reaches −250 or budget env steps are spent.
func run(ctx context.Context, dir string, budget int64) (*train.Outcome, error) {
	cfg := ppo.DefaultConfig()
	cfg.LR, cfg.LRSchedule = 1e-3, algorithms.Schedule{Final: 0, Steps: 500_000}
	cfg.Gamma, cfg.ClipValueLoss, cfg.Epochs, cfg.Minibatches, cfg.EntropyCoeff = 0.9, false, 10, 64, 0
	algo, err := ppo.New(cfg, algorithms.Setup{
		EnvID: "Pendulum-v1",
		Seed:  1,
		Wrappers: []envs.WrapperSpec{
			{Name: envs.WrapNormalizeObservation, Options: envs.Options{"clip": 10}},
			{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": 0.9, "clip": 10}},
		},
		Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 1024, MinWorkers: 1},
	})
	if err != nil {
		return nil, err
	}
	defer algo.Close()
	target := -250.0
	return train.Run(ctx, algo, train.Options{Name: "pendulum", Out: dir, Stop: train.Stop{EpisodeReturnMean: &target, EnvSteps: budget}})
}
