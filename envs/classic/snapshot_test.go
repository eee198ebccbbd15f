package classic

import (
	"reflect"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

// TestVectorSnapshotResumesExactly steps a vector of time-limited
// CartPoles, snapshots it mid-episode, and checks that a freshly made
// vector restored from the snapshot continues step for step like the
// original (physical state, random resets, time limits, episode returns).
func TestVectorSnapshotResumesExactly(t *testing.T) {
	newVec := func() *envs.VectorEnv {
		list := make([]envs.Env, 3)
		for i := range list {
			e, err := envs.Make("CartPole-v1", envs.Options{"max_episode_steps": 30})
			if err != nil {
				t.Fatal(err)
			}
			list[i] = e
		}
		v, err := envs.NewVectorEnv(list)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	actions := func(step int) []envs.Action {
		return []envs.Action{envs.DiscreteAction(step % 2), envs.DiscreteAction((step / 3) % 2), envs.DiscreteAction(1)}
	}
	type rec struct {
		Obs      []float32
		Rewards  []float64
		Term     []bool
		Trunc    []bool
		Episodes []envs.Episode
	}
	run := func(v *envs.VectorEnv, from, to int) []rec {
		var out []rec
		for s := from; s < to; s++ {
			st, err := v.Step(actions(s))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rec{append([]float32(nil), v.Obs()...), append([]float64(nil), st.Rewards...),
				append([]bool(nil), st.Terminated...), append([]bool(nil), st.Truncated...), append([]envs.Episode(nil), st.Episodes...)})
		}
		return out
	}
	a := newVec()
	if err := a.Reset(5); err != nil {
		t.Fatal(err)
	}
	run(a, 0, 47)
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := run(a, 47, 120)

	b := newVec()
	if err := b.Reset(999); err != nil { // a different state, overwritten by Restore
		t.Fatal(err)
	}
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	got := run(b, 47, 120)
	if !reflect.DeepEqual(got, want) {
		t.Error("restored vector env diverged from the original")
	}
	episodes := 0
	for _, r := range want {
		episodes += len(r.Episodes)
	}
	if episodes == 0 {
		t.Error("no episode ended after the snapshot: the test does not cover resets")
	}
}

func TestSnapshotRejectsGarbage(t *testing.T) {
	c, _ := NewCartPole(nil)
	if err := c.Restore([]byte{1, 2, 3}); err == nil {
		t.Error("Restore(3 bytes) = nil error; want an error")
	}
	if err := c.Restore(make([]byte, 41)); err == nil {
		t.Error("Restore with a bad random state = nil error; want an error")
	}
}

// TestEverySnapshotResumesExactly snapshots each classic env (under its
// time limit) mid-episode, restores the snapshot into a fresh env, and
// checks that both continue identically through episode ends and random
// resets. Checkpointed runs resume exactly only if this holds.
func TestEverySnapshotResumesExactly(t *testing.T) {
	for _, id := range []string{"CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"} {
		t.Run(id, func(t *testing.T) {
			mk := func() envs.Env {
				e, err := envs.Make(id, envs.Options{"max_episode_steps": 25})
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			action := func(e envs.Env, rng *envs.RNG) envs.Action {
				if box, ok := e.ActionSpace().(*envs.Box); ok {
					return envs.Action{Continuous: []float32{float32(rng.Float64()*4 - 2)}[:box.Size()]}
				}
				return envs.DiscreteAction(rng.IntN(e.ActionSpace().(envs.Discrete).N))
			}
			run := func(e envs.Env, rng *envs.RNG, steps int) []envs.StepResult {
				var out []envs.StepResult
				for range steps {
					r, err := e.Step(action(e, rng))
					if err != nil {
						t.Fatal(err)
					}
					r.Obs = append([]float32(nil), r.Obs...)
					r.Info = nil
					out = append(out, r)
					if r.Done() {
						if _, _, err := e.Reset(nil); err != nil {
							t.Fatal(err)
						}
					}
				}
				return out
			}
			a := mk()
			seed := uint64(7)
			if _, _, err := a.Reset(&seed); err != nil {
				t.Fatal(err)
			}
			run(a, envs.NewRNG(1, 1), 10)
			snap, err := a.(envs.Snapshotter).Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			want := run(a, envs.NewRNG(2, 2), 60)
			b := mk()
			if err := b.(envs.Snapshotter).Restore(snap); err != nil {
				t.Fatal(err)
			}
			if got := run(b, envs.NewRNG(2, 2), 60); !reflect.DeepEqual(got, want) {
				t.Errorf("restored env diverged:\n got %v\nwant %v", got[:3], want[:3])
			}
			if err := b.(envs.Snapshotter).Restore(snap[:3]); err == nil {
				t.Error("Restore accepted a truncated snapshot")
			}
		})
	}
}
