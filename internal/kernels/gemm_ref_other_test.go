//go:build !amd64

package kernels

// refRowKernel is RowKernel (gemm_other.go) as it was before the cache
// blocking: the reference for TestGemmBitIdentical.
func refRowKernel(c, a []float32, lda int, b []float32, n, k, ldb int) {
	refRowKernelGo(c, a, lda, b, n, k, ldb)
}
