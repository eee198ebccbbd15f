package policy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// ExampleLoad serves a policy exported by `rltrain export`: Load it and ask
// for actions, in any Go program, without gorgonia.
func ExampleLoad() {
	// In a real program the file comes from `rltrain export RUN_DIR --out policy.msgpack`;
	// here an untrained CartPole policy stands in for it.
	spec := policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: policy.DefaultModelConfig()}
	exp := &policy.Exported{
		Kind: "actor_critic", EnvID: "CartPole-v1", NumActions: 2, Model: spec.Model,
		ObsLow: []float32{-4.8, -1e38, -0.42, -1e38}, ObsHigh: []float32{4.8, 1e38, 0.42, 1e38},
		Weights: spec.Init(envs.NewRand(1, 0)),
	}
	data, _ := exp.Encode()
	path := filepath.Join(os.TempDir(), "rlgo-example-policy.msgpack")
	os.WriteFile(path, data, 0o644)
	defer os.Remove(path)

	p, err := policy.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := p.Act([]float32{0.01, 0.02, -0.03, 0.04})
	fmt.Println(p.EnvID(), "action in [0, 2):", a >= 0 && a < 2)
	// Output: CartPole-v1 action in [0, 2): true
}

func TestDecodeRejects(t *testing.T) {
	if _, err := policy.Decode([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}); err == nil {
		t.Error("Decode accepted a hostile header")
	}
	empty, _ := (&policy.Exported{Kind: "actor_critic"}).Encode()
	if _, err := policy.Decode(empty); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("Decode(empty) = %v; want an incomplete-file error", err)
	}
}

// TestNoGorgoniaAtRunTime checks that serving a policy does not pull in
// the learner's dependency.
func TestNoGorgoniaAtRunTime(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	if strings.Contains(string(out), "gorgonia.org/") {
		t.Error("package policy depends on gorgonia")
	}
}

// FuzzDecode feeds arbitrary bytes to the exported-policy decoder: it must
// return an error or a policy that acts, never panic.
func FuzzDecode(f *testing.F) {
	spec := policy.ActorCriticSpec{ObsDim: 2, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{3}, Activation: policy.Tanh}}
	good, _ := (&policy.Exported{Kind: "actor_critic", NumActions: 2, Model: spec.Model,
		ObsLow: []float32{-1, -1}, ObsHigh: []float32{1, 1}, Weights: spec.Init(envs.NewRand(1, 0))}).Encode()
	f.Add(good)
	convSpec := policy.QSpec{ObsDim: 12, ObsShape: []int{2, 3, 2}, NumActions: 2, Model: policy.ModelConfig{Conv: []policy.ConvLayer{{Filters: 2, Kernel: 2}}, Hidden: []int{3}, Activation: policy.ReLU}}
	conv, _ := (&policy.Exported{Kind: "q", NumActions: 2, Model: convSpec.Model, ObsShape: convSpec.ObsShape,
		ObsLow: make([]float32, 12), ObsHigh: make([]float32, 12), Weights: convSpec.Init(envs.NewRand(1, 0))}).Encode()
	f.Add(conv)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policy.Decode(data)
		if err != nil {
			return
		}
		if _, err := p.Act(make([]float32, len(p.ObsLow()))); err != nil {
			t.Fatalf("a decoded policy cannot act: %v", err)
		}
	})
}

// TestExportConvRoundTrip exports conv policies (PPO's actor-critic and
// DQN's dueling Q-network on MinAtar-shaped frames), loads them, and
// checks that the loaded policy acts as the one exported.
func TestExportConvRoundTrip(t *testing.T) {
	shape := []int{10, 10, 4}
	model := policy.ModelConfig{Conv: []policy.ConvLayer{{Filters: 16, Kernel: 3, Stride: 1}}, Hidden: []int{32}, Activation: policy.ReLU}
	low, high := make([]float32, 400), make([]float32, 400)
	for i := range high {
		high[i] = 1
	}
	rng := envs.NewRand(4, 0)
	obs := make([]float32, 400)
	for _, kind := range []string{"actor_critic", "q"} {
		exp := &policy.Exported{Kind: kind, EnvID: "Breakout-MinAtar", NumActions: 6, Model: model, ObsLow: low, ObsHigh: high, ObsShape: shape}
		var greedy func([]float32, int, []int)
		if kind == "q" {
			spec := policy.QSpec{ObsDim: 400, ObsShape: shape, NumActions: 6, Model: model, Dueling: true}
			exp.Dueling, exp.Weights = true, spec.Init(rng)
			p, err := policy.NewEpsilonGreedy(spec, exp.Weights)
			if err != nil {
				t.Fatal(err)
			}
			greedy = p.Greedy
		} else {
			spec := policy.ActorCriticSpec{ObsDim: 400, ObsShape: shape, NumActions: 6, Model: model}
			exp.Weights = spec.Init(rng)
			p, err := policy.NewActorCritic(spec, exp.Weights)
			if err != nil {
				t.Fatal(err)
			}
			greedy = p.Greedy
		}
		data, err := exp.Encode()
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := policy.Decode(data)
		if err != nil {
			t.Fatalf("%s: Decode: %v", kind, err)
		}
		want := make([]int, 1)
		for step := 0; step < 50; step++ {
			for i := range obs {
				obs[i] = float32(rng.IntN(2))
			}
			greedy(obs, 1, want)
			if got, err := loaded.Act(obs); err != nil || got != want[0] {
				t.Fatalf("%s: loaded Act = %v, %v; want %v", kind, got, err, want[0])
			}
		}

		bad := *exp // the same network without the observation shape
		bad.ObsShape = nil
		data, _ = bad.Encode()
		if _, err := policy.Decode(data); err == nil || !strings.Contains(err.Error(), "image observation") {
			t.Errorf("%s: Decode without an observation shape = %v; want an image-observation error", kind, err)
		}
	}
}

// TestDecodeRejectsHostileConv checks that conv settings from a file are
// bounded before anything is allocated for them.
func TestDecodeRejectsHostileConv(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape []int
		layer policy.ConvLayer
		want  string
	}{
		{"huge padding", []int{1, 1, 1}, policy.ConvLayer{Filters: 1, Kernel: 255, Padding: 254}, "values per image"},
		{"padding as large as the kernel", []int{1, 1, 1}, policy.ConvLayer{Filters: 1, Kernel: 3, Padding: 3}, "padding"},
		{"too many filters", []int{4, 4, 1}, policy.ConvLayer{Filters: 1 << 20, Kernel: 1}, "filters"},
		{"negative dimension", []int{-1, -16, 1}, policy.ConvLayer{Filters: 1, Kernel: 1}, "observation shape"},
	} {
		n := 1
		for _, d := range c.shape {
			n *= d
		}
		n = max(n, 1)
		exp := &policy.Exported{Kind: "q", NumActions: 2, ObsLow: make([]float32, n), ObsHigh: make([]float32, n), ObsShape: c.shape,
			Model: policy.ModelConfig{Conv: []policy.ConvLayer{c.layer}, Hidden: []int{2}, Activation: policy.ReLU}, Weights: &policy.Weights{}}
		data, _ := exp.Encode()
		if _, err := policy.Decode(data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Decode = %v; want an error containing %q", c.name, err, c.want)
		}
	}
}
