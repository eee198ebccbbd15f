package minatar

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

func TestCheck(t *testing.T) {
	for _, id := range IDs() {
		for _, opts := range []envs.Options{nil, {OptMinimalActionSet: true, OptDifficultyRamping: false}} {
			env, err := envs.Make(id, opts)
			if err != nil {
				t.Fatal(err)
			}
			rep := envs.Check(env, envs.CheckSteps(3000), envs.CheckSeed(5))
			if !rep.OK() || rep.Warnings() > 0 {
				t.Errorf("%s %v: Check found:\n%s", id, opts, rep)
			}
			if rep.Episodes == 0 {
				t.Errorf("%s %v: no episode ended in %d random steps", id, opts, rep.Steps)
			}
		}
	}
}

func TestSpaces(t *testing.T) {
	tests := []struct {
		id       string
		channels int
		minimal  []int
	}{
		{"Asterix-MinAtar", 4, []int{0, 1, 2, 3, 4}},
		{"Breakout-MinAtar", 4, []int{0, 1, 3}},
		{"Freeway-MinAtar", 7, []int{0, 2, 4}},
		{"Seaquest-MinAtar", 10, []int{0, 1, 2, 3, 4, 5}},
		{"SpaceInvaders-MinAtar", 6, []int{0, 1, 3, 5}},
	}
	for _, tt := range tests {
		full, err := New(tt.id, nil)
		if err != nil {
			t.Fatal(err)
		}
		box := full.ObservationSpace().(*envs.Box)
		if want := []int{10, 10, tt.channels}; !slices.Equal(box.Shape(), want) || box.Size() != 100*tt.channels {
			t.Errorf("%s: observation shape %v size %d, want %v", tt.id, box.Shape(), box.Size(), want)
		}
		if full.ActionSpace() != (envs.Discrete{N: 6}) {
			t.Errorf("%s: action space %v, want Discrete(6)", tt.id, full.ActionSpace())
		}
		min, err := New(tt.id, envs.Options{OptMinimalActionSet: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := min.Actions(); !slices.Equal(got, tt.minimal) || min.ActionSpace() != (envs.Discrete{N: len(tt.minimal)}) {
			t.Errorf("%s: minimal actions %v (%v), want %v", tt.id, got, min.ActionSpace(), tt.minimal)
		}
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opts envs.Options
		ok   bool
	}{
		{"defaults", nil, true},
		{"all", envs.Options{OptStickyActionProb: 0.0, OptDifficultyRamping: false, OptMinimalActionSet: true}, true},
		{"integer probability", envs.Options{OptStickyActionProb: 1}, true},
		{"unknown", envs.Options{"sticky": 0.1}, false},
		{"probability above 1", envs.Options{OptStickyActionProb: 1.5}, false},
		{"negative probability", envs.Options{OptStickyActionProb: -0.1}, false},
		{"probability not a number", envs.Options{OptStickyActionProb: "0.1"}, false},
		{"ramping not a bool", envs.Options{OptDifficultyRamping: 1}, false},
		{"minimal not a bool", envs.Options{OptMinimalActionSet: "yes"}, false},
	}
	for _, tt := range tests {
		_, err := envs.Make("Breakout-MinAtar", tt.opts)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok = %v", tt.name, err, tt.ok)
		}
	}
	if _, err := New("Pong-MinAtar", nil); !errors.Is(err, envs.ErrUnknownEnv) {
		t.Errorf("unknown id: err = %v", err)
	}
}

func TestInvalidAction(t *testing.T) {
	env, _ := New("Breakout-MinAtar", envs.Options{OptMinimalActionSet: true})
	env.Reset(envs.Seed(1))
	for _, a := range []int{-1, 3, 6} {
		if _, err := env.Step(envs.DiscreteAction(a)); !errors.Is(err, envs.ErrInvalidAction) {
			t.Errorf("action %d: err = %v", a, err)
		}
	}
}

// play steps env n times with actions from a fixed pattern, returning the
// observations, rewards and flags concatenated; it resets after an end.
func play(t *testing.T, env *Env, n int) []float32 {
	t.Helper()
	var out []float32
	for i := range n {
		res, err := env.Step(envs.DiscreteAction((i*7 + i/5) % 6))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res.Obs...)
		out = append(out, float32(res.Reward))
		if res.Terminated {
			out = append(out, -1)
			obs, _, _ := env.Reset(nil)
			out = append(out, obs...)
		}
	}
	return out
}

