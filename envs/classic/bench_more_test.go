package classic_test

import (
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
)

// benchmarkStep measures one step of env (ns/op per step), cycling through
// actions and resetting when an episode terminates or after limit steps
// (the env's time limit, which the unwrapped env does not apply).
func benchmarkStep(b *testing.B, env envs.Env, limit int, actions []envs.Action) {
	if _, _, err := env.Reset(envs.Seed(0)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i, t := 0, 0
	for b.Loop() {
		r, err := env.Step(actions[i%len(actions)])
		if err != nil {
			b.Fatal(err)
		}
		i++
		if t++; r.Terminated || t == limit {
			if _, _, err := env.Reset(nil); err != nil {
				b.Fatal(err)
			}
			t = 0
		}
	}
}

// BenchmarkAcrobotStep measures one Acrobot step: four evaluations of the
// dynamics (RK4) and the observation's trigonometry.
func BenchmarkAcrobotStep(b *testing.B) {
	c, err := classic.NewAcrobot(nil)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkStep(b, c, 500, []envs.Action{envs.DiscreteAction(2), envs.DiscreteAction(2), envs.DiscreteAction(0), envs.DiscreteAction(1)})
}

// BenchmarkMountainCarStep measures one MountainCar step.
func BenchmarkMountainCarStep(b *testing.B) {
	c, err := classic.NewMountainCar(nil)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkStep(b, c, 200, []envs.Action{envs.DiscreteAction(2), envs.DiscreteAction(2), envs.DiscreteAction(0), envs.DiscreteAction(1)})
}

// BenchmarkMountainCarContinuousStep measures one MountainCarContinuous
// step, some of its actions beyond [-1, 1].
func BenchmarkMountainCarContinuousStep(b *testing.B) {
	c, err := classic.NewMountainCarContinuous(nil)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkStep(b, c, 999, []envs.Action{envs.ContinuousAction(0.8), envs.ContinuousAction(1.5), envs.ContinuousAction(-0.3), envs.ContinuousAction(-1.2)})
}

// BenchmarkPendulumStep measures one Pendulum step, some of its torques
// beyond [-2, 2].
func BenchmarkPendulumStep(b *testing.B) {
	c, err := classic.NewPendulum(nil)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkStep(b, c, 200, []envs.Action{envs.ContinuousAction(1.7), envs.ContinuousAction(2.5), envs.ContinuousAction(-0.4), envs.ContinuousAction(-2)})
}
