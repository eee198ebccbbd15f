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
