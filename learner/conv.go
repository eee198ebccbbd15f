package learner

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rlgo/rlgo/internal/kernels"
	"github.com/rlgo/rlgo/policy"
)

// Convolutions as custom ops, in the layout the workers' policy.ConvForward
// uses: images are rows of a matrix ([batch, H·W·C], channels last),
// filters a [K·K·C, F] matrix. The forward pass is im2col and one GEMM
// (internal/kernels, shared with the workers), with the bias and the
// activation fused, as Dense is; the backward pass is three ops:
//
//	W̄ = colsᵀ·z̄            (the forward's im2col rows, kept)
//	b̄ = Σ_positions z̄
//	x̄ = col2im(z̄·Wᵀ)       (only when x needs a gradient)
//
// gorgonia's own Conv2d is NCHW with a transpose after every layer, and
// allocates its im2col and output tensors anew at every step; conv_test.go
// checks these ops against it and against finite differences.

// Conv adds c's layers on x ([batch, H·W·C], c.InShape images) and returns
// the activated output of the last ([batch, c.OutSize()]), what
// policy.ConvForward computes. With no layers it returns x. Gradients do
// not flow into x when x is a graph input.
func (gr *Graph) Conv(c policy.Conv, x *gorgonia.Node) (*gorgonia.Node, error) {
	if len(c.Layers) == 0 {
		return x, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	h := x
	for i, l := range c.Layers {
		w, b := gr.Param(c.WeightName(i)), gr.Param(c.BiasName(i))
		if w == nil || b == nil {
			return nil, fmt.Errorf("conv %s: no parameters for layer %d", c.Name, i)
		}
		var err error
		if h, err = Conv2D(h, w, b, c.Shape(i), l, c.Activation, i > 0 || !h.IsVar()); err != nil {
			return nil, fmt.Errorf("conv %s layer %d: %w", c.Name, i, err)
		}
	}
	return h, nil
}

// Network adds a conv torso then an MLP on x: gr.Conv then gr.MLP, the
// actor or critic of an ActorCriticSpec (ActorConv and Actor, CriticConv
// and Critic) or a non-dueling QSpec's network (Conv and Plain). Without
// conv layers it is gr.MLP(head, x), node for node.
func (gr *Graph) Network(torso policy.Conv, head policy.MLP, x *gorgonia.Node) (*gorgonia.Node, error) {
	h, err := gr.Conv(torso, x)
	if err != nil {
		return nil, err
	}
	return gr.MLP(head, h)
}

// Conv2D adds act(conv(x, w) + b) as one node: x is [batch, H·W·C] (images
// of shape in = (H, W, C), channels last), w is [K·K·C, F] and b [F] for
// the layer l; the output is [batch, OH·OW·F], channels last. act is
// policy.Tanh, policy.ReLU or "" (linear). needDX says whether gradients
// must flow into x (false for a graph input, which saves the col2im).
func Conv2D(x, w, b *gorgonia.Node, in [3]int, l policy.ConvLayer, act policy.Activation, needDX bool) (*gorgonia.Node, error) {
	switch act {
	case "", policy.Tanh, policy.ReLU:
	default:
		return nil, fmt.Errorf("conv2d: unknown activation %q", act)
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("conv2d: %w", err)
	}
	stride := max(l.Stride, 1)
	g := kernels.NewConvGeom(in[0], in[1], in[2], l.Kernel, stride, l.Padding)
	if g.OH < 1 || g.OW < 1 || g.C < 1 {
		return nil, fmt.Errorf("conv2d: a %d×%d kernel does not fit a %v input", l.Kernel, l.Kernel, in)
	}
	f, p, pos := l.Filters, g.Patch(), g.Positions()
	// cols holds the forward's im2col rows ([batch·OH·OW, K·K·C]) for the
	// filter gradient of the same run: the TapeMachine runs a node's
	// gradient after the node itself, and each op belongs to one node.
	var cols, scratch []float32
	op := &f32Op{
		name:    fmt.Sprintf("Conv2D{%v,%dx%d/%d,p%d,%d,%s,dx=%v}", in, l.Kernel, l.Kernel, stride, l.Padding, f, act, needDX),
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
		if s[0][1] != g.H*g.W*g.C || s[1][0] != p || s[1][1] != f || s[2].TotalSize() != f {
			return nil, fmt.Errorf("%s: x %v, w %v and b %v do not fit", op.name, s[0], s[1], s[2])
		}
		return tensor.Shape{s[0][0], pos * f}, nil
	}
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		batch := s[0][0]
		c := grow(&cols, batch*pos*p)
		kernels.Im2Col(g, batch, in[0], c)
		kernels.GemmNN(batch*pos, f, p, c, in[1], in[2], out, grow(&scratch, f*p))
		activate(act, out)
	}
	op.symDiff = func(inputs gorgonia.Nodes, y, grad *gorgonia.Node) (gorgonia.Nodes, error) {
		dz := grad
		var err error
		if act != "" {
			if dz, err = gorgonia.ApplyOp(activationGradOp(act), y, grad); err != nil {
				return nil, err
			}
		}
		out := make(gorgonia.Nodes, 3)
		if needDX {
			if out[0], err = gorgonia.ApplyOp(convGradInputOp(g, f), dz, inputs[1]); err != nil {
				return nil, err
			}
		}
		if out[1], err = gorgonia.ApplyOp(convGradFilterOp(g, f, &cols), inputs[0], dz); err != nil {
			return nil, err
		}
		if out[2], err = gorgonia.ApplyOp(convGradBiasOp(g, f), dz); err != nil {
			return nil, err
		}
		return out, nil
	}
	return gorgonia.ApplyOp(op, x, w, b)
}

