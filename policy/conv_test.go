package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// minatarModel is MinAtar's network (Young & Tian 2019, examples/dqn.py:
// one conv of 16 3×3 filters, stride 1, then 128 hidden units, ReLU).
var minatarModel = ModelConfig{Conv: []ConvLayer{{Filters: 16, Kernel: 3, Stride: 1}}, Hidden: []int{128}, Activation: ReLU}

func TestModelConfigValidateConv(t *testing.T) {
	def := DefaultModelConfig()
	withConv := func(l ...ConvLayer) ModelConfig { c := def; c.Conv = l; return c }
	withPreset := func(p string, f func(*ModelConfig)) ModelConfig {
		c := def
		c.Preset = p
		if f != nil {
			f(&c)
		}
		return c
	}
	for _, c := range []struct {
		name    string
		cfg     ModelConfig
		wantErr string // "" for valid
	}{
		{"mlp default", def, ""},
		{"minatar", minatarModel, ""},
		{"stride omitted means 1", withConv(ConvLayer{Filters: 4, Kernel: 2}), ""},
		{"same padding", withConv(ConvLayer{Filters: 4, Kernel: 3, Padding: 1}), ""},
		{"no filters", withConv(ConvLayer{Kernel: 3}), "conv[0].filters: "},
		{"no kernel", withConv(ConvLayer{Filters: 4}), "conv[0].kernel: "},
		{"negative stride", withConv(ConvLayer{Filters: 4, Kernel: 3}, ConvLayer{Filters: 4, Kernel: 3, Stride: -1}), "conv[1].stride: "},
		{"padding as large as the kernel", withConv(ConvLayer{Filters: 4, Kernel: 3, Padding: 3}), "conv[0].padding: "},
		{"too many filters", withConv(ConvLayer{Filters: 5000, Kernel: 3}), "conv[0].filters: "},
		{"nature_cnn", withPreset(NatureCNN, nil), ""},
		{"nature_cnn with its own hidden and activation", withPreset(NatureCNN, func(c *ModelConfig) { c.Hidden, c.Activation = []int{512}, ReLU }), ""},
		{"unknown preset", withPreset("impala", nil), "preset: "},
		{"preset and conv", withPreset(NatureCNN, func(c *ModelConfig) { c.Conv = minatarModel.Conv }), "conv: "},
		{"preset and other hidden", withPreset(NatureCNN, func(c *ModelConfig) { c.Hidden = []int{256} }), "hidden: "},
		{"preset and other activation", withPreset(NatureCNN, func(c *ModelConfig) { c.Activation = "elu" }), "activation: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v; want nil", err)
			case c.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), c.wantErr)):
				t.Errorf("Validate() = %v; want an error starting %q", err, c.wantErr)
			}
		})
	}
}

func TestResolveNatureCNN(t *testing.T) {
	m := ModelConfig{Preset: NatureCNN, Hidden: []int{64, 64}, Activation: Tanh}.Resolve()
	want := []ConvLayer{{32, 8, 4, 0}, {64, 4, 2, 0}, {64, 3, 1, 0}} // Mnih et al. 2015, Methods
	if !slices.Equal(m.Conv, want) || !slices.Equal(m.Hidden, []int{512}) || m.Activation != ReLU {
		t.Errorf("Resolve() = conv %v hidden %v %s; want conv %v hidden [512] relu", m.Conv, m.Hidden, m.Activation, want)
	}
	plain := DefaultModelConfig()
	if r := plain.Resolve(); &r.Hidden[0] != &plain.Hidden[0] || r.Conv != nil {
		t.Error("Resolve() of a config without a preset changed it")
	}
}

