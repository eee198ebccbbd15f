package tune

import (
	"strconv"
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

// TestShippedPBT checks configs/cartpole-ppo-pbt.yaml: a population of
// 8 with a bad initial ppo.lr (below 1e-5) and ppo.lr mutated, every
// trial and mutation valid.
func TestShippedPBT(t *testing.T) {
	spec, err := Load("../../configs/cartpole-ppo-pbt.yaml")
	if err != nil {
		t.Fatal(err)
	}
	trials := spec.Expand()
	if len(trials) != 8 || spec.Tune.Scheduler.Type != SchedulerPBT {
		t.Fatalf("%d trials, scheduler %q; want 8, pbt", len(trials), spec.Tune.Scheduler.Type)
	}
	if _, err := spec.Check(trials); err != nil {
		t.Fatal(err)
	}
	for _, tr := range trials {
		if err := spec.checkMutations(tr); err != nil {
			t.Fatal(err)
		}
		if lr, err := strconv.ParseFloat(tr.Params[0].Value, 64); tr.Params[0].Key != "ppo.lr" || err != nil || lr > 1e-5 {
			t.Errorf("%s starts with %v; want a bad ppo.lr, at most 1e-5", tr.Name, tr.Params)
		}
	}
}
