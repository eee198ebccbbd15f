package envs_test

import (
	"fmt"

	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic" // registers CartPole-v1
)

// Make CartPole-v1, reset it with a seed and push the cart right until the
// pole falls.
func ExampleMake() {
	env, err := envs.Make("CartPole-v1", nil)
	if err != nil {
		panic(err)
	}
	defer env.Close()
	if _, _, err := env.Reset(envs.Seed(42)); err != nil {
		panic(err)
	}
	length, ret := 0, 0.0
	for {
		r, err := env.Step(envs.DiscreteAction(1))
		if err != nil {
			panic(err)
		}
		length++
		ret += r.Reward
		if r.Done() {
			fmt.Println("terminated:", r.Terminated, "truncated:", r.Truncated)
			break
		}
	}
	fmt.Printf("episode length %d, return %g\n", length, ret)
	// Output:
	// terminated: true truncated: false
	// episode length 9, return 9
}
