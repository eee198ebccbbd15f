package ppo

import (
	"context"
	"testing"

	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

func TestSpikeLearn(t *testing.T) {
	cfg := DefaultConfig()
	cfg.LRSchedule.Steps = 500000
	p, err := New(cfg, Setup{EnvID: "CartPole-v1", Seed: 1, Model: policy.DefaultModelConfig(), Rollout: rollout.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for {
		r, err := p.Train(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Iteration%20 == 0 {
			t.Logf("it %d steps %d ret %.1f time %.2f sps %.0f learn %.4f sample %.4f %v", r.Iteration, r.EnvSteps, r.EpisodeReturnMean, r.TimeS, r.EnvStepsPerS, r.LearnTimeS, r.SampleTimeS, r.Learner)
		}
		if r.EpisodeReturnMean >= 475 || r.EnvSteps >= 300000 {
			t.Logf("done it %d steps %d ret %.1f time %.2f", r.Iteration, r.EnvSteps, r.EpisodeReturnMean, r.TimeS)
			break
		}
	}
}
