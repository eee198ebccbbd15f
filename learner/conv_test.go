package learner

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// perturb adds N(0, sd²) noise to every parameter: nonzero biases, and
// weights large enough for ReLU kinks and tanh saturation.
func perturb(w *policy.Weights, rng *rand.Rand, sd float64) {
	for i := range w.Tensors {
		for j := range w.Tensors[i].Data {
			w.Tensors[i].Data[j] += float32(rng.NormFloat64() * sd)
		}
	}
}

func randInput(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// convModels are small conv models: MinAtar's network, stride and
// padding, a one-channel (rank-2) image, and layers narrower than 8
// filters (GemmNN's transposed path).
var convModels = []struct {
	name  string
	shape []int
	model policy.ModelConfig
}{
	{"minatar", []int{10, 10, 4}, policy.ModelConfig{Conv: []policy.ConvLayer{{Filters: 16, Kernel: 3, Stride: 1}}, Hidden: []int{32}, Activation: policy.ReLU}},
	{"stride and padding", []int{9, 7, 3}, policy.ModelConfig{Conv: []policy.ConvLayer{{Filters: 8, Kernel: 3, Padding: 1}, {Filters: 5, Kernel: 4, Stride: 2, Padding: 2}}, Hidden: []int{16, 8}, Activation: policy.Tanh}},
	{"rank 2", []int{6, 5}, policy.ModelConfig{Conv: []policy.ConvLayer{{Filters: 4, Kernel: 2, Stride: 2}}, Hidden: []int{8}, Activation: policy.ReLU}},
}

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// TestConvForwardAgreesWithPolicy proves that the learner's graph and
// the workers' pure-Go forward pass compute the same conv networks: the
// actor-critic's actor and critic, and the Q-network's plain and dueling
// heads.
func TestConvForwardAgreesWithPolicy(t *testing.T) {
	for _, c := range convModels {
		for _, batch := range []int{1, 7, 32} {
			t.Run(fmt.Sprintf("%s/batch=%d", c.name, batch), func(t *testing.T) {
				rng := envs.NewRand(5, uint64(batch))
				dim := shapeSize(c.shape)
				x := randInput(rng, batch*dim)

				spec := policy.ActorCriticSpec{ObsDim: dim, ObsShape: c.shape, NumActions: 3, Model: c.model}
				w := spec.Init(rng)
				perturb(w, rng, 0.3)
				ac, err := policy.NewActorCritic(spec, w)
				if err != nil {
					t.Fatal(err)
				}
				gr := NewGraph(w)
				in := gr.Input("obs", batch, dim)
				copy(in.Data, x)
				logits := mustNode(t)(gr.Network(spec.ActorConv(), spec.Actor(), in.Node))
				values := mustNode(t)(gr.Network(spec.CriticConv(), spec.Critic(), in.Node))
				outs := []*Output{gr.Read("logits", logits), gr.Read("values", values)}
				runForward(t, gr, gorgonia.Must(gorgonia.Add(gorgonia.Must(gorgonia.Sum(logits)), gorgonia.Must(gorgonia.Sum(values)))))
				wantV := make([]float32, batch)
				ac.Values(x, batch, wantV)
				for k, want := range [][]float32{ac.Logits(x, batch), wantV} {
					if d := maxAbsDiff(outs[k].Values(), want); d > 1e-5 || len(outs[k].Values()) != len(want) {
						t.Errorf("%s: max |graph − pure Go| = %g over %d values (want %d); want ≤ 1e-5", outs[k].Name, d, len(outs[k].Values()), len(want))
					}
				}

				for _, dueling := range []bool{false, true} {
					qs := policy.QSpec{ObsDim: dim, ObsShape: c.shape, NumActions: 4, Model: c.model, Dueling: dueling}
					qw := qs.Init(rng)
					perturb(qw, rng, 0.3)
					qn, err := policy.NewQNetwork(qs, qw)
					if err != nil {
						t.Fatal(err)
					}
					gr := NewGraph(qw)
					in := gr.Input("obs", batch, dim)
					copy(in.Data, x)
					if !dueling {
						q := mustNode(t)(gr.Network(qs.Conv(), qs.Plain(), in.Node))
						out := gr.Read("q", q)
						runForward(t, gr, gorgonia.Must(gorgonia.Sum(q)))
						if d := maxAbsDiff(out.Values(), qn.Q(x, batch)); d > 1e-5 {
							t.Errorf("plain Q: max |graph − pure Go| = %g; want ≤ 1e-5", d)
						}
						continue
					}
					// The dueling streams as algorithms/dqn builds them, after the conv torso.
					h := mustNode(t)(gr.Conv(qs.Conv(), in.Node))
					torso := qs.Torso()
					for i := 0; i < torso.Layers(); i++ {
						h = mustNode(t)(Dense(h, gr.Param(torso.WeightName(i)), gr.Param(torso.BiasName(i)), torso.Activation, true))
					}
					v := mustNode(t)(gr.MLP(qs.Value(), h))
					a := mustNode(t)(gr.MLP(qs.Advantage(), h))
					vo, ao := gr.Read("v", v), gr.Read("a", a)
					runForward(t, gr, gorgonia.Must(gorgonia.Add(gorgonia.Must(gorgonia.Sum(v)), gorgonia.Must(gorgonia.Sum(a)))))
					wv, wa := qn.Streams(x, batch)
					if d := max(maxAbsDiff(vo.Values(), wv), maxAbsDiff(ao.Values(), wa)); d > 1e-5 {
						t.Errorf("dueling streams: max |graph − pure Go| = %g; want ≤ 1e-5", d)
					}
				}
			})
		}
	}
}

func mustNode(t *testing.T) func(*gorgonia.Node, error) *gorgonia.Node {
	return func(n *gorgonia.Node, err error) *gorgonia.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// runForward compiles a learner for loss on gr and runs it forward once.
func runForward(t *testing.T, gr *Graph, loss *gorgonia.Node) {
	t.Helper()
	l, err := New(Config{}, gr, loss)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Forward(); err != nil {
		t.Fatal(err)
	}
}

// refConv is a float64 reference convolution, straight from the
// definition: y[b, oh, ow, f] = act(bias[f] + Σ x[b, oh·s−p+kh, ow·s−p+kw, c]·W[(kh·K+kw)·C+c, f]).
func refConv(x []float64, batch int, in [3]int, l policy.ConvLayer, w, b []float32, act policy.Activation) ([]float64, [3]int) {
	H, W, C, K, s, p, F := in[0], in[1], in[2], l.Kernel, max(l.Stride, 1), l.Padding, l.Filters
	OH, OW := (H+2*p-K)/s+1, (W+2*p-K)/s+1
	y := make([]float64, batch*OH*OW*F)
	for n := 0; n < batch; n++ {
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				for f := 0; f < F; f++ {
					sum := float64(b[f])
					for kh := 0; kh < K; kh++ {
						for kw := 0; kw < K; kw++ {
							ih, iw := oh*s-p+kh, ow*s-p+kw
							if ih < 0 || ih >= H || iw < 0 || iw >= W {
								continue
							}
							for c := 0; c < C; c++ {
								sum += x[((n*H+ih)*W+iw)*C+c] * float64(w[((kh*K+kw)*C+c)*F+f])
							}
						}
					}
					y[((n*OH+oh)*OW+ow)*F+f] = refAct(act, sum)
				}
			}
		}
	}
	return y, [3]int{OH, OW, F}
}

