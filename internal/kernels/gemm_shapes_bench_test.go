package kernels

import (
	"fmt"
	"testing"
)

// benchShapes are the products of the shipped networks' learner steps and
// forward passes, as output rows × output columns × reduction length:
// MinAtar's (conv 16×3×3 on 10×10×4, dense 1024→128) at batch 64 and
// 1024, nature_cnn's (84×84×4; conv1 32×8×8/4, conv2 64×4×4/2, conv3
// 64×3×3/1, dense 3136→512) at batch 32, and the classic-control 256×256
// layer at batch 64.
var benchShapes = []struct {
	op, name string
	m, n, k  int
}{
	{"NN", "classic256_b64", 64, 256, 256},
	{"NN", "minatar_conv_b64", 64 * 64, 16, 36},
	{"NN", "minatar_dense_b64", 64, 128, 1024},
	{"NN", "minatar_dense_b1024", 1024, 128, 1024},
	{"NN", "nature_conv1_b32", 32 * 400, 32, 256},
	{"NN", "nature_conv2_b32", 32 * 81, 64, 512},
	{"NN", "nature_conv3_b32", 32 * 49, 64, 576},
	{"NN", "nature_dense_b1", 1, 512, 3136},
	{"NN", "nature_dense_b32", 32, 512, 3136},
	{"NT", "classic256_b64", 64, 256, 256},
	{"NT", "minatar_dense_b64", 64, 1024, 128},
	{"NT", "nature_conv2_b32", 32 * 81, 512, 64},
	{"NT", "nature_conv3_b32", 32 * 49, 576, 64},
	{"NT", "nature_dense_b32", 32, 3136, 512},
	{"TN", "classic256_b64", 256, 256, 64},
	{"TN", "minatar_conv_b64", 36, 16, 64 * 64},
	{"TN", "minatar_conv_b1024", 36, 16, 1024 * 64},
	{"TN", "minatar_dense_b64", 1024, 128, 64},
	{"TN", "minatar_dense_b1024", 1024, 128, 1024},
	{"TN", "nature_conv1_b32", 256, 32, 32 * 400},
	{"TN", "nature_conv2_b32", 512, 64, 32 * 81},
	{"TN", "nature_conv3_b32", 576, 64, 32 * 49},
	{"TN", "nature_dense_b32", 3136, 512, 32},
}

// BenchmarkGemmShapes runs each product of benchShapes (c[m,n] with a
// reduction of k) and reports its arithmetic rate per wall second and
// per CPU second of the process (one Zen 3 core's float32 FMA peak is
// ~78 GFLOP/s).
func BenchmarkGemmShapes(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("%s/%s_%dx%dx%d", s.op, s.name, s.m, s.n, s.k), func(b *testing.B) {
			m, n, k := s.m, s.n, s.k
			x, y, bias, c := make([]float32, m*k), make([]float32, k*n), make([]float32, n), make([]float32, m*n)
			for i := range x {
				x[i] = float32(i%7) - 3
			}
			for i := range y {
				y[i] = float32(i%5) - 2
			}
			s1, s2 := make([]float32, m*n+n*k), make([]float32, m*n+n*k)
			run := func() {
				switch s.op {
				case "NN":
					GemmNN(m, n, k, x, y, bias, c, s1)
				case "NT": // x [m,k], y read as [n,k]
					GemmNT(m, k, n, x, y, c, s1, s2)
				case "TN": // x read as [k,m], y [k,n]
					GemmTN(k, m, n, x, y, c, s1)
				}
			}
			run()
			cpu := processCPUSeconds()
			for b.Loop() {
				run()
			}
			cpu = processCPUSeconds() - cpu
			flops := 2 * float64(m) * float64(n) * float64(k)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if cpu > 0 {
				b.ReportMetric(cpu/float64(b.N)*1e9, "cpu-ns/op")
				b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
			}
		})
	}
}
