package ppo

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// TestEntropyScheduleAnneals trains a few iterations with
// entropy_schedule {final: 0.005, steps: 384} from entropy_coeff 0.02 and
// checks the coefficient each update used: linear in the env steps taken
// before the iteration (128 an iteration), then held at final.
func TestEntropyScheduleAnneals(t *testing.T) {
	cfg := DefaultConfig()
	cfg.EntropyCoeff = 0.02
	cfg.EntropySchedule = algorithms.Schedule{Final: 0.005, Steps: 384}
	s := algorithms.Setup{EnvID: "CartPole-v1", Seed: 3, Device: "cpu",
		Model: policy.DefaultModelConfig(), Rollout: rollout.Config{Workers: 1, EnvsPerWorker: 2, FragmentLength: 64}}
	p, err := New(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for it, want := range []float64{0.02, 0.015, 0.01, 0.005, 0.005} {
		if _, err := p.Train(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := p.loss.entCoeff; math.Abs(got-want) > 1e-12 {
			t.Errorf("iteration %d: entropy coefficient %v; want %v", it+1, got, want)
		}
	}
}

// TestEntropyScheduleValidate names the schedule's keys in its errors.
func TestEntropyScheduleValidate(t *testing.T) {
	for _, c := range []struct {
		s   algorithms.Schedule
		key string
	}{
		{algorithms.Schedule{Final: -0.1, Steps: 10}, "entropy_schedule.final"},
		{algorithms.Schedule{Final: 0, Steps: -1}, "entropy_schedule.steps"},
		{algorithms.Schedule{Final: 0, Steps: 10, Start: 10}, "entropy_schedule.start"},
	} {
		cfg := DefaultConfig()
		cfg.EntropySchedule = c.s
		var fe *algorithms.FieldError
		if err := cfg.Validate(); err == nil || !errors.As(err, &fe) || fe.Key != c.key {
			t.Errorf("Validate(%+v) = %v; want an error for %s", c.s, err, c.key)
		}
	}
}
