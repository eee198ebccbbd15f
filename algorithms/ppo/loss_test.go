package ppo

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
)

// mlp64 is a float64 forward pass of m over w for the rows of x.
func mlp64(m policy.MLP, w *policy.Weights, x []float64, rows int) []float64 {
	h, k := x, m.Sizes[0]
	for i := 0; i < m.Layers(); i++ {
		W, b := w.Get(m.WeightName(i)).Data, w.Get(m.BiasName(i)).Data
		n := m.Sizes[i+1]
		out := make([]float64, rows*n)
		for r := 0; r < rows; r++ {
			for j := 0; j < n; j++ {
				s := float64(b[j])
				for p := 0; p < k; p++ {
					s += h[r*k+p] * float64(W[p*n+j])
				}
				if i < m.Layers()-1 {
					s = math.Tanh(s)
				}
				out[r*n+j] = s
			}
		}
		h, k = out, n
	}
	return h
}

// lossCase is one minibatch for the reference loss.
type lossCase struct {
	obs                              []float64
	actions                          []int
	oldLogp, adv, returns, oldValues []float64
	clip, entCoeff, vfCoeff          float64
}

// cleanRLLoss is CleanRL ppo.py's loss, written out in float64:
//
//	pg_loss = mean(max(−A·ratio, −A·clamp(ratio, 1−ε, 1+ε)))
//	v_loss  = ½·mean(max((V−R)², (V_old + clamp(V−V_old, −ε, ε) − R)²))
//	loss    = pg_loss − c_ent·mean(H) + c_vf·v_loss
//
// It also returns log π(a|s) of the new policy.
func cleanRLLoss(spec policy.ActorCriticSpec, w *policy.Weights, c lossCase) (loss float64, newLogp []float64) {
	m := len(c.actions)
	logits := mlp64(spec.Actor(), w, c.obs, m)
	values := mlp64(spec.Critic(), w, c.obs, m)
	na := spec.NumActions
	var pg, vl, ent float64
	for i := 0; i < m; i++ {
		row := logits[i*na : (i+1)*na]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		lse := mx + math.Log(s)
		for _, v := range row {
			ent -= math.Exp(v-lse) * (v - lse)
		}
		lp := row[c.actions[i]] - lse
		newLogp = append(newLogp, lp)
		ratio := math.Exp(lp - c.oldLogp[i])
		clipped := math.Min(math.Max(ratio, 1-c.clip), 1+c.clip)
		pg += math.Max(-c.adv[i]*ratio, -c.adv[i]*clipped)
		v := values[i]
		vc := c.oldValues[i] + math.Min(math.Max(v-c.oldValues[i], -c.clip), c.clip)
		vl += math.Max((v-c.returns[i])*(v-c.returns[i]), (vc-c.returns[i])*(vc-c.returns[i]))
	}
	n := float64(m)
	return pg/n - c.entCoeff*ent/n + c.vfCoeff*0.5*vl/n, newLogp
}

