//go:build openblas && cgo

package openblas

import (
	"os"
	"strings"
	"testing"
)

// TestThreads checks the default of one thread (unless the environment
// asks for more) and that SetThreads takes effect.
func TestThreads(t *testing.T) {
	t.Log(Config())
	if !strings.Contains(Config(), "OpenBLAS") {
		t.Errorf("Config() = %q; want OpenBLAS's build description", Config())
	}
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" && os.Getenv("RLGO_BLAS_THREADS") == "" {
		if n := Threads(); n != 1 {
			t.Errorf("Threads() = %d by default; want 1", n)
		}
	}
	saved := Threads()
	defer SetThreads(saved)
	SetThreads(2)
	if n := Threads(); n != 2 {
		t.Errorf("after SetThreads(2), Threads() = %d", n)
	}
}

// TestSgemm checks a small product, plain and with both operands
// transposed, against sums written out.
func TestSgemm(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}    // [2,3], or [3,2] transposed
	b := []float32{7, 8, 9, 10, 11, 12} // [3,2], or [2,3] transposed
	c := []float32{1, 1, 1, 1}
	Sgemm(false, false, 2, 2, 3, a, 3, b, 2, 1, c, 2) // c += a·b
	if want := []float32{59, 65, 140, 155}; !equal(c, want) {
		t.Errorf("NN: c = %v; want %v", c, want)
	}
	Sgemm(true, true, 2, 2, 3, a, 2, b, 3, 0, c, 2) // aᵀ [2,3]·bᵀ [3,2]
	if want := []float32{76, 103, 100, 136}; !equal(c, want) {
		t.Errorf("TT: c = %v; want %v", c, want)
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
