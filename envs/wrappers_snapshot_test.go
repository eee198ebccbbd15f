package envs_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

// snapScript is a scriptEnv that can snapshot its step count.
type snapScript struct{ *scriptEnv }

func (s snapScript) Snapshot() ([]byte, error) {
	return binary.LittleEndian.AppendUint64(nil, uint64(s.t)), nil
}

func (s snapScript) Restore(b []byte) error {
	if len(b) != 8 {
		return errors.New("snapScript: bad snapshot")
	}
	s.t = int(binary.LittleEndian.Uint64(b))
	return nil
}

func (s snapScript) Unwrap() envs.Env { return s.scriptEnv }

// cartPoleChain is every stateful wrapper around CartPole-v1.
func cartPoleChain(t *testing.T) envs.Env {
	t.Helper()
	env, err := envs.Make("CartPole-v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if env, err = envs.NewNormalizeReward(env, 0.9); err != nil {
		t.Fatal(err)
	}
	if env, err = envs.NewNormalizeObservation(env); err != nil {
		t.Fatal(err)
	}
	if env, err = envs.NewFrameStack(env, 3, envs.PadZero); err != nil {
		t.Fatal(err)
	}
	if env, err = envs.NewTransformReward(env, func(r float64) float64 { return 2 * r }); err != nil {
		t.Fatal(err)
	}
	return envs.NewEpisodeStatistics(env)
}

// play steps env with actions, resetting with Reset(nil) after each
// episode, and describes everything it sees.
func play(t *testing.T, env envs.Env, actions []int) []string {
	t.Helper()
	var out []string
	for _, a := range actions {
		r := mustStep(t, env, envs.DiscreteAction(a))
		st, _ := r.Info[envs.EpisodeInfoKey].(envs.EpisodeStats)
		out = append(out, fmt.Sprint(r.Obs, r.Reward, r.Terminated, r.Truncated, st.Return, st.Length))
		if r.Done() {
			obs, _, err := env.Reset(nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint("reset", obs))
		}
	}
	return out
}

func TestWrapperSnapshotResumesExactly(t *testing.T) {
	rng := envs.NewRand(1, 0)
	actions := make([]int, 80)
	for i := range actions {
		actions[i] = rng.IntN(2)
	}
	env := cartPoleChain(t)
	if _, _, err := env.Reset(envs.Seed(3)); err != nil {
		t.Fatal(err)
	}
	play(t, env, actions[:15])
	snap, err := env.(envs.Snapshotter).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := play(t, env, actions[15:])

	fresh := cartPoleChain(t)
	if err := fresh.(envs.Snapshotter).Restore(snap); err != nil {
		t.Fatal(err)
	}
	got := play(t, fresh, actions[15:])
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("after Restore, transition %d = %s, want %s", i, got[i], want[i])
		}
	}
	// Corrupt snapshots are errors, never panics.
	for _, n := range []int{0, 5, 8, 20, len(snap) - 1} {
		if err := cartPoleChain(t).(envs.Snapshotter).Restore(snap[:n]); err == nil {
			t.Errorf("Restore of the first %d bytes of %d succeeded", n, len(snap))
		}
	}
}

func TestClipActionSnapshot(t *testing.T) {
	inner := newScriptEnv(0)
	inner.act = envs.UniformBox(1, -1, 1)
	env, err := envs.NewClipAction(snapScript{inner})
	if err != nil {
		t.Fatal(err)
	}
	mustReset(t, env)
	mustStep(t, env, envs.ContinuousAction(5))
	mustStep(t, env, envs.ContinuousAction(5))
	snap, err := env.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	mustStep(t, env, envs.ContinuousAction(5))
	if err := env.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if r := mustStep(t, env, envs.ContinuousAction(5)); !slices.Equal(r.Obs, []float32{3, 13}) {
		t.Errorf("after Restore to step 2, step = %v, want [3 13]", r.Obs)
	}
}

func TestWrapperSnapshotNeedsSnapshotter(t *testing.T) {
	inner := newScriptEnv(0)
	fs, _ := envs.NewFrameStack(inner, 2, envs.PadReset)
	no, _ := envs.NewNormalizeObservation(inner)
	nr, _ := envs.NewNormalizeReward(inner, 0.99)
	tr, _ := envs.NewTransformReward(inner, func(r float64) float64 { return r })
	for _, w := range []envs.Snapshotter{fs, no, nr, tr, envs.NewEpisodeStatistics(inner)} {
		if _, err := w.Snapshot(); !errors.Is(err, envs.ErrNoSnapshot) {
			t.Errorf("%T.Snapshot over an env without snapshots: error %v, want ErrNoSnapshot", w, err)
		}
		if err := w.Restore(make([]byte, 16)); !errors.Is(err, envs.ErrNoSnapshot) {
			t.Errorf("%T.Restore over an env without snapshots: error %v, want ErrNoSnapshot", w, err)
		}
	}
}

func TestNormalizeObservationRestoreKeepsSharing(t *testing.T) {
	a, _ := envs.NewNormalizeObservation(snapScript{newScriptEnv(0)})
	b, _ := envs.NewNormalizeObservation(snapScript{newScriptEnv(0)})
	b.RMS = a.RMS // two envs of one worker share statistics
	mustReset(t, a)
	mustStep(t, a, envs.DiscreteAction(0))
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	mustStep(t, a, envs.DiscreteAction(0))
	if err := a.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if b.RMS != a.RMS || a.RMS.Count != 2 {
		t.Errorf("after Restore: shared %v, count %v; want still shared, count 2", b.RMS == a.RMS, a.RMS.Count)
	}
}
