package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/rlgo/rlgo/internal/kernels"
)

// ConvLayer is one 2-D convolution of a model's convolutional torso
// (YAML: {filters: 16, kernel: 3, stride: 1}): Filters square kernels of
// Kernel×Kernel moved by Stride, over Padding zeros on every side. The
// default padding is 0 ("valid", PyTorch's nn.Conv2d default, as both
// Mnih et al. 2015 and MinAtar's networks use).
type ConvLayer struct {
	// Filters is the number of output channels.
	Filters int `yaml:"filters"`
	// Kernel is the kernel's height and width.
	Kernel int `yaml:"kernel"`
	// Stride is the step between kernel positions. Default (0) 1.
	Stride int `yaml:"stride,omitempty"`
	// Padding is the number of zeros added on each side. Default 0.
	Padding int `yaml:"padding,omitempty"`
}

// stride is the layer's stride with the default applied.
func (l ConvLayer) stride() int { return max(l.Stride, 1) }

// Limits of a conv layer's settings, and of the values one image makes a
// layer read or write, so that a spec from outside (an exported file, the
// wire) cannot make a forward pass allocate without bound.
const (
	maxFilters    = 4096
	maxKernel     = 255
	maxConvValues = 1 << 22
)

// Validate checks the layer's settings (not whether it fits its input).
func (l ConvLayer) Validate() error {
	switch {
	case l.Filters < 1 || l.Filters > maxFilters:
		return fmt.Errorf("filters: want a count in [1, %d], got %d", maxFilters, l.Filters)
	case l.Kernel < 1 || l.Kernel > maxKernel:
		return fmt.Errorf("kernel: want a size in [1, %d], got %d", maxKernel, l.Kernel)
	case l.Stride < 0 || l.Stride > maxKernel:
		return fmt.Errorf("stride: want a step in [1, %d] (0 means 1), got %d", maxKernel, l.Stride)
	case l.Padding < 0 || l.Padding >= l.Kernel:
		return fmt.Errorf("padding: want a count in [0, kernel−1 = %d], got %d", l.Kernel-1, l.Padding)
	}
	return nil
}

// NatureCNN is the preset of Mnih et al. (2015), "Human-level control
// through deep reinforcement learning", for 84×84 Atari frames: three
// ReLU convolutions, 32 8×8 filters with stride 4, 64 4×4 with stride 2,
// 64 3×3 with stride 1, then a ReLU hidden layer of 512 (CleanRL's
// ppo_atari.py and dqn_atari.py network).
const NatureCNN = "nature_cnn"

// natureCNN is NatureCNN's torso; see Resolve for the rest.
var natureCNN = []ConvLayer{{Filters: 32, Kernel: 8, Stride: 4}, {Filters: 64, Kernel: 4, Stride: 2}, {Filters: 64, Kernel: 3, Stride: 1}}

// Resolve returns c with its preset expanded: NatureCNN sets Conv,
// Hidden ([512]) and Activation (relu). Without a preset it returns c as
// it is (the same slices).
func (c ModelConfig) Resolve() ModelConfig {
	if c.Preset == NatureCNN {
		c.Conv = append([]ConvLayer(nil), natureCNN...)
		c.Hidden = []int{512}
		c.Activation = ReLU
	}
	return c
}

// validateConv checks the conv layers and the preset (ModelConfig.Validate).
func (c ModelConfig) validateConv() error {
	for i, l := range c.Conv {
		if err := l.Validate(); err != nil {
			return fmt.Errorf("conv[%d].%w", i, err)
		}
	}
	if len(c.Conv) > 16 {
		return fmt.Errorf("conv: want at most 16 layers, got %d", len(c.Conv))
	}
	switch c.Preset {
	case "":
		return nil
	case NatureCNN:
	default:
		return fmt.Errorf("preset: unknown preset %q (want %s or none)", c.Preset, NatureCNN)
	}
	// The preset sets the torso, the hidden layers and the activation.
	// Settings left empty or equal to the defaults are taken as unset (a
	// config file is decoded onto DefaultModelConfig); anything else would
	// be ignored, so it is an error.
	if len(c.Conv) > 0 {
		return fmt.Errorf("conv: preset %s sets the convolutions; remove one of them", c.Preset)
	}
	def, r := DefaultModelConfig(), c.Resolve()
	if len(c.Hidden) > 0 && !slices.Equal(c.Hidden, def.Hidden) && !slices.Equal(c.Hidden, r.Hidden) {
		return fmt.Errorf("hidden: preset %s sets the hidden layers to %v; remove one of them", c.Preset, r.Hidden)
	}
	if c.Activation != "" && c.Activation != def.Activation && c.Activation != r.Activation {
		return fmt.Errorf("activation: preset %s sets the activation to %s; remove one of them", c.Preset, r.Activation)
	}
	return nil
}

