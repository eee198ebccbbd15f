// Package kernels holds the small float32 kernels the learner's graph ops
// and the workers' pure-Go forward pass share: dense products for narrow
// matrices, tanh, and Adam's update. On amd64 with AVX2+FMA (checked with
// CPUID/XGETBV at start-up) they are assembly; elsewhere plain Go. It
// imports nothing of rlgo, so policy and learner can both use it.
package kernels

// Small dense matrix products for the learner's fused layer ops. The
// networks here are narrow (64 units) and the minibatches small (128), the
// regime where a general BLAS's per-call overhead and gonum's goroutine
// fan-out dominate. Every product is reduced to one of two kernels whose
// inner loop runs along a contiguous dimension: rowKernel (one output row
// accumulated over k, held in registers) and dot. On amd64 with AVX2+FMA
// they are assembly; elsewhere plain Go. All matrices are row-major.

// gemmNNGo is GemmNN on the package's own kernels (AVX2 assembly or Go):
// c[m,n] = a[m,k]·b[k,n] (+ bias broadcast over rows, when bias is not
// nil). bT is scratch of at least n·k values, used when n is too narrow
// for rowKernel.
func gemmNNGo(m, n, k int, a, b, bias, c, bT []float32) {
	c = c[:m*n]
	if bias != nil {
		for i := 0; i < m; i++ {
			copy(c[i*n:(i+1)*n], bias[:n])
		}
	} else {
		clear(c)
	}
	if n >= 8 {
		a, b = a[:m*k], b[:k*n]
		i := 0
		if useAVX2 && n%16 == 0 && k > 0 {
			for ; i+6 <= m; i += 6 { // 6×16 blocks of c
				for j := 0; j < n; j += 16 {
					gemm6x16AVX2(&c[i*n+j], n, &a[i*k], k, 1, &b[j], n, k)
				}
			}
			for ; i+4 <= m; i += 4 { // 4×16 blocks of c
				for j := 0; j < n; j += 16 {
					gemm4x16AVX2(&c[i*n+j], n, &a[i*k], k, 1, &b[j], n, k)
				}
			}
		}
		for ; i < m; i++ {
			RowKernel(c[i*n:(i+1)*n], a[i*k:(i+1)*k], 1, b, n, k, n)
		}
		return
	}
	// Narrow output (a value or logits head): one dot product per output
	// against b's columns, made contiguous by transposing b.
	bT = bT[:n*k]
	Transpose(b, k, n, bT)
	for i := 0; i < m; i++ {
		ai := a[i*k : (i+1)*k]
		for j := 0; j < n; j++ {
			c[i*n+j] += Dot(ai, bT[j*k:(j+1)*k])
		}
	}
}

// gemmNTGo is GemmNT on the package's own kernels: c[m,k] = a[m,n]·bᵀ for
// b [k,n], by transposing b into scratch bT (n·k) and running gemmNNGo.
func gemmNTGo(m, n, k int, a, b, c, bT, scratch []float32) {
	bT = bT[:n*k]
	Transpose(b, k, n, bT)
	gemmNNGo(m, k, n, a, bT, nil, c, scratch)
}

// gemmTNGo is GemmTN on the package's own kernels: c[k,n] = aᵀ·b for
// a [m,k] and b [m,n], reading a's columns with a stride instead of
// transposing it. cT (n·k) is scratch for narrow b.
func gemmTNGo(m, k, n int, a, b, c, cT []float32) {
	c = c[:k*n]
	clear(c)
	if n >= 8 {
		a, b = a[:m*k], b[:m*n]
		p := 0
		if useAVX2 && n%16 == 0 && m > 0 {
			for ; p+6 <= k; p += 6 { // 6×16 blocks of c: rows p…p+5 read a's columns
				for j := 0; j < n; j += 16 {
					gemm6x16AVX2(&c[p*n+j], n, &a[p], 1, k, &b[j], n, m)
				}
			}
			for ; p+4 <= k; p += 4 { // 4×16 blocks of c: rows p…p+3 read a's columns
				for j := 0; j < n; j += 16 {
					gemm4x16AVX2(&c[p*n+j], n, &a[p], 1, k, &b[j], n, m)
				}
			}
		}
		for ; p < k; p++ { // row p of c is Σ_i a[i,p]·b[i,:]
			RowKernel(c[p*n:(p+1)*n], a[p:], k, b, n, m, n)
		}
		return
	}
	// Narrow b: row j of cᵀ is Σ_i b[i,j]·a[i,:], then transpose.
	cT = cT[:n*k]
	clear(cT)
	for j := 0; j < n; j++ {
		RowKernel(cT[j*k:(j+1)*k], b[j:], n, a, k, m, k)
	}
	Transpose(cT, n, k, c)
}

// Transpose writes the transpose of a [r,c] into t [c,r]: 8×8 blocks in
// registers with AVX2, the edges (and everything without it) element by
// element.
func Transpose(a []float32, r, c int, t []float32) {
	a, t = a[:r*c], t[:r*c]
	r8, c8 := 0, 0
	if useAVX2 {
		r8, c8 = r&^7, c&^7
		for i := 0; i < r8; i += 8 {
			for j := 0; j < c8; j += 8 {
				transpose8x8AVX2(&a[i*c+j], c, &t[j*r+i], r)
			}
		}
	}
	// The right edge (columns c8… of rows 0…r8) and the bottom rows.
	for i := 0; i < r8; i++ {
		for j := c8; j < c; j++ {
			t[j*r+i] = a[i*c+j]
		}
	}
	for i := r8; i < r; i++ {
		row := a[i*c : (i+1)*c]
		for j, v := range row {
			t[j*r+i] = v
		}
	}
}

func rowKernelGo(c, a []float32, lda int, b []float32, n, k, ldb int) {
	c = c[:n]
	for p := 0; p < k; p++ {
		ap := a[p*lda]
		br := b[p*ldb : p*ldb+n]
		for j, bv := range br {
			c[j] += ap * bv
		}
	}
}

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}
