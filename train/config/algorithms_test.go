package config

// The algorithms the tests' configs name register themselves when linked in.
import (
	_ "github.com/rlgo/rlgo/algorithms/dqn"
	_ "github.com/rlgo/rlgo/algorithms/ppo"
)
