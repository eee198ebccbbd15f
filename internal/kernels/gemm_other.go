//go:build !amd64

package kernels

var useAVX2 = false

// RowKernel adds Σ_{p<k} a[p·lda]·b[p·ldb : p·ldb+n] to c[0:n].
func RowKernel(c, a []float32, lda int, b []float32, n, k, ldb int) {
	rowKernelGo(c, a, lda, b, n, k, ldb)
}

// Dot returns Σ x[i]·y[i] over len(x).
func Dot(x, y []float32) float32 { return dotGo(x, y) }

// TanhInPlace sets x[i] = Tanh32(x[i]).
func TanhInPlace(x []float32) {
	for i, v := range x {
		x[i] = Tanh32(v)
	}
}

func adamAVX2(p, m, v, gr *float32, n int, c *[8]float32) { panic("kernels: no AVX2") }

func sumSquaresAVX2(x *float32, n int) float64 { panic("kernels: no AVX2") }

func tanhGradAVX2(out, y, gr *float32, n int) { panic("kernels: no AVX2") }

func transpose8x8AVX2(src *float32, lds int, dst *float32, ldd int) { panic("kernels: no AVX2") }

func gemm4x16AVX2(c *float32, ldc int, a *float32, ars, aps int, b *float32, ldb, k int) {
	panic("kernels: no AVX2")
}

func gemm6x16AVX2(c *float32, ldc int, a *float32, ars, aps int, b *float32, ldb, k int) {
	panic("kernels: no AVX2")
}

func packB16AVX2(dst, b *float32, ldb, kc, nc int) { panic("kernels: no AVX2") }

func packA6AVX2(dst, a *float32, aps, kc int) { panic("kernels: no AVX2") }

func packA4AVX2(dst, a *float32, aps, kc int) { panic("kernels: no AVX2") }
