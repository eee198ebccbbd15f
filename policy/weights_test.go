package policy

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
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

func FuzzUnmarshalWeights(f *testing.F) {
	w := ActorCriticSpec{ObsDim: 2, NumActions: 2, Model: ModelConfig{Hidden: []int{3}, Activation: Tanh}}.Init(testRand())
	good, _ := w.Encode()
	f.Add(good)
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := UnmarshalWeights(data)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(64*len(data)+64<<10) {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(data), grew)
		}
		if err == nil && got.Validate() != nil {
			t.Fatal("accepted weights that fail Validate")
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
