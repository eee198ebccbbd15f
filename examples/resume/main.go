// Command resume interrupts a run, then resumes it from its last
// checkpoint: go run ./examples/resume [DIR]
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/ppo"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/checkpoint"
)

func main() {
	dir := "runs/resume-example"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	first, second, err := run(context.Background(), dir, 6, 12)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("interrupted after iteration %d; resumed and stopped by %s after iteration %d (%s)\n",
		first.Last.Iteration, second.StopReason, second.Last.Iteration, second.RunDir)
}

// newPPO builds the run's algorithm; a resumed run must build the same one.
func newPPO() (*ppo.PPO, error) {
	return ppo.New(ppo.DefaultConfig(), algorithms.Setup{EnvID: "CartPole-v1", Seed: 1})
}

// run trains in dir until a callback interrupts it after stopAt
// iterations (as Ctrl-C would: train.Run writes a final checkpoint), then
// resumes the run from that checkpoint until it has run total iterations.
func run(ctx context.Context, dir string, stopAt, total int) (first, second *train.Outcome, err error) {
	opts := train.Options{Name: "resume", Out: dir, Stop: train.Stop{Iterations: total},
		Checkpoint: checkpoint.Config{Every: 4, Keep: 3}}

	algo, err := newPPO()
	if err != nil {
		return nil, nil, err
	}
	ctx1, interrupt := context.WithCancel(ctx)
	defer interrupt()
	opts.Callbacks.OnIterationEnd = func(r *algorithms.Result) {
		if r.Iteration == stopAt {
			interrupt()
		}
	}
	first, err = train.Run(ctx1, algo, opts)
	algo.Close()
	if err != nil {
		return nil, nil, err
	}

	// A fresh process would do the same: build the algorithm as before and
	// run with Resume; the run continues from its latest valid checkpoint.
	if algo, err = newPPO(); err != nil {
		return nil, nil, err
	}
	defer algo.Close()
	opts.Callbacks, opts.Resume = algorithms.Callbacks{}, true
	second, err = train.Run(ctx, algo, opts)
	return first, second, err
}
