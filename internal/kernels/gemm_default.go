//go:build !openblas || !cgo

package kernels

// The default build: every product runs on the package's own kernels
// (gemm.go). With -tags openblas (and cgo) gemm_openblas.go replaces this
// file and sends the larger products to OpenBLAS's cblas_sgemm instead.

// GemmBackend names the implementation of GemmNN, GemmNT and GemmTN:
// "go" here (AVX2 assembly where the CPU has it), "openblas" in the
// openblas build.
const GemmBackend = "go"

// GemmNN sets c[m,n] = a[m,k]·b[k,n] (+ bias broadcast over rows, when
// bias is not nil). bT is scratch of at least n·k values, used when n is
// too narrow for rowKernel.
func GemmNN(m, n, k int, a, b, bias, c, bT []float32) { gemmNNGo(m, n, k, a, b, bias, c, bT) }

// GemmNT sets c[m,k] = a[m,n]·bᵀ for b [k,n], by transposing b into
// scratch bT (n·k) and running GemmNN.
func GemmNT(m, n, k int, a, b, c, bT, scratch []float32) { gemmNTGo(m, n, k, a, b, c, bT, scratch) }

// GemmTN sets c[k,n] = aᵀ·b for a [m,k] and b [m,n], reading a's columns
// with a stride instead of transposing it. cT (n·k) is scratch for narrow b.
func GemmTN(m, k, n int, a, b, c, cT []float32) { gemmTNGo(m, k, n, a, b, c, cT) }
