//go:build openblas && cgo

package openblas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"os"
	"strconv"
)

// init sets the number of threads OpenBLAS uses:
// OPENBLAS_NUM_THREADS when set (OpenBLAS reads it itself when the library
// loads), else RLGO_BLAS_THREADS, else 1. One thread is the default: the
// learner's products are small (64 rows), and the rollout workers run on
// the other cores.
func init() {
	if os.Getenv("OPENBLAS_NUM_THREADS") != "" {
		return
	}
	n := 1
	if v, err := strconv.Atoi(os.Getenv("RLGO_BLAS_THREADS")); err == nil && v > 0 {
		n = v
	}
	SetThreads(n)
}

// Threads returns the number of threads OpenBLAS uses.
func Threads() int { return int(C.openblas_get_num_threads()) }

// SetThreads sets the number of threads OpenBLAS uses from now on (at
// least 1).
func SetThreads(n int) { C.openblas_set_num_threads(C.int(max(n, 1))) }

// Config returns OpenBLAS's build description (version, core, threading).
func Config() string { return C.GoString(C.openblas_get_config()) }

// Sgemm is cblas_sgemm on row-major operands, c = op(a)·op(b) + beta·c
// with op(a) [m,k], op(b) [k,n] and c [m,n]; transA and transB say
// whether a and b are stored transposed. It checks that the slices hold
// the operands (C reads no bounds), so a bad shape panics here instead of
// corrupting memory. m, n and k must be positive and each leading
// dimension at least its row's length.
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	ar, ac, br, bc := m, k, k, n // a and b as stored
	if transA {
		ta, ar, ac = uint32(C.CblasTrans), k, m
	}
	if transB {
		tb, br, bc = uint32(C.CblasTrans), n, k
	}
	if m <= 0 || n <= 0 || k <= 0 || lda < ac || ldb < bc || ldc < n {
		panic("openblas: Sgemm: bad dimensions")
	}
	_ = a[(ar-1)*lda+ac-1]
	_ = b[(br-1)*ldb+bc-1]
	_ = c[(m-1)*ldc+n-1]
	C.cblas_sgemm(C.CblasRowMajor, C.enum_CBLAS_TRANSPOSE(ta), C.enum_CBLAS_TRANSPOSE(tb),
		C.blasint(m), C.blasint(n), C.blasint(k), 1,
		(*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
		C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
}
