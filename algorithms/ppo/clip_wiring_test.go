package ppo

import (
	"math"
	"testing"
)

// Hand-computed minibatches for PPO's clipping (Schulman et al. 2017,
// eq. 7; CleanRL ppo.py's pg_loss and v_loss), so that a one-line change
// to a branch of the clipped surrogate or the clipped value loss fails a
// fast default test (.ci/mutate applies such changes).

// TestClippedSurrogateByHand checks every branch of the clipped surrogate
// with ε = 0.2 (ratio range [0.8, 1.2]):
//
//	L = max(−A·r, −A·clip(r, 0.8, 1.2)),  ∂L/∂log π = −A·r where the
//	unclipped term is taken or r is inside the range, else 0.
func TestClippedSurrogateByHand(t *testing.T) {
	cases := []struct {
		name           string
		ratio, adv     float64
		loss, gradLogp float64
	}{
		{"A>0, r above range: clipped, no gradient", 1.5, 1, -1.2, 0},
		{"A>0, r below range: unclipped", 0.5, 1, -0.5, -0.5},
		{"A<0, r above range: unclipped", 1.5, -1, 1.5, 1.5},
		{"A<0, r below range: clipped, no gradient", 0.5, -1, 0.8, 0},
		{"A>0, r inside range", 1.1, 2, -2.2, -2.2},
		{"A<0, r inside range", 0.9, -3, 2.7, 2.7},
		{"A>0, r at the upper edge", 1.2, 0.5, -0.6, -0.6},
		{"A=0", 1.7, 0, 0, 0},
	}
	for _, c := range cases {
		oldLogp := -0.7
		loss, d := clippedSurrogate(oldLogp+math.Log(c.ratio), oldLogp, c.adv, 0.8, 1.2)
		if math.Abs(loss-c.loss) > 1e-12 || math.Abs(d-c.gradLogp) > 1e-12 {
			t.Errorf("%s: clippedSurrogate(r=%v, A=%v) = %v, ∂/∂log π %v; want %v, %v", c.name, c.ratio, c.adv, loss, d, c.loss, c.gradLogp)
		}
	}
}

// TestPolicyTermByHand runs the categorical policy term on a 2-row
// minibatch with two actions and no entropy bonus, computed by hand:
//
//	row 0: logits (0, ln 3) → π = (¼, ¾); a = 1, π_old(a) = ½: r = 1.5,
//	       A = 1 → clipped: L = −1.2, gradient 0.
//	row 1: logits (0, 0) → π = (½, ½); a = 0, π_old(a) = 1: r = 0.5,
//	       A = 1 → unclipped: L = −0.5, ∂L/∂log π = −0.5,
//	       ∂L/∂z = −0.5·(onehot − π) = (−0.25, 0.25).
//
// Mean over the 2 rows: loss −0.85, gradients divided by 2.
func TestPolicyTermByHand(t *testing.T) {
	l := &lossGraph{clip: 0.2, denom: 2, newLogProbs: make([]float32, 2)}
	in := [][]float32{
		{0, float32(math.Log(3)), 0, 0}, // logits
		{0, 1, 1, 0},                    // one-hot actions
		{float32(math.Log(0.5)), 0},     // log π_old
		{1, 1},                          // advantages
	}
	if got := l.policyTerm(in, nil); math.Abs(float64(got)+0.85) > 1e-6 {
		t.Errorf("policy term = %v; want −0.85", got)
	}
	if math.Abs(l.policyLoss+0.85) > 1e-6 {
		t.Errorf("policy_loss = %v; want −0.85", l.policyLoss)
	}
	wantLogp := []float64{math.Log(0.75), math.Log(0.5)}
	for i, lp := range l.newLogProbs {
		if math.Abs(float64(lp)-wantLogp[i]) > 1e-6 {
			t.Errorf("log π(a_%d|s_%d) = %v; want %v", i, i, lp, wantLogp[i])
		}
	}
	grad := make([]float32, 4)
	l.policyTerm(in, grad)
	wantGrad := []float64{0, 0, -0.125, 0.125}
	for i, g := range grad {
		if math.Abs(float64(g)-wantGrad[i]) > 1e-6 {
			t.Errorf("∂L/∂logits = %v; want %v", grad, wantGrad)
			break
		}
	}
}

// TestValueTermByHand checks the clipped value loss (PPO2 baselines,
// detail 9) with ε = 0.2, c_vf = 0.5 on four rows:
//
//	V=1, R=2, V_old=0.5: V moved 0.5 > ε, V_clip = 0.7: (V_clip−R)² = 1.69 > (V−R)² = 1 → clipped, gradient 0
//	V=1, R=0, V_old=0.9: inside the range, V_clip = V: 1, gradient V−R = 1
//	V=0, R=1, V_old=0.5: V_clip = 0.3: 0.49 < 1 → unclipped: 1, gradient −1
//	V=2, R=1, V_old=2.5: V_clip = 2.3: 1.69 > 1 → clipped, gradient 0
//
// value_loss = ½·(1.69 + 1 + 1 + 1.69)/4 = 0.6725; the term is c_vf times
// that, its gradient c_vf·(V−R)/4 on unclipped rows. Without clipping
// every row is (V−R)² = 1.
func TestValueTermByHand(t *testing.T) {
	in := [][]float32{{1, 1, 0, 2}, {2, 0, 1, 1}, {0.5, 0.9, 0.5, 2.5}}
	for _, c := range []struct {
		clip      bool
		valueLoss float64
		grad      []float64
	}{
		{true, 0.6725, []float64{0, 0.125, -0.125, 0}},
		{false, 0.5, []float64{-0.125, 0.125, -0.125, 0.125}},
	} {
		l := &lossGraph{clip: 0.2, vfCoeff: 0.5, clipValueLoss: c.clip, denom: 4}
		got := l.valueTerm(in, nil)
		if math.Abs(float64(got)-0.5*c.valueLoss) > 1e-6 || math.Abs(l.valueLoss-c.valueLoss) > 1e-6 {
			t.Errorf("clip_value_loss=%v: value term %v, value_loss %v; want %v, %v", c.clip, got, l.valueLoss, 0.5*c.valueLoss, c.valueLoss)
		}
		grad := make([]float32, 4)
		l.valueTerm(in, grad)
		for i, g := range grad {
			if math.Abs(float64(g)-c.grad[i]) > 1e-6 {
				t.Errorf("clip_value_loss=%v: ∂L/∂V = %v; want %v", c.clip, grad, c.grad)
				break
			}
		}
	}
}
