package policy

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"

	"github.com/rlgo/rlgo/internal/kernels"
)

// Activation is a hidden-layer nonlinearity.
type Activation string

// The supported activations.
const (
	Tanh Activation = "tanh"
	ReLU Activation = "relu"
)

// Validate reports an unknown activation.
func (a Activation) Validate() error {
	switch a {
	case Tanh, ReLU:
		return nil
	}
	return fmt.Errorf("unknown activation %q (want tanh or relu)", a)
}

// MLP describes a fully connected network: Sizes[0] inputs, hidden layers
// Sizes[1:len-1] with Activation, and a linear output layer of
// Sizes[len-1]. Layer i has parameters "<Name>/<i>/w" (shape
// [Sizes[i], Sizes[i+1]], so y = x·W + b) and "<Name>/<i>/b".
type MLP struct {
	Name       string
	Sizes      []int
	Activation Activation
	// OutputGain is the orthogonal-init gain of the output layer (hidden
	// layers use √2), CleanRL's layer_init std: 0.01 for a policy head,
	// 1 for a value head.
	OutputGain float64
	// InitKind is the layers' initialisation; "" is InitOrthogonal.
	InitKind Init
}

// Layers returns the number of linear layers.
func (m MLP) Layers() int { return len(m.Sizes) - 1 }

// WeightName returns the name of layer i's weight matrix.
func (m MLP) WeightName(i int) string { return fmt.Sprintf("%s/%d/w", m.Name, i) }

// BiasName returns the name of layer i's bias vector.
func (m MLP) BiasName(i int) string { return fmt.Sprintf("%s/%d/b", m.Name, i) }

// Init appends the network's parameters to w, initialised as CleanRL's
// layer_init: orthogonal weights with gain √2 on hidden layers and
// OutputGain on the output layer, zero biases; or, with m.InitKind
// InitTorchDefault, as torch.nn.Linear's defaults, or with
// InitGymnaxBlines, as gymnax-blines' flax layers. Draws come from rng.
func (m MLP) Init(w *Weights, rng *rand.Rand) {
	for i := 0; i < m.Layers(); i++ {
		in, out := m.Sizes[i], m.Sizes[i+1]
		if m.InitKind == InitTorchDefault || m.InitKind == InitGymnaxBlines {
			draw := torchDefault
			if m.InitKind == InitGymnaxBlines {
				draw = gymnaxBlines
			}
			wt, b := draw(in, out, rng)
			w.Tensors = append(w.Tensors,
				Tensor{Name: m.WeightName(i), Shape: []int{in, out}, Data: wt},
				Tensor{Name: m.BiasName(i), Shape: []int{out}, Data: b})
			continue
		}
		gain := math.Sqrt2
		if i == m.Layers()-1 {
			gain = m.OutputGain
		}
		w.Tensors = append(w.Tensors,
			Tensor{Name: m.WeightName(i), Shape: []int{in, out}, Data: Orthogonal(in, out, gain, rng)},
			Tensor{Name: m.BiasName(i), Shape: []int{out}, Data: make([]float32, out)})
	}
}

// Orthogonal returns a rows×cols matrix (row-major) with orthonormal rows
// or columns, whichever are fewer, scaled by gain: Saxe et al. (2014), as
// torch.nn.init.orthogonal_ computes it (QR of a Gaussian matrix, signs
// fixed by R's diagonal).
//
// It forms only the thin Q (big×small), with LAPACK's dgeqrf and dorgqr
// as gonum's mat.QR calls them: mat.QR.QTo forms the full big×big Q,
// which took ~30 s for nature_cnn's 3136×512 hidden layer. The thin Q's
// columns are the full Q's first columns bit for bit (checked in
// TestOrthogonalThinQ against mat.QR).
func Orthogonal(rows, cols int, gain float64, rng *rand.Rand) []float32 {
	big, small := max(rows, cols), min(rows, cols)
	g := mat.NewDense(big, small, nil)
	for i := 0; i < big; i++ {
		for j := 0; j < small; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	a := g.RawMatrix()
	tau := make([]float64, small)
	work := []float64{0}
	lapack64.Geqrf(a, tau, work, -1)
	work = make([]float64, int(work[0]))
	lapack64.Geqrf(a, tau, work, len(work))
	diag := make([]float64, small) // R's diagonal, before Q overwrites it
	for j := range diag {
		diag[j] = a.Data[j*a.Stride+j]
	}
	work = work[:1]
	lapack64.Orgqr(a, tau, work, -1)
	work = make([]float64, int(work[0]))
	lapack64.Orgqr(a, tau, work, len(work))
	out := make([]float32, rows*cols)
	for j := 0; j < small; j++ {
		sign := 1.0
		if diag[j] < 0 {
			sign = -1
		}
		for i := 0; i < big; i++ {
			v := float32(gain * sign * a.Data[i*a.Stride+j])
			if rows >= cols {
				out[i*cols+j] = v
			} else {
				out[j*cols+i] = v
			}
		}
	}
	return out
}

// Forward is a pure-Go forward pass of an MLP over Weights, with buffers
// reused across calls. It is not safe for concurrent use. The products
// are internal/kernels' (the learner's): a worker's batch is a few rows,
// where a general BLAS's per-call cost dominates.
type Forward struct {
	mlp     MLP
	ws, bs  [][]float32
	bufs    [][]float32
	scratch []float32 // kernels.GemmNN's transpose of a narrow layer's weights
}

// NewForward binds m to the tensors in w. The tensors are referenced, not
// copied: updating w in place (Weights.CopyFrom) updates the pass.
func NewForward(m MLP, w *Weights) (*Forward, error) {
	f := &Forward{mlp: m}
	for i := 0; i < m.Layers(); i++ {
		wt, bt := w.Get(m.WeightName(i)), w.Get(m.BiasName(i))
		if wt == nil || bt == nil {
			return nil, fmt.Errorf("forward %s: weights lack layer %d", m.Name, i)
		}
		in, out := m.Sizes[i], m.Sizes[i+1]
		if len(wt.Data) != in*out || len(bt.Data) != out {
			return nil, fmt.Errorf("forward %s: layer %d has %d×%d weights, want %d×%d", m.Name, i, len(wt.Data), len(bt.Data), in, out)
		}
		f.ws = append(f.ws, wt.Data)
		f.bs = append(f.bs, bt.Data)
	}
	f.bufs = make([][]float32, m.Layers())
	return f, nil
}

// Run computes the outputs for batch rows of x ([batch, Sizes[0]]) and
// returns them as [batch, Sizes[len-1]]. The result is valid until the next Run.
func (f *Forward) Run(x []float32, batch int) []float32 {
	m := f.mlp
	in := x
	for i := 0; i < m.Layers(); i++ {
		k, n := m.Sizes[i], m.Sizes[i+1]
		if cap(f.bufs[i]) < batch*n {
			f.bufs[i] = make([]float32, batch*n)
		}
		out := f.bufs[i][:batch*n]
		if cap(f.scratch) < k*n {
			f.scratch = make([]float32, k*n)
		}
		kernels.GemmNN(batch, n, k, in[:batch*k], f.ws[i], f.bs[i], out, f.scratch[:k*n])
		if i < m.Layers()-1 {
			activate(m.Activation, out)
		}
		in = out
	}
	return in
}

// activate applies a in place. tanh is Tanh32 (within 1e-6 of math.Tanh),
// 8-wide with AVX2: math.Tanh was ~70% of an Act call.
func activate(a Activation, x []float32) {
	switch a {
	case Tanh:
		kernels.TanhInPlace(x)
	case ReLU:
		kernels.ReLUInPlace(x)
	}
}
