package tune

import (
	"testing"

	_ "github.com/rlgo/rlgo/algorithms/ppo"
	_ "github.com/rlgo/rlgo/envs/classic"
)

// TestShippedSweep checks configs/cartpole-ppo-sweep.yaml: the issue's
// 2 × 2 grid × 3 seeds = 12 trials, each a valid run config.
func TestShippedSweep(t *testing.T) {
	spec, err := Load("../../configs/cartpole-ppo-sweep.yaml")
	if err != nil {
		t.Fatal(err)
	}
	trials := spec.Expand()
	if len(trials) != 12 {
		t.Fatalf("%d trials; want 12", len(trials))
	}
	if _, err := spec.Check(trials); err != nil {
		t.Fatal(err)
	}
}
