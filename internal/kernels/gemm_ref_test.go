package kernels

// The reference products: gemmNNGo, gemmNTGo, gemmTNGo, Transpose and
// rowKernelGo exactly as they were before the cache blocking (main at
// 763746d), kept here so that TestGemmBitIdentical can check that the
// blocked kernels give every output element the same bits. Seeded runs are
// compared byte for byte, so the blocking may reorder loops over rows,
// columns and whole k panels, but never an element's own sequence of
// float32 operations. Do not "fix" these copies: they are the contract.

func refGemmNNGo(m, n, k int, a, b, bias, c, bT []float32) {
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
			refRowKernel(c[i*n:(i+1)*n], a[i*k:(i+1)*k], 1, b, n, k, n)
		}
		return
	}
	bT = bT[:n*k]
	refTranspose(b, k, n, bT)
	for i := 0; i < m; i++ {
		ai := a[i*k : (i+1)*k]
		for j := 0; j < n; j++ {
			c[i*n+j] += Dot(ai, bT[j*k:(j+1)*k])
		}
	}
}

func refGemmNTGo(m, n, k int, a, b, c, bT, scratch []float32) {
	bT = bT[:n*k]
	refTranspose(b, k, n, bT)
	refGemmNNGo(m, k, n, a, bT, nil, c, scratch)
}

func refGemmTNGo(m, k, n int, a, b, c, cT []float32) {
	c = c[:k*n]
	clear(c)
	if n >= 8 {
		a, b = a[:m*k], b[:m*n]
		p := 0
		if useAVX2 && n%16 == 0 && m > 0 {
			for ; p+6 <= k; p += 6 {
				for j := 0; j < n; j += 16 {
					gemm6x16AVX2(&c[p*n+j], n, &a[p], 1, k, &b[j], n, m)
				}
			}
			for ; p+4 <= k; p += 4 {
				for j := 0; j < n; j += 16 {
					gemm4x16AVX2(&c[p*n+j], n, &a[p], 1, k, &b[j], n, m)
				}
			}
		}
		for ; p < k; p++ {
			refRowKernel(c[p*n:(p+1)*n], a[p:], k, b, n, m, n)
		}
		return
	}
	cT = cT[:n*k]
	clear(cT)
	for j := 0; j < n; j++ {
		refRowKernel(cT[j*k:(j+1)*k], b[j:], n, a, k, m, k)
	}
	refTranspose(cT, n, k, c)
}

func refTranspose(a []float32, r, c int, t []float32) {
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

func refRowKernelGo(c, a []float32, lda int, b []float32, n, k, ldb int) {
	c = c[:n]
	for p := 0; p < k; p++ {
		ap := a[p*lda]
		br := b[p*ldb : p*ldb+n]
		for j, bv := range br {
			c[j] += ap * bv
		}
	}
}
