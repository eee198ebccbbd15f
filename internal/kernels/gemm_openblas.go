//go:build openblas && cgo

package kernels

import "github.com/rlgo/rlgo/internal/kernels/openblas"

// The openblas build (go build -tags openblas, cgo, Debian's
// libopenblas-dev): GemmNN, GemmNT and GemmTN send the large products
// (useBLAS) to OpenBLAS's cblas_sgemm, and the smaller ones, where the cgo
// call and OpenBLAS's packing cost more than they save, to the package's
// own kernels (gemm.go). See docs/openblas.md.

// GemmBackend names the implementation of GemmNN, GemmNT and GemmTN:
// "openblas" here, "go" in the default build.
const GemmBackend = "openblas"

// A product goes to OpenBLAS when each of m, n and k (of c[m,n] = Σ_k …)
// is at least blasMinDim and m·n·k at least blasMinVolume: measured on
// the 2-core AMD EPYC (Zen 3, AVX2) this was written on
// (BenchmarkGemmBackends, docs/openblas.md), the own AVX2 kernels are as
// fast or faster below that (OpenBLAS's packing and the cgo call cost more
// than they save), and OpenBLAS is 10–57% faster above it: 64×256×256,
// the zoo network's hidden layer on a minibatch of 64, and larger.
const blasMinDim, blasMinVolume = 32, 1 << 21

// blasForce overrides the dispatch in tests and benchmarks: 0 follows
// the thresholds, 1 sends every product to OpenBLAS, −1 none.
var blasForce = 0

// useBLAS reports whether the product c[m,n] = Σ_k … goes to OpenBLAS
// (never with a zero dimension: cblas rejects a leading dimension of 0).
func useBLAS(m, n, k int) bool {
	if m <= 0 || n <= 0 || k <= 0 || blasForce < 0 {
		return false
	}
	return blasForce > 0 || min(m, n, k) >= blasMinDim && m*n*k >= blasMinVolume
}

// GemmNN sets c[m,n] = a[m,k]·b[k,n] (+ bias broadcast over rows, when
// bias is not nil). bT is scratch of at least n·k values, used by the own
// kernels when n is too narrow for rowKernel.
func GemmNN(m, n, k int, a, b, bias, c, bT []float32) {
	if !useBLAS(m, n, k) {
		gemmNNGo(m, n, k, a, b, bias, c, bT)
		return
	}
	c = c[:m*n]
	beta := float32(0)
	if bias != nil {
		for i := 0; i < m; i++ {
			copy(c[i*n:(i+1)*n], bias[:n])
		}
		beta = 1
	}
	openblas.Sgemm(false, false, m, n, k, a, k, b, n, beta, c, n)
}

// GemmNT sets c[m,k] = a[m,n]·bᵀ for b [k,n]. bT and scratch (n·k each)
// are used by the own kernels only.
func GemmNT(m, n, k int, a, b, c, bT, scratch []float32) {
	if !useBLAS(m, k, n) {
		gemmNTGo(m, n, k, a, b, c, bT, scratch)
		return
	}
	openblas.Sgemm(false, true, m, k, n, a, n, b, n, 0, c, k)
}

// GemmTN sets c[k,n] = aᵀ·b for a [m,k] and b [m,n]. cT (n·k) is used by
// the own kernels only.
func GemmTN(m, k, n int, a, b, c, cT []float32) {
	if !useBLAS(k, n, m) {
		gemmTNGo(m, k, n, a, b, c, cT)
		return
	}
	openblas.Sgemm(true, false, k, n, m, a, k, b, n, 0, c, n)
}