// newLossFixture builds the loss graph over random weights and a minibatch
// whose ratios and value changes fall on both sides of the clip range (and
// away from its edges, so finite differences do not straddle a kink).
func newLossFixture(t *testing.T) (policy.ActorCriticSpec, *lossGraph, *learner.Learner, lossCase) {
	t.Helper()
	const m = 8
	cfg := DefaultConfig()
	spec := policy.ActorCriticSpec{ObsDim: 3, NumActions: 3, Model: policy.ModelConfig{Hidden: []int{16, 8}, Activation: policy.Tanh}}
	rng := envs.NewRand(21, 0)
	w := spec.Init(rng)
	for i := range w.Tensors {
		for j := range w.Tensors[i].Data {
			w.Tensors[i].Data[j] += float32(rng.NormFloat64() * 0.3)
		}
	}
	c := lossCase{clip: cfg.Clip, entCoeff: cfg.EntropyCoeff, vfCoeff: cfg.VFCoeff}
	for i := 0; i < m*spec.ObsDim; i++ {
		c.obs = append(c.obs, rng.NormFloat64())
	}
	for i := 0; i < m; i++ {
		c.actions = append(c.actions, i%spec.NumActions)
		c.adv = append(c.adv, []float64{1.3, -0.7, 0.4, -1.9}[i%4])
		c.oldLogp = append(c.oldLogp, 0) // these three are set below from the new policy
		c.oldValues = append(c.oldValues, 0)
		c.returns = append(c.returns, 0)
	}
	_, newLogp := cleanRLLoss(spec, w, c)
	values := mlp64(spec.Critic(), w, c.obs, m)
	// ratio = exp(new − old): 0.5 and 1.5 are clipped (ε = 0.2), the rest not;
	// with both signs of A, each branch of the max is taken somewhere.
	ratios := []float64{0.5, 1.5, 0.9, 1.1, 1.5, 0.5, 1.05, 0.7}
	dv := []float64{0.5, -0.05, -0.6, 0.1, 0.3, -0.3, 0.02, 0.9} // V − V_old: |dv| > ε is clipped
	for i := 0; i < m; i++ {
		c.oldLogp[i] = newLogp[i] - math.Log(ratios[i])
		c.oldValues[i] = values[i] - dv[i]
		c.returns[i] = values[i] + []float64{1, -1, 0.5, -0.2}[i%4]
	}

	l, err := buildLoss(w, spec, m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.obs {
		l.obs.Data[i] = float32(c.obs[i])
	}
	for i := 0; i < m; i++ {
		l.actionsOneHot.Data[i*spec.NumActions+c.actions[i]] = 1
		l.oldLogProbs.Data[i] = float32(c.oldLogp[i])
		l.advantages.Data[i] = float32(c.adv[i])
		l.returns.Data[i] = float32(c.returns[i])
		l.oldValues.Data[i] = float32(c.oldValues[i])
	}
	l.setClip(c.clip)
	lr, err := learner.New(learner.Config{}, l.graph, l.loss)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lr.Close() })
	return spec, l, lr, c
}

// TestLossMatchesCleanRL compares the graph's loss with the float64
// reference of CleanRL's loss on the same minibatch.
func TestLossMatchesCleanRL(t *testing.T) {
	spec, l, lr, c := newLossFixture(t)
	got, err := lr.Forward()
	if err != nil {
		t.Fatal(err)
	}
	want, newLogp := cleanRLLoss(spec, lr.Weights(), c)
	if math.Abs(float64(got)-want) > 1e-4*math.Abs(want) {
		t.Errorf("graph loss = %v; want %v (CleanRL, float64)", got, want)
	}
	for i, lp := range l.newLogProbs {
		if math.Abs(float64(lp)-newLogp[i]) > 1e-5 {
			t.Errorf("graph log π(a_%d|s_%d) = %v; want %v", i, i, lp, newLogp[i])
		}
	}
}

// TestLossGradients compares the learner's gradients with central finite
// differences of the float64 reference loss, for every parameter.
func TestLossGradients(t *testing.T) {
	spec, _, lr, c := newLossFixture(t)
	grads, err := lr.Gradients()
	if err != nil {
		t.Fatal(err)
	}
	w := lr.Weights()
	var worst float64
	for ti := range w.Tensors {
		d := w.Tensors[ti].Data
		for j := range d {
			const eps = 1e-3 // float64 reference: truncation error ~1e-6, well inside the tolerance
			orig := d[j]
			d[j] = orig + eps
			up, _ := cleanRLLoss(spec, w, c)
			d[j] = orig - eps
			down, _ := cleanRLLoss(spec, w, c)
			d[j] = orig
			fd := (up - down) / (float64(orig+eps) - float64(orig-eps))
			g := float64(grads[ti][j])
			diff := math.Abs(g - fd)
			worst = math.Max(worst, diff)
			// float32 graph vs float64 reference: 1e-3 relative plus 1e-4 absolute.
			if diff > 1e-3*math.Abs(fd)+1e-4 {
				t.Errorf("∂loss/∂%s[%d] = %v; want %v (finite difference)", w.Tensors[ti].Name, j, g, fd)
			}
		}
	}
	t.Logf("max |gradient − finite difference| = %.2g", worst)
}

