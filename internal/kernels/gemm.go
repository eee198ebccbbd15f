// Package kernels holds the small float32 kernels the learner's graph ops
// and the workers' pure-Go forward pass share: dense products for narrow
// matrices, tanh, and Adam's update. On amd64 with AVX2+FMA (checked with
// CPUID/XGETBV at start-up) they are assembly; elsewhere plain Go. It
// imports nothing of rlgo, so policy and learner can both use it.
package kernels

import "sync"

// Small dense matrix products for the learner's fused layer ops. The
// networks here are narrow (64 units) and the minibatches small (128), the
// regime where a general BLAS's per-call overhead and gonum's goroutine
// fan-out dominate. Every product is reduced to one of two kernels whose
// inner loop runs along a contiguous dimension: rowKernel (one output row
// accumulated over k, held in registers) and dot. On amd64 with AVX2+FMA
// they are assembly; elsewhere plain Go. All matrices are row-major.

// gemmNNGo is GemmNN on the package's own kernels (AVX2 assembly or Go):
// c[m,n] = a[m,k]·b[k,n] (+ bias broadcast over rows, when bias is not
// nil). bT is scratch of at least n·k values: the transpose of b when n is
// too narrow for rowKernel, the packed panels of b otherwise.
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
		gemmBlocked(m, n, k, a[:m*k], k, 1, b[:k*n], n, c, bT)
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
// b [k,n], by transposing b into scratch bT (n·k) and running gemmNNGo;
// with AVX2, k a multiple of 16 and enough rows, the blocked product packs
// its panels of bᵀ straight from b instead (8×8 transposes into the
// strips), into bT.
func gemmNTGo(m, n, k int, a, b, c, bT, scratch []float32) {
	if useAVX2 && k >= 16 && k%16 == 0 && m >= packMinRows && n > 0 {
		c = c[:m*k]
		clear(c)
		gemmAVX2(m, k, k, n, a[:m*n], n, 1, b[:k*n], n, true, c, bT)
		return
	}
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
		// Row p of c is Σ_i a[i,p]·b[i,:]: the NN product of aᵀ, read
		// with a row step of 1 and a reduction step of k.
		gemmBlocked(k, n, m, a[:m*k], 1, k, b[:m*n], n, c, nil)
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

// Cache blocking. The products are swept in panels of kcBlock reduction
// steps × ncBlock columns of c (a panel of b is at most 256 KB, half the
// L2 of the Zen 3 core this was tuned on, and one 16-column strip of it
// 8 KB, in L1), with the rows of c innermost. Every element of c still accumulates its k products in
// increasing order, each with the same FMA (or, in the Go tails, the same
// multiply then add) as without the blocking, into c itself: the panels
// only reorder whole steps of different elements, so the results are the
// same bits (TestGemmBitIdentical checks them against the unblocked
// kernels kept in gemm_ref_test.go).
const (
	kcBlock = 128 // reduction steps per panel
	ncBlock = 512 // columns of c per panel, a multiple of 16
)

// packMinRows is the least number of rows of c for which gemmBlocked
// copies each panel of b into contiguous 16-column strips: with fewer rows
// the copy costs more than the strided reads it saves.
const packMinRows = 12

// packMinStride is the least reduction step of A (in values) for which
// gemmBlocked copies each 6 or 4 of its rows into a contiguous panel
// (GemmTN's aᵀ with a row of a at least 512 bytes long): above it the
// strided reads of a column of a land on too few cache sets.
const packMinStride = 128

// gemmBlocked adds to c[m,n] (row stride n) the product of A and b[k,n]
// (row stride ldb), where A(i,p) = a[i·ars + p·aps]: ars = k, aps = 1 for
// a row-major a[m,k] (GemmNN), ars = 1, aps = m for the transpose of a
// row-major a[k,m] (GemmTN). pack is scratch for the packed panels; when
// it is shorter than they need, one is taken from packPool.
func gemmBlocked(m, n, k int, a []float32, ars, aps int, b []float32, ldb int, c []float32, pack []float32) {
	if m == 0 || k == 0 {
		return
	}
	if !useAVX2 {
		// rowKernelGo on each row of c, in panels of b.
		for jc := 0; jc < n; jc += ncBlock {
			nc := min(ncBlock, n-jc)
			for kb := 0; kb < k; kb += kcBlock {
				kc := min(kcBlock, k-kb)
				for i := 0; i < m; i++ {
					rowKernelGo(c[i*n+jc:i*n+jc+nc], a[i*ars+kb*aps:], aps, b[kb*ldb+jc:], nc, kc, ldb)
				}
			}
		}
		return
	}
	if n16 := n &^ 15; n16 > 0 {
		gemmAVX2(m, n, n16, k, a, ars, aps, b, ldb, false, c, pack)
	}
	if n16 := n &^ 15; n16 < n { // the last n%16 columns: an 8-wide FMA strip and a Go tail
		for kb := 0; kb < k; kb += kcBlock {
			kc := min(kcBlock, k-kb)
			for i := 0; i < m; i++ {
				RowKernel(c[i*n+n16:(i+1)*n], a[i*ars+kb*aps:], aps, b[kb*ldb+n16:], n-n16, kc, ldb)
			}
		}
	}
}

// rowBlocks splits m rows into n6 blocks of 6 and n4 blocks of 4, with
// at most two rows left (only for odd m, or m = 2).
func rowBlocks(m int) (n6, n4 int) {
	e := m &^ 1
	switch e % 6 {
	case 2:
		n4 = 2
	case 4:
		n4 = 1
	}
	if 4*n4 > e {
		return 0, 0
	}
	return (e - 4*n4) / 6, n4
}

// gemmAVX2 is gemmBlocked's AVX2 product on columns [0, n16) of c, n16 a
// multiple of 16: per panel, 6×16 and 4×16 blocks of c on the block
// kernels and RowKernel for at most two rows left. With enough rows, each
// panel of b is first copied into contiguous 16-column strips; when A's
// reduction step is long, each block's rows of A are copied into a
// contiguous panel. With bt, b holds Bᵀ (B(p, j) = b[j·ldb + p], GemmNT)
// and its panels are always packed.
func gemmAVX2(m, n, n16, k int, a []float32, ars, aps int, b []float32, ldb int, bt bool, c []float32, pack []float32) {
	kcMax, ncMax := min(kcBlock, k), min(ncBlock, n16)
	if k <= 2*kcBlock && k*ncMax <= kcBlock*ncBlock {
		kcMax = k // one panel: a's rows are read whole, sequentially
	}
	packB, packA := bt || m >= packMinRows && ldb != 16, aps >= packMinStride && ars == 1
	var need int
	if packB {
		need = kcMax * ncMax
	}
	if packA {
		need += kcMax * 6
	}
	var pooled *[]float32
	if len(pack) < need {
		pooled = packPool.Get().(*[]float32)
		pack = *pooled
	}
	bpack := pack[:0]
	if packB {
		bpack = pack[:kcMax*ncMax]
	}
	apack := pack[len(bpack):need]
	n6, n4 := rowBlocks(m)
	for jc := 0; jc < n16; jc += ncBlock {
		nc := min(ncBlock, n16-jc)
		for kb := 0; kb < k; kb += kcMax {
			kc := min(kcMax, k-kb)
			var bp []float32
			lbp, sstep := ldb, 16 // strip j/16 of the panel at bp[j/16·sstep], rows lbp apart
			switch {
			case bt:
				packBT16(bpack, b[jc*ldb+kb:], ldb, kc, nc)
				bp, lbp, sstep = bpack, 16, 16*kc
			case packB:
				packB16AVX2(&bpack[0], &b[kb*ldb+jc], ldb, kc, nc)
				bp, lbp, sstep = bpack, 16, 16*kc
			default:
				bp = b[kb*ldb+jc:]
			}
			i := 0
			for r := 0; r < n6; r++ {
				ai, rs, ps := &a[i*ars+kb*aps], ars, aps
				if packA {
					packA6AVX2(&apack[0], ai, aps, kc)
					ai, rs, ps = &apack[0], 1, 6
				}
				for j := 0; j < nc; j += 16 {
					gemm6x16AVX2(&c[i*n+jc+j], n, ai, rs, ps, &bp[j/16*sstep], lbp, kc)
				}
				i += 6
			}
			for r := 0; r < n4; r++ {
				ai, rs, ps := &a[i*ars+kb*aps], ars, aps
				if packA {
					packA4AVX2(&apack[0], ai, aps, kc)
					ai, rs, ps = &apack[0], 1, 4
				}
				for j := 0; j < nc; j += 16 {
					gemm4x16AVX2(&c[i*n+jc+j], n, ai, rs, ps, &bp[j/16*sstep], lbp, kc)
				}
				i += 4
			}
			for ; i < m; i++ { // one or two rows: RowKernel on b itself, 64 columns at a time
				if bt {
					for j := 0; j < nc; j += 16 {
						RowKernel(c[i*n+jc+j:i*n+jc+j+16], a[i*ars+kb*aps:], aps, bp[j/16*sstep:], 16, kc, 16)
					}
					continue
				}
				RowKernel(c[i*n+jc:i*n+jc+nc], a[i*ars+kb*aps:], aps, b[kb*ldb+jc:], nc, kc, ldb)
			}
		}
	}
	if pooled != nil {
		packPool.Put(pooled)
	}
}

// packBT16 is packB16AVX2 of the transpose: it copies B(p, j) =
// bt[j·ldbt + p] for p < kc, j < nc (a multiple of 16) into dst as nc/16
// strips of kc×16 values, by 8×8 register transposes.
func packBT16(dst, bt []float32, ldbt, kc, nc int) {
	kc8 := kc &^ 7
	_ = bt[(nc-1)*ldbt+kc-1]
	for j := 0; j < nc; j += 16 {
		s := dst[j*kc : (j+16)*kc]
		for q := 0; q < 16; q += 8 {
			for p := 0; p < kc8; p += 8 {
				transpose8x8AVX2(&bt[(j+q)*ldbt+p], ldbt, &s[p*16+q], 16)
			}
			for p := kc8; p < kc; p++ {
				for r := 0; r < 8; r++ {
					s[p*16+q+r] = bt[(j+q+r)*ldbt+p]
				}
			}
		}
	}
}

// packPool holds panel scratch for the products whose callers give none
// large enough (GemmTN).
var packPool = sync.Pool{New: func() any {
	s := make([]float32, kcBlock*ncBlock+2*kcBlock*6) // gemmAVX2's largest need
	return &s
}}

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
