// Command rltrain is a user's own rltrain binary: the stock command line
// (train, envs, learner, worker, ...) plus the envs of this module. The
// import of the gridworld package registers GridWorld-v0 before the CLI
// starts, so every command sees it:
//
//	go run ./examples/customenv/rltrain envs
//	go run ./examples/customenv/rltrain check-env GridWorld-v0
//	go run ./examples/customenv/rltrain train examples/customenv/gridworld.yaml
//
// In your own module, copy this file, import your env packages instead
// and build it with go build -o rltrain .
//
// It also adds a Go callback to every train and learner run: the
// custom/long_episodes column is the share of this iteration's episodes
// that took more than 20 steps.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/cmd/rltrain/cli"
	_ "github.com/rlgo/rlgo/examples/customenv/gridworld" // registers GridWorld-v0
)

func main() {
	cb := algorithms.Callbacks{
		Metrics: []string{"long_episodes"},
		OnIterationEnd: func(r *algorithms.Result) {
			if len(r.NewEpisodes) == 0 {
				return
			}
			long := 0
			for _, ep := range r.NewEpisodes {
				if ep.Length > 20 {
					long++
				}
			}
			r.AddCustom("long_episodes", float64(long)/float64(len(r.NewEpisodes)))
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Options{Callbacks: cb})
	stop()
	os.Exit(code)
}
