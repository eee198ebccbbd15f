package policy

import "github.com/rlgo/rlgo/internal/kernels"

// Tanh32 returns tanh(x) in float32 from a rational approximation: Eigen's
// generic_fast_tanh_float (Eigen/src/Core/MathFunctionsImpl.h), a 13/6
// minimax fit on [−7.905, 7.905] with the input clamped outside. It is
// within 1e-6 of math.Tanh everywhere (TestTanh32). It is
// kernels.Tanh32, which the learner's graph and the workers' Forward run
// 8-wide with AVX2 where available (kernels.TanhInPlace).
func Tanh32(x float32) float32 { return kernels.Tanh32(x) }
