package kernels

// refRowKernel is RowKernel (gemm_amd64.go) as it was before the cache
// blocking: the reference for TestGemmBitIdentical.
func refRowKernel(c, a []float32, lda int, b []float32, n, k, ldb int) {
	if !useAVX2 || k == 0 {
		refRowKernelGo(c, a, lda, b, n, k, ldb)
		return
	}
	_ = a[(k-1)*lda]
	_ = b[(k-1)*ldb+n-1]
	_ = c[n-1]
	j := 0
	for ; j+64 <= n; j += 64 {
		rowKernel64AVX2(&c[j], &a[0], &b[j], k, ldb, lda)
	}
	for ; j+8 <= n; j += 8 {
		rowKernel8AVX2(&c[j], &a[0], &b[j], k, ldb, lda)
	}
	if j < n {
		refRowKernelGo(c[j:], a, lda, b[j:], n-j, k, ldb)
	}
}