func TestSnapshotResumesExactly(t *testing.T) {
	for _, id := range IDs() {
		env, _ := New(id, nil)
		env.Reset(envs.Seed(9))
		play(t, env, 777)
		snap, err := env.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		want := play(t, env, 3000)

		other, _ := New(id, nil)
		other.Reset(envs.Seed(123))
		play(t, other, 50)
		if err := other.Restore(snap); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		again, _ := other.Snapshot()
		if !bytes.Equal(again, snap) {
			t.Errorf("%s: snapshot of a restored env differs", id)
		}
		if got := play(t, other, 3000); !slices.Equal(got, want) {
			t.Errorf("%s: restored env diverges", id)
		}
	}
}

func TestRestoreRejects(t *testing.T) {
	breakout, _ := New("Breakout-MinAtar", nil)
	breakout.Reset(envs.Seed(1))
	snap, _ := breakout.Snapshot()
	seaquest, _ := New("Seaquest-MinAtar", nil)
	seaquest.Reset(envs.Seed(1))
	before, _ := seaquest.Snapshot()
	tests := map[string][]byte{
		"empty":      nil,
		"other game": snap,
		"truncated":  before[:len(before)-1],
		"trailing":   append(append([]byte(nil), before...), 0),
	}
	for name, b := range tests {
		if err := seaquest.Restore(b); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: err = %v, want a corrupt-snapshot error", name, err)
		}
	}
	if after, _ := seaquest.Snapshot(); !bytes.Equal(after, before) {
		t.Error("a rejected snapshot changed the env")
	}
}

// FuzzRestore feeds Restore arbitrary bytes: it must return an error or
// leave an env that steps without panicking, allocate at most a bounded
// multiple of the input's size, and what it accepts must round-trip:
// the accepted state's Snapshot is no longer than the input, restores
// into a fresh env to the same Snapshot, and both envs then step alike.
func FuzzRestore(f *testing.F) {
	for i, id := range IDs() {
		env, _ := New(id, nil)
		env.Reset(envs.Seed(2))
		for j := range 200 {
			if res, _ := env.Step(envs.DiscreteAction(j % 6)); res.Terminated {
				env.Reset(nil)
			}
		}
		b, _ := env.Snapshot()
		f.Add(uint8(i), b)
	}
	f.Fuzz(func(t *testing.T, game uint8, b []byte) {
		id := IDs()[int(game)%5]
		env, _ := New(id, nil)
		var err error
		// A game's state is a few grids and lists of at most a few hundred
		// objects: nothing near 64 KiB, and nothing proportional to more
		// than the input.
		if n := allocatedBytes(func() { err = env.Restore(b) }); n > 64<<10+16*uint64(len(b)) {
			t.Fatalf("%s: Restore of %d bytes allocated %d bytes", id, len(b), n)
		}
		if err != nil {
			return
		}
		snap, err := env.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if len(snap) > len(b) {
			t.Fatalf("%s: Snapshot after Restore of %d bytes is %d bytes; want no longer (varints are minimal)", id, len(b), len(snap))
		}
		twin, _ := New(id, nil)
		if err := twin.Restore(snap); err != nil {
			t.Fatalf("%s: Restore(Snapshot()) of an accepted state: %v", id, err)
		}
		if again, _ := twin.Snapshot(); !bytes.Equal(again, snap) {
			t.Fatalf("%s: Snapshot of a restored Snapshot differs:\n%x\n%x", id, again, snap)
		}
		for i := range 100 {
			res, err := env.Step(envs.DiscreteAction(i % 6))
			if err != nil {
				t.Fatal(err)
			}
			res2, err := twin.Step(envs.DiscreteAction(i % 6))
			if err != nil {
				t.Fatal(err)
			}
			if res.Reward != res2.Reward || res.Terminated != res2.Terminated || !slices.Equal(res.Obs, res2.Obs) {
				t.Fatalf("%s: step %d after restoring the input and its re-encoding differs", id, i)
			}
			if res.Terminated {
				env.Reset(nil)
				twin.Reset(nil)
			}
		}
	})
}

// allocatedBytes returns the bytes the heap allocated while f ran.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestResetSeedIsAFreshEnvironment(t *testing.T) {
	// Reset(&s) forgets the last action, so a reused env replays a fresh
	// one; Reset(nil) keeps it, as MinAtar's reset().
	for _, id := range IDs() {
		fresh, _ := New(id, envs.Options{OptStickyActionProb: 0.9})
		fresh.Reset(envs.Seed(4))
		want := play(t, fresh, 500)
		used, _ := New(id, envs.Options{OptStickyActionProb: 0.9})
		used.Reset(envs.Seed(77))
		play(t, used, 33)
		used.Reset(envs.Seed(4))
		if got := play(t, used, 500); !slices.Equal(got, want) {
			t.Errorf("%s: Reset(seed) on a used env differs from a fresh env", id)
		}
	}
}
