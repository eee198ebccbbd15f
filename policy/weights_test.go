package policy

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/internal/wire"
)

func testRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func TestWeightsRoundTrip(t *testing.T) {
	spec := ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: DefaultModelConfig()}
	w := spec.Init(testRand())
	w.Version = 17
	data, err := w.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalWeights(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, w) {
		t.Error("weights changed in a msgpack round trip")
	}
	// CleanRL's Agent for CartPole has 4·64+64 + 64·64+64 + 64·2+2 actor and
	// 4·64+64 + 64·64+64 + 64+1 critic parameters.
	if n, want := w.NumParams(), (4*64+64+64*64+64+64*2+2)+(4*64+64+64*64+64+64+1); n != want {
		t.Errorf("NumParams = %d; want %d", n, want)
	}
}

func TestUnmarshalWeightsRejects(t *testing.T) {
	bad := &Weights{Tensors: []Tensor{{Name: "x", Shape: []int{2, 3}, Data: make([]float32, 5)}}}
	badBytes, _ := bad.Encode()
	if _, err := UnmarshalWeights(badBytes); err == nil {
		t.Error("UnmarshalWeights accepted a tensor whose data does not match its shape")
	}
	if _, err := UnmarshalWeights([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("UnmarshalWeights(array32 bomb) = %v; want ErrMalformed", err)
	}
}

func TestCopyFromChecksShapes(t *testing.T) {
	spec := ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: DefaultModelConfig()}
	w := spec.Init(testRand())
	other := ActorCriticSpec{ObsDim: 5, NumActions: 2, Model: DefaultModelConfig()}.Init(testRand())
	if err := w.CopyFrom(other); err == nil {
		t.Error("CopyFrom accepted weights of another network")
	}
}

// TestWeightsWireFormat checks that a tensor's data travels as one bin of
// little-endian float32s: 4 bytes a value plus a few headers.
func TestWeightsWireFormat(t *testing.T) {
	w := &Weights{Version: 3, Tensors: []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, -2}}}}
	data, err := w.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// "data": bin8 of 8 bytes, 1.0 and -2.0 little-endian.
	want := []byte{0xa4, 'd', 'a', 't', 'a', 0xc4, 8, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0}
	if !bytes.Contains(data, want) {
		t.Errorf("encoded % x; want it to contain % x", data, want)
	}
	big := ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: DefaultModelConfig()}.Init(testRand())
	if data, err = big.Encode(); err != nil {
		t.Fatal(err)
	}
	if n := big.NumParams(); len(data) > 4*n+512 {
		t.Errorf("%d parameters encode to %d bytes; want at most 4 a value plus 512", n, len(data))
	}
}

// oldTensor and oldWeights encode as weights did before tensors' data
// became a bin: every float a tagged msgpack element.
type oldTensor struct {
	Name  string    `msgpack:"name"`
	Shape []int     `msgpack:"shape"`
	Data  []float32 `msgpack:"data"`
}

type oldWeights struct {
	Version uint64      `msgpack:"version"`
	Tensors []oldTensor `msgpack:"tensors"`
	Explore Exploration `msgpack:"explore"`
	ObsNorm *ObsNorm    `msgpack:"obs_norm"`
}

// TestUnmarshalWeightsOldFormat checks that weights files written before
// the bin encoding (checkpoints, exports) still load.
func TestUnmarshalWeightsOldFormat(t *testing.T) {
	w := ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: DefaultModelConfig()}.Init(testRand())
	w.Version, w.Explore.Epsilon = 9, 0.25
	old := oldWeights{Version: w.Version, Explore: w.Explore}
	for _, t := range w.Tensors {
		old.Tensors = append(old.Tensors, oldTensor(t))
	}
	data, err := wire.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalWeights(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, w) {
		t.Error("weights in the old encoding decode differently")
	}
}

// TestTensorDecodeRejects checks the tensor decoder's own errors.
func TestTensorDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		msg  string
	}{
		{"data a string", map[string]any{"tensors": []any{map[string]any{"name": "x", "data": "abc"}}}, "neither bin nor array"},
		{"shape a string", map[string]any{"tensors": []any{map[string]any{"name": "x", "shape": "abc"}}}, "shape"},
		{"data of 3 bytes", map[string]any{"tensors": []any{map[string]any{"name": "x", "shape": []int{}, "data": []byte{1, 2, 3}}}}, "4-byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := wire.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := UnmarshalWeights(data); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("UnmarshalWeights = %v; want an error containing %q", err, tc.msg)
			}
		})
	}
}

