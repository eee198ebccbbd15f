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
