package kernels

// TanhGrad sets out[i] = g[i]·(1 − y[i]²): the gradient through y = tanh(z).
func TanhGrad(out, y, g []float32) {
	n := len(out)
	y, g = y[:n], g[:n]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		tanhGradAVX2(&out[0], &y[0], &g[0], i)
	}
	for ; i < n; i++ {
		out[i] = g[i] * (1 - y[i]*y[i])
	}
}

// ColSum sets out[0:n] to the sum of the m rows of a [m,n].
func ColSum(m, n int, a, out []float32) {
	out = out[:n]
	if m == 0 {
		clear(out)
		return
	}
	copy(out, a[:n])
	i := 1
	for ; i+len(ones) <= m; i += len(ones) {
		RowKernel(out, ones[:], 1, a[i*n:], n, len(ones), n)
	}
	if i < m {
		RowKernel(out, ones[:], 1, a[i*n:], n, m-i, n)
	}
}

// ones is the all-ones left operand that turns RowKernel into a row sum.
var ones = func() (o [256]float32) {
	for i := range o {
		o[i] = 1
	}
	return
}()
