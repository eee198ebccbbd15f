package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

var convGeoms = []struct {
	name                    string
	batch, h, w, c, k, s, p int
}{
	{"minatar 10x10x4 k3 s1", 2, 10, 10, 4, 3, 1, 0},
	{"same padding", 3, 5, 6, 2, 3, 1, 1},
	{"stride 2 padding 2", 2, 7, 9, 3, 4, 2, 2},
	{"stride 4 (nature conv1 shape, small)", 1, 20, 20, 4, 8, 4, 0},
	{"1x1 kernel", 2, 3, 4, 5, 1, 1, 0},
	{"kernel as wide as the image", 2, 4, 4, 1, 4, 1, 0},
}

// TestIm2Col checks every value of Im2Col's rows against the definition,
// read straight from the input (zero in the padding).
func TestIm2Col(t *testing.T) {
	for _, c := range convGeoms {
		t.Run(c.name, func(t *testing.T) {
			g := NewConvGeom(c.h, c.w, c.c, c.k, c.s, c.p)
			rng := rand.New(rand.NewPCG(1, 2))
			x := randSlice(rng, c.batch*c.h*c.w*c.c)
			cols := randSlice(rng, c.batch*g.Positions()*g.Patch()) // stale values must be overwritten
			Im2Col(g, c.batch, x, cols)
			for b := 0; b < c.batch; b++ {
				for oh := 0; oh < g.OH; oh++ {
					for ow := 0; ow < g.OW; ow++ {
						row := (b*g.OH+oh)*g.OW + ow
						for kh := 0; kh < c.k; kh++ {
							for kw := 0; kw < c.k; kw++ {
								for ch := 0; ch < c.c; ch++ {
									ih, iw := oh*c.s-c.p+kh, ow*c.s-c.p+kw
									var want float32
									if ih >= 0 && ih < c.h && iw >= 0 && iw < c.w {
										want = x[((b*c.h+ih)*c.w+iw)*c.c+ch]
									}
									if got := cols[row*g.Patch()+(kh*c.k+kw)*c.c+ch]; got != want {
										t.Fatalf("cols[b=%d oh=%d ow=%d kh=%d kw=%d c=%d] = %v; want %v", b, oh, ow, kh, kw, ch, got, want)
									}
								}
							}
						}
					}
				}
			}
		})
	}
}

// TestCol2ImAdjoint checks ⟨Im2Col(x), y⟩ = ⟨x, Col2Im(y)⟩ for random x
// and y: Col2Im is the transpose of the linear map Im2Col, which makes it
// the gradient with respect to the input.
func TestCol2ImAdjoint(t *testing.T) {
	for _, c := range convGeoms {
		t.Run(c.name, func(t *testing.T) {
			g := NewConvGeom(c.h, c.w, c.c, c.k, c.s, c.p)
			rng := rand.New(rand.NewPCG(3, 4))
			x := randSlice(rng, c.batch*c.h*c.w*c.c)
			y := randSlice(rng, c.batch*g.Positions()*g.Patch())
			cols := make([]float32, len(y))
			Im2Col(g, c.batch, x, cols)
			dx := randSlice(rng, len(x)) // stale values must be overwritten
			Col2Im(g, c.batch, y, dx)
			var lhs, rhs float64
			for i := range y {
				lhs += float64(cols[i]) * float64(y[i])
			}
			for i := range x {
				rhs += float64(x[i]) * float64(dx[i])
			}
			if math.Abs(lhs-rhs) > 1e-4*(1+math.Abs(lhs)) {
				t.Errorf("⟨Im2Col(x), y⟩ = %v; ⟨x, Col2Im(y)⟩ = %v", lhs, rhs)
			}
		})
	}
}

func TestNewConvGeom(t *testing.T) {
	for _, c := range []struct {
		h, k, s, p, want int
	}{
		{84, 8, 4, 0, 20}, {20, 4, 2, 0, 9}, {9, 3, 1, 0, 7}, // Mnih et al. 2015: 84 → 20 → 9 → 7
		{10, 3, 1, 0, 8}, // MinAtar's conv
		{10, 3, 1, 1, 10},
		{2, 3, 1, 0, 0}, // does not fit
	} {
		if g := NewConvGeom(c.h, c.h, 1, c.k, c.s, c.p); g.OH != c.want || g.OW != c.want {
			t.Errorf("NewConvGeom(%d, k=%d, s=%d, p=%d) gives %d×%d; want %d×%d", c.h, c.k, c.s, c.p, g.OH, g.OW, c.want, c.want)
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}