// TestMaskGradients checks that maximum, minimum and clamp, built from
// comparison masks, pass the gradient to the chosen branch only (as
// torch.max, torch.min and torch.clamp do).
func TestMaskGradients(t *testing.T) {
	a := []float32{1, -2, 3, 0.5}
	b := []float32{2, -3, 0, 0.4}
	lo := []float32{0, -1, 0, 1}
	hi := []float32{0.5, 1, 2, 2}
	cases := []struct {
		name          string
		f             func(a, b, lo, hi *gorgonia.Node) (*gorgonia.Node, error)
		wantA, wantB  []float32
		wantLo, wantH []float32
	}{
		{"maximum", func(a, b, _, _ *gorgonia.Node) (*gorgonia.Node, error) { return maximum(a, b) },
			[]float32{0, 1, 1, 1}, []float32{1, 0, 0, 0}, []float32{0, 0, 0, 0}, []float32{0, 0, 0, 0}},
		{"minimum", func(a, b, _, _ *gorgonia.Node) (*gorgonia.Node, error) { return minimum(a, b) },
			[]float32{1, 0, 0, 0}, []float32{0, 1, 1, 1}, []float32{0, 0, 0, 0}, []float32{0, 0, 0, 0}},
		// clamp(a, lo, hi): a=1 > hi 0.5 → hi; −2 < lo −1 → lo; 3 > hi 2 → hi; 0.5 < lo 1 → lo.
		{"clamp", func(a, _, lo, hi *gorgonia.Node) (*gorgonia.Node, error) { return clamp(a, lo, hi) },
			[]float32{0, 0, 0, 0}, []float32{0, 0, 0, 0}, []float32{0, 1, 0, 1}, []float32{1, 0, 1, 0}},
	}
	for _, c := range cases {
		w := &policy.Weights{Tensors: []policy.Tensor{
			{Name: "a", Shape: []int{4}, Data: a}, {Name: "b", Shape: []int{4}, Data: b},
			{Name: "lo", Shape: []int{4}, Data: lo}, {Name: "hi", Shape: []int{4}, Data: hi},
		}}
		gr := learner.NewGraph(w)
		out, err := c.f(gr.Param("a"), gr.Param("b"), gr.Param("lo"), gr.Param("hi"))
		if err != nil {
			t.Fatal(err)
		}
		// Every parameter enters the loss (times 0 where the function does
		// not use it), so each has a gradient to check.
		loss := gorgonia.Must(gorgonia.Sum(out))
		for _, p := range gr.Params() {
			zero := gorgonia.Must(gorgonia.Mul(gorgonia.NewConstant(float32(0)), p))
			loss = gorgonia.Must(gorgonia.Add(loss, gorgonia.Must(gorgonia.Sum(zero))))
		}
		lr, err := learner.New(learner.Config{}, gr, loss)
		if err != nil {
			t.Fatal(err)
		}
		grads, err := lr.Gradients()
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range [][]float32{c.wantA, c.wantB, c.wantLo, c.wantH} {
			for j := range want {
				if grads[k][j] != want[j] {
					t.Errorf("%s: ∂Σ/∂%s = %v; want %v", c.name, w.Tensors[k].Name, grads[k], want)
					break
				}
			}
		}
		lr.Close()
	}
}

// maximum is max(a, b) element-wise: b + (a − b)·[a > b].
func maximum(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	mask, err := gorgonia.Gt(a, b, true)
	if err != nil {
		return nil, err
	}
	diff, err := gorgonia.Sub(a, b)
	if err != nil {
		return nil, err
	}
	sel, err := gorgonia.HadamardProd(diff, mask)
	if err != nil {
		return nil, err
	}
	return gorgonia.Add(b, sel)
}

// minimum is min(a, b) element-wise: a − (a − b)·[a > b].
func minimum(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	mask, err := gorgonia.Gt(a, b, true)
	if err != nil {
		return nil, err
	}
	diff, err := gorgonia.Sub(a, b)
	if err != nil {
		return nil, err
	}
	sel, err := gorgonia.HadamardProd(diff, mask)
	if err != nil {
		return nil, err
	}
	return gorgonia.Sub(a, sel)
}

// clamp is min(max(x, lo), hi) element-wise (torch.clamp).
func clamp(x, lo, hi *gorgonia.Node) (*gorgonia.Node, error) {
	lower, err := maximum(x, lo)
	if err != nil {
		return nil, err
	}
	return minimum(lower, hi)
}
