package learner

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ScalarFunc is a scalar function of float32 tensors with a hand-written
// gradient, for losses that would otherwise be dozens of generic gorgonia
// nodes (each allocating, and each with its own derivative nodes). in holds
// the inputs' data in the order given to Scalar. When grad is not nil, the
// function also writes ∂f/∂in[wrt] into grad (the length of in[wrt]; the
// values are overwritten, not added to). The function is called once per
// forward run with grad nil and once per backward run with grad set; it
// must depend on in alone (and on values fixed between runs).
type ScalarFunc func(in [][]float32, grad []float32) float32

// Scalar adds f(in...) to the graph as one node whose gradient flows into
// in[wrt] only: one node forward and one backward instead of a chain of
// element-wise ops. Every input must be a float32 tensor (not a scalar).
// Test a ScalarFunc's gradient against finite differences.
func Scalar(name string, f ScalarFunc, wrt int, in ...*gorgonia.Node) (*gorgonia.Node, error) {
	if wrt < 0 || wrt >= len(in) {
		return nil, fmt.Errorf("scalar %s: wrt %d outside its %d inputs", name, wrt, len(in))
	}
	op := &scalarOp{name: name, f: f, wrt: wrt}
	for i, n := range in {
		if n.Dtype() != tensor.Float32 || n.Shape().IsScalar() {
			return nil, fmt.Errorf("scalar %s: input %d is %v %v, want a float32 tensor", name, i, n.Dtype(), n.Shape())
		}
		op.dims = append(op.dims, n.Shape().Dims())
	}
	return gorgonia.ApplyOp(op, in...)
}

// scalarOp is f(in...) → float32 scalar.
type scalarOp struct {
	name string
	f    ScalarFunc
	wrt  int
	dims []int
	data [][]float32
}

func (op *scalarOp) Arity() int { return len(op.dims) }

func (op *scalarOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(op.dims)+1)
	for _, d := range op.dims {
		ts = append(ts, tensorType(d))
	}
	return hm.NewFnType(append(ts, tensor.Float32)...)
}

func (op *scalarOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}

func (op *scalarOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	var err error
	if op.data, err = tensorData(op.name, op.data[:0], in); err != nil {
		return nil, err
	}
	return gorgonia.NewF32(op.f(op.data, nil)), nil
}

func (op *scalarOp) ReturnsPtr() bool      { return false }
func (op *scalarOp) CallsExtern() bool     { return false }
func (op *scalarOp) OverwritesInput() int  { return -1 }
func (op *scalarOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "Scalar{%s}@%p", op.name, op) }
func (op *scalarOp) String() string        { return "Scalar{" + op.name + "}" }
func (op *scalarOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *scalarOp) DiffWRT(int) []bool {
	d := make([]bool, len(op.dims))
	d[op.wrt] = true
	return d
}

func (op *scalarOp) SymDiff(inputs gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g := &scalarGradOp{fwd: op}
	dx, err := gorgonia.ApplyOp(g, append(append(gorgonia.Nodes{}, inputs...), grad)...)
	if err != nil {
		return nil, err
	}
	out := make(gorgonia.Nodes, len(inputs))
	out[op.wrt] = dx
	return out, nil
}

// tensorData appends each value's float32 data to buf.
func tensorData(name string, buf [][]float32, in []gorgonia.Value) ([][]float32, error) {
	for i, v := range in {
		d, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("%s: input %d is %T, want a float32 tensor", name, i, v)
		}
		f, ok := float32s(d)
		if !ok {
			return nil, fmt.Errorf("%s: input %d is %v, want float32", name, i, d.Dtype())
		}
		buf = append(buf, f)
	}
	return buf, nil
}

// scalarGradOp(in..., ȳ) is ȳ·∂f/∂in[wrt], shaped as in[wrt]. Its output
// tensor is kept across runs, as f32Op's.
type scalarGradOp struct {
	fwd  *scalarOp
	data [][]float32
	out  *tensor.Dense
}

func (op *scalarGradOp) Arity() int { return len(op.fwd.dims) + 1 }

func (op *scalarGradOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(op.fwd.dims)+2)
	for _, d := range op.fwd.dims {
		ts = append(ts, tensorType(d))
	}
	return hm.NewFnType(append(ts, tensor.Float32, tensorType(op.fwd.dims[op.fwd.wrt]))...)
}

func (op *scalarGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[op.fwd.wrt].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: input %d has no shape", op, op.fwd.wrt)
	}
	return s.Clone(), nil
}

func (op *scalarGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	n := len(op.fwd.dims)
	if len(in) != n+1 {
		return nil, fmt.Errorf("%s: %d inputs, want %d", op, len(in), n+1)
	}
	var scale float32
	switch g := in[n].(type) {
	case *gorgonia.F32:
		scale = float32(*g)
	case *tensor.Dense:
		d, ok := g.Data().([]float32)
		if !ok || len(d) != 1 {
			return nil, fmt.Errorf("%s: upstream gradient %v is not a float32 scalar", op, g.Shape())
		}
		scale = d[0]
	default:
		return nil, fmt.Errorf("%s: upstream gradient is %T", op, g)
	}
	var err error
	if op.data, err = tensorData(op.String(), op.data[:0], in[:n]); err != nil {
		return nil, err
	}
	shape := in[op.fwd.wrt].Shape()
	if op.out == nil || !op.out.Shape().Eq(shape) {
		op.out = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape.Clone()...))
	}
	out := op.out.Float32s()
	op.fwd.f(op.data, out)
	if scale != 1 {
		for i := range out {
			out[i] *= scale
		}
	}
	return op.out, nil
}

func (op *scalarGradOp) ReturnsPtr() bool     { return false }
func (op *scalarGradOp) CallsExtern() bool    { return false }
func (op *scalarGradOp) OverwritesInput() int { return -1 }
func (op *scalarGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "ScalarGrad{%s}@%p", op.fwd.name, op)
}
func (op *scalarGradOp) String() string { return "ScalarGrad{" + op.fwd.name + "}" }
func (op *scalarGradOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *scalarGradOp) DiffWRT(int) []bool { return make([]bool, len(op.fwd.dims)+1) }
func (op *scalarGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errSecondOrder
}