// TestSpecShapes checks the parameter names and shapes of conv specs:
// nature_cnn on 84×84×4 frames (84 → 20 → 9 → 7, 7·7·64 = 3136 inputs to
// the hidden layer) and MinAtar's network on 10×10×4.
func TestSpecShapes(t *testing.T) {
	nature := ActorCriticSpec{ObsDim: 84 * 84 * 4, ObsShape: []int{84, 84, 4}, NumActions: 6, Model: ModelConfig{Preset: NatureCNN}}
	if err := nature.Validate(); err != nil {
		t.Fatal(err)
	}
	// The torsos' tensors (Init of the 3136×512 hidden layers takes
	// seconds; their shapes are the heads' sizes below).
	w := &Weights{}
	nature.ActorConv().Init(w, rand.New(rand.NewPCG(1, 2)))
	nature.CriticConv().Init(w, rand.New(rand.NewPCG(1, 2)))
	var got []string
	for _, tensor := range w.Tensors {
		got = append(got, tensor.Name+":"+strings.Trim(strings.ReplaceAll(fmt.Sprint(tensor.Shape), " ", "x"), "[]"))
	}
	want := []string{
		"pi/conv/0/w:256x32", "pi/conv/0/b:32", "pi/conv/1/w:512x64", "pi/conv/1/b:64", "pi/conv/2/w:576x64", "pi/conv/2/b:64",
		"vf/conv/0/w:256x32", "vf/conv/0/b:32", "vf/conv/1/w:512x64", "vf/conv/1/b:64", "vf/conv/2/w:576x64", "vf/conv/2/b:64",
	}
	if !slices.Equal(got, want) {
		t.Errorf("nature_cnn torso tensors:\n got %v\nwant %v", got, want)
	}
	if a, c := nature.Actor(), nature.Critic(); !slices.Equal(a.Sizes, []int{3136, 512, 6}) || !slices.Equal(c.Sizes, []int{3136, 512, 1}) || a.Activation != ReLU {
		t.Errorf("nature_cnn heads: actor %v %s, critic %v; want [3136 512 6] relu, [3136 512 1]", a.Sizes, a.Activation, c.Sizes)
	}

	// MinAtar's network: the whole Init, in order.
	mini := ActorCriticSpec{ObsDim: 400, ObsShape: []int{10, 10, 4}, NumActions: 6, Model: minatarModel}
	got = got[:0]
	for _, tensor := range mini.Init(rand.New(rand.NewPCG(1, 2))).Tensors {
		got = append(got, tensor.Name+":"+strings.Trim(strings.ReplaceAll(fmt.Sprint(tensor.Shape), " ", "x"), "[]"))
	}
	want = []string{
		"pi/conv/0/w:36x16", "pi/conv/0/b:16", "pi/0/w:1024x128", "pi/0/b:128", "pi/1/w:128x6", "pi/1/b:6",
		"vf/conv/0/w:36x16", "vf/conv/0/b:16", "vf/0/w:1024x128", "vf/0/b:128", "vf/1/w:128x1", "vf/1/b:1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("MinAtar actor-critic tensors:\n got %v\nwant %v", got, want)
	}

	for _, dueling := range []bool{false, true} {
		q := QSpec{ObsDim: 400, ObsShape: []int{10, 10, 4}, NumActions: 6, Model: minatarModel, Dueling: dueling}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		w := q.Init(rand.New(rand.NewPCG(1, 2)))
		if c := w.Get("q/conv/0/w"); c == nil || !slices.Equal(c.Shape, []int{36, 16}) {
			t.Errorf("dueling=%v: q/conv/0/w = %v; want shape [36 16]", dueling, c)
		}
		first := "q/0/w"
		if dueling {
			first = "q/v/0/w" // one hidden layer: no torso MLP, the streams read the conv output
		}
		if h := w.Get(first); h == nil || !slices.Equal(h.Shape, []int{8 * 8 * 16, 128}) {
			t.Errorf("dueling=%v: %s = %v; want shape [1024 128]", dueling, first, h)
		}
	}
}

// TestConvInitOrthogonal checks CleanRL's layer_init for conv layers:
// the [K·K·C, F] filter matrix has orthogonal columns of norm √2, and the
// biases are zero.
func TestConvInitOrthogonal(t *testing.T) {
	spec := QSpec{ObsDim: 84 * 84 * 4, ObsShape: []int{84, 84, 4}, NumActions: 4, Model: ModelConfig{Preset: NatureCNN}}
	w := &Weights{}
	spec.Conv().Init(w, rand.New(rand.NewPCG(3, 4)))
	for i := 0; i < 3; i++ {
		f := w.Get(spec.Conv().WeightName(i))
		rows, cols := f.Shape[0], f.Shape[1]
		for a := 0; a < cols; a++ {
			for b := a; b < cols; b++ {
				var dot float64
				for r := 0; r < rows; r++ {
					dot += float64(f.Data[r*cols+a]) * float64(f.Data[r*cols+b])
				}
				want := 0.0
				if a == b {
					want = 2 // gain √2
				}
				if math.Abs(dot-want) > 1e-5 {
					t.Fatalf("%s: column %d · column %d = %v; want %v", f.Name, a, b, dot, want)
				}
			}
		}
		for _, v := range w.Get(spec.Conv().BiasName(i)).Data {
			if v != 0 {
				t.Fatalf("%s: nonzero bias", spec.Conv().BiasName(i))
			}
		}
	}
}

