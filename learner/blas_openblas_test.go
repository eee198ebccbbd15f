//go:build openblas && cgo

package learner

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/kernels"
	"github.com/rlgo/rlgo/policy"
)

// TestOpenBLASBuild checks that the openblas build routes both the Dense
// layers (internal/kernels) and gorgonia's own products to OpenBLAS.
func TestOpenBLASBuild(t *testing.T) {
	if BLAS != "openblas" || kernels.GemmBackend != "openblas" {
		t.Fatalf("BLAS = %q, kernels.GemmBackend = %q; want openblas for both", BLAS, kernels.GemmBackend)
	}
}

// TestOpenBLASGradients checks an MLP's loss gradients, with a hidden
// layer large enough for OpenBLAS (256→257 on 64 rows) and odd widths,
// against a float64 reference computed here:
// y = relu(relu(x·W0 + b0)·W1 + b1)·W2 + b2, L = Σ y.
func TestOpenBLASGradients(t *testing.T) {
	const m = 64
	mlp := policy.MLP{Name: "f", Sizes: []int{40, 256, 257, 33}, Activation: policy.ReLU, OutputGain: 1}
	rng := envs.NewRand(5, 6)
	w := &policy.Weights{}
	mlp.Init(w, rng)
	for i := range w.Tensors {
		for j := range w.Tensors[i].Data {
			w.Tensors[i].Data[j] += float32(rng.NormFloat64() * 0.1)
		}
	}
	gr := NewGraph(w)
	in := gr.Input("x", m, mlp.Sizes[0])
	for i := range in.Data {
		in.Data[i] = float32(rng.NormFloat64())
	}
	y, err := gr.MLP(mlp, in.Node)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Config{}, gr, gorgonia.Must(gorgonia.Sum(y)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got, err := l.Gradients()
	if err != nil {
		t.Fatal(err)
	}

	// The reference, in float64: forward keeping each layer's input, then
	// backward from ȳ = 1.
	L := mlp.Layers()
	acts := [][]float64{make([]float64, len(in.Data))}
	for i, v := range in.Data {
		acts[0][i] = float64(v)
	}
	param := func(name string) []float32 { return w.Get(name).Data }
	for layer := 0; layer < L; layer++ {
		k, n := mlp.Sizes[layer], mlp.Sizes[layer+1]
		W, b, x := param(mlp.WeightName(layer)), param(mlp.BiasName(layer)), acts[layer]
		z := make([]float64, m*n)
		for r := 0; r < m; r++ {
			for j := 0; j < n; j++ {
				s := float64(b[j])
				for p := 0; p < k; p++ {
					s += x[r*k+p] * float64(W[p*n+j])
				}
				if layer < L-1 {
					s = math.Max(s, 0)
				}
				z[r*n+j] = s
			}
		}
		acts = append(acts, z)
	}
	want := map[string][]float64{}
	dz := make([]float64, m*mlp.Sizes[L])
	for i := range dz {
		dz[i] = 1
	}
	for layer := L - 1; layer >= 0; layer-- {
		k, n := mlp.Sizes[layer], mlp.Sizes[layer+1]
		if layer < L-1 { // through the ReLU: z̄ = ȳ·[y > 0]
			for i, v := range acts[layer+1] {
				if v <= 0 {
					dz[i] = 0
				}
			}
		}
		W, x := param(mlp.WeightName(layer)), acts[layer]
		dW, db, dx := make([]float64, k*n), make([]float64, n), make([]float64, m*k)
		for r := 0; r < m; r++ {
			for j := 0; j < n; j++ {
				g := dz[r*n+j]
				db[j] += g
				for p := 0; p < k; p++ {
					dW[p*n+j] += x[r*k+p] * g
					dx[r*k+p] += g * float64(W[p*n+j])
				}
			}
		}
		want[mlp.WeightName(layer)], want[mlp.BiasName(layer)] = dW, db
		dz = dx
	}
	for i, tn := range w.Tensors {
		ref := want[tn.Name]
		if len(got[i]) != len(ref) {
			t.Fatalf("%s: %d gradient values; want %d", tn.Name, len(got[i]), len(ref))
		}
		for j := range ref {
			if d := math.Abs(float64(got[i][j]) - ref[j]); d > 1e-3*(1+math.Abs(ref[j])) {
				t.Errorf("%s[%d]: gradient %v; float64 reference %v", tn.Name, j, got[i][j], ref[j])
				break
			}
		}
	}
}

// TestGorgoniaMulOpenBLAS checks one of gorgonia's own products (Mul,
// which runs on the BLAS given to gorgonia.Use) against a float64 one.
func TestGorgoniaMulOpenBLAS(t *testing.T) {
	const m, k, n = 37, 50, 29
	rng := envs.NewRand(7, 8)
	randn := func(size int) []float32 {
		x := make([]float32, size)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	a, b := randn(m*k), randn(k*n)
	g := gorgonia.NewGraph()
	an := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(m, k), gorgonia.WithName("a"), gorgonia.WithValue(tensor.New(tensor.WithShape(m, k), tensor.WithBacking(a))))
	bn := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(k, n), gorgonia.WithName("b"), gorgonia.WithValue(tensor.New(tensor.WithShape(k, n), tensor.WithBacking(b))))
	c := gorgonia.Must(gorgonia.Mul(an, bn))
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := c.Value().Data().([]float32)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var want float64
			for p := 0; p < k; p++ {
				want += float64(a[i*k+p]) * float64(b[p*n+j])
			}
			if d := math.Abs(float64(got[i*n+j]) - want); d > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("c[%d,%d] = %v; want %v", i, j, got[i*n+j], want)
			}
		}
	}
}
