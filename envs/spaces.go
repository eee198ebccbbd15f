package envs

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Space describes a set of observations or actions. The concrete spaces
// are *Box and Discrete; code that needs one of them uses a type switch.
type Space interface {
	// Shape is the space's shape: (n) for a Box vector, () for Discrete.
	Shape() []int
	// ContainsAction reports whether a is a member of the space.
	ContainsAction(a Action) bool
	// SampleAction draws a uniformly random member of the space (for a Box
	// with infinite bounds, see Box.Sample) from rng.
	SampleAction(rng *rand.Rand) Action
	// String describes the space as Gymnasium prints it, e.g. Discrete(2).
	String() string
}

// Box is a (possibly unbounded) box in R^n, laid out row-major by Shape.
// Low and High have one entry per element; ±Inf means unbounded.
type Box struct {
	Low, High []float32
	// Dims is the shape; nil means the flat vector (len(Low)).
	Dims []int
}

// NewBox returns a flat Box with the given bounds. It panics if the bounds
// differ in length or Low > High anywhere (a programmer error).
func NewBox(low, high []float32) *Box {
	if len(low) != len(high) {
		panic(fmt.Sprintf("envs: NewBox: len(low)=%d != len(high)=%d", len(low), len(high)))
	}
	for i := range low {
		if low[i] > high[i] {
			panic(fmt.Sprintf("envs: NewBox: low[%d]=%v > high[%d]=%v", i, low[i], i, high[i]))
		}
	}
	return &Box{Low: append([]float32(nil), low...), High: append([]float32(nil), high...)}
}

// UniformBox returns a flat Box of n elements, each in [low, high].
func UniformBox(n int, low, high float32) *Box {
	l := make([]float32, n)
	h := make([]float32, n)
	for i := range l {
		l[i], h[i] = low, high
	}
	return NewBox(l, h)
}

// Size is the number of elements.
func (b *Box) Size() int { return len(b.Low) }

// Shape returns Dims, or (Size) for a flat box.
func (b *Box) Shape() []int {
	if b.Dims != nil {
		return append([]int(nil), b.Dims...)
	}
	return []int{len(b.Low)}
}

// Contains reports whether x has the box's size and lies inside its bounds
// (NaN is never inside).
func (b *Box) Contains(x []float32) bool {
	if len(x) != len(b.Low) {
		return false
	}
	for i, v := range x {
		if !(v >= b.Low[i] && v <= b.High[i]) {
			return false
		}
	}
	return true
}

// ContainsAction reports whether a.Continuous is inside the box.
func (b *Box) ContainsAction(a Action) bool { return b.Contains(a.Continuous) }

// Sample draws a member of the box from rng, as Gymnasium does: uniform on
// bounded dimensions, exponential on half-bounded ones, normal on unbounded.
func (b *Box) Sample(rng *rand.Rand) []float32 {
	x := make([]float32, len(b.Low))
	for i := range x {
		lo, hi := float64(b.Low[i]), float64(b.High[i])
		switch {
		case !math.IsInf(lo, 0) && !math.IsInf(hi, 0):
			x[i] = float32(lo + rng.Float64()*(hi-lo))
		case !math.IsInf(lo, 0):
			x[i] = float32(lo + rng.ExpFloat64())
		case !math.IsInf(hi, 0):
			x[i] = float32(hi - rng.ExpFloat64())
		default:
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// SampleAction returns Sample as a continuous Action.
func (b *Box) SampleAction(rng *rand.Rand) Action { return Action{Continuous: b.Sample(rng)} }

// Clip writes x clipped to the box into dst (allocating when dst is too
// short) and returns it. x must have the box's size (it panics otherwise).
func (b *Box) Clip(dst, x []float32) []float32 {
	if cap(dst) < len(x) {
		dst = make([]float32, len(x))
	}
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = min(max(v, b.Low[i]), b.High[i])
	}
	return dst
}

// String describes the box, e.g. Box([-1 -1], [1 1], [2], float32).
func (b *Box) String() string {
	return fmt.Sprintf("Box(%v, %v, %v, float32)", b.Low, b.High, b.Shape())
}

// Discrete is the set {0, 1, ..., N-1}.
type Discrete struct {
	N int
}

// Shape is () for a Discrete space.
func (d Discrete) Shape() []int { return nil }

// Contains reports whether 0 <= i < N.
func (d Discrete) Contains(i int) bool { return i >= 0 && i < d.N }

// ContainsAction reports whether a.Discrete is in the space.
func (d Discrete) ContainsAction(a Action) bool { return d.Contains(a.Discrete) }

// Sample draws a uniformly random index from rng.
func (d Discrete) Sample(rng *rand.Rand) int { return rng.IntN(d.N) }

// SampleAction returns Sample as a discrete Action.
func (d Discrete) SampleAction(rng *rand.Rand) Action { return Action{Discrete: d.Sample(rng)} }

// String describes the space like Gymnasium: Discrete(N).
func (d Discrete) String() string { return fmt.Sprintf("Discrete(%d)", d.N) }

// NewRand returns the random source rlgo uses everywhere: a PCG generator
// seeded from seed and stream (so that, say, worker 3 of run seed 1 has its
// own stream). Nothing in rlgo draws from a global source.
func NewRand(seed, stream uint64) *rand.Rand {
	return NewRNG(seed, stream).Rand
}
