package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGemm is the reference: c[i,j] = Σ_p A(i,p)·B(p,j) in float64, where
// A and B read a and b transposed or not.
func naiveGemm(m, n, k int, at func(i, p int) float32, bt func(p, j int) float32) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for p := 0; p < k; p++ {
				c[i*n+j] += float64(at(i, p)) * float64(bt(p, j))
			}
		}
	}
	return c
}

// TestGemm checks the three products against the naive reference on the
// shapes the learner uses (and odd ones that exercise every kernel tail),
// with the AVX2 kernels and with the pure-Go fallback.
func TestGemm(t *testing.T) {
	shapes := [][3]int{{128, 64, 4}, {128, 64, 64}, {64, 64, 128}, {128, 2, 64}, {128, 1, 64}, {3, 73, 5}, {7, 9, 1}, {1, 130, 17}, {5, 7, 33},
		{7, 32, 9}, {130, 48, 6}, {6, 16, 7}, {4, 16, 1}}
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	for _, avx := range []bool{false, saved} {
		useAVX2 = avx
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			rng := rand.New(rand.NewPCG(7, uint64(m*n*k)))
			randn := func(size int) []float32 {
				x := make([]float32, size)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				return x
			}
			big := make([]float32, 4*(m+n+k)*(m+n+k))
			cmp := func(name string, got []float32, want []float64) {
				t.Helper()
				for i := range want {
					if d := math.Abs(float64(got[i]) - want[i]); d > 1e-4*(1+math.Abs(want[i])) {
						t.Errorf("avx2=%v %s %v: c[%d] = %v; want %v", avx, name, s, i, got[i], want[i])
						return
					}
				}
			}
			a, b, bias := randn(m*k), randn(k*n), randn(n)
			c := make([]float32, m*n)
			GemmNN(m, n, k, a, b, bias, c, big)
			want := naiveGemm(m, n, k, func(i, p int) float32 { return a[i*k+p] }, func(p, j int) float32 { return b[p*n+j] })
			for i := range want {
				want[i] += float64(bias[i%n])
			}
			cmp("NN+bias", c, want)

			bt := randn(n * k) // [n,k]: c[m,n] = a·btᵀ
			GemmNT(m, k, n, a, bt, c, big, big[len(big)/2:])
			cmp("NT", c, naiveGemm(m, n, k, func(i, p int) float32 { return a[i*k+p] }, func(p, j int) float32 { return bt[j*k+p] }))

			at := randn(k * m) // [k,m]: c[m,n] = atᵀ·b
			GemmTN(k, m, n, at, b, c, big)
			cmp("TN", c, naiveGemm(m, n, k, func(i, p int) float32 { return at[p*m+i] }, func(p, j int) float32 { return b[p*n+j] }))
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	for _, s := range [][3]int{{128, 64, 64}, {128, 2, 64}} {
		m, n, k := s[0], s[1], s[2]
		a, w, c, s1, s2 := make([]float32, m*k), make([]float32, k*n), make([]float32, m*max(n, k)), make([]float32, m*k), make([]float32, m*max(n, k))
		b.Run(fmt.Sprintf("NN_%d_%d_%d", m, n, k), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				GemmNN(m, n, k, a, w, nil, c, s1)
			}
		})
		b.Run(fmt.Sprintf("NT_%d_%d_%d", m, k, n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				GemmNT(m, n, k, c, w, a, s1, s2)
			}
		})
		b.Run(fmt.Sprintf("TN_%d_%d_%d", k, n, m), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				GemmTN(m, k, n, a, c, w, s1)
			}
		})
	}
}

// TestTanhInPlace checks the vector tanh against Tanh32 (itself
// checked against math.Tanh), with and without AVX2, across the clamp.
func TestTanhInPlace(t *testing.T) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	for _, avx := range []bool{false, saved} {
		useAVX2 = avx
		x := make([]float32, 20003) // not a multiple of 8: exercises the tail
		for i := range x {
			x[i] = float32(i-10001) * 1e-3 // [-10, 10]
		}
		y := append([]float32(nil), x...)
		TanhInPlace(y)
		for i := range x {
			want := math.Tanh(float64(x[i]))
			if d := math.Abs(float64(y[i]) - want); d > 1e-6 {
				t.Errorf("avx2=%v TanhInPlace(%v) = %v; want %v", avx, x[i], y[i], want)
				break
			}
		}
	}
}
