//go:build !amd64

package kernels

func reluAVX2(x *float32, n int) { panic("kernels: no AVX2") }

func reluGradAVX2(out, y, gr *float32, n int) { panic("kernels: no AVX2") }
