package learner

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rlgo/rlgo/internal/kernels"
	"github.com/rlgo/rlgo/policy"
)

// Custom gorgonia ops. gorgonia stays the autodiff engine: it orders the
// ops, allocates their values once, and chains their symbolic derivatives;
// these ops only replace chains of its generic ones where those cost more
// than the arithmetic (see docs/perf-notes.md):
//
//   - denseOp is a whole layer, act(x·W + b), instead of Mul,
//     Reshape/Repeat (which rebuilds the broadcast bias every step), Add and
//     Tanh; its derivative is four small ops (activation gradient, x̄ = z̄·Wᵀ,
//     W̄ = xᵀ·z̄, b̄ = Σ_rows z̄) instead of gorgonia's dozen.
//   - logSoftmaxOp replaces tensor's SoftMax, which starts one goroutine per
//     row on every call, forward and backward.
//
// Each op's gradient is checked against finite differences in ops_test.go.

// f32Op is a float32 op whose output shape and values are functions of
// its inputs'; the concrete ops fill in the functions.
type f32Op struct {
	name    string
	inDims  []int
	outDims int
	shape   func(in []tensor.Shape) (tensor.Shape, error)
	run     func(out []float32, in [][]float32, shapes []tensor.Shape)
	diffWRT []bool
	symDiff func(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error)
	// out is the op's output, allocated on the first run and reused: the
	// TapeMachine drops every value on Reset and would otherwise allocate
	// each node's output anew every step. Each op belongs to one node, and
	// its value is fully rewritten by every run.
	out *tensor.Dense
}

var errSecondOrder = errors.New("learner: custom op has no second derivative")

func tensorType(dims int) hm.Type {
	return gorgonia.TensorType{Dims: dims, Of: tensor.Float32}
}

func (op *f32Op) Arity() int { return len(op.inDims) }

func (op *f32Op) Type() hm.Type {
	ts := make([]hm.Type, 0, len(op.inDims)+1)
	for _, d := range op.inDims {
		ts = append(ts, tensorType(d))
	}
	return hm.NewFnType(append(ts, tensorType(op.outDims))...)
}

func (op *f32Op) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	shapes := make([]tensor.Shape, len(in))
	for i, d := range in {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("%s: input %d has no shape (%T)", op.name, i, d)
		}
		shapes[i] = s
	}
	return op.shape(shapes)
}

func (op *f32Op) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.do(nil, in)
}

func (op *f32Op) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.do(prealloc, in)
}

func (op *f32Op) do(prealloc gorgonia.Value, in []gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != len(op.inDims) {
		return nil, fmt.Errorf("%s: %d inputs, want %d", op.name, len(in), len(op.inDims))
	}
	var shapes [4]tensor.Shape
	var data [4][]float32
	for i, v := range in {
		d, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("%s: input %d is %T, want a float32 tensor", op.name, i, v)
		}
		f, ok := float32s(d)
		if !ok {
			return nil, fmt.Errorf("%s: input %d is %v, want float32", op.name, i, d.Dtype())
		}
		shapes[i], data[i] = d.Shape(), f
	}
	outShape, err := op.shape(shapes[:len(in)])
	if err != nil {
		return nil, err
	}
	out, _ := prealloc.(*tensor.Dense)
	if out == nil || !out.Shape().Eq(outShape) || out.Dtype() != tensor.Float32 {
		if op.out == nil || !op.out.Shape().Eq(outShape) {
			op.out = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(outShape...))
		}
		out = op.out
	}
	outData, _ := float32s(out)
	op.run(outData, data[:len(in)], shapes[:len(in)])
	return out, nil
}

func (op *f32Op) ReturnsPtr() bool      { return false }
func (op *f32Op) CallsExtern() bool     { return false }
func (op *f32Op) OverwritesInput() int  { return -1 }
func (op *f32Op) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s@%p", op.name, op) }
func (op *f32Op) String() string        { return op.name }
func (op *f32Op) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *f32Op) DiffWRT(int) []bool { return op.diffWRT }

func (op *f32Op) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.symDiff == nil {
		return nil, errSecondOrder
	}
	return op.symDiff(inputs, output, grad)
}

