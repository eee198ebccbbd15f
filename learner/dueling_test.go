package learner

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rlgo/rlgo/policy"
)

// duelingRun builds loss = Σ R ⊙ Q(v, adv) with Q from build, runs it, and
// returns Q and the gradients of v and adv.
func duelingRun(t *testing.T, vData, advData, r []float32, m, n int, build func(g *gorgonia.ExprGraph, v, adv *gorgonia.Node) *gorgonia.Node) (q, dv, dadv []float32) {
	t.Helper()
	g := gorgonia.NewGraph()
	mat := func(name string, data []float32, rows, cols int) *gorgonia.Node {
		val := tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(append([]float32(nil), data...)))
		return gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(rows, cols), gorgonia.WithName(name), gorgonia.WithValue(val))
	}
	v, adv, rn := mat("v", vData, m, 1), mat("adv", advData, m, n), mat("r", r, m, n)
	qn := build(g, v, adv)
	prod, err := gorgonia.HadamardProd(qn, rn)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, v, adv); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(v, adv))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	grad := func(n *gorgonia.Node) []float32 {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), gv.Data().([]float32)...)
	}
	return append([]float32(nil), qn.Value().Data().([]float32)...), grad(v), grad(adv)
}

// TestDuelingMatchesGenericGraph: the fused Dueling node gives the same
// float32 bits, forward and backward, as V·1ᵀ + A·C written with
// gorgonia's Mul and Add (the DQN loss graph's form before it: the
// shipped dueling configs, 2 and 3 actions, must not move), with values
// that include zeros. From 4 actions on, gonum's dot product for V̄ = Q̄·1
// adds in SIMD lanes whose split depends on the buffer's alignment, so
// there the fused sums (in order, as for fewer actions) agree to float32
// rounding; the forward, policy.DuelingQ's, agrees bit for bit at every n.
// In the openblas build gorgonia's Mul runs on OpenBLAS, whose kernels
// fuse multiply and add: there the generic graph agrees to rounding only,
// while the fused node's aggregation is policy.DuelingQ's in both builds.
func TestDuelingMatchesGenericGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 6, 18} {
		const m = 37
		vData, advData, r := make([]float32, m), make([]float32, m*n), make([]float32, m*n)
		for i := range vData {
			vData[i] = float32(rng.NormFloat64())
		}
		for i := range advData {
			advData[i] = float32(rng.NormFloat64() * 3)
			r[i] = float32(rng.NormFloat64())
			if i%7 == 0 {
				advData[i], r[i] = 0, 0
			}
		}
		generic := func(g *gorgonia.ExprGraph, v, adv *gorgonia.Node) *gorgonia.Node {
			ones := tensor.New(tensor.WithShape(1, n), tensor.WithBacking(make([]float32, n)))
			for i := range ones.Data().([]float32) {
				ones.Data().([]float32)[i] = 1
			}
			on := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(1, n), gorgonia.WithName("ones"), gorgonia.WithValue(ones))
			cn := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, n), gorgonia.WithName("center"),
				gorgonia.WithValue(tensor.New(tensor.WithShape(n, n), tensor.WithBacking(policy.DuelingCenter(n)))))
			vq := gorgonia.Must(gorgonia.Mul(v, on))
			aq := gorgonia.Must(gorgonia.Mul(adv, cn))
			return gorgonia.Must(gorgonia.Add(vq, aq))
		}
		fused := func(_ *gorgonia.ExprGraph, v, adv *gorgonia.Node) *gorgonia.Node {
			q, err := Dueling(v, adv)
			if err != nil {
				t.Fatal(err)
			}
			return q
		}
		q0, dv0, da0 := duelingRun(t, vData, advData, r, m, n, generic)
		q1, dv1, da1 := duelingRun(t, vData, advData, r, m, n, fused)
		for _, c := range []struct {
			name string
			a, b []float32
		}{{"Q", q0, q1}, {"dV", dv0, dv1}, {"dA", da0, da1}} {
			if len(c.a) != len(c.b) {
				t.Fatalf("n=%d %s: %d values, want %d", n, c.name, len(c.b), len(c.a))
			}
			for i := range c.a {
				if n <= 3 && BLAS == "gonum" && c.a[i] != c.b[i] {
					t.Fatalf("n=%d %s[%d] = %v, want %v (gorgonia's Mul and Add)", n, c.name, i, c.b[i], c.a[i])
				}
				if d := math.Abs(float64(c.a[i] - c.b[i])); d > 1e-5*(1+math.Abs(float64(c.a[i]))) {
					t.Fatalf("n=%d %s[%d] = %v, want %v (gorgonia's Mul and Add) within float32 rounding", n, c.name, i, c.b[i], c.a[i])
				}
			}
		}
		// And the forward is policy.DuelingQ's, as acting computes it.
		want := make([]float32, m*n)
		policy.DuelingQ(want, vData, advData, m, n)
		for i := range want {
			if want[i] != q1[i] {
				t.Fatalf("n=%d Q[%d] = %v, want policy.DuelingQ's %v", n, i, q1[i], want[i])
			}
		}
	}
}
