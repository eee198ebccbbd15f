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