// float32s returns d's data without tensor's Dense.Data, which builds the
// slice through reflect on every call (~8% of a PPO learner step).
func float32s(d *tensor.Dense) ([]float32, bool) {
	if d.Dtype() != tensor.Float32 {
		return nil, false
	}
	return d.Float32s(), true
}

// grow returns buf with length n, reallocating only when it is too small.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

func want2D(name string, s tensor.Shape, what string) error {
	if len(s) != 2 {
		return fmt.Errorf("%s: %s has shape %v, want a matrix", name, what, s)
	}
	return nil
}

// Dense adds act(x·w + b) as one node: x is [m,k], w [k,n], b [n]. act is
// policy.Tanh, policy.ReLU or "" (linear). needDX says whether gradients
// must flow into x (false when x is a graph input, which saves the largest
// product of the backward pass).
func Dense(x, w, b *gorgonia.Node, act policy.Activation, needDX bool) (*gorgonia.Node, error) {
	switch act {
	case "", policy.Tanh, policy.ReLU:
	default:
		return nil, fmt.Errorf("dense: unknown activation %q", act)
	}
	var scratch []float32
	op := &f32Op{
		name:    fmt.Sprintf("Dense{%s,dx=%v}", act, needDX),
		inDims:  []int{2, 2, 1},
		outDims: 2,
		diffWRT: []bool{needDX, true, true},
	}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) {
		if err := want2D(op.name, s[0], "x"); err != nil {
			return nil, err
		}
		if err := want2D(op.name, s[1], "w"); err != nil {
			return nil, err
		}
		if s[0][1] != s[1][0] || s[2].TotalSize() != s[1][1] {
			return nil, fmt.Errorf("%s: x %v, w %v and b %v do not fit", op.name, s[0], s[1], s[2])
		}
		return tensor.Shape{s[0][0], s[1][1]}, nil
	}
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		m, k, n := s[0][0], s[0][1], s[1][1]
		kernels.GemmNN(m, n, k, in[0], in[1], in[2], out, grow(&scratch, n*k))
		activate(act, out)
	}
	op.symDiff = func(in gorgonia.Nodes, y, grad *gorgonia.Node) (gorgonia.Nodes, error) {
		dz := grad
		if act != "" {
			var err error
			if dz, err = gorgonia.ApplyOp(activationGradOp(act), y, grad); err != nil {
				return nil, err
			}
		}
		out := make(gorgonia.Nodes, 3)
		var err error
		if needDX {
			if out[0], err = gorgonia.ApplyOp(matMulNTOp(), dz, in[1]); err != nil {
				return nil, err
			}
		}
		if out[1], err = gorgonia.ApplyOp(matMulTNOp(), in[0], dz); err != nil {
			return nil, err
		}
		if out[2], err = gorgonia.ApplyOp(colSumOp(), dz); err != nil {
			return nil, err
		}
		return out, nil
	}
	return gorgonia.ApplyOp(op, x, w, b)
}

func activate(act policy.Activation, x []float32) {
	switch act {
	case policy.Tanh:
		kernels.TanhInPlace(x)
	case policy.ReLU:
		kernels.ReLUInPlace(x)
	}
}

func sameShape(name string) func(s []tensor.Shape) (tensor.Shape, error) {
	return func(s []tensor.Shape) (tensor.Shape, error) {
		if !s[0].Eq(s[1]) {
			return nil, fmt.Errorf("%s: shapes %v and %v differ", name, s[0], s[1])
		}
		return s[0].Clone(), nil
	}
}

// activationGradOp(act)(y, ȳ) is z̄ = ȳ·act'(z) written with y = act(z):
// tanh' = 1 − y², relu' = [y > 0].
func activationGradOp(act policy.Activation) *f32Op {
	name := "ActGrad{" + string(act) + "}"
	op := &f32Op{name: name, inDims: []int{2, 2}, outDims: 2, diffWRT: []bool{false, false}, shape: sameShape(name)}
	op.run = func(out []float32, in [][]float32, _ []tensor.Shape) {
		y, g := in[0], in[1][:len(in[0])]
		out = out[:len(y)]
		switch act {
		case policy.Tanh:
			kernels.TanhGrad(out, y, g)
		case policy.ReLU:
			kernels.ReLUGrad(out, y, g)
		}
	}
	return op
}

