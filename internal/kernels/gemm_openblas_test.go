//go:build openblas && cgo

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/rlgo/rlgo/internal/kernels/openblas"
)

// TestGemmOpenBLAS checks the openblas build's products against the own
// kernels' (gemm.go) on the learner's shapes and odd ones, with every
// product sent to OpenBLAS and with the build's thresholds.
func TestGemmOpenBLAS(t *testing.T) {
	if GemmBackend != "openblas" {
		t.Fatalf("GemmBackend = %q in the openblas build", GemmBackend)
	}
	if n := openblas.Threads(); n < 1 {
		t.Fatalf("openblas.Threads() = %d", n)
	}
	if !useBLAS(64, 256, 256) || useBLAS(64, 2, 256) || useBLAS(1, 256, 256) {
		t.Error("useBLAS: the zoo network's hidden layer on 64 rows should go to OpenBLAS, its narrow layers and the workers' 1-row forward not")
	}
	shapes := [][3]int{{64, 256, 4}, {64, 256, 256}, {64, 2, 256}, {64, 1, 256}, {4, 256, 256}, {1, 256, 4},
		{128, 64, 64}, {3, 73, 5}, {7, 9, 1}, {1, 130, 17}, {5, 7, 33}, {1, 1, 1}, {33, 65, 129}, {255, 3, 257}, {65, 257, 129}, {129, 130, 131}}
	defer func() { blasForce = 0 }()
	for _, force := range []int{1, 0} {
		blasForce = force
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			rng := rand.New(rand.NewPCG(11, uint64(m*n*k)))
			randn := func(size int) []float32 {
				x := make([]float32, size)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				return x
			}
			s1, s2 := make([]float32, n*k), make([]float32, n*k)
			cmp := func(name string, got, want []float32) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s %v: len %d; want %d", name, s, len(got), len(want))
				}
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Errorf("force %d %s %v: c[%d] = %v; own kernels %v", force, name, s, i, got[i], want[i])
						return
					}
				}
			}
			a, b, bias := randn(m*k), randn(k*n), randn(n)
			got, want := randn(m*n), make([]float32, m*n) // got starts dirty: c is overwritten
			GemmNN(m, n, k, a, b, bias, got, s1)
			gemmNNGo(m, n, k, a, b, bias, want, s1)
			cmp("NN+bias", got, want)
			GemmNN(m, n, k, a, b, nil, got, s1)
			gemmNNGo(m, n, k, a, b, nil, want, s1)
			cmp("NN", got, want)

			// NT: c[m,k] = a[m,n]·btᵀ for bt [k,n].
			an, bt := randn(m*n), randn(k*n)
			got, want = randn(m*k), make([]float32, m*k)
			GemmNT(m, n, k, an, bt, got, s1, s2)
			gemmNTGo(m, n, k, an, bt, want, s1, s2)
			cmp("NT", got, want)

			// TN: c[k,n] = aᵀ·b for a [m,k], b [m,n].
			bm := randn(m * n)
			got, want = randn(k*n), make([]float32, k*n)
			GemmTN(m, k, n, a, bm, got, s1)
			gemmTNGo(m, k, n, a, bm, want, s1)
			cmp("TN", got, want)
		}
	}
}

// TestSgemmChecksBounds checks that a slice too short for its shape
// panics in Go instead of reaching C.
func TestSgemmChecksBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Sgemm with a short c did not panic")
		}
	}()
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 3)
	openblas.Sgemm(false, false, 2, 2, 3, a, 3, b, 2, 0, c, 2)
}

// BenchmarkGemmBackends times the products of a layer [k→n] on m rows
// (NN_MxNxK: the forward x·W; NT: the input gradient z̄·Wᵀ; TN: the
// weight gradient xᵀ·z̄) on the own kernels and on OpenBLAS, for the
// zoo's [256, 256] network on CartPole with batch 64, the workers' 1- and
// 4-row forward, and a sweep: what the dispatch thresholds are chosen from.
func BenchmarkGemmBackends(b *testing.B) {
	shapes := [][3]int{{64, 256, 4}, {64, 256, 256}, {64, 2, 256}, {1, 256, 256}, {4, 256, 256}, {8, 256, 256},
		{16, 256, 256}, {32, 256, 256}, {4, 256, 4}, {4, 2, 256}, {16, 64, 32}, {32, 32, 32}, {64, 64, 64}, {128, 64, 64},
		{32, 64, 64}, {32, 128, 128}, {64, 128, 128}, {128, 128, 128}, {128, 256, 256}, {64, 64, 256}, {64, 256, 64}}
	defer func() { blasForce = 0 }()
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		a, w, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*max(n, k))
		s1, s2 := make([]float32, n*k), make([]float32, n*k)
		g := make([]float32, m*n)
		for _, backend := range []string{"go", "openblas"} {
			blasForce = 1
			if backend == "go" {
				blasForce = -1
			}
			flops := float64(2 * m * n * k)
			var cpu0 time.Duration
			start := func(b *testing.B) { b.ResetTimer(); cpu0 = cpuTime() }
			// GFLOP/s of the process's CPU time, steadier than wall time
			// on a shared machine.
			report := func(b *testing.B) {
				b.ReportMetric(flops*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e9, "cpu-GFLOP/s")
			}
			b.Run(fmt.Sprintf("NN_%dx%dx%d/%s", m, n, k, backend), func(b *testing.B) {
				start(b)
				for i := 0; i < b.N; i++ {
					GemmNN(m, n, k, a, w, nil, c, s1)
				}
				report(b)
			})
			b.Run(fmt.Sprintf("NT_%dx%dx%d/%s", m, n, k, backend), func(b *testing.B) {
				start(b)
				for i := 0; i < b.N; i++ {
					GemmNT(m, n, k, g, w[:k*n], c, s1, s2) // dx = dz·Wᵀ: [m,n]·[k,n]ᵀ
				}
				report(b)
			})
			b.Run(fmt.Sprintf("TN_%dx%dx%d/%s", m, n, k, backend), func(b *testing.B) {
				start(b)
				for i := 0; i < b.N; i++ {
					GemmTN(m, k, n, a, g, w, s1) // dW = xᵀ·dz: [m,k]ᵀ·[m,n]
				}
				report(b)
			})
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
