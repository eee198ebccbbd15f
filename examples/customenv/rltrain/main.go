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
package main

import (
	"os"

	"github.com/rlgo/rlgo/cmd/rltrain/cli"
	_ "github.com/rlgo/rlgo/examples/customenv/gridworld" // registers GridWorld-v0
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
