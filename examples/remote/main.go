// Command remote runs a learner and two rollout workers in one program,
// talking gRPC over loopback exactly as `rltrain learner` and
// `rltrain worker` processes do on separate hosts: go run ./examples/remote
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/ppo"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/rollout/remote"
	"github.com/rlgo/rlgo/train"
)

func main() {
	out, err := run(context.Background(), "", 300_000)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: stopped by %s at %d env steps, return %.1f, %d workers\n", out.RunDir, out.StopReason, out.Last.EnvSteps, out.Last.EpisodeReturnMean, out.Last.FleetWorkers)
}

// run serves the rollout service on a loopback port, starts two workers
// that connect to it, and trains PPO on the remote fleet.
func run(ctx context.Context, dir string, budget int64) (*train.Outcome, error) {
	setup := algorithms.Setup{EnvID: "CartPole-v1", Seed: 1, Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 128, MinWorkers: 2}}
	// The learner's side: the gRPC service the workers connect to. A
	// loopback address needs neither a token nor TLS.
	srv, err := remote.Listen(remote.Config{Listen: "127.0.0.1:0", MinWorkers: 2},
		remote.Run{EnvID: setup.EnvID, Rollout: setup.Rollout, Seed: setup.Seed})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	setup.NewFleet = srv.NewFleet

	// The workers' side: each makes its own envs from what the learner
	// tells it and acts with the weights it broadcasts.
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			err := remote.RunWorker(wctx, remote.WorkerConfig{Learner: srv.Addr().String()})
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Printf("worker: %v", err)
			}
		})
	}
	defer func() { stopWorkers(); wg.Wait() }()

	cfg := ppo.DefaultConfig()
	cfg.LR, cfg.LRSchedule.Steps = 3e-3, 500_000
	algo, err := ppo.New(cfg, setup) // waits for both workers to join
	if err != nil {
		return nil, err
	}
	defer algo.Close()
	target := 475.0
	return train.Run(ctx, algo, train.Options{Name: "remote", Out: dir, Stop: train.Stop{EpisodeReturnMean: &target, EnvSteps: budget}})
}
