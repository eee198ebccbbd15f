package kernels

//go:noescape
func rowKernel64AVX2(c, a, b *float32, k, ldb, lda int)

//go:noescape
func rowKernel8AVX2(c, a, b *float32, k, ldb, lda int)

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func tanhAVX2(x *float32, n int, c *[12]float32)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// hasAVX2FMA reports whether the CPU has AVX2 and FMA3 and the OS saves
// the YMM registers (CPUID leaf 1 ECX bits 12, 27, 28; XCR0 bits 1–2;
// leaf 7 EBX bit 5), the checks golang.org/x/sys/cpu makes.
func hasAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

var useAVX2 = hasAVX2FMA()

// RowKernel adds Σ_{p<k} a[p·lda]·b[p·ldb : p·ldb+n] to c[0:n].
func RowKernel(c, a []float32, lda int, b []float32, n, k, ldb int) {
	if !useAVX2 || k == 0 {
		rowKernelGo(c, a, lda, b, n, k, ldb)
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
		rowKernelGo(c[j:], a, lda, b[j:], n-j, k, ldb)
	}
}

// Dot returns Σ x[i]·y[i] over len(x).
func Dot(x, y []float32) float32 {
	if !useAVX2 || len(x) == 0 {
		return dotGo(x, y)
	}
	_ = y[len(x)-1]
	return dotAVX2(&x[0], &y[0], len(x))
}

// tanhConsts are Tanh32's constants in tanhAVX2's order.
var tanhConsts = [12]float32{
	7.90531110763549805,
	-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
	1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03,
	1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03,
}

// TanhInPlace sets x[i] = tanh(x[i]), within 1e-6 of Tanh32.
func TanhInPlace(x []float32) {
	n := 0
	if useAVX2 {
		n = len(x) &^ 7
		if n > 0 {
			tanhAVX2(&x[0], n, &tanhConsts)
		}
	}
	for i := n; i < len(x); i++ {
		x[i] = Tanh32(x[i])
	}
}

//go:noescape
func adamAVX2(p, m, v, gr *float32, n int, c *[8]float32)

//go:noescape
func sumSquaresAVX2(x *float32, n int) float64

//go:noescape
func tanhGradAVX2(out, y, gr *float32, n int)

//go:noescape
func transpose8x8AVX2(src *float32, lds int, dst *float32, ldd int)

//go:noescape
func gemm4x16AVX2(c *float32, ldc int, a *float32, ars, aps int, b *float32, ldb, k int)

//go:noescape
func gemm6x16AVX2(c *float32, ldc int, a *float32, ars, aps int, b *float32, ldb, k int)

//go:noescape
func packB16AVX2(dst, b *float32, ldb, kc, nc int)

//go:noescape
func packA6AVX2(dst, a *float32, aps, kc int)

//go:noescape
func packA4AVX2(dst, a *float32, aps, kc int)