// convGradInputOp(z̄, W) is x̄ = col2im(z̄·Wᵀ): z̄ is [batch, OH·OW·F]
// (read as [batch·OH·OW, F]), W [K·K·C, F], x̄ [batch, H·W·C].
func convGradInputOp(g kernels.ConvGeom, f int) *f32Op {
	var dcols, s1, s2 []float32
	p, pos := g.Patch(), g.Positions()
	op := &f32Op{name: "Conv2DGradInput", inDims: []int{2, 2}, outDims: 2, diffWRT: []bool{false, false}}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) {
		if s[0][1] != pos*f || s[1][0] != p || s[1][1] != f {
			return nil, fmt.Errorf("%s: z̄ %v and w %v do not fit", op.name, s[0], s[1])
		}
		return tensor.Shape{s[0][0], g.H * g.W * g.C}, nil
	}
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		batch := s[0][0]
		m := batch * pos
		d := grow(&dcols, m*p)
		kernels.GemmNT(m, f, p, in[0], in[1], d, grow(&s1, f*p), grow(&s2, f*p))
		kernels.Col2Im(g, batch, d, out)
	}
	return op
}

// convGradFilterOp(x, z̄) is W̄ = colsᵀ·z̄ ([K·K·C, F]), with cols the
// im2col rows of x that the forward op of the same run left in *cols. x
// is an input only to order the op after the forward pass.
func convGradFilterOp(g kernels.ConvGeom, f int, cols *[]float32) *f32Op {
	var s1 []float32
	p, pos := g.Patch(), g.Positions()
	op := &f32Op{name: "Conv2DGradFilter", inDims: []int{2, 2}, outDims: 2, diffWRT: []bool{false, false}}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) {
		if s[1][1] != pos*f || s[0][0] != s[1][0] {
			return nil, fmt.Errorf("%s: x %v and z̄ %v do not fit", op.name, s[0], s[1])
		}
		return tensor.Shape{p, f}, nil
	}
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		m := s[1][0] * pos
		kernels.GemmTN(m, p, f, (*cols)[:m*p], in[1], out, grow(&s1, f*p))
	}
	return op
}

// convGradBiasOp(z̄) is b̄ = Σ over every image and position of z̄ ([F]).
func convGradBiasOp(g kernels.ConvGeom, f int) *f32Op {
	op := &f32Op{name: "Conv2DGradBias", inDims: []int{2}, outDims: 1, diffWRT: []bool{false}}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{f}, nil }
	op.run = func(out []float32, in [][]float32, s []tensor.Shape) {
		kernels.ColSum(s[0][0]*g.Positions(), f, in[0], out)
	}
	return op
}
