package cli

// The algorithms rltrain knows: each registers itself (algorithms.Register)
// when its package is linked in. A new algorithm is one package and one
// line here.
import (
	_ "github.com/rlgo/rlgo/algorithms/dqn"
	_ "github.com/rlgo/rlgo/algorithms/ppo"
)
