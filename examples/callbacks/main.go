// Command callbacks watches episodes and adds its own metric to
// progress.csv with Go callbacks: go run ./examples/callbacks
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/ppo"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train"
)

func main() {
	out, longest, err := run(context.Background(), "", 20)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: longest episode %d steps; custom/long_episode_frac in progress.csv\n", out.RunDir, longest)
}

// run trains for iterations iterations; OnEpisodeEnd tracks the longest
// training episode and counts those of 200+ steps, OnIterationEnd
// reports that count as a fraction of the iteration's episodes in the
// column custom/long_episode_frac.
func run(ctx context.Context, dir string, iterations int) (*train.Outcome, int, error) {
	algo, err := ppo.New(ppo.DefaultConfig(), algorithms.Setup{EnvID: "CartPole-v1", Seed: 1})
	if err != nil {
		return nil, 0, err
	}
	defer algo.Close()
	longest, long := 0, 0
	cb := algorithms.Callbacks{
		Metrics: []string{"long_episode_frac"},
		OnEpisodeEnd: func(ep rollout.EpisodeStats) {
			longest = max(longest, ep.Length)
			if ep.Length >= 200 {
				long++
			}
		},
		OnIterationEnd: func(r *algorithms.Result) {
			if n := len(r.NewEpisodes); n > 0 {
				r.AddCustom("long_episode_frac", float64(long)/float64(n))
			}
			long = 0
		},
	}
	out, err := train.Run(ctx, algo, train.Options{Name: "callbacks", Out: dir, Stop: train.Stop{Iterations: iterations}, Callbacks: cb})
	return out, longest, err
}
