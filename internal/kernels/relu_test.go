package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// reluInputs are the special values (NaN, ±0, ±Inf, subnormals, the
// extremes) among random ones, 1003 in all so the tail runs too.
func reluInputs() []float32 {
	special := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), 0, float32(math.Inf(1)), float32(math.Inf(-1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32, 1, -1}
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 1003)
	for i := range x {
		if i%7 == 0 {
			x[i] = special[(i/7)%len(special)]
		} else {
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// TestReLU checks both kernels bit for bit against the plain Go loops
// (the learner's), with and without AVX2.
func TestReLU(t *testing.T) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	for _, avx := range []bool{false, saved} {
		useAVX2 = avx
		x := reluInputs()
		got := append([]float32(nil), x...)
		ReLUInPlace(got)
		for i, v := range x {
			if want := max(v, 0); math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Errorf("avx2=%v ReLUInPlace(%v) = %v (%#x); want %v (%#x)", avx, v, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
			}
		}
		g := reluInputs()
		for i := range g {
			g[i] = -g[i] + 0.5
		}
		out := make([]float32, len(x))
		ReLUGrad(out, x, g)
		for i, v := range x {
			want := float32(0)
			if v > 0 {
				want = g[i]
			}
			if math.Float32bits(out[i]) != math.Float32bits(want) {
				t.Errorf("avx2=%v ReLUGrad(y=%v, g=%v) = %v; want %v", avx, v, g[i], out[i], want)
			}
		}
	}
}

// BenchmarkReLU times the forward and the gradient on a 64×256
// activation (the zoo network's hidden layer on a minibatch), against
// the plain loops.
func BenchmarkReLU(b *testing.B) {
	x, g, out := make([]float32, 64*256), make([]float32, 64*256), make([]float32, 64*256)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i], g[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	y := append([]float32(nil), x...)
	b.Run("forward/loop", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			copy(y, x)
			for j, v := range y {
				y[j] = max(v, 0)
			}
		}
	})
	b.Run("forward/kernel", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			copy(y, x)
			ReLUInPlace(y)
		}
	})
	b.Run("grad/loop", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j, v := range x {
				if v > 0 {
					out[j] = g[j]
				} else {
					out[j] = 0
				}
			}
		}
	})
	b.Run("grad/kernel", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ReLUGrad(out, x, g)
		}
	})
}