func refAct(act policy.Activation, v float64) float64 {
	switch act {
	case policy.Tanh:
		return math.Tanh(v)
	case policy.ReLU:
		return math.Max(v, 0)
	}
	return v
}

// refConvLoss is the float64 reference of TestConvGradients's graph:
// Σ R ⊙ logsoftmax(MLP(conv torso(x))).
func refConvLoss(w *policy.Weights, c policy.Conv, m policy.MLP, x []float64, batch int, r []float64) float64 {
	h, shape := x, c.InShape
	for i, l := range c.Layers {
		h, shape = refConv(h, batch, shape, l, w.Get(c.WeightName(i)).Data, w.Get(c.BiasName(i)).Data, c.Activation)
	}
	k := len(h) / batch
	for i := 0; i < m.Layers(); i++ {
		W, b := w.Get(m.WeightName(i)).Data, w.Get(m.BiasName(i)).Data
		n := m.Sizes[i+1]
		out := make([]float64, batch*n)
		for row := 0; row < batch; row++ {
			for j := 0; j < n; j++ {
				s := float64(b[j])
				for p := 0; p < k; p++ {
					s += h[row*k+p] * float64(W[p*n+j])
				}
				if i < m.Layers()-1 {
					s = refAct(m.Activation, s)
				}
				out[row*n+j] = s
			}
		}
		h, k = out, n
	}
	var loss float64
	for i := 0; i < batch; i++ {
		row := h[i*k : (i+1)*k]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		for j, v := range row {
			loss += r[i*k+j] * (v - mx - math.Log(s))
		}
	}
	return loss
}

