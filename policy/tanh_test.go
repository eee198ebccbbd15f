package policy

import (
	"math"
	"testing"
)

// TestTanh32 checks the fast tanh against math.Tanh on a dense grid and at
// the edges of its pieces (the tiny-input shortcut and the clamp).
func TestTanh32(t *testing.T) {
	var worst, at float64
	check := func(x float32) {
		got := float64(Tanh32(x))
		want := math.Tanh(float64(x))
		if d := math.Abs(got - want); d > worst {
			worst, at = d, float64(x)
		}
	}
	for i := -200000; i <= 200000; i++ {
		check(float32(i) * 1e-4) // [-20, 20] in steps of 1e-4
	}
	for _, x := range []float32{0, 0.0004, -0.0004, 0.00039, 7.9053, -7.9053, 8, 1e30, -1e30, float32(math.Inf(1)), float32(math.Inf(-1))} {
		check(x)
	}
	// 1e-6 is ~8 float32 ulps near 1 and far below the 1e-5 the learner's
	// graph and the pure-Go forward pass must agree to.
	if worst > 1e-6 {
		t.Errorf("max |Tanh32(x) - math.Tanh(x)| = %g at x = %g; want <= 1e-6", worst, at)
	}
	if got := Tanh32(float32(math.NaN())); !math.IsNaN(float64(got)) {
		t.Errorf("Tanh32(NaN) = %v; want NaN", got)
	}
}

func BenchmarkTanh(b *testing.B) {
	x := make([]float32, 8192)
	for i := range x {
		x[i] = float32(i%200)/25 - 4
	}
	b.Run("Tanh32", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j, v := range x {
				x[j] = Tanh32(v) * 4
			}
		}
	})
	b.Run("math.Tanh", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j, v := range x {
				x[j] = float32(math.Tanh(float64(v))) * 4
			}
		}
	})
}