// imageShape returns the (H, W, C) an observation of obsDim values with
// the Box shape obsShape is read as: a rank-3 shape as it is, a rank-2
// one as one channel, and anything else (a vector) as 1×1×obsDim.
func imageShape(obsDim int, obsShape []int) [3]int {
	switch len(obsShape) {
	case 3:
		return [3]int{obsShape[0], obsShape[1], obsShape[2]}
	case 2:
		return [3]int{obsShape[0], obsShape[1], 1}
	}
	return [3]int{1, 1, obsDim}
}

// checkObsShape checks that obsShape describes obsDim values, and that a
// model with conv layers reads an image.
func checkObsShape(obsDim int, obsShape []int, m ModelConfig) error {
	if len(obsShape) > 0 {
		n := 1
		for _, d := range obsShape {
			if d < 1 || d > 1<<20 {
				return fmt.Errorf("observation shape %v: want dimensions in [1, 2²⁰]", obsShape)
			}
			n *= d
			if n > 1<<20 {
				return fmt.Errorf("observation shape %v: more than 2²⁰ values", obsShape)
			}
		}
		if n != obsDim {
			return fmt.Errorf("observation shape %v holds %d values, want the observation size %d", obsShape, n, obsDim)
		}
	}
	if len(m.Resolve().Conv) > 0 && len(obsShape) != 2 && len(obsShape) != 3 {
		return fmt.Errorf("model: conv layers need an image observation (a Box of shape H×W×C or H×W), got shape %v", obsShape)
	}
	return nil
}

// Conv is a convolutional torso: images of InShape (H, W, C; flat
// []float32 rows, channels last) through every layer, each followed by
// Activation, flattened channels last into OutSize values per image. Layer
// i has parameters "<Name>/<i>/w" of shape [K·K·C_in, Filters] (the
// receptive field in (kh, kw, c) order: HWIO flattened to a matrix, so
// out = patch·W + b) and "<Name>/<i>/b" [Filters]. Without layers the
// torso passes its input through (OutSize = H·W·C).
type Conv struct {
	Name       string
	InShape    [3]int
	Layers     []ConvLayer
	Activation Activation
}

// WeightName returns the name of layer i's filter matrix.
func (c Conv) WeightName(i int) string { return fmt.Sprintf("%s/%d/w", c.Name, i) }

// BiasName returns the name of layer i's bias vector.
func (c Conv) BiasName(i int) string { return fmt.Sprintf("%s/%d/b", c.Name, i) }

// Shape returns the (H, W, C) of layer i's input; Shape(len(Layers)) is
// the torso's output. A dimension is below 1 where a kernel does not fit.
func (c Conv) Shape(i int) [3]int {
	s := c.InShape
	for _, l := range c.Layers[:i] {
		g := kernels.NewConvGeom(s[0], s[1], s[2], l.Kernel, l.stride(), l.Padding)
		s = [3]int{g.OH, g.OW, l.Filters}
	}
	return s
}

// OutSize is the number of values per image after the torso.
func (c Conv) OutSize() int {
	s := c.Shape(len(c.Layers))
	return s[0] * s[1] * s[2]
}

// geom returns layer i's geometry.
func (c Conv) geom(i int) kernels.ConvGeom {
	s, l := c.Shape(i), c.Layers[i]
	return kernels.NewConvGeom(s[0], s[1], s[2], l.Kernel, l.stride(), l.Padding)
}

