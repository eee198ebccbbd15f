package ppo

import (
	"context"
	"fmt"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	_ "github.com/rlgo/rlgo/envs/classic"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// BenchmarkLearnerStep measures one PPO minibatch step (forward, backward,
// Adam) of the 4→64→64 actor and critic at CleanRL's minibatch of 128
// and at 512.
func BenchmarkLearnerStep(b *testing.B) {
	for _, m := range []int{128, 512} {
		b.Run(fmt.Sprintf("m%d", m), func(b *testing.B) {
			spec := policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: policy.DefaultModelConfig()}
			rng := envs.NewRand(1, 1)
			w := spec.Init(rng)
			lr, loss, err := newLearner(w, spec, m, DefaultConfig(), "")
			if err != nil {
				b.Fatal(err)
			}
			defer lr.Close()
			p := &PPO{cfg: DefaultConfig(), spec: spec, loss: loss,
				bObs: make([]float32, m*spec.ObsDim), bActions: make([]int32, m), bLogProbs: make([]float32, m),
				bAdvantages: make([]float32, m), bReturn: make([]float32, m), bValues: make([]float32, m)}
			for i := range p.bObs {
				p.bObs[i] = float32(rng.NormFloat64())
			}
			idx := make([]int, m)
			for j := range idx {
				idx[j] = j
				p.bActions[j] = int32(j % 2)
				p.bLogProbs[j] = -0.69
				p.bAdvantages[j] = float32(rng.NormFloat64())
				p.bReturn[j] = float32(rng.NormFloat64())
			}
			p.loadMinibatch(idx)
			loss.setClip(0.2)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := lr.Step(1e-4); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkTrainIteration measures whole iterations of the shipped
// CartPole config's shape (2 workers × 2 envs × 128 steps, 4 epochs × 4
// minibatches): sampling, GAE, the flattened train batch, the updates and
// the broadcast. Profile it with -cpuprofile to see where an iteration
// goes (docs/benchmarks.md).
func BenchmarkTrainIteration(b *testing.B) {
	cfg := DefaultConfig()
	cfg.LR = 3e-3
	p, err := New(cfg, algorithms.Setup{EnvID: "CartPole-v1", Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Train(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*512)/b.Elapsed().Seconds(), "env_steps/s")
}
