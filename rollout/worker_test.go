package rollout

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/policy"
)

var cartPoleSpec = policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{8}, Activation: policy.Tanh}}

func newPolicy(t *testing.T, version uint64) *policy.ActorCritic {
	t.Helper()
	w := cartPoleSpec.Init(envs.NewRand(1, 2))
	w.Version = version
	p, err := policy.NewActorCritic(cartPoleSpec, w)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWorkerSample(t *testing.T) {
	cfg := Config{Workers: 1, EnvsPerWorker: 3, FragmentLength: 50}
	// A 10-step time limit makes truncations happen inside the fragment.
	spec := WorkerSpec{EnvID: "CartPole-v1", EnvOptions: envs.Options{"max_episode_steps": 10}, Seed: 5}
	p := newPolicy(t, 3)
	w, err := NewWorker(2, cfg, spec, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	if b.ID != "w2-0" || b.WorkerIndex != 2 || b.WeightsVersion != 3 || b.Len() != 150 {
		t.Errorf("batch = id %s worker %d version %d len %d; want w2-0, 2, 3, 150", b.ID, b.WorkerIndex, b.WeightsVersion, b.Len())
	}
	truncs := 0
	final := map[int][]float32{}
	for _, f := range b.FinalObs {
		final[f.Index] = f.Obs
	}
	for k := range b.Truncated {
		done := b.Terminated[k] || b.Truncated[k]
		if done != (final[k] != nil) {
			t.Errorf("step %d: done %v but final observation present %v", k, done, final[k] != nil)
		}
		if b.Truncated[k] && !b.Terminated[k] {
			truncs++
			want := make([]float32, 1)
			p.Values(final[k], 1, want)
			if b.BootstrapValues[k] != want[0] {
				t.Errorf("step %d: BootstrapValues = %v; want V(final obs) = %v", k, b.BootstrapValues[k], want[0])
			}
		} else if b.BootstrapValues[k] != 0 {
			t.Errorf("step %d: BootstrapValues = %v without truncation; want 0", k, b.BootstrapValues[k])
		}
	}
	if truncs == 0 {
		t.Error("no truncation in 50 steps with a 10-step limit")
	}
	for _, e := range b.Episodes {
		if e.Worker != 2 || e.Length > 10 || e.Return != float64(e.Length) {
			t.Errorf("episode %+v: want worker 2, length <= 10, return = length (CartPole pays 1 a step)", e)
		}
	}
	b2, err := w.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b2.ID != "w2-1" {
		t.Errorf("second batch id = %s; want w2-1", b2.ID)
	}
}

func TestWorkersDeterministic(t *testing.T) {
	cfg := Config{Workers: 1, EnvsPerWorker: 2, FragmentLength: 64}
	spec := WorkerSpec{EnvID: "CartPole-v1", Seed: 11}
	sample := func(index int) *SampleBatch {
		w, err := NewWorker(index, cfg, spec, newPolicy(t, 1))
		if err != nil {
			t.Fatal(err)
		}
		b, err := w.Sample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if a, b := sample(0), sample(0); !reflect.DeepEqual(a, b) {
		t.Error("two workers with the same seed and index sampled different batches")
	}
	if a, b := sample(0), sample(1); reflect.DeepEqual(a.Obs, b.Obs) {
		t.Error("workers 0 and 1 sampled the same observations; want their own streams")
	}
}

// panicEnv is a CartPole that panics at a given step.
type panicEnv struct {
	envs.Env
	at, n int
}

func (p *panicEnv) Step(a envs.Action) (envs.StepResult, error) {
	p.n++
	if p.n == p.at {
		panic("boom")
	}
	return p.Env.Step(a)
}

func TestWorkerReportsCrashingEnv(t *testing.T) {
	id := "PanicCartPole-rollout-test"
	envs.MustRegister(envs.Spec{ID: id, New: func(envs.Options) (envs.Env, error) {
		e, err := envs.Make("CartPole-v1", nil)
		return &panicEnv{Env: e, at: 7}, err
	}})
	w, err := NewWorker(4, Config{Workers: 1, EnvsPerWorker: 2, FragmentLength: 20}, WorkerSpec{EnvID: id, Seed: 1}, newPolicy(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Sample(context.Background())
	var we *WorkerError
	var ee *envs.EnvError
	if !errors.As(err, &we) || !errors.As(err, &ee) {
		t.Fatalf("Sample = %v; want a WorkerError wrapping an EnvError", err)
	}
	if we.Worker != 4 || ee.EnvIndex != 0 || ee.Step != 7 || !ee.Panicked {
		t.Errorf("error = %v; want worker 4, env 0, step 7, panicked", err)
	}
}

func TestLocalFleet(t *testing.T) {
	cfg := Config{Workers: 3, EnvsPerWorker: 1, FragmentLength: 16}
	f, err := NewLocalFleet(cfg, WorkerSpec{EnvID: "CartPole-v1", Seed: 2}, func() (Policy, error) { return newPolicy(t, 1), nil })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := cartPoleSpec.Init(envs.NewRand(9, 9))
	w.Version = 8
	if err := f.SetWeights(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	bs, err := f.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 3 {
		t.Fatalf("Sample returned %d batches; want 3", len(bs))
	}
	for i, b := range bs {
		if b.WorkerIndex != i || b.WeightsVersion != 8 {
			t.Errorf("batch %d: worker %d version %d; want worker %d version 8", i, b.WorkerIndex, b.WeightsVersion, i)
		}
	}
	if h := f.Health(); h.Workers != 3 {
		t.Errorf("Health().Workers = %d; want 3", h.Workers)
	}
	f.Close()
	if _, err := f.Sample(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Sample after Close = %v; want ErrClosed", err)
	}
}

// newTruncatingWorker is a CartPole worker whose 10-step time limit makes
// episodes end (and be truncated) inside every fragment, so every column
// is exercised.
func newTruncatingWorker(t *testing.T, cols Columns, wrappers ...envs.WrapperSpec) *Worker {
	t.Helper()
	cfg := Config{Workers: 1, EnvsPerWorker: 3, FragmentLength: 40}
	spec := WorkerSpec{EnvID: "CartPole-v1", EnvOptions: envs.Options{"max_episode_steps": 10}, Seed: 5, Columns: cols, Wrappers: wrappers}
	w, err := NewWorker(1, cfg, spec, newPolicy(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestWorkerColumns checks that a worker declared to fill some optional
// columns leaves the others empty, fills the declared ones exactly as a
// worker filling everything does, and acts identically (the columns do
// not touch the envs or the random streams).
func TestWorkerColumns(t *testing.T) {
	for _, cols := range []Columns{
		ColFinalObs | ColLastObs,                                     // DQN
		ColLogProbs | ColValues | ColBootstrapValues | ColLastValues, // PPO
		ColBootstrapValues,
		ColLastValues,
		AllColumns,
	} {
		t.Run(cols.String(), func(t *testing.T) {
			full, part := newTruncatingWorker(t, 0), newTruncatingWorker(t, cols)
			for range 3 {
				want, err := full.Sample(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got, err := part.Sample(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if err := got.Validate(); err != nil {
					t.Fatal(err)
				}
				if got.Columns != cols {
					t.Errorf("Columns = %v; want %v", got.Columns, cols)
				}
				// Drop from want what cols excludes: the rest must be equal.
				if !cols.Has(ColLogProbs) {
					want.LogProbs = nil
				}
				if !cols.Has(ColValues) {
					want.Values = nil
				}
				if !cols.Has(ColBootstrapValues) {
					want.BootstrapValues = nil
				}
				if !cols.Has(ColFinalObs) {
					want.FinalObs = nil
				}
				if !cols.Has(ColLastObs) {
					want.LastObs = nil
				}
				if !cols.Has(ColLastValues) {
					want.LastValues = nil
				}
				want.Columns = cols
				if !reflect.DeepEqual(got, want) {
					t.Errorf("batch with columns %v differs from the full batch without the others:\n got %+v\nwant %+v", cols, got, want)
				}
			}
		})
	}
}

// TestWorkerSampleIntoReuses checks that SampleInto refills a batch in its
// own storage and gives exactly what Sample gives.
func TestWorkerSampleIntoReuses(t *testing.T) {
	norm := envs.WrapperSpec{Name: envs.WrapNormalizeObservation}
	for _, tc := range []struct {
		name     string
		wrappers []envs.WrapperSpec
	}{{"raw", nil}, {"normalised", []envs.WrapperSpec{norm}}} {
		t.Run(tc.name, func(t *testing.T) {
			fresh, reused := newTruncatingWorker(t, 0, tc.wrappers...), newTruncatingWorker(t, 0, tc.wrappers...)
			if tc.wrappers != nil {
				// Observation statistics ride with weights that carry an ObsNorm.
				for _, w := range []*Worker{fresh, reused} {
					wts := cartPoleSpec.Init(envs.NewRand(1, 2))
					wts.Version = 3
					if wts.ObsNorm, _ = NewObsNorm(tc.wrappers, 4); wts.ObsNorm == nil {
						t.Fatal("no ObsNorm")
					}
					if err := w.SetWeights(wts); err != nil {
						t.Fatal(err)
					}
				}
			}
			var b SampleBatch
			var obs *float32
			var finals int
			for i := range 4 {
				want, err := fresh.Sample(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if err := reused.SampleInto(context.Background(), &b); err != nil {
					t.Fatal(err)
				}
				if want.FinalObs == nil && len(b.FinalObs) == 0 {
					want.FinalObs = b.FinalObs // nil and empty are the same here
				}
				if !reflect.DeepEqual(&b, want) {
					t.Fatalf("fragment %d: SampleInto gave\n%+v\nSample gave\n%+v", i, &b, want)
				}
				if tc.wrappers != nil && b.ObsStats == nil {
					t.Fatal("no observation statistics")
				}
				if i == 0 {
					obs, finals = &b.Obs[0], cap(b.FinalObs)
				} else if &b.Obs[0] != obs {
					t.Errorf("fragment %d: Obs was reallocated", i)
				}
				finals = max(finals, cap(b.FinalObs))
			}
			if finals == 0 {
				t.Error("no final observations: the test exercises nothing")
			}
			// Steady state: a refill allocates only the batch id and
			// what the policy and envs allocate themselves.
			allocs := testing.AllocsPerRun(5, func() {
				if err := reused.SampleInto(context.Background(), &b); err != nil {
					t.Fatal(err)
				}
			})
			var fb SampleBatch
			fresh.SampleInto(context.Background(), &fb)
			freshAllocs := testing.AllocsPerRun(5, func() {
				fb = SampleBatch{}
				if err := fresh.SampleInto(context.Background(), &fb); err != nil {
					t.Fatal(err)
				}
			})
			if allocs >= freshAllocs {
				t.Errorf("SampleInto into a used batch made %v allocations, into a new one %v; want fewer", allocs, freshAllocs)
			}
		})
	}
}

// TestLocalFleetReusesBatches checks the Fleet.Sample contract of the
// local fleet: the batches of one Sample are refilled by the next.
func TestLocalFleetReusesBatches(t *testing.T) {
	cfg := Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 8}
	f, err := NewLocalFleet(cfg, WorkerSpec{EnvID: "CartPole-v1", Seed: 2, Columns: ColFinalObs | ColLastObs}, func() (Policy, error) { return newPolicy(t, 1), nil })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first, err := f.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{first[0].ID, first[1].ID}
	second, err := f.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range second {
		if second[i] != first[i] {
			t.Errorf("worker %d: the second Sample returned a new batch; want the first refilled", i)
		}
		if second[i].ID == ids[i] || second[i].Columns != ColFinalObs|ColLastObs || second[i].Values != nil {
			t.Errorf("worker %d: batch %s columns %v; want a new id and only final_obs|last_obs", i, second[i].ID, second[i].Columns)
		}
	}
}

func TestColumns(t *testing.T) {
	for _, tc := range []struct {
		c    Columns
		str  string
		has  Columns
		want bool
	}{
		{0, "logp|values|bootstrap_values|final_obs|last_obs|last_values", ColValues, true},
		{ColFinalObs | ColLastObs, "final_obs|last_obs", ColValues, false},
		{ColFinalObs | ColLastObs, "final_obs|last_obs", ColFinalObs | ColLastObs, true},
		{ColLogProbs, "logp", ColLogProbs | ColValues, false},
	} {
		if got := tc.c.String(); got != tc.str {
			t.Errorf("Columns(%#x).String() = %q; want %q", uint8(tc.c), got, tc.str)
		}
		if got := tc.c.Has(tc.has); got != tc.want {
			t.Errorf("Columns(%v).Has(%v) = %v; want %v", tc.c, tc.has, got, tc.want)
		}
	}
}
