package policy_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// cartpoleExport is a small exported CartPole policy for the integrity tests.
func cartpoleExport() *policy.Exported {
	spec := policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{8}, Activation: policy.Tanh}}
	return &policy.Exported{
		Kind: "actor_critic", EnvID: "CartPole-v1", NumActions: 2, Model: spec.Model,
		ObsLow: []float32{-4.8, -1e38, -0.42, -1e38}, ObsHigh: []float32{4.8, 1e38, 0.42, 1e38},
		Weights: spec.Init(envs.NewRand(1, 0)),
	}
}

// TestDecodeDetectsEveryBitFlip flips random bits of an exported policy
// (the hardening probe found 133 of 12,000 flips loading silently and
// changing actions): every one must be refused now.
func TestDecodeDetectsEveryBitFlip(t *testing.T) {
	data, err := cartpoleExport().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Decode(data); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(13, 0))
	for i := range 12000 {
		bad := append([]byte(nil), data...)
		bit := rng.IntN(8 * len(bad))
		bad[bit/8] ^= 1 << (bit % 8)
		if _, err := policy.Decode(bad); err == nil {
			t.Fatalf("flip %d (bit %d of %d bytes) loaded", i, bit, len(data))
		}
	}
}

// TestDecodeStrictSchema refuses well-formed files (valid checksums)
// whose content is wrong: non-finite weights, an unknown activation,
// extra or missing tensors, format 1 files without a checksum.
func TestDecodeStrictSchema(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(e *policy.Exported)
		want string
	}{
		{"NaN weight", func(e *policy.Exported) { e.Weights.Tensors[0].Data[3] = float32(math.NaN()) }, "is NaN"},
		{"Inf weight", func(e *policy.Exported) { e.Weights.Tensors[1].Data[0] = float32(math.Inf(-1)) }, "-Inf"},
		{"unknown activation", func(e *policy.Exported) { e.Model.Activation = "swish" }, "activation"},
		{"extra tensor", func(e *policy.Exported) {
			e.Weights.Tensors = append(e.Weights.Tensors, policy.Tensor{Name: "extra", Shape: []int{2}, Data: []float32{1, 2}})
		}, "tensors"},
		{"missing tensor", func(e *policy.Exported) { e.Weights.Tensors = e.Weights.Tensors[1:] }, "load policy"},
		{"inverted bounds", func(e *policy.Exported) { e.ObsLow[0], e.ObsHigh[0] = 1, -1 }, "observation bounds"},
	} {
		e := cartpoleExport()
		tc.edit(e)
		data, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := policy.Decode(data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Decode = %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
	data, _ := cartpoleExport().Encode()
	if _, err := policy.Decode(data[:len(data)-15]); err == nil || !strings.Contains(err.Error(), "no checksum trailer") {
		t.Errorf("a file without its trailer: Decode = %v; want the format-2 trailer error", err)
	}
}
