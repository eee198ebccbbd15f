package minatar

import (
	"testing"

	"github.com/rlgo/rlgo/envs"
)

// BenchmarkStep measures one Step (sticky draw, game step, observation)
// with MinAtar's default options, random actions and a Reset(nil) after
// each episode, as a training worker steps it.
func BenchmarkStep(b *testing.B) {
	for _, id := range IDs() {
		b.Run(id[:len(id)-len("-MinAtar")], func(b *testing.B) {
			env, err := New(id, nil)
			if err != nil {
				b.Fatal(err)
			}
			env.Reset(envs.Seed(1))
			rng := envs.NewRand(1, 0)
			actions := make([]envs.Action, 4096)
			for i := range actions {
				actions[i] = envs.DiscreteAction(rng.IntN(6))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := env.Step(actions[i%len(actions)])
				if err != nil {
					b.Fatal(err)
				}
				if res.Terminated {
					env.Reset(nil)
				}
			}
		})
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	for _, id := range IDs() {
		env, _ := New(id, nil)
		env.Reset(envs.Seed(1))
		for i := range 5000 { // warm the pools
			if res, _ := env.Step(envs.DiscreteAction(i % 6)); res.Terminated {
				env.Reset(nil)
			}
		}
		i := 0
		allocs := testing.AllocsPerRun(2000, func() {
			i++
			if res, _ := env.Step(envs.DiscreteAction((i * 5) % 6)); res.Terminated {
				env.Reset(nil)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per step", id, allocs)
		}
	}
}