// TestConvGradients proves Conv2D's hand-written derivatives (filters,
// biases, and the input gradient of every layer but the first, through
// col2im, with stride, padding, ReLU and tanh) against central finite
// differences of a float64 reference, for every conv parameter (and a
// sample of the hidden layer's).
func TestConvGradients(t *testing.T) {
	for _, c := range convModels {
		t.Run(c.name, func(t *testing.T) {
			const batch = 3
			rng := envs.NewRand(13, 0)
			dim := shapeSize(c.shape)
			spec := policy.ActorCriticSpec{ObsDim: dim, ObsShape: c.shape, NumActions: 3, Model: c.model}
			conv, mlp := spec.ActorConv(), spec.Actor()
			w := &policy.Weights{}
			conv.Init(w, rng)
			mlp.Init(w, rng)
			perturb(w, rng, 0.2)

			gr := NewGraph(w)
			x := gr.Input("x", batch, dim)
			r := gr.Input("r", batch, 3)
			copy(x.Data, randInput(rng, len(x.Data)))
			copy(r.Data, randInput(rng, len(r.Data)))
			xs, rs := make([]float64, len(x.Data)), make([]float64, len(r.Data))
			for i, v := range x.Data {
				xs[i] = float64(v)
			}
			for i, v := range r.Data {
				rs[i] = float64(v)
			}
			y := mustNode(t)(gr.Network(conv, mlp, x.Node))
			loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(mustNode(t)(LogSoftmax(y)), r.Node))))
			l, err := New(Config{}, gr, loss)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			grads, err := l.Gradients()
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.Forward()
			if err != nil {
				t.Fatal(err)
			}
			lw := l.Weights()
			if want := refConvLoss(lw, conv, mlp, xs, batch, rs); math.Abs(float64(got)-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("graph loss = %v; want %v", got, want)
			}
			for ti, tensor := range lw.Tensors {
				step := 1 // every filter and bias; a sample of the large hidden layer's weights
				if len(tensor.Data) > 4096 {
					step = len(tensor.Data)/300 + 1
				}
				for j := 0; j < len(tensor.Data); j += step {
					// The reference is float64, so a small step costs no precision
					// (the float32 step actually taken is divided by below), and
					// few of the thousands of ReLU units cross their kink within it.
					const eps = 1e-5
					orig := tensor.Data[j]
					tensor.Data[j] = orig + eps
					up := refConvLoss(lw, conv, mlp, xs, batch, rs)
					tensor.Data[j] = orig - eps
					down := refConvLoss(lw, conv, mlp, xs, batch, rs)
					tensor.Data[j] = orig
					fd := (up - down) / (float64(orig+eps) - float64(orig-eps))
					if g := float64(grads[ti][j]); math.Abs(g-fd) > 2e-3*(1+math.Abs(fd)) {
						t.Errorf("∂loss/∂%s[%d] = %v; want %v (finite difference)", tensor.Name, j, g, fd)
					}
				}
			}
		})
	}
}

// nchw returns x ([batch, H, W, C], channels last) as [batch, C, H, W].
func nchw(x []float32, batch int, s [3]int) []float32 {
	H, W, C := s[0], s[1], s[2]
	out := make([]float32, len(x))
	for n := 0; n < batch; n++ {
		for h := 0; h < H; h++ {
			for w := 0; w < W; w++ {
				for c := 0; c < C; c++ {
					out[((n*C+c)*H+h)*W+w] = x[((n*H+h)*W+w)*C+c]
				}
			}
		}
	}
	return out
}

// oihw returns filters w ([K·K·C, F]) as gorgonia's [F, C, K, K].
func oihw(w []float32, k, c, f int) []float32 {
	out := make([]float32, len(w))
	for kh := 0; kh < k; kh++ {
		for kw := 0; kw < k; kw++ {
			for ch := 0; ch < c; ch++ {
				for o := 0; o < f; o++ {
					out[((o*c+ch)*k+kh)*k+kw] = w[((kh*k+kw)*c+ch)*f+o]
				}
			}
		}
	}
	return out
}

