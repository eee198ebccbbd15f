// Command cartpole trains PPO on CartPole-v1 from Go code, the README's
// Go API example: go run ./examples/cartpole
package main

import (
	"context"
	"fmt"
	"github.com/rlgo/rlgo/algorithms"
	"log"

	"github.com/rlgo/rlgo/algorithms/ppo"
	_ "github.com/rlgo/rlgo/envs/classic" // registers CartPole-v1 and friends
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

func main() {
	cfg := ppo.DefaultConfig()
	cfg.LRSchedule.Steps = 500_000
	p, err := ppo.New(cfg, algorithms.Setup{
		EnvID:   "CartPole-v1",
		Seed:    1,
		Model:   policy.DefaultModelConfig(),
		Rollout: rollout.DefaultConfig(), // 2 goroutine workers × 2 envs × 128 steps
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	for {
		r, err := p.Train(context.Background()) // sample → update → broadcast weights
		if err != nil {
			log.Fatal(err)
		}
		if r.HasEpisodes && r.EpisodeReturnMean >= 475 {
			fmt.Printf("solved after %d env steps\n", r.EnvSteps)
			return
		}
	}
}
