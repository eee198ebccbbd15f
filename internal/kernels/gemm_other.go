//go:build !amd64

package learner

import "github.com/rlgo/rlgo/policy"

var useAVX2 = false

func rowKernel(c, a []float32, lda int, b []float32, n, k, ldb int) {
	rowKernelGo(c, a, lda, b, n, k, ldb)
}

func dot(x, y []float32) float32 { return dotGo(x, y) }

func tanhInPlace(x []float32) {
	for i, v := range x {
		x[i] = policy.Tanh32(v)
	}
}