func TestSpecValidateObsShape(t *testing.T) {
	for _, c := range []struct {
		name     string
		obsDim   int
		obsShape []int
		model    ModelConfig
		wantErr  string
	}{
		{"mlp on a vector", 4, nil, DefaultModelConfig(), ""},
		{"mlp on an image", 400, []int{10, 10, 4}, DefaultModelConfig(), ""},
		{"conv on an image", 400, []int{10, 10, 4}, minatarModel, ""},
		{"conv on a vector", 4, nil, minatarModel, "model: conv layers need an image"},
		{"conv on a rank-1 shape", 4, []int{4}, minatarModel, "model: conv layers need an image"},
		{"shape and size disagree", 400, []int{10, 10, 3}, minatarModel, "observation shape"},
		{"kernel larger than the image", 16, []int{2, 2, 4}, minatarModel, "conv[0]: a 3×3 kernel"},
		{"nature_cnn on MinAtar's frames", 400, []int{10, 10, 4}, ModelConfig{Preset: NatureCNN}, "conv[1]: a 4×4 kernel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ac := ActorCriticSpec{ObsDim: c.obsDim, ObsShape: c.obsShape, NumActions: 2, Model: c.model}
			q := QSpec{ObsDim: c.obsDim, ObsShape: c.obsShape, NumActions: 2, Model: c.model}
			for _, err := range []error{ac.Validate(), q.Validate()} {
				switch {
				case c.wantErr == "" && err != nil:
					t.Errorf("Validate() = %v; want nil", err)
				case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
					t.Errorf("Validate() = %v; want an error containing %q", err, c.wantErr)
				}
			}
		})
	}
}

// refConvForward is a float64 reference of a Conv torso, straight from
// the definition of a convolution.
func refConvForward(c Conv, w *Weights, x []float32, batch int) []float64 {
	h := make([]float64, len(x))
	for i, v := range x {
		h[i] = float64(v)
	}
	s := c.InShape
	for i, l := range c.Layers {
		H, W, C, K, st, p, F := s[0], s[1], s[2], l.Kernel, max(l.Stride, 1), l.Padding, l.Filters
		OH, OW := (H+2*p-K)/st+1, (W+2*p-K)/st+1
		wt, bt := w.Get(c.WeightName(i)).Data, w.Get(c.BiasName(i)).Data
		y := make([]float64, batch*OH*OW*F)
		for n := 0; n < batch; n++ {
			for oh := 0; oh < OH; oh++ {
				for ow := 0; ow < OW; ow++ {
					for f := 0; f < F; f++ {
						sum := float64(bt[f])
						for kh := 0; kh < K; kh++ {
							for kw := 0; kw < K; kw++ {
								ih, iw := oh*st-p+kh, ow*st-p+kw
								if ih < 0 || ih >= H || iw < 0 || iw >= W {
									continue
								}
								for ch := 0; ch < C; ch++ {
									sum += h[((n*H+ih)*W+iw)*C+ch] * float64(wt[((kh*K+kw)*C+ch)*F+f])
								}
							}
						}
						switch c.Activation {
						case ReLU:
							sum = math.Max(sum, 0)
						case Tanh:
							sum = math.Tanh(sum)
						}
						y[((n*OH+oh)*OW+ow)*F+f] = sum
					}
				}
			}
		}
		h, s = y, [3]int{OH, OW, F}
	}
	return h
}