// matMulNTOp(a, b) is a·bᵀ for a [m,n] and b [k,n].
func matMulNTOp() *f32Op {
	var s1, s2 []float32
	op := &f32Op{name: "MatMulNT", inDims: []int{2, 2}, outDims: 2, diffWRT: []bool{false, false}}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) {
		if s[0][1] != s[1][1] {
			return nil, fmt.Errorf("%s: %v·%vᵀ", op.name, s[0], s[1])
		}
		return tensor.Shape{s[0][0], s[1][0]}, nil
	}
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		m, n, k := s[0][0], s[0][1], s[1][0]
		kernels.GemmNT(m, n, k, in[0], in[1], out, grow(&s1, n*k), grow(&s2, n*k))
	}
	return op
}

// matMulTNOp(a, b) is aᵀ·b for a [m,k] and b [m,n].
func matMulTNOp() *f32Op {
	var s1 []float32
	op := &f32Op{name: "MatMulTN", inDims: []int{2, 2}, outDims: 2, diffWRT: []bool{false, false}}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) {
		if s[0][0] != s[1][0] {
			return nil, fmt.Errorf("%s: %vᵀ·%v", op.name, s[0], s[1])
		}
		return tensor.Shape{s[0][1], s[1][1]}, nil
	}
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		m, k, n := s[0][0], s[0][1], s[1][1]
		kernels.GemmTN(m, k, n, in[0], in[1], out, grow(&s1, n*k))
	}
	return op
}

// colSumOp(a) sums a [m,n] over its rows into [n].
func colSumOp() *f32Op {
	op := &f32Op{name: "ColSum", inDims: []int{2}, outDims: 1, diffWRT: []bool{false}}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{s[0][1]}, nil }
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		kernels.ColSum(s[0][0], s[0][1], in[0], out)
	}
	return op
}

// LogSoftmax adds the row-wise log-softmax of x [m,n]:
// y_ij = x_ij − max_j x − log Σ_j exp(x_ij − max_j x).
func LogSoftmax(x *gorgonia.Node) (*gorgonia.Node, error) {
	op := &f32Op{name: "LogSoftmax", inDims: []int{2}, outDims: 2, diffWRT: []bool{true}}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) {
		if err := want2D(op.name, s[0], "x"); err != nil {
			return nil, err
		}
		return s[0].Clone(), nil
	}
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		m, n := s[0][0], s[0][1]
		for i := 0; i < m; i++ {
			row, o := in[0][i*n:(i+1)*n], out[i*n:(i+1)*n]
			mx := row[0]
			for _, v := range row[1:] {
				mx = max(mx, v)
			}
			var sum float64
			for _, v := range row {
				sum += math.Exp(float64(v - mx))
			}
			lse := float32(math.Log(sum))
			for j, v := range row {
				o[j] = v - mx - lse
			}
		}
	}
	op.symDiff = func(_ gorgonia.Nodes, y, grad *gorgonia.Node) (gorgonia.Nodes, error) {
		dx, err := gorgonia.ApplyOp(logSoftmaxGradOp(), y, grad)
		return gorgonia.Nodes{dx}, err
	}
	return gorgonia.ApplyOp(op, x)
}

// logSoftmaxGradOp(y, ȳ) is x̄ = ȳ − softmax(x)·Σ_j ȳ_j, row-wise, with softmax(x) = exp(y).
func logSoftmaxGradOp() *f32Op {
	name := "LogSoftmaxGrad"
	op := &f32Op{name: name, inDims: []int{2, 2}, outDims: 2, diffWRT: []bool{false, false}, shape: sameShape(name)}
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		m, n := s[0][0], s[0][1]
		for i := 0; i < m; i++ {
			y, g, o := in[0][i*n:(i+1)*n], in[1][i*n:(i+1)*n], out[i*n:(i+1)*n]
			var gs float32
			for _, v := range g {
				gs += v
			}
			for j, v := range y {
				o[j] = g[j] - float32(math.Exp(float64(v)))*gs
			}
		}
	}
	return op
}
