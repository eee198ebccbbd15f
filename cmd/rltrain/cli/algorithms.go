package cli

// The algorithms and env families rltrain knows: each registers itself
// (algorithms.Register, envs.Register) when its package is linked in. A
// new algorithm is one package and one line here.
import (
	_ "github.com/rlgo/rlgo/algorithms/dqn"
	_ "github.com/rlgo/rlgo/algorithms/ppo"
	_ "github.com/rlgo/rlgo/envs/minatar" // Breakout-MinAtar, ...
)