// TestConvMatchesGorgoniaConv2d runs a two-layer conv torso (ReLU, with
// stride and padding) through Conv2D and through gorgonia's own Conv2d
// (NCHW, BroadcastAdd for the bias, Rectify) on the same weights and
// inputs, and compares the outputs and the gradients of every filter and
// bias under the loss Σ R ⊙ y.
func TestConvMatchesGorgoniaConv2d(t *testing.T) {
	const batch = 2
	shape := []int{9, 8, 3}
	model := policy.ModelConfig{Conv: []policy.ConvLayer{{Filters: 6, Kernel: 3, Padding: 1}, {Filters: 16, Kernel: 4, Stride: 2, Padding: 1}}, Hidden: []int{4}, Activation: policy.ReLU}
	spec := policy.ActorCriticSpec{ObsDim: shapeSize(shape), ObsShape: shape, NumActions: 2, Model: model}
	conv := spec.ActorConv()
	rng := envs.NewRand(17, 0)
	w := &policy.Weights{}
	conv.Init(w, rng)
	perturb(w, rng, 0.2)
	xData := randInput(rng, batch*spec.ObsDim)
	out := conv.Shape(len(conv.Layers))
	rData := randInput(rng, batch*conv.OutSize())

	// Ours.
	gr := NewGraph(w)
	x := gr.Input("x", batch, spec.ObsDim)
	r := gr.Input("r", batch, conv.OutSize())
	copy(x.Data, xData)
	copy(r.Data, rData)
	y := mustNode(t)(gr.Conv(conv, x.Node))
	yOut := gr.Read("y", y)
	l, err := New(Config{}, gr, gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(y, r.Node)))))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	grads, err := l.Gradients()
	if err != nil {
		t.Fatal(err)
	}

	// gorgonia's.
	g := gorgonia.NewGraph()
	in := conv.InShape
	h := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithName("x"), gorgonia.WithShape(batch, in[2], in[0], in[1]),
		gorgonia.WithValue(tensor.New(tensor.WithShape(batch, in[2], in[0], in[1]), tensor.WithBacking(nchw(xData, batch, in)))))
	var params gorgonia.Nodes
	for i, lay := range conv.Layers {
		s := conv.Shape(i)
		filt := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithName(conv.WeightName(i)), gorgonia.WithShape(lay.Filters, s[2], lay.Kernel, lay.Kernel),
			gorgonia.WithValue(tensor.New(tensor.WithShape(lay.Filters, s[2], lay.Kernel, lay.Kernel), tensor.WithBacking(oihw(w.Get(conv.WeightName(i)).Data, lay.Kernel, s[2], lay.Filters)))))
		bias := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithName(conv.BiasName(i)), gorgonia.WithShape(1, lay.Filters, 1, 1),
			gorgonia.WithValue(tensor.New(tensor.WithShape(1, lay.Filters, 1, 1), tensor.WithBacking(append([]float32(nil), w.Get(conv.BiasName(i)).Data...)))))
		params = append(params, filt, bias)
		stride := max(lay.Stride, 1)
		h = gorgonia.Must(gorgonia.Conv2d(h, filt, tensor.Shape{lay.Kernel, lay.Kernel}, []int{lay.Padding, lay.Padding}, []int{stride, stride}, nil))
		h = gorgonia.Must(gorgonia.BroadcastAdd(h, bias, nil, []byte{0, 2, 3}))
		h = gorgonia.Must(gorgonia.Rectify(h))
	}
	rn := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithName("r"), gorgonia.WithShape(batch, out[2], out[0], out[1]),
		gorgonia.WithValue(tensor.New(tensor.WithShape(batch, out[2], out[0], out[1]), tensor.WithBacking(nchw(rData, batch, out)))))
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(h, rn))))
	var hv gorgonia.Value
	gorgonia.Read(h, &hv)
	if _, err := gorgonia.Grad(loss, params...); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(params...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}

	if d := maxAbsDiff(nchw(yOut.Values(), batch, out), hv.Data().([]float32)); d > 1e-5 {
		t.Errorf("outputs: max |Conv2D − gorgonia Conv2d| = %g; want ≤ 1e-5", d)
	}
	for i, lay := range conv.Layers {
		s := conv.Shape(i)
		wantW, err := params[2*i].Grad()
		if err != nil {
			t.Fatal(err)
		}
		wantB, err := params[2*i+1].Grad()
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(oihw(grads[2*i], lay.Kernel, s[2], lay.Filters), wantW.Data().([]float32)); d > 1e-4 {
			t.Errorf("∂loss/∂%s: max |ours − gorgonia's| = %g; want ≤ 1e-4", conv.WeightName(i), d)
		}
		if d := maxAbsDiff(grads[2*i+1], wantB.Data().([]float32)); d > 1e-4 {
			t.Errorf("∂loss/∂%s: max |ours − gorgonia's| = %g; want ≤ 1e-4", conv.BiasName(i), d)
		}
	}
}