// Validate checks every layer and that each fits its input.
func (c Conv) Validate() error {
	if c.InShape[0] < 1 || c.InShape[1] < 1 || c.InShape[2] < 1 {
		return fmt.Errorf("conv %s: input shape %v", c.Name, c.InShape)
	}
	for i, l := range c.Layers {
		if err := l.Validate(); err != nil {
			return fmt.Errorf("conv[%d].%w", i, err)
		}
		g := c.geom(i)
		if g.OH < 1 || g.OW < 1 {
			return fmt.Errorf("conv[%d]: a %d×%d kernel with padding %d does not fit its %d×%d input", i, l.Kernel, l.Kernel, l.Padding, g.H, g.W)
		}
		if g.Positions() > maxConvValues || g.Positions()*g.Patch() > maxConvValues || g.Positions()*l.Filters > maxConvValues {
			return fmt.Errorf("conv[%d]: %d×%d outputs of %d inputs each is more than %d values per image", i, g.OH, g.OW, g.Patch(), maxConvValues)
		}
	}
	return nil
}

// validateLayers is Validate for a torso with layers, nil without.
func (c Conv) validateLayers() error {
	if len(c.Layers) == 0 {
		return nil
	}
	return c.Validate()
}

// Init appends the torso's parameters to w, as CleanRL's Atari scripts'
// layer_init: orthogonal filters with gain √2 (of the [K·K·C, Filters]
// matrix; torch's orthogonal_ of the [Filters, C, K, K] weight is the
// same up to the transposition and the order of the fan-in), zero
// biases. Draws come from rng.
func (c Conv) Init(w *Weights, rng *rand.Rand) {
	for i, l := range c.Layers {
		p := c.geom(i).Patch()
		w.Tensors = append(w.Tensors,
			Tensor{Name: c.WeightName(i), Shape: []int{p, l.Filters}, Data: Orthogonal(p, l.Filters, math.Sqrt2, rng)},
			Tensor{Name: c.BiasName(i), Shape: []int{l.Filters}, Data: make([]float32, l.Filters)})
	}
}

// ConvForward is a pure-Go forward pass of a Conv over Weights: per layer,
// im2col then one product with internal/kernels' GEMM (the learner's), then
// the activation, with buffers reused across calls (no allocation once a
// batch size has been seen). A nil *ConvForward is the identity (a model
// without conv layers). Not safe for concurrent use.
type ConvForward struct {
	conv    Conv
	geoms   []kernels.ConvGeom
	ws, bs  [][]float32
	outs    [][]float32
	cols    []float32
	scratch []float32 // kernels.GemmNN's transpose of fewer than 8 filters
}

// NewConvForward binds c to the tensors in w (referenced, not copied:
// updating w in place updates the pass). It returns nil, and no error,
// when c has no layers.
func NewConvForward(c Conv, w *Weights) (*ConvForward, error) {
	if len(c.Layers) == 0 {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	f := &ConvForward{conv: c, outs: make([][]float32, len(c.Layers))}
	for i, l := range c.Layers {
		g := c.geom(i)
		wt, bt := w.Get(c.WeightName(i)), w.Get(c.BiasName(i))
		if wt == nil || bt == nil {
			return nil, fmt.Errorf("forward %s: weights lack layer %d", c.Name, i)
		}
		if len(wt.Data) != g.Patch()*l.Filters || len(bt.Data) != l.Filters {
			return nil, fmt.Errorf("forward %s: layer %d has %d filter and %d bias values, want %d×%d and %d",
				c.Name, i, len(wt.Data), len(bt.Data), g.Patch(), l.Filters, l.Filters)
		}
		f.geoms = append(f.geoms, g)
		f.ws, f.bs = append(f.ws, wt.Data), append(f.bs, bt.Data)
	}
	return f, nil
}

// Run computes the torso's outputs for batch images x ([batch, H·W·C])
// as [batch, OutSize], valid until the next Run. On a nil ConvForward it
// returns x.
func (f *ConvForward) Run(x []float32, batch int) []float32 {
	if f == nil {
		return x
	}
	in := x
	for i, g := range f.geoms {
		m, p, n := batch*g.Positions(), g.Patch(), f.conv.Layers[i].Filters
		cols := grow(&f.cols, m*p)
		out := grow(&f.outs[i], m*n)
		kernels.Im2Col(g, batch, in, cols)
		kernels.GemmNN(m, n, p, cols, f.ws[i], f.bs[i], out, grow(&f.scratch, n*p))
		activate(f.conv.Activation, out)
		in = out
	}
	return in
}

// grow returns *buf resliced to n values, reallocating only when it is
// too small.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}
