package learner

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// refLoss is a float64 reference of the graph in TestOpGradients:
// Σ R ⊙ logsoftmax(L3(relu(L2(tanh(L1(x)))))), with Lᵢ(h) = h·Wᵢ + bᵢ.
func refLoss(w *policy.Weights, x []float64, m int, r []float64) float64 {
	acts := []policy.Activation{policy.Tanh, policy.ReLU, ""}
	h, k := x, len(x)/m
	for l := 0; l < 3; l++ {
		W, b := w.Tensors[2*l], w.Tensors[2*l+1]
		n := W.Shape[1]
		out := make([]float64, m*n)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				s := float64(b.Data[j])
				for p := 0; p < k; p++ {
					s += h[i*k+p] * float64(W.Data[p*n+j])
				}
				switch acts[l] {
				case policy.Tanh:
					s = math.Tanh(s)
				case policy.ReLU:
					s = math.Max(s, 0)
				}
				out[i*n+j] = s
			}
		}
		h, k = out, n
	}
	var loss float64
	for i := 0; i < m; i++ {
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

// TestOpGradients proves the custom ops' hand-written derivatives (Dense
// with tanh, relu and no activation, with and without x̄; LogSoftmax)
// against central finite differences of a float64 reference, for every
// parameter, on shapes that exercise both the wide and the narrow kernels.
func TestOpGradients(t *testing.T) {
	for _, c := range []struct{ m, in, h1, h2, out int }{{5, 3, 9, 16, 2}, {12, 4, 64, 8, 3}} {
		rng := envs.NewRand(11, uint64(c.m))
		mlp := policy.MLP{Name: "net", Sizes: []int{c.in, c.h1, c.h2, c.out}, Activation: policy.Tanh, OutputGain: 1}
		w := &policy.Weights{}
		mlp.Init(w, rng)
		for i := range w.Tensors { // nonzero biases, and weights big enough for relu kinks and saturation
			for j := range w.Tensors[i].Data {
				w.Tensors[i].Data[j] += float32(rng.NormFloat64() * 0.3)
			}
		}
		gr := NewGraph(w)
		x := gr.Input("x", c.m, c.in)
		r := gr.Input("r", c.m, c.out)
		xs, rs := make([]float64, len(x.Data)), make([]float64, len(r.Data))
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
			xs[i] = float64(x.Data[i])
		}
		for i := range r.Data {
			r.Data[i] = float32(rng.NormFloat64())
			rs[i] = float64(r.Data[i])
		}
		p := gr.Params()
		h := gorgonia.Must(Dense(x.Node, p[0], p[1], policy.Tanh, false))
		h = gorgonia.Must(Dense(h, p[2], p[3], policy.ReLU, true))
		h = gorgonia.Must(Dense(h, p[4], p[5], "", true))
		loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(gorgonia.Must(LogSoftmax(h)), r.Node))))
		l, err := New(Config{}, gr, loss)
		if err != nil {
			t.Fatal(err)
		}
		grads, err := l.Gradients()
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.Forward()
		if err != nil {
			t.Fatal(err)
		}
		lw := l.Weights()
		if want := refLoss(lw, xs, c.m, rs); math.Abs(float64(got)-want) > 1e-4*(1+math.Abs(want)) {
			t.Errorf("%v: graph loss = %v; want %v", c, got, want)
		}
		for ti, tensor := range lw.Tensors {
			for j := range tensor.Data {
				const eps = 1e-3 // float64 reference: truncation error ~eps², far below the tolerance
				orig := tensor.Data[j]
				tensor.Data[j] = orig + eps
				up := refLoss(lw, xs, c.m, rs)
				tensor.Data[j] = orig - eps
				down := refLoss(lw, xs, c.m, rs)
				tensor.Data[j] = orig
				// The step is taken on float32 weights: divide by the step actually taken.
				fd := (up - down) / (float64(orig+eps) - float64(orig-eps))
				g := float64(grads[ti][j])
				if math.Abs(g-fd) > 2e-3*(1+math.Abs(fd)) {
					t.Errorf("%v: ∂loss/∂%s[%d] = %v; want %v (finite difference)", c, tensor.Name, j, g, fd)
				}
			}
		}
		l.Close()
	}
}
