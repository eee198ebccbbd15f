package ppo

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/internal/wire"

	"github.com/rlgo/rlgo/algorithms"
)

// TestResumeEqualsUninterrupted stops a run after 3 iterations, restores
// its checkpoint into a fresh PPO and checks that iterations 4-6 equal
// those of a run that never stopped (issue 7: exact resume with local
// workers and snapshot-able envs).
func TestResumeEqualsUninterrupted(t *testing.T) {
	train := func(p *PPO, n int) []algorithms.Result {
		var out []algorithms.Result
		for i := 0; i < n; i++ {
			r, err := p.Train(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, learningFields(r))
		}
		return out
	}
	newPPO := func(workers int) *PPO {
		cfg, setup := cleanRLCartPole(3)
		setup.Rollout.Workers = workers
		setup.Rollout.FragmentLength = 64
		p, err := New(cfg, setup)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	want := train(newPPO(2), 6)[3:]

	first := newPPO(2)
	train(first, 3)
	files, err := first.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files[algorithms.FileWorkers]; !ok {
		t.Fatal("checkpoint lacks the workers' env state although CartPole can snapshot")
	}
	resumed := newPPO(2)
	notes, err := resumed.LoadState(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("LoadState notes = %q; want none for an exact resume", notes)
	}
	got := train(resumed, 3)
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("resumed iteration %d = %+v; want %+v", i+4, got[i], want[i])
		}
	}

	// Another worker count restores the learner and counters; the
	// workers start fresh episodes and the run says so.
	other := newPPO(4)
	notes, err = other.LoadState(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "fleet size changed") {
		t.Errorf("LoadState with 4 workers: notes = %q; want one saying the fleet size changed", notes)
	}
	r, err := other.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Iteration != 4 {
		t.Errorf("first iteration after resuming at 3 = %d; want 4", r.Iteration)
	}
}

func TestLoadStateRejectsDamage(t *testing.T) {
	cfg, setup := cleanRLCartPole(1)
	p, err := New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	files, err := p.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	files[algorithms.FileOptimizer] = []byte{0xdd, 0xff, 0xff, 0xff, 0xff} // a hostile header, not a crash
	if _, err := p.LoadState(files); err == nil {
		t.Error("LoadState accepted a damaged optimizer file")
	}
	delete(files, algorithms.FileState)
	if _, err := p.LoadState(files); err == nil {
		t.Error("LoadState without state.msgpack = nil error")
	}
}

// TestLoadStateAppliesNothingOnError checks that a checkpoint whose
// state file is bad leaves the run as it was: every file is decoded and
// checked before anything is applied (the weights were applied first and
// left half-restored before).
func TestLoadStateAppliesNothingOnError(t *testing.T) {
	cfg, setup := cleanRLCartPole(1)
	p, err := New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, err := p.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	before := fresh.Weights().Clone()
	// A state file that decodes but holds a random state no RNG accepts:
	// the weights and optimizer files before it are good.
	var st algorithms.LoopState
	if err := algorithms.Decode(files, algorithms.FileState, &st); err != nil {
		t.Fatal(err)
	}
	st.RNG = []byte("not a PCG state")
	badRNG, err := wire.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{algorithms.FileState: badRNG, algorithms.FileOptimizer: {0xc1}, algorithms.FileWorkers: {0xc1}}
	for name, data := range cases {
		bad := maps.Clone(files)
		bad[name] = data // 0xc1 is never a valid msgpack byte
		if _, err := fresh.LoadState(bad); err == nil {
			t.Fatalf("LoadState with a bad %s = nil error", name)
		}
		for i, tn := range fresh.Weights().Tensors {
			if !slices.Equal(tn.Data, before.Tensors[i].Data) {
				t.Fatalf("a bad %s changed tensor %s", name, tn.Name)
			}
		}
		if fresh.Iteration != 0 || fresh.EnvSteps != 0 {
			t.Fatalf("a bad %s changed the counters to iteration %d, %d env steps", name, fresh.Iteration, fresh.EnvSteps)
		}
	}
}
