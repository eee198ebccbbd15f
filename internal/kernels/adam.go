package kernels

import "math"

// AdamParams are one Adam step's constants (see Adam). They are float64
// so that 1−β1 and 1−β2 are rounded to float32 once (as torch passes them),
// not computed from already-rounded β's (1 − float32(0.999) is 1.3e-5 off).
type AdamParams struct {
	// GradScale multiplies the gradients first (global-norm clipping; 1 for none).
	GradScale float64
	// Beta1, Beta2 and Eps as in torch.optim.Adam.
	Beta1, Beta2, Eps float64
	// StepSize is lr/(1−β1ᵗ); BiasCorrection2 is √(1−β2ᵗ).
	StepSize, BiasCorrection2 float64
}

// adamConsts are AdamParams as adamAVX2 reads them.
type adamConsts [8]float32

func (c AdamParams) consts() adamConsts {
	return adamConsts{float32(c.GradScale), float32(c.Beta1), float32(1 - c.Beta1), float32(c.Beta2), float32(1 - c.Beta2),
		float32(c.BiasCorrection2), float32(c.Eps), float32(c.StepSize)}
}

// Adam applies one Adam update in float32, as torch.optim.Adam's
// single-tensor path computes it, to p with moments m and v and gradient
// g (all the same length); g is scaled in place by GradScale first:
//
//	g ← s·g    m ← β1·m + (1−β1)·g    v ← β2·v + (1−β2)·g²
//	p ← p − step·m / (√v/√(1−β2ᵗ) + ε)
func Adam(p, m, v, g []float32, c AdamParams) {
	n := len(p)
	m, v, g = m[:n], v[:n], g[:n]
	k := c.consts()
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		adamAVX2(&p[0], &m[0], &v[0], &g[0], i, (*[8]float32)(&k))
	}
	adamGo(p[i:], m[i:], v[i:], g[i:], &k)
}

func adamGo(p, m, v, g []float32, k *adamConsts) {
	m, v, g = m[:len(p)], v[:len(p)], g[:len(p)]
	s, b1, ob1, b2, ob2, bc2, eps, step := k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]
	for j := range p {
		gj := g[j] * s
		g[j] = gj
		mj := b1*m[j] + ob1*gj
		vj := b2*v[j] + ob2*(gj*gj)
		m[j], v[j] = mj, vj
		denom := float32(math.Sqrt(float64(vj)))/bc2 + eps
		p[j] -= step * (mj / denom)
	}
}

// SumSquares returns Σ x[i]² accumulated in float64.
func SumSquares(x []float32) float64 {
	var s float64
	i := 0
	if useAVX2 && len(x) >= 8 {
		i = len(x) &^ 7
		s = sumSquaresAVX2(&x[0], i)
	}
	for _, v := range x[i:] {
		s += float64(v) * float64(v)
	}
	return s
}
