// Command rltrain trains reinforcement-learning agents from YAML configs:
//
//	rltrain train configs/cartpole-ppo.yaml [--set key=value]... [--out DIR] [--as-test]
//	rltrain learner CONFIG --listen ADDR [run flags]   (with rltrain worker processes)
//	rltrain worker --learner ADDR
//	rltrain envs
//	rltrain devices
//
// Exit codes: 0 finished (with --as-test: target met), 1 runtime error,
// 2 usage or config error, 3 --as-test budget spent before the target,
// 130 interrupted. See the README for the config reference.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rlgo/rlgo/cmd/rltrain/cli"
)

func main() {
	// SIGINT and SIGTERM interrupt a run gracefully: a final checkpoint,
	// result.json, exit code 130.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Options{})
	stop()
	os.Exit(code)
}
