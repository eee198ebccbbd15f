package learner

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rlgo/rlgo/policy"
)

// Dueling adds a dueling head's aggregation of its value stream v
// ([m, 1]) and advantage stream adv ([m, n]) into Q-values ([m, n]):
// Q = V·1ᵀ + A·C with C = policy.DuelingCenter(n), the mean taken as the
// product with the centering matrix (Wang et al. 2016, eq. 9). It is
// policy.DuelingQ as one node. For up to 3 actions it computes the same
// float32 values, forward and backward, as that expression written with
// gorgonia's Mul and Add on gonum (dueling_test.go checks every bit; on
// OpenBLAS, whose kernels fuse multiply-adds, only to rounding): gonum's Sgemm
// adds the products of each output element in order, as these loops do,
// and a product by 1 is exact. From 4 actions on, gonum's dot product
// for V̄ adds in SIMD lanes split by the buffer's alignment; these loops
// add in order at every size. The generic expression cost six tiny Sgemm
// calls, an Add and their tensors per step, ~10% of a 64-wide DQN
// learner step.
//
// Gradients flow into both streams: v̄_i = Σ_j q̄_ij, Ā_ik = Σ_j q̄_ij·C_kj.
func Dueling(v, adv *gorgonia.Node) (*gorgonia.Node, error) {
	op := &f32Op{name: "Dueling", inDims: []int{2, 2}, outDims: 2, diffWRT: []bool{true, true}}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) {
		if err := want2D(op.name, s[0], "v"); err != nil {
			return nil, err
		}
		if err := want2D(op.name, s[1], "adv"); err != nil {
			return nil, err
		}
		if s[0][1] != 1 || s[0][0] != s[1][0] {
			return nil, fmt.Errorf("%s: v is %v and adv %v; want [m, 1] and [m, n]", op.name, s[0], s[1])
		}
		return s[1].Clone(), nil
	}
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		policy.DuelingQ(out, in[0], in[1], s[1][0], s[1][1])
	}
	op.symDiff = func(inputs gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
		dv, err := gorgonia.ApplyOp(duelingGradVOp(), inputs[0], grad)
		if err != nil {
			return nil, err
		}
		dadv, err := gorgonia.ApplyOp(duelingGradAOp(), inputs[1], grad)
		if err != nil {
			return nil, err
		}
		return gorgonia.Nodes{dv, dadv}, nil
	}
	return gorgonia.ApplyOp(op, v, adv)
}

// duelingGradVOp(v, q̄) is v̄ ([m, 1]): v̄_i = Σ_j q̄_ij, added in j order
// from zero (q̄·1 as Sgemm computes it).
func duelingGradVOp() *f32Op {
	op := &f32Op{name: "DuelingGradV", inDims: []int{2, 2}, outDims: 2, diffWRT: []bool{false, false}}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) { return s[0].Clone(), nil }
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		m, n := s[1][0], s[1][1]
		g := in[1]
		for i := 0; i < m; i++ {
			var acc float32
			for _, x := range g[i*n : (i+1)*n] {
				acc += x
			}
			out[i] = acc
		}
	}
	return op
}

// duelingGradAOp(adv, q̄) is Ā ([m, n]): Ā_ik = Σ_j q̄_ij·C_kj, added in j
// order from zero (q̄·Cᵀ as Sgemm computes it).
func duelingGradAOp() *f32Op {
	op := &f32Op{name: "DuelingGradA", inDims: []int{2, 2}, outDims: 2, diffWRT: []bool{false, false}}
	var center []float32
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) { return s[0].Clone(), nil }
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		m, n := s[1][0], s[1][1]
		if len(center) != n*n {
			center = policy.DuelingCenter(n)
		}
		g := in[1]
		for i := 0; i < m; i++ {
			row := g[i*n : (i+1)*n]
			for k := 0; k < n; k++ {
				c := center[k*n : (k+1)*n]
				var acc float32
				for j, x := range row {
					acc += float32(x * c[j])
				}
				out[i*n+k] = acc
			}
		}
	}
	return op
}
