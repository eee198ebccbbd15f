package classic_test

import (
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
)

// BenchmarkCartPoleStep measures one CartPole step (ns/op per step),
// resetting when the episode ends.
func BenchmarkCartPoleStep(b *testing.B) {
	c, err := classic.NewCartPole(nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := c.Reset(envs.Seed(0)); err != nil {
		b.Fatal(err)
	}
	acts := [2]envs.Action{envs.DiscreteAction(0), envs.DiscreteAction(1)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r, err := c.Step(acts[i&1])
		if err != nil {
			b.Fatal(err)
		}
		if r.Terminated {
			if _, _, err := c.Reset(nil); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
}

// BenchmarkVectorEnvStep measures one VectorEnv step over 8 CartPole-v1s
// (made with envs.Make, so with their TimeLimits), auto-reset included;
// ns/op is per vector step, env-steps/s counts sub-env steps.
func BenchmarkVectorEnvStep(b *testing.B) {
	const n = 8
	list := make([]envs.Env, n)
	for i := range list {
		e, err := envs.Make("CartPole-v1", nil)
		if err != nil {
			b.Fatal(err)
		}
		list[i] = e
	}
	v, err := envs.NewVectorEnv(list)
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Reset(0); err != nil {
		b.Fatal(err)
	}
	acts := make([]envs.Action, n)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for j := range acts {
			acts[j] = envs.DiscreteAction((i + j) & 1)
		}
		if _, err := v.Step(acts); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "env-steps/s")
}
