package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBlockKernelsMatchRowKernel checks that the 6×16 and 4×16 block
// kernels (gemmNNGo, gemmTNGo) give every element of c bit for bit what
// RowKernel gives it alone: which kernel covers a row must not change a
// seeded run's numbers.
func TestBlockKernelsMatchRowKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 16))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, s := range []struct{ m, n, k int }{{6, 16, 5}, {7, 32, 9}, {12, 48, 64}, {64, 256, 256}, {10, 16, 1}, {17, 64, 33}} {
		a, b, bias := fill(s.m*s.k), fill(s.k*s.n), fill(s.n)
		c := make([]float32, s.m*s.n)
		gemmNNGo(s.m, s.n, s.k, a, b, bias, c, make([]float32, s.n*s.k))
		for i := 0; i < s.m; i++ {
			row := append([]float32(nil), bias...)
			RowKernel(row, a[i*s.k:(i+1)*s.k], 1, b, s.n, s.k, s.n)
			for j, v := range row {
				if math.Float32bits(v) != math.Float32bits(c[i*s.n+j]) {
					t.Fatalf("NN %v: c[%d,%d] = %v, row kernel %v", s, i, j, c[i*s.n+j], v)
				}
			}
		}
		// c[k,n] = aᵀ·b for a [m,k], b [m,n]: row p of c from a's column p.
		bb := fill(s.m * s.n)
		ct := make([]float32, s.k*s.n)
		gemmTNGo(s.m, s.k, s.n, a, bb, ct, make([]float32, s.n*s.k))
		for p := 0; p < s.k; p++ {
			row := make([]float32, s.n)
			RowKernel(row, a[p:], s.k, bb, s.n, s.m, s.n)
			for j, v := range row {
				if math.Float32bits(v) != math.Float32bits(ct[p*s.n+j]) {
					t.Fatalf("TN %v: c[%d,%d] = %v, row kernel %v", s, p, j, ct[p*s.n+j], v)
				}
			}
		}
	}
}
