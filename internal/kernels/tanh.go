package kernels

// Tanh32 returns tanh(x) in float32 from a rational approximation: Eigen's
// generic_fast_tanh_float (Eigen/src/Core/MathFunctionsImpl.h), a 13/6
// minimax fit on [−7.905, 7.905] with the input clamped outside. It is
// within 1e-6 of math.Tanh everywhere (policy's TestTanh32). TanhInPlace
// runs it 8-wide with AVX2 where available.
func Tanh32(x float32) float32 {
	const (
		clampHi = 7.90531110763549805
		tiny    = 0.0004
		a1      = 4.89352455891786e-03
		a3      = 6.37261928875436e-04
		a5      = 1.48572235717979e-05
		a7      = 5.12229709037114e-08
		a9      = -8.60467152213735e-11
		a11     = 2.00018790482477e-13
		a13     = -2.76076847742355e-16
		b0      = 4.89352518554385e-03
		b2      = 2.26843463243900e-03
		b4      = 1.18534705686654e-04
		b6      = 1.19825839466702e-06
	)
	if x > -tiny && x < tiny {
		return x
	}
	x = min(max(x, -clampHi), clampHi)
	x2 := x * x
	p := x2*a13 + a11
	p = x2*p + a9
	p = x2*p + a7
	p = x2*p + a5
	p = x2*p + a3
	p = x2*p + a1
	p *= x
	q := x2*b6 + b4
	q = x2*q + b2
	q = x2*q + b0
	return p / q
}
