package dqn

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// smallConfig is a quick run with every improvement on, prioritised
// replay included, on two workers.
func smallConfig(seed uint64) (Config, algorithms.Setup) {
	cfg := DefaultConfig()
	cfg.LR, cfg.BufferSize, cfg.BatchSize = 1e-3, 2000, 32
	cfg.LearningStarts, cfg.TrainFreq, cfg.GradientSteps = 256, 4, 1
	cfg.TargetUpdateInterval, cfg.Tau = 4, 0.05
	cfg.EpsilonSchedule = algorithms.Schedule{Final: 0.05, Steps: 2000}
	cfg.Double, cfg.Dueling, cfg.NStep, cfg.Loss, cfg.Prioritized = true, true, 3, "huber", true
	return cfg, algorithms.Setup{EnvID: "CartPole-v1", Seed: seed, Device: "cpu",
		Model:   policy.ModelConfig{Hidden: []int{32, 32}, Activation: policy.ReLU},
		Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 64}}
}

// TestDeterministic runs DQN twice with the same seed: every learning
// field of every iteration's Result must be identical.
func TestDeterministic(t *testing.T) {
	const iterations = 8
	run := func() []algorithms.Result {
		d, err := New(smallConfig(7))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		var out []algorithms.Result
		for i := 0; i < iterations; i++ {
			r, err := d.Train(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			r.TimeS, r.EnvStepsPerS, r.SampleTimeS, r.LearnTimeS = 0, 0, 0, 0
			out = append(out, r)
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Errorf("iteration %d: second run's Result = %+v; want %+v (same seed)", i+1, b[i], a[i])
		}
	}
}

// TestIterationSchedule checks design.md's iteration contract: one
// iteration is workers × envs × fragment_length env steps plus the
// gradient steps due for them (one per train_freq steps past
// learning_starts), and ε follows its own horizon.
func TestIterationSchedule(t *testing.T) {
	cfg, setup := smallConfig(3)
	cfg.LearningStarts, cfg.TrainFreq, cfg.GradientSteps = 300, 8, 3
	cfg.EpsilonSchedule = algorithms.Schedule{Final: 0.1, Steps: 512}
	d, err := New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	metric := func(r algorithms.Result, name string) float64 {
		for _, m := range r.Learner {
			if m.Name == name {
				return m.Value
			}
		}
		t.Fatalf("no metric %s in %v", name, r.Learner)
		return 0
	}
	// 256 steps per iteration. Iteration 1: steps 1..256, none past 300.
	// Iteration 2: steps 257..512: multiples of 8 above 300 are 304..512,
	// 27 of them, × 3 gradient steps. Iteration 3: 32 × 3.
	wantSteps := []float64{0, 81, 96}
	wantEps := []float64{1, 1 - 0.9*256/512, 0.1}
	for i := range wantSteps {
		r, err := d.Train(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.EnvSteps != int64(256*(i+1)) {
			t.Errorf("iteration %d: env_steps = %d; want %d", i+1, r.EnvSteps, 256*(i+1))
		}
		if got := metric(r, "learner/gradient_steps"); got != wantSteps[i] {
			t.Errorf("iteration %d: gradient steps = %v; want %v", i+1, got, wantSteps[i])
		}
		if got := metric(r, "learner/epsilon"); math.Abs(got-wantEps[i]) > 1e-12 {
			t.Errorf("iteration %d: epsilon = %v; want %v", i+1, got, wantEps[i])
		}
	}
	if got, want := d.learner.Weights().Explore.Epsilon, float32(0.1); got != want {
		t.Errorf("broadcast epsilon = %v; want %v", got, want)
	}
}

func testRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// TestGreedyPolicyEvaluates checks that DQN hands the runner a greedy
// policy (argmax Q) that algorithms.Evaluate can run.
func TestGreedyPolicyEvaluates(t *testing.T) {
	d, err := New(smallConfig(5))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var _ algorithms.GreedyPolicy = d
	pol, err := d.GreedyPolicy()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := algorithms.Evaluate(context.Background(), "CartPole-v1", nil, pol, 3, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Returns) != 3 {
		t.Fatalf("Evaluate = %+v; want 3 episodes", ev)
	}
	// An untrained network cannot be asked to beat a random policy; its
	// evaluation must instead be exactly argmax_a Q(s, a) on CartPole-v1
	// reset with seeds 1000, 1001, 1002, stepped here.
	net, err := policy.NewQNetwork(d.spec, d.learner.Weights())
	if err != nil {
		t.Fatal(err)
	}
	env, err := envs.Make("CartPole-v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	for ep, want := range ev.Returns {
		obs, _, err := env.Reset(envs.Seed(1000 + uint64(ep)))
		if err != nil {
			t.Fatal(err)
		}
		var ret float64
		for {
			r, err := env.Step(envs.DiscreteAction(policy.Argmax(net.Q(obs, 1))))
			if err != nil {
				t.Fatal(err)
			}
			ret += r.Reward
			if r.Done() {
				break
			}
			obs = r.Obs
		}
		if ret != want || ret < 1 {
			t.Errorf("episode %d: argmax Q's return on CartPole-v1 = %v; Evaluate said %v", ep, ret, want)
		}
	}
}
