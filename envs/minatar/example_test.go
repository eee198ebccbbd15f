package minatar_test

import (
	"fmt"

	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/minatar" // registers the five games
)

// Play one episode of Breakout, always pressing right, and print its
// length and return: the same as MinAtar's Python,
// Environment('breakout'); seed(1); reset(); act(3) until terminal.
func Example() {
	env, err := envs.Make("Breakout-MinAtar", envs.Options{"sticky_action_prob": 0.1})
	if err != nil {
		panic(err)
	}
	obs, _, _ := env.Reset(envs.Seed(1))
	fmt.Println(env.ObservationSpace().Shape(), len(obs), env.ActionSpace())
	steps, ret := 0, 0.0
	for {
		res, _ := env.Step(envs.DiscreteAction(3)) // right
		steps++
		ret += res.Reward
		if res.Done() {
			break
		}
	}
	fmt.Println(steps, ret)
	// Output:
	// [10 10 4] 400 Discrete(6)
	// 6 0
}
