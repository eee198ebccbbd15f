package dqn

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
)

// resumeConfig is smallConfig with a buffer that wraps around in the
// third iteration (256 env steps each), learning starting inside the
// second, and gradient steps and (hard) target updates on periods that do
// not divide an iteration, so both fall due across a checkpoint.
func resumeConfig(workers int) (Config, algorithms.Setup) {
	cfg, setup := smallConfig(11)
	cfg.BufferSize, cfg.LearningStarts, cfg.TrainFreq = 600, 300, 3
	cfg.TargetUpdateInterval, cfg.Tau = 100, 1
	setup.Rollout.Workers = workers
	return cfg, setup
}

func newResumeDQN(t *testing.T, cfg Config, setup algorithms.Setup) *DQN {
	t.Helper()
	d, err := New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func resumeDQN(t *testing.T, workers int) *DQN {
	t.Helper()
	cfg, setup := resumeConfig(workers)
	return newResumeDQN(t, cfg, setup)
}

// trainN runs n iterations and returns their Results without the timing fields.
func trainN(t *testing.T, d *DQN, n int) []algorithms.Result {
	t.Helper()
	var out []algorithms.Result
	for i := 0; i < n; i++ {
		r, err := d.Train(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		r.TimeS, r.EnvStepsPerS, r.SampleTimeS, r.LearnTimeS = 0, 0, 0, 0
		out = append(out, r)
	}
	return out
}

// TestResumeEqualsUninterrupted stops runs after iteration 1 (before any
// gradient step), 3 (the buffer has wrapped around) and 4, restores each
// checkpoint into a fresh DQN and checks that the following iterations
// equal those of a run that never stopped (issue 7).
func TestResumeEqualsUninterrupted(t *testing.T) {
	const total = 6
	want := trainN(t, resumeDQN(t, 2), total)
	if want[0].Learner[6].Value != 0 || want[1].Learner[6].Value == 0 {
		t.Fatalf("gradient steps per iteration = %v, %v; want none in the first and some in the second", want[0].Learner[6].Value, want[1].Learner[6].Value)
	}
	for _, k := range []int{1, 3, 4} {
		first := resumeDQN(t, 2)
		trainN(t, first, k)
		if k >= 3 && first.replay.next >= first.replay.size {
			t.Fatalf("k=%d: replay has not wrapped around (next %d, size %d)", k, first.replay.next, first.replay.size)
		}
		files, err := first.SaveState()
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{algorithms.FileWeights, fileTarget, algorithms.FileOptimizer, fileReplay, algorithms.FileState, algorithms.FileWorkers, fileNStep} {
			if _, ok := files[name]; !ok {
				t.Fatalf("k=%d: checkpoint lacks %s", k, name)
			}
		}
		resumed := resumeDQN(t, 2)
		notes, err := resumed.LoadState(files)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 0 {
			t.Errorf("k=%d: LoadState notes = %q; want none for an exact resume", k, notes)
		}
		got := trainN(t, resumed, total-k)
		for i := range got {
			if !reflect.DeepEqual(got[i], want[k+i]) {
				t.Errorf("resumed after %d: iteration %d = %+v; want %+v", k, k+i+1, got[i], want[k+i])
			}
		}
	}
}

// TestResumeWithoutReplay: with dqn.checkpoint_replay false the checkpoint
// has no replay file and the resumed run says its buffer starts empty.
func TestResumeWithoutReplay(t *testing.T) {
	cfg, setup := resumeConfig(2)
	cfg.CheckpointReplay = false
	d := newResumeDQN(t, cfg, setup)
	trainN(t, d, 2)
	files, err := d.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files[fileReplay]; ok {
		t.Errorf("checkpoint_replay false saved %s", fileReplay)
	}
	resumed := newResumeDQN(t, cfg, setup)
	notes, err := resumed.LoadState(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "buffer starts empty") || !strings.Contains(notes[0], "not exact") {
		t.Errorf("notes = %q; want one saying the buffer starts empty and the resume is not exact", notes)
	}
	r := trainN(t, resumed, 1)[0]
	if r.Iteration != 3 || r.EnvSteps != 3*256 || r.Learner[7].Value != 256 {
		t.Errorf("after resuming: iteration %d, %d env steps, buffer %v; want 3, 768, 256 (only the new iteration's transitions)", r.Iteration, r.EnvSteps, r.Learner[7].Value)
	}
}

// TestLoadStateRejectsDamage: a hostile or truncated file, or a missing
// one, is an error naming the file, never a panic or a silent restart.
func TestLoadStateRejectsDamage(t *testing.T) {
	cfg, setup := resumeConfig(1)
	d := newResumeDQN(t, cfg, setup)
	trainN(t, d, 2)
	good, err := d.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range good {
		for _, bad := range [][]byte{{0xdd, 0xff, 0xff, 0xff, 0xff}, b[:len(b)/2], nil} {
			files := map[string][]byte{}
			for n, v := range good {
				files[n] = v
			}
			if bad == nil {
				delete(files, name)
			} else {
				files[name] = bad
			}
			fresh := newResumeDQN(t, cfg, setup)
			_, err := fresh.LoadState(files)
			if bad == nil && name == algorithms.FileWorkers {
				continue // a checkpoint of envs that cannot snapshot
			}
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("LoadState with %s damaged (%d bytes of %d) = %v; want an error naming it", name, len(bad), len(b), err)
			}
		}
	}
	// A replay buffer of another size is refused.
	other := cfg
	other.BufferSize = 500
	if _, err := newResumeDQN(t, other, setup).LoadState(good); err == nil || !strings.Contains(err.Error(), "buffer_size") {
		t.Errorf("LoadState into buffer_size 500 = %v; want an error about buffer_size", err)
	}
}

// TestResumeOtherWorkerCount restores a checkpoint of two workers into one
// and one into two: the learner, replay and counters restore; the workers
// start fresh episodes with empty n-step queues, and the run says so.
func TestResumeOtherWorkerCount(t *testing.T) {
	for _, c := range []struct{ from, to int }{{2, 1}, {1, 2}} {
		d := resumeDQN(t, c.from)
		trainN(t, d, 2)
		files, err := d.SaveState()
		if err != nil {
			t.Fatal(err)
		}
		resumed := resumeDQN(t, c.to)
		notes, err := resumed.LoadState(files)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 1 || !strings.Contains(notes[0], "fleet size changed") || !strings.Contains(notes[0], "n-step queues start empty") {
			t.Errorf("%d → %d workers: notes = %q; want one saying the fleet size changed and the n-step queues start empty", c.from, c.to, notes)
		}
		if resumed.replay.Len() != d.replay.Len() {
			t.Errorf("%d → %d workers: replay holds %d; want %d", c.from, c.to, resumed.replay.Len(), d.replay.Len())
		}
		r := trainN(t, resumed, 1)[0]
		if r.Iteration != 3 || r.EnvSteps != d.EnvSteps+int64(c.to*2*64) {
			t.Errorf("%d → %d workers: first iteration after resuming = %d at %d env steps; want 3 at %d", c.from, c.to, r.Iteration, r.EnvSteps, d.EnvSteps+int64(c.to*2*64))
		}
	}
}
