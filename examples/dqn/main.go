// Command dqn trains DQN (double Q-learning, 8-step returns, Polyak target)
// on CartPole-v1 from Go with train.Run: go run ./examples/dqn
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/dqn"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train"
)

func main() {
	out, err := run(context.Background(), "", 150_000)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: stopped by %s at %d env steps, return %.1f\n", out.RunDir, out.StopReason, out.Last.EnvSteps, out.Last.EpisodeReturnMean)
}

// run trains with configs/cartpole-dqn.yaml's settings until the mean
// return reaches 475 or budget env steps are spent.
func run(ctx context.Context, dir string, budget int64) (*train.Outcome, error) {
	cfg := dqn.DefaultConfig()
	cfg.LR, cfg.LRSchedule = 1e-3, algorithms.Schedule{Final: 0, Steps: 150_000}
	cfg.Gamma, cfg.BufferSize, cfg.BatchSize, cfg.LearningStarts, cfg.TrainFreq = 0.99, 100_000, 256, 1000, 4
	cfg.TargetUpdateInterval, cfg.Tau = 4, 0.005
	cfg.EpsilonSchedule = algorithms.Schedule{Final: 0.02, Steps: 10_000}
	cfg.Double, cfg.NStep, cfg.Loss = true, 8, "huber"
	algo, err := dqn.New(cfg, algorithms.Setup{
		EnvID:   "CartPole-v1",
		Seed:    1,
		Model:   policy.ModelConfig{Hidden: []int{64, 64}, Activation: policy.ReLU, Init: policy.InitTorchDefault},
		Rollout: rollout.Config{Workers: 1, EnvsPerWorker: 4, FragmentLength: 64, MinWorkers: 1},
	})
	if err != nil {
		return nil, err
	}
	defer algo.Close()
	target := 475.0
	return train.Run(ctx, algo, train.Options{Name: "dqn", Out: dir, Stop: train.Stop{EpisodeReturnMean: &target, EnvSteps: budget}})
}
