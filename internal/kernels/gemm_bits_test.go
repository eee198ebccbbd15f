package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// bitShapes are output rows × output columns × reduction length, run
// through all three products (GemmNN: c[m,n] = a[m,k]·b[k,n]; GemmNT with
// b [n,k]; GemmTN with a [k,m]): the shapes the shipped networks use and
// odd ones that cross every block edge of the kernels.
var bitShapes = []struct {
	name    string
	m, n, k int
}{
	// Classic control: 4 observations, 64 or 256 hidden, 2 actions, batch 64.
	{"classic_in", 64, 64, 4}, {"classic_out", 64, 4, 64}, {"classic_hidden", 128, 64, 64},
	{"classic_256", 64, 256, 256}, {"classic_256in", 64, 256, 4}, {"classic_head", 64, 2, 256},
	{"classic_worker", 1, 64, 4}, {"classic_worker256", 2, 256, 256}, {"classic_value", 128, 1, 64},
	// MinAtar: conv 16×3×3 on 10×10×4 (im2col rows 64 per image, patch 36),
	// dense 1024→128, heads 128→6 and 128→1.
	{"minatar_conv_b1", 64, 16, 36}, {"minatar_conv_b64", 64 * 64, 16, 36},
	{"minatar_dense_b1", 1, 128, 1024}, {"minatar_dense_b64", 64, 128, 1024},
	{"minatar_dense_b1024", 1024, 128, 1024}, {"minatar_heads", 64, 6, 128},
	{"minatar_patch_grad", 64 * 64, 36, 16}, {"minatar_dense_dx", 64, 1024, 128},
	// nature_cnn on 84×84×4, batch 2 (conv1 32×8×8/4: 400 positions, patch
	// 256; conv2 64×4×4/2: 81, 512; conv3 64×3×3/1: 49, 576; dense
	// 3136→512) and the dense layer at batch 32.
	{"nature_conv1", 800, 32, 256}, {"nature_conv2", 162, 64, 512}, {"nature_conv3", 98, 64, 576},
	{"nature_conv2_dx", 162, 512, 64}, {"nature_conv3_dx", 98, 576, 64},
	{"nature_dense_b1", 1, 512, 3136}, {"nature_dense_b32", 32, 512, 3136}, {"nature_dense_dx", 32, 3136, 512},
	// Odd edges: rows not a multiple of 6 or 4, columns with a 8-wide or
	// narrower tail, reductions across and not a multiple of any block.
	{"odd1", 7, 24, 300}, {"odd2", 13, 40, 513}, {"odd3", 5, 17, 1000}, {"odd4", 23, 600, 37},
	{"odd5", 1, 8, 1}, {"odd6", 9, 33, 257}, {"odd7", 11, 130, 65}, {"odd8", 31, 48, 1031},
	{"odd9", 6, 16, 2049}, {"odd10", 4, 16, 7}, {"odd11", 3, 7, 5}, {"odd12", 130, 520, 129},
	{"odd13", 13, 32, 21}, {"odd14", 25, 1040, 300}, {"odd15", 14, 544, 130},
	{"one_panel", 130, 256, 256}, {"one_panel_wide", 12, 1024, 64},
	{"empty_k", 6, 32, 0}, {"empty_m", 0, 32, 9}, {"empty_n", 5, 0, 9},
}

// TestGemmBitIdentical checks the blocked products against the reference
// copies of the unblocked ones (gemm_ref_test.go) bit for bit, with the
// AVX2 kernels and with the pure-Go path, with and without bias, on
// scratch and outputs filled with garbage.
func TestGemmBitIdentical(t *testing.T) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	for _, avx := range []bool{false, saved} {
		useAVX2 = avx
		for _, s := range bitShapes {
			t.Run(fmt.Sprintf("avx2=%v/%s_%dx%dx%d", avx, s.name, s.m, s.n, s.k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(s.m*7919+s.n), uint64(s.k)))
				fill := func(size int) []float32 {
					x := make([]float32, size)
					for i := range x {
						if rng.IntN(8) == 0 { // exact zeros, as im2col's padding and ReLU give
							continue
						}
						x[i] = float32(rng.NormFloat64())
					}
					return x
				}
				garbage := func(size int) []float32 {
					x := make([]float32, size)
					for i := range x {
						x[i] = float32(math.NaN())
					}
					return x
				}
				m, n, k := s.m, s.n, s.k
				same := func(op string, got, want []float32) {
					t.Helper()
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: c[%d] = %v (%#x); reference %v (%#x)", op, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
						}
					}
				}
				a, b, bias := fill(m*k), fill(k*n), fill(n)
				for _, withBias := range []bool{false, true} {
					bs := bias
					if !withBias {
						bs = nil
					}
					got, want := garbage(m*n), garbage(m*n)
					gemmNNGo(m, n, k, a, b, bs, got, garbage(n*k))
					refGemmNNGo(m, n, k, a, b, bs, want, garbage(n*k))
					same(fmt.Sprintf("NN bias=%v", withBias), got, want)
				}
				bt := fill(n * k) // [n,k]: c[m,n] = a·btᵀ
				got, want := garbage(m*n), garbage(m*n)
				gemmNTGo(m, k, n, a, bt, got, garbage(n*k), garbage(n*k))
				refGemmNTGo(m, k, n, a, bt, want, garbage(n*k), garbage(n*k))
				same("NT", got, want)

				if k == 0 {
					return // the reference TN indexes a[p:] of an empty a
				}
				at := fill(k * m) // [k,m]: c[m,n] = atᵀ·b
				got, want = garbage(m*n), garbage(m*n)
				gemmTNGo(k, m, n, at, b, got, garbage(n*m))
				refGemmTNGo(k, m, n, at, b, want, garbage(n*m))
				same("TN", got, want)
			})
		}
	}
}
