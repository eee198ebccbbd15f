package ppo

import (
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
)

// BenchmarkLearnerStep measures one PPO minibatch step (forward, backward,
// Adam) of the 4→64→64 actor and critic at CleanRL's minibatch of 128.
func BenchmarkLearnerStep(b *testing.B) {
	for _, m := range []int{128, 512} {
		b.Run(itoa(m), func(b *testing.B) {
			spec := policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: policy.DefaultModelConfig()}
			rng := envs.NewRand(1, 1)
			w := spec.Init(rng)
			l, err := buildLoss(w, spec, m, DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			lr, err := learner.New(learner.Config{Adam: learner.AdamConfig{MaxGradNorm: 0.5}}, l.graph, l.loss)
			if err != nil {
				b.Fatal(err)
			}
			for i := range l.obs.Data {
				l.obs.Data[i] = float32(rng.NormFloat64())
			}
			for j := 0; j < m; j++ {
				l.actionsOneHot.Data[j*2+j%2] = 1
				l.oldLogProbs.Data[j] = -0.69
				l.advantages.Data[j] = float32(rng.NormFloat64())
				l.returns.Data[j] = float32(rng.NormFloat64())
			}
			l.setClip(0.2)
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

func itoa(n int) string {
	s := ""
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return "m" + s
}
