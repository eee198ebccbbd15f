package kernels

//go:noescape
func reluAVX2(x *float32, n int)

//go:noescape
func reluGradAVX2(out, y, gr *float32, n int)
