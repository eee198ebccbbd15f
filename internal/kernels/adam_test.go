package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdam checks the vector Adam update against a float64 evaluation of
// the same formula, with and without AVX2, on a length with a tail.
func TestAdam(t *testing.T) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	const n = 1003
	rng := rand.New(rand.NewPCG(3, 4))
	c := AdamParams{GradScale: 0.7, Beta1: 0.9, Beta2: 0.999, Eps: 1e-5, StepSize: 1e-3 / (1 - 0.9*0.9), BiasCorrection2: math.Sqrt(1 - 0.999*0.999)}
	for _, avx := range []bool{false, saved} {
		useAVX2 = avx
		p, m, v, g := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range p {
			p[i] = float32(rng.NormFloat64())
			m[i] = float32(rng.NormFloat64() * 0.1)
			v[i] = float32(rng.Float64() * 0.01)
			g[i] = float32(rng.NormFloat64())
		}
		p0, m0, v0, g0 := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...), append([]float32(nil), g...)
		Adam(p, m, v, g, c)
		for i := range p {
			gi := float64(g0[i]) * c.GradScale
			mi := c.Beta1*float64(m0[i]) + (1-c.Beta1)*gi
			vi := c.Beta2*float64(v0[i]) + (1-c.Beta2)*gi*gi
			pi := float64(p0[i]) - c.StepSize*mi/(math.Sqrt(vi)/c.BiasCorrection2+c.Eps)
			for _, x := range []struct {
				name      string
				got, want float64
			}{{"g", float64(g[i]), gi}, {"m", float64(m[i]), mi}, {"v", float64(v[i]), vi}, {"p", float64(p[i]), pi}} {
				if d := math.Abs(x.got - x.want); d > 1e-6*(1+math.Abs(x.want)) {
					t.Fatalf("avx2=%v %s[%d] = %v; want %v", avx, x.name, i, x.got, x.want)
				}
			}
		}
	}
}

func TestSumSquares(t *testing.T) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	for _, avx := range []bool{false, saved} {
		useAVX2 = avx
		for _, n := range []int{0, 1, 7, 8, 9, 1003} {
			x := make([]float32, n)
			var want float64
			for i := range x {
				x[i] = float32(i%13) - 6.5
				want += float64(x[i]) * float64(x[i])
			}
			if got := SumSquares(x); math.Abs(got-want) > 1e-12*want {
				t.Errorf("avx2=%v SumSquares(n=%d) = %v; want %v", avx, n, got, want)
			}
		}
	}
}

func TestTanhGradAndColSum(t *testing.T) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, avx := range []bool{false, saved} {
		useAVX2 = avx
		for _, s := range [][2]int{{1, 1}, {3, 7}, {128, 64}, {300, 9}, {257, 64}} {
			m, n := s[0], s[1]
			y, g, out := make([]float32, m*n), make([]float32, m*n), make([]float32, m*n)
			for i := range y {
				y[i], g[i] = float32(rng.Float64()*2-1), float32(rng.NormFloat64())
			}
			TanhGrad(out, y, g)
			for i := range out {
				want := float64(g[i]) * (1 - float64(y[i])*float64(y[i]))
				if d := math.Abs(float64(out[i]) - want); d > 1e-6*(1+math.Abs(want)) {
					t.Fatalf("avx2=%v TanhGrad[%d] = %v; want %v", avx, i, out[i], want)
				}
			}
			cs := make([]float32, n)
			ColSum(m, n, g, cs)
			for j := 0; j < n; j++ {
				var want float64
				for i := 0; i < m; i++ {
					want += float64(g[i*n+j])
				}
				if d := math.Abs(float64(cs[j]) - want); d > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("avx2=%v ColSum %v [%d] = %v; want %v", avx, s, j, cs[j], want)
				}
			}
		}
	}
}

func TestTranspose(t *testing.T) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	for _, avx := range []bool{false, saved} {
		useAVX2 = avx
		for _, s := range [][2]int{{1, 1}, {8, 8}, {64, 64}, {64, 2}, {2, 64}, {13, 21}, {16, 9}, {9, 16}} {
			r, c := s[0], s[1]
			a, tr := make([]float32, r*c), make([]float32, r*c)
			for i := range a {
				a[i] = float32(i)
			}
			Transpose(a, r, c, tr)
			for i := 0; i < r; i++ {
				for j := 0; j < c; j++ {
					if tr[j*r+i] != a[i*c+j] {
						t.Fatalf("avx2=%v %v: t[%d,%d] = %v; want %v", avx, s, j, i, tr[j*r+i], a[i*c+j])
					}
				}
			}
		}
	}
}
