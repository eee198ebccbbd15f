package policy

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkActorCriticAct measures one worker step's policy work for a
// worker's 2 envs (rollout.DefaultConfig) on CartPole's 4→64→64 actor and
// critic: sample actions and log-probabilities, and compute values.
func BenchmarkActorCriticAct(b *testing.B) {
	const n = 2
	spec := ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: DefaultModelConfig()}
	rng := rand.New(rand.NewPCG(1, 2))
	p, err := NewActorCritic(spec, spec.Init(rng))
	if err != nil {
		b.Fatal(err)
	}
	obs := []float32{0.01, -0.02, 0.03, 0.04, -0.05, 0.1, 0.02, -0.3}
	actions, logp, values := make([]int, n), make([]float32, n), make([]float32, n)
	b.ReportAllocs()
	for b.Loop() {
		p.Act(obs, n, rng, actions, logp, values)
	}
}