// TestConvForwardReference checks ConvForward against the definition of
// a convolution, on MinAtar's layer, on stride and padding, and on fewer
// than 8 filters (GemmNN's narrow path).
func TestConvForwardReference(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape []int
		model ModelConfig
	}{
		{"minatar", []int{10, 10, 4}, minatarModel},
		{"stride, padding, tanh", []int{11, 9, 3}, ModelConfig{Conv: []ConvLayer{{Filters: 8, Kernel: 3, Padding: 1}, {Filters: 16, Kernel: 4, Stride: 2, Padding: 2}, {Filters: 5, Kernel: 2}}, Hidden: []int{4}, Activation: Tanh}},
		{"nature_cnn", []int{84, 84, 4}, ModelConfig{Preset: NatureCNN}},
	} {
		for _, batch := range []int{1, 3} {
			spec := QSpec{ObsDim: c.shape[0] * c.shape[1] * c.shape[2], ObsShape: c.shape, NumActions: 3, Model: c.model}
			rng := rand.New(rand.NewPCG(7, uint64(batch)))
			w := &Weights{}
			spec.Conv().Init(w, rng)
			for i := range w.Tensors {
				for j := range w.Tensors[i].Data {
					w.Tensors[i].Data[j] += float32(rng.NormFloat64() * 0.1)
				}
			}
			f, err := NewConvForward(spec.Conv(), w)
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float32, batch*spec.ObsDim)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			got, want := f.Run(x, batch), refConvForward(spec.Conv(), w, x, batch)
			if len(got) != len(want) || len(got) != batch*spec.Conv().OutSize() {
				t.Fatalf("%s batch %d: %d outputs; want %d", c.name, batch, len(got), len(want))
			}
			for i := range got {
				if d := math.Abs(float64(got[i]) - want[i]); d > 1e-4*(1+math.Abs(want[i])) {
					t.Fatalf("%s batch %d: output %d = %v; want %v", c.name, batch, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConvPolicyNoAllocs checks that acting with conv networks allocates
// nothing once the buffers exist (a worker calls these every env step).
func TestConvPolicyNoAllocs(t *testing.T) {
	const n = 4
	shape := []int{10, 10, 4}
	rng := rand.New(rand.NewPCG(1, 1))
	obs := make([]float32, n*400)
	for i := range obs {
		obs[i] = float32(rng.IntN(2))
	}
	actions, logp, values := make([]int, n), make([]float32, n), make([]float32, n)

	ac := ActorCriticSpec{ObsDim: 400, ObsShape: shape, NumActions: 6, Model: minatarModel}
	p, err := NewActorCritic(ac, ac.Init(rng))
	if err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(20, func() { p.Act(obs, n, rng, actions, logp, values) }); a != 0 {
		t.Errorf("ActorCritic.Act allocates %v times per call; want 0", a)
	}
	for _, dueling := range []bool{false, true} {
		qs := QSpec{ObsDim: 400, ObsShape: shape, NumActions: 6, Model: minatarModel, Dueling: dueling}
		q, err := NewEpsilonGreedy(qs, qs.Init(rng))
		if err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(20, func() { q.Act(obs, n, rng, actions, logp, values) }); a != 0 {
			t.Errorf("dueling=%v: EpsilonGreedy.Act allocates %v times per call; want 0", dueling, a)
		}
	}
}

// TestConvActorCriticUsesBothTorsos checks that the actor and the
// critic each read their own conv torso: changing the critic's filters
// changes the values and not the logits.
func TestConvActorCriticUsesBothTorsos(t *testing.T) {
	spec := ActorCriticSpec{ObsDim: 400, ObsShape: []int{10, 10, 4}, NumActions: 6, Model: minatarModel}
	rng := rand.New(rand.NewPCG(2, 2))
	w := spec.Init(rng)
	obs := make([]float32, 400)
	for i := range obs {
		obs[i] = float32(rng.IntN(2))
	}
	p, err := NewActorCritic(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	logits := p.Logits(obs, 1)
	v := make([]float32, 1)
	p.Values(obs, 1, v)
	w2 := w.Clone()
	for i := range w2.Get("vf/conv/0/b").Data {
		w2.Get("vf/conv/0/b").Data[i] += 0.5
	}
	if err := p.SetWeights(w2); err != nil {
		t.Fatal(err)
	}
	v2 := make([]float32, 1)
	p.Values(obs, 1, v2)
	if !slices.Equal(p.Logits(obs, 1), logits) || v2[0] == v[0] {
		t.Errorf("after changing vf/conv/0/b: logits changed %v, value %v → %v; want logits unchanged, value changed", !slices.Equal(p.Logits(obs, 1), logits), v[0], v2[0])
	}
}

// orthogonalFullQ is Orthogonal as it was before it formed only the thin
// Q: mat.QR's full Q, whose first columns Orthogonal must equal bit for
// bit, so that every MLP's initial weights stay as they were.
func orthogonalFullQ(rows, cols int, gain float64, rng *rand.Rand) []float32 {
	big, small := max(rows, cols), min(rows, cols)
	g := mat.NewDense(big, small, nil)
	for i := 0; i < big; i++ {
		for j := 0; j < small; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	out := make([]float32, rows*cols)
	for j := 0; j < small; j++ {
		sign := 1.0
		if r.At(j, j) < 0 {
			sign = -1
		}
		for i := 0; i < big; i++ {
			v := float32(gain * sign * q.At(i, j))
			if rows >= cols {
				out[i*cols+j] = v
			} else {
				out[j*cols+i] = v
			}
		}
	}
	return out
}

// TestOrthogonalThinQ checks that Orthogonal gives exactly what the full-Q
// construction gave, on the shapes of the shipped MLPs and on shapes
// where LAPACK takes its blocked path (more than 128 reflectors).
func TestOrthogonalThinQ(t *testing.T) {
	for _, s := range [][2]int{{4, 64}, {64, 64}, {64, 2}, {64, 1}, {6, 256}, {256, 256}, {256, 3}, {3, 120}, {120, 84}, {400, 128}, {400, 256}, {300, 200}, {36, 16}} {
		got := Orthogonal(s[0], s[1], math.Sqrt2, rand.New(rand.NewPCG(9, uint64(s[0]))))
		want := orthogonalFullQ(s[0], s[1], math.Sqrt2, rand.New(rand.NewPCG(9, uint64(s[0]))))
		if !slices.Equal(got, want) {
			t.Errorf("Orthogonal(%d, %d) differs from the full-Q construction", s[0], s[1])
		}
	}
}
