package gridworld_test

import (
	"fmt"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/examples/customenv/gridworld" // registers GridWorld-v0
)

// Make the registered env, reset it with a seed and walk a fixed path to
// the goal. The same seed always gives the same episode.
func Example() {
	env, err := envs.Make(gridworld.ID, nil) // a GridWorld inside a 100-step TimeLimit
	if err != nil {
		panic(err)
	}
	defer env.Close()
	if _, _, err := env.Reset(envs.Seed(7)); err != nil {
		panic(err)
	}
	g := envs.Unwrapped(env).(*gridworld.GridWorld)
	fmt.Print(g.Render())
	names := []string{"up", "right", "down", "left"}
	ret := 0.0
	for _, a := range []int{gridworld.Right, gridworld.Right, gridworld.Down, gridworld.Down, gridworld.Right, gridworld.Down, gridworld.Right} {
		r, err := env.Step(envs.DiscreteAction(a))
		if err != nil {
			panic(err)
		}
		ret += r.Reward
		fmt.Printf("%-5s -> cell (%d, %d), reward %g\n", names[a], g.Row, g.Col, r.Reward)
		if r.Done() {
			fmt.Printf("terminated %v truncated %v, return %.2f\n", r.Terminated, r.Truncated, ret)
			break
		}
	}
	// Output:
	// .....
	// .##..
	// A..#.
	// ##.#.
	// ....G
	// right -> cell (2, 1), reward -0.01
	// right -> cell (2, 2), reward -0.01
	// down  -> cell (3, 2), reward -0.01
	// down  -> cell (4, 2), reward -0.01
	// right -> cell (4, 3), reward -0.01
	// down  -> cell (4, 3), reward -0.01
	// right -> cell (4, 4), reward 1
	// terminated true truncated false, return 0.94
}