func FuzzUnmarshalWeights(f *testing.F) {
	w := ActorCriticSpec{ObsDim: 2, NumActions: 2, Model: ModelConfig{Hidden: []int{3}, Activation: Tanh}}.Init(testRand())
	good, _ := w.Encode()
	f.Add(good)
	old := oldWeights{Version: 2}
	for _, t := range w.Tensors {
		old.Tensors = append(old.Tensors, oldTensor(t))
	}
	oldBytes, _ := wire.Marshal(old)
	f.Add(oldBytes)
	w.ObsNorm = NewObsNorm(2, 5)
	withNorm, _ := w.Encode()
	f.Add(withNorm)
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	// msgpack builds its per-type caches on first use: not counted below.
	for _, b := range [][]byte{good, oldBytes, withNorm} {
		_, _ = UnmarshalWeights(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := UnmarshalWeights(data)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(64*len(data)+64<<10) {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(data), grew)
		}
		if err != nil {
			return
		}
		if got.Validate() != nil {
			t.Fatal("accepted weights that fail Validate")
		}
		// Round trip: what was accepted re-encodes to bytes that decode
		// to the same weights (compared through their encoding, so NaNs
		// compare by their bits).
		enc, err := got.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := UnmarshalWeights(enc)
		if err != nil {
			t.Fatalf("re-encoded weights are rejected: %v", err)
		}
		enc2, err := again.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the weights:\n% x\n% x", enc, enc2)
		}
	})
}

func TestOrthogonal(t *testing.T) {
	for _, shape := range [][2]int{{4, 64}, {64, 64}, {64, 2}} {
		rows, cols := shape[0], shape[1]
		w := Orthogonal(rows, cols, 2, testRand())
		// The smaller dimension's vectors are orthogonal with norm = gain.
		n, m := min(rows, cols), max(rows, cols)
		at := func(i, k int) float64 { // i-th vector of the smaller dimension
			if rows <= cols {
				return float64(w[i*cols+k])
			}
			return float64(w[k*cols+i])
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var dot float64
				for k := 0; k < m; k++ {
					dot += at(i, k) * at(j, k)
				}
				want := 0.0
				if i == j {
					want = 4 // gain²
				}
				if math.Abs(dot-want) > 1e-4 {
					t.Fatalf("Orthogonal(%d, %d): <v%d, v%d> = %v; want %v", rows, cols, i, j, dot, want)
				}
			}
		}
	}
}

func TestCategorical(t *testing.T) {
	d := NewCategorical(nil, []float32{0, float32(math.Log(3))}) // probabilities 1/4, 3/4
	if got, want := d.LogProb(1), float32(math.Log(0.75)); math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("LogProb(1) = %v; want %v", got, want)
	}
	wantH := -(0.25*math.Log(0.25) + 0.75*math.Log(0.75))
	if got := d.Entropy(); math.Abs(got-wantH) > 1e-6 {
		t.Errorf("Entropy = %v; want %v", got, wantH)
	}
	if d.Mode() != 1 {
		t.Errorf("Mode = %d; want 1", d.Mode())
	}
	rng := testRand()
	ones := 0
	const n = 100000
	for i := 0; i < n; i++ {
		ones += d.Sample(rng)
	}
	// Binomial(1e5, 0.75) has standard deviation 137; allow 5 of them.
	if math.Abs(float64(ones)-0.75*n) > 5*137 {
		t.Errorf("Sample chose action 1 %d times in %d; want about %d", ones, n, int(0.75*n))
	}
	// Large logits stay finite (log-sum-exp).
	big := NewCategorical(nil, []float32{1000, 0})
	if lp := big.LogProb(1); math.IsNaN(float64(lp)) || math.IsInf(float64(lp), 0) {
		t.Errorf("LogProb with logits (1000, 0) = %v; want finite", lp)
	}
}
