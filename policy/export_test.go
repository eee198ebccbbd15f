package policy_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// exportMagic is the trailer's magic of format 2 (policy/export.go).
const exportMagic = "RLGOPOLICY2"

// reseal returns b's msgpack body (b without its trailer, if it ends with
// one) followed by a trailer with the body's correct checksum, as
// Exported.Encode writes it.
func reseal(b []byte) []byte {
	body := b
	if n := len(exportMagic) + 4; len(b) >= n && string(b[len(b)-n:len(b)-4]) == exportMagic {
		body = b[:len(b)-n]
	}
	out := append(append([]byte(nil), body...), exportMagic...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
}

// FuzzDecode feeds arbitrary bytes to the exported-policy decoder, both as
// they are and resealed (their msgpack body under a correct checksum, so
// that mutations reach the msgpack and schema checks instead of stopping
// at the checksum). For each: decoding allocates at most 64 KiB plus 64
// bytes per input byte (a short file must not make Decode build a huge
// network), never panics, and either refuses the file or returns a
// policy that acts; an accepted file re-encoded with Exported.Encode
// decodes again, and re-encodes to the same bytes (weights compared by
// their bits).
func FuzzDecode(f *testing.F) {
	spec := policy.ActorCriticSpec{ObsDim: 2, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{3}, Activation: policy.Tanh}}
	good, _ := (&policy.Exported{Kind: "actor_critic", NumActions: 2, Model: spec.Model,
		ObsLow: []float32{-1, -1}, ObsHigh: []float32{1, 1}, Weights: spec.Init(envs.NewRand(1, 0))}).Encode()
	f.Add(good)
	convSpec := policy.QSpec{ObsDim: 12, ObsShape: []int{2, 3, 2}, NumActions: 2, Model: policy.ModelConfig{Conv: []policy.ConvLayer{{Filters: 2, Kernel: 2}}, Hidden: []int{3}, Activation: policy.ReLU}}
	conv, _ := (&policy.Exported{Kind: "q", NumActions: 2, Model: convSpec.Model, ObsShape: convSpec.ObsShape,
		ObsLow: make([]float32, 12), ObsHigh: make([]float32, 12), Weights: convSpec.Init(envs.NewRand(1, 0))}).Encode()
	f.Add(conv)
	contSpec := policy.ActorCriticSpec{ObsDim: 2, ActionDim: 1, Model: policy.ModelConfig{Hidden: []int{2, 2}, Activation: policy.Tanh}}
	cw := contSpec.Init(envs.NewRand(1, 0))
	cw.ObsNorm = policy.NewObsNorm(2, 5)
	cont, _ := (&policy.Exported{Kind: "actor_critic", Model: contSpec.Model, ObsLow: []float32{-1, -1}, ObsHigh: []float32{1, 1},
		ActionLow: []float32{-2}, ActionHigh: []float32{2}, Weights: cw}).Encode()
	f.Add(cont)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	// msgpack builds its per-type caches on first use: not counted below.
	for _, b := range [][]byte{good, conv, cont} {
		if _, err := policy.Decode(b); err != nil {
			f.Fatalf("a seed does not decode: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(data []byte) {
			var e *policy.Exported
			var err error
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			e, err = policy.DecodeExported(data)
			runtime.ReadMemStats(&after)
			if grew, limit := after.TotalAlloc-before.TotalAlloc, uint64(64<<10+64*len(data)); grew > limit {
				t.Fatalf("decoding %d bytes allocated %d bytes; want at most %d", len(data), grew, limit)
			}
			if err != nil {
				return
			}
			p, err := policy.Decode(data)
			if err != nil {
				t.Fatalf("Decode refuses what DecodeExported accepts: %v", err)
			}
			obs := make([]float32, len(p.ObsLow()))
			if p.Continuous() {
				_, err = p.ActContinuous(obs)
			} else {
				_, err = p.Act(obs)
			}
			if err != nil {
				t.Fatalf("a decoded policy cannot act: %v", err)
			}
			enc, err := e.Encode()
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			again, err := policy.DecodeExported(enc)
			if err != nil {
				t.Fatalf("the re-encoded policy is refused: %v", err)
			}
			enc2, err := again.Encode()
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(enc, enc2) {
				t.Fatalf("round trip changed the policy:\n% x\n% x", enc, enc2)
			}
		}
		check(data)
		if sealed := reseal(data); !bytes.Equal(sealed, data) {
			check(sealed)
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
