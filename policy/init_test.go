package policy

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestInitZeroValueIsOrthogonal: the zero model.init and "orthogonal" draw
// the same weights, bit for bit, for every network kind, so that configs
// without the key keep their results.
func TestInitZeroValueIsOrthogonal(t *testing.T) {
	model := ModelConfig{Hidden: []int{16, 8}, Activation: ReLU}
	ortho := model
	ortho.Init = InitOrthogonal
	for _, c := range []struct {
		name string
		init func(ModelConfig) *Weights
	}{
		{"q", func(m ModelConfig) *Weights {
			return QSpec{ObsDim: 4, NumActions: 2, Model: m}.Init(rand.New(rand.NewPCG(1, 2)))
		}},
		{"dueling", func(m ModelConfig) *Weights {
			return QSpec{ObsDim: 4, NumActions: 3, Model: m, Dueling: true}.Init(rand.New(rand.NewPCG(1, 2)))
		}},
		{"actor-critic", func(m ModelConfig) *Weights {
			return ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: m}.Init(rand.New(rand.NewPCG(1, 2)))
		}},
	} {
		a, b := c.init(model), c.init(ortho)
		if len(a.Tensors) != len(b.Tensors) {
			t.Fatalf("%s: %d tensors vs %d", c.name, len(a.Tensors), len(b.Tensors))
		}
		for i := range a.Tensors {
			if !slices.Equal(a.Tensors[i].Data, b.Tensors[i].Data) {
				t.Errorf("%s: tensor %s differs between init \"\" and orthogonal", c.name, a.Tensors[i].Name)
			}
		}
	}
}

// TestInitTorchDefault checks torch_default's draws: every weight and
// bias of a layer with fan-in n lies in ±1/√n, with the uniform
// distribution's mean 0 and variance 1/(3n), and biases are not zero.
func TestInitTorchDefault(t *testing.T) {
	spec := QSpec{ObsDim: 4, NumActions: 2, Model: ModelConfig{Hidden: []int{256, 256}, Activation: ReLU, Init: InitTorchDefault}}
	w := spec.Init(rand.New(rand.NewPCG(3, 4)))
	fanIn := map[string]int{"q/0/w": 4, "q/0/b": 4, "q/1/w": 256, "q/1/b": 256, "q/2/w": 256, "q/2/b": 256}
	if len(w.Tensors) != len(fanIn) {
		t.Fatalf("%d tensors; want %d", len(w.Tensors), len(fanIn))
	}
	for _, x := range w.Tensors {
		n, ok := fanIn[x.Name]
		if !ok {
			t.Fatalf("unexpected tensor %s", x.Name)
		}
		bound := 1 / math.Sqrt(float64(n))
		var sum, sq float64
		zeros := 0
		for _, v := range x.Data {
			if math.Abs(float64(v)) > bound {
				t.Fatalf("%s: %v outside ±%v", x.Name, v, bound)
			}
			if v == 0 {
				zeros++
			}
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		k := float64(len(x.Data))
		if zeros == len(x.Data) {
			t.Errorf("%s: all zero", x.Name)
		}
		if len(x.Data) < 1000 {
			continue // too few draws for the moments
		}
		mean, variance := sum/k, sq/k-(sum/k)*(sum/k)
		want := bound * bound / 3
		if math.Abs(mean) > 4*math.Sqrt(want/k) || math.Abs(variance-want) > 0.05*want {
			t.Errorf("%s: mean %v, variance %v; want 0 and %v", x.Name, mean, variance, want)
		}
	}
}

func TestInitValidate(t *testing.T) {
	for _, c := range []struct {
		init Init
		ok   bool
	}{{"", true}, {InitOrthogonal, true}, {InitTorchDefault, true}, {InitGymnaxBlines, true}, {"xavier", false}} {
		m := ModelConfig{Hidden: []int{8}, Activation: Tanh, Init: c.init}
		if err := m.Validate(); (err == nil) != c.ok {
			t.Errorf("init %q: Validate() = %v; want ok %v", c.init, err, c.ok)
		}
	}
}

// TestInitGymnaxBlines checks gymnax_blines' draws on gymnax-blines' own
// Breakout network (400 inputs, 2 × 256, 3 logits): weights of a layer
// with fan-in n within ±2σ of a truncated normal whose standard deviation
// is σ·0.8796 = 1/√n (mean 0, variance 1/n), biases in [0, 0.05) with
// mean 0.025.
func TestInitGymnaxBlines(t *testing.T) {
	spec := ActorCriticSpec{ObsDim: 400, NumActions: 3, Model: ModelConfig{Hidden: []int{256, 256}, Activation: ReLU, Init: InitGymnaxBlines}}
	w := spec.Init(rand.New(rand.NewPCG(5, 6)))
	if len(w.Tensors) != 12 {
		t.Fatalf("%d tensors; want 12 (actor and critic, 3 layers each)", len(w.Tensors))
	}
	for _, x := range w.Tensors {
		var sum, sq float64
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range x.Data {
			sum += float64(v)
			sq += float64(v) * float64(v)
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
		}
		k := float64(len(x.Data))
		mean, variance := sum/k, sq/k-(sum/k)*(sum/k)
		if len(x.Shape) == 1 { // biases
			if lo < 0 || hi >= 0.05 {
				t.Errorf("%s: biases in [%v, %v]; want [0, 0.05)", x.Name, lo, hi)
			}
			if k >= 256 && math.Abs(mean-0.025) > 0.005 {
				t.Errorf("%s: bias mean %v; want 0.025", x.Name, mean)
			}
			continue
		}
		n := float64(x.Shape[0])
		bound := 2 / math.Sqrt(n) / truncNormStd
		if lo < -bound || hi > bound {
			t.Errorf("%s: weights in [%v, %v]; want within ±%v", x.Name, lo, hi, bound)
		}
		if k < 1000 {
			continue // too few draws for the moments
		}
		if want := 1 / n; math.Abs(mean) > 4*math.Sqrt(want/k) || math.Abs(variance-want) > 0.05*want {
			t.Errorf("%s: mean %v, variance %v; want 0 and %v", x.Name, mean, variance, want)
		}
	}
}
