package learner

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/policy"
)

// TestScalar checks a Scalar node's value and that its gradient is scaled
// by the upstream gradient and added to other paths into the same
// parameter: loss = 3·Σ y·w³ + Σ w, so ∂loss/∂w = 9·y·w² + 1.
func TestScalar(t *testing.T) {
	w := &policy.Weights{Tensors: []policy.Tensor{{Name: "w", Shape: []int{5}, Data: []float32{0.5, -1, 2, 0, 1.5}}}}
	gr := NewGraph(w)
	y := gr.Input("y", 5)
	copy(y.Data, []float32{1, 2, -1, 3, 0.5})
	cube := func(in [][]float32, grad []float32) float32 {
		var s float32
		for i, wi := range in[0] {
			s += in[1][i] * wi * wi * wi
			if grad != nil {
				grad[i] = 3 * in[1][i] * wi * wi
			}
		}
		return s
	}
	f, err := Scalar("cube", cube, 0, gr.Param("w"), y.Node)
	if err != nil {
		t.Fatal(err)
	}
	loss := gorgonia.Must(gorgonia.Add(gorgonia.Must(gorgonia.Mul(gorgonia.NewConstant(float32(3)), f)), gorgonia.Must(gorgonia.Sum(gr.Param("w")))))
	l, err := New(Config{}, gr, loss)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for run := 0; run < 2; run++ { // twice: outputs are reused across runs
		grads, err := l.Gradients()
		if err != nil {
			t.Fatal(err)
		}
		var wantLoss float64
		for i, wi := range w.Tensors[0].Data {
			yi := float64(y.Data[i])
			wantLoss += 3*yi*math.Pow(float64(wi), 3) + float64(wi)
			want := 9*yi*float64(wi)*float64(wi) + 1
			if math.Abs(float64(grads[0][i])-want) > 1e-5 {
				t.Errorf("run %d: ∂loss/∂w[%d] = %v; want %v", run, i, grads[0][i], want)
			}
		}
		got, err := l.Forward()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(got)-wantLoss) > 1e-5 {
			t.Errorf("run %d: loss = %v; want %v", run, got, wantLoss)
		}
	}
	if _, err := Scalar("bad", cube, 2, gr.Param("w"), y.Node); err == nil {
		t.Errorf("Scalar(wrt out of range) = nil error")
	}
}
