package ppo

import (
	"math"
	"testing"

	"github.com/rlgo/rlgo/rollout"
)

// TestGAE checks gae against values computed by hand from Schulman et al.
// 2016 eq. 16 with γ = 0.99, λ = 0.95 on a fragment of 3 steps × 2 envs
// (time-major: index t*2+i) that covers termination, truncation with a
// bootstrap value, and the fragment's end bootstrapping from LastValues.
func TestGAE(t *testing.T) {
	b := &rollout.SampleBatch{
		NumEnvs: 2, Steps: 3, ObsDim: 1,
		//                 t=0 (env0, env1), t=1,     t=2
		Rewards:         []float32{1, 0, 1, 2, 1, 1},
		Values:          []float32{0.5, 1, 0.6, 2, 0.7, 3},
		Terminated:      []bool{false, false, true, false, false, false},
		Truncated:       []bool{false, true, false, false, false, false},
		BootstrapValues: []float32{0, 4, 0, 0, 0, 0},
		LastValues:      []float32{0.8, 5},
	}
	// env 0 (terminates at t=1):
	//   t=2: δ = 1 + 0.99·0.8 − 0.7 = 1.092 (fragment end: LastValues)      A = 1.092
	//   t=1: δ = 1 + 0 − 0.6 = 0.4 (terminated: no bootstrap, sum stops)   A = 0.4
	//   t=0: δ = 1 + 0.99·0.6 − 0.5 = 1.094                                A = 1.094 + 0.99·0.95·0.4 = 1.4702
	// env 1 (truncated at t=0, bootstrapped from V(final obs) = 4):
	//   t=2: δ = 1 + 0.99·5 − 3 = 2.95                                     A = 2.95
	//   t=1: δ = 2 + 0.99·3 − 2 = 2.97                                     A = 2.97 + 0.9405·2.95 = 5.744475
	//   t=0: δ = 0 + 0.99·4 − 1 = 2.96 (truncated: the sum stops)          A = 2.96
	want := []float64{1.4702, 2.96, 0.4, 5.744475, 1.092, 2.95}
	adv := make([]float32, 6)
	gae(b, 0.99, 0.95, adv)
	for k := range want {
		if math.Abs(float64(adv[k])-want[k]) > 1e-5 {
			t.Errorf("gae(...)[%d] (t=%d, env %d) = %v; want %v", k, k/2, k%2, adv[k], want[k])
		}
	}
}

// TestExplainedVariance checks 1 − Var[R − V]/Var[R] (CleanRL's
// explained_var) on cases whose answers follow from the definition.
func TestExplainedVariance(t *testing.T) {
	cases := []struct {
		values, returns []float32
		want            float64
	}{
		{[]float32{1, 2, 3, 4}, []float32{1, 2, 3, 4}, 1},    // perfect critic
		{[]float32{0, 0, 0, 0}, []float32{1, 2, 3, 4}, 0},    // constant critic
		{[]float32{2, 2, 2, 2}, []float32{1, 2, 3, 4}, 0},    // constant offset: still 0
		{[]float32{1, 2, 3, 5}, []float32{1, 2, 3, 4}, 0.85}, // Var[R−V] = 0.1875, Var[R] = 1.25
		{[]float32{4, 3, 2, 1}, []float32{1, 2, 3, 4}, -3},   // Var[R−V] = 5: worse than constant
		{[]float32{0, 1}, []float32{2, 2}, math.NaN()},       // Var[R] = 0: undefined
	}
	for _, c := range cases {
		got := explainedVariance(c.values, c.returns)
		if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-c.want) > 1e-9) {
			t.Errorf("explainedVariance(%v, %v) = %v; want %v", c.values, c.returns, got, c.want)
		}
	}
}
