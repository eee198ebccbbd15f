package learner

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// TestAdamSteps checks three Adam steps against values computed by hand
// with torch.optim.Adam's algorithm (its documentation's pseudo-code, eps
// added outside the square root, bias corrections 1−β1ᵗ and 1−β2ᵗ), in
// float64: lr 0.1, β (0.9, 0.999), eps 1e-3 (large enough to matter).
func TestAdamSteps(t *testing.T) {
	a := NewAdam(AdamConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-3}, []int{2})
	params := [][]float32{{1, -2}}
	steps := []struct {
		grad []float32
		want []float64
	}{
		{[]float32{0.5, -1}, []float64{0.900199601, -1.900099900}},
		{[]float32{0.1, 0.3}, []float64{0.820117662, -1.857372930}},
		{[]float32{-0.2, 0}, []float64{0.785790875, -1.824354912}},
	}
	for i, s := range steps {
		if _, err := a.Step(params, [][]float32{append([]float32(nil), s.grad...)}, 0.1); err != nil {
			t.Fatal(err)
		}
		for j, want := range s.want {
			if got := float64(params[0][j]); math.Abs(got-want) > 1e-6 {
				t.Errorf("step %d: θ[%d] = %.9f; want %.9f", i+1, j, got, want)
			}
		}
	}
	if got := a.State().Step; got != 3 {
		t.Errorf("State().Step = %d; want 3", got)
	}
}

// TestGlobalNormClipping checks torch.nn.utils.clip_grad_norm_'s rule:
// gradients are scaled by max_norm/(norm+1e-6) only when that is below 1,
// and Step reports the norm before clipping.
func TestGlobalNormClipping(t *testing.T) {
	cases := []struct {
		maxNorm  float64
		grads    [][]float32
		wantNorm float64
		want     [][]float32
	}{
		// ‖(3, 4, 12)‖ = 13 > 1: scaled by 1/(13+1e-6).
		{1, [][]float32{{3, 4}, {12}}, 13, [][]float32{{3 / 13., 4 / 13.}, {12 / 13.}}},
		// norm 0.5 < 1: unchanged.
		{1, [][]float32{{0.3, 0.4}, {0}}, 0.5, [][]float32{{0.3, 0.4}, {0}}},
		// max_grad_norm 0 disables clipping.
		{0, [][]float32{{3, 4}, {12}}, 13, [][]float32{{3, 4}, {12}}},
	}
	for _, c := range cases {
		a := NewAdam(AdamConfig{MaxGradNorm: c.maxNorm}, []int{2, 1})
		params := [][]float32{{0, 0}, {0}}
		norm, err := a.Step(params, c.grads, 0)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(norm-c.wantNorm) > 1e-6 {
			t.Errorf("Step(max_grad_norm %v) norm = %v; want %v", c.maxNorm, norm, c.wantNorm)
		}
		for i := range c.want {
			for j := range c.want[i] {
				if got := c.grads[i][j]; math.Abs(float64(got-c.want[i][j])) > 1e-6 {
					t.Errorf("max_grad_norm %v: clipped grad[%d][%d] = %v; want %v", c.maxNorm, i, j, got, c.want[i][j])
				}
			}
		}
	}
	a := NewAdam(AdamConfig{}, []int{1})
	if _, err := a.Step([][]float32{{1}}, [][]float32{{float32(math.NaN())}}, 0.1); err == nil {
		t.Errorf("Step(NaN gradient) = nil error; want an error")
	}
}

// TestStepUpdatesGraphWeights fits a small tanh MLP to a fixed regression
// target with Learner.Step: the loss can only fall if every Step's in-place
// update of the weights is what the graph computes with next.
func TestStepUpdatesGraphWeights(t *testing.T) {
	const m = 32
	rng := envs.NewRand(5, 0)
	mlp := policy.MLP{Name: "f", Sizes: []int{2, 16, 1}, Activation: policy.Tanh, OutputGain: 1}
	w := &policy.Weights{}
	mlp.Init(w, rng)
	gr := NewGraph(w)
	x := gr.Input("x", m, 2)
	y := gr.Input("y", m)
	for i := 0; i < m; i++ {
		a, b := rng.Float64()*2-1, rng.Float64()*2-1
		x.Data[2*i], x.Data[2*i+1] = float32(a), float32(b)
		y.Data[i] = float32(math.Sin(3*a) * b)
	}
	out, err := gr.MLP(mlp, x.Node)
	if err != nil {
		t.Fatal(err)
	}
	diff := gorgonia.Must(gorgonia.Sub(gorgonia.Must(gorgonia.Reshape(out, []int{m})), y.Node))
	loss := gorgonia.Must(gorgonia.Mean(gorgonia.Must(gorgonia.Square(diff))))
	l, err := New(Config{}, gr, loss)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	first, err := l.Forward()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		if _, err := l.Step(1e-2); err != nil {
			t.Fatal(err)
		}
	}
	last, err := l.Forward()
	if err != nil {
		t.Fatal(err)
	}
	if last > first/10 {
		t.Errorf("MSE after 300 steps = %v; want below a tenth of the initial %v", last, first)
	}
}
