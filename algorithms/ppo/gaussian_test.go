package ppo

import (
	"math"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
)

// gaussCase is one minibatch for the reference continuous loss.
type gaussCase struct {
	obs, actions                     []float64 // [m, ObsDim], [m, ActionDim]
	oldLogp, adv, returns, oldValues []float64
	clip, entCoeff, vfCoeff          float64
}

// cleanRLContinuousLoss is ppo_continuous_action.py's loss in float64:
// Normal(μ, exp(log σ)).log_prob(a).sum(1), entropy().sum(1), and the same
// clipped surrogate and clipped value loss as ppo.py.
func cleanRLContinuousLoss(spec policy.ActorCriticSpec, w *policy.Weights, c gaussCase) (loss float64, newLogp []float64) {
	m, A := len(c.oldLogp), spec.ActionDim
	mu := mlp64(spec.Actor(), w, c.obs, m)
	values := mlp64(spec.Critic(), w, c.obs, m)
	logStd := w.Get(policy.LogStdName).Data
	var pg, vl, ent float64
	for i := 0; i < m; i++ {
		var lp float64
		for j := 0; j < A; j++ {
			ls := float64(logStd[j])
			d := c.actions[i*A+j] - mu[i*A+j]
			lp += -d*d/(2*math.Exp(2*ls)) - ls - 0.5*math.Log(2*math.Pi)
			ent += 0.5 + 0.5*math.Log(2*math.Pi) + ls
		}
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

func newGaussianFixture(t *testing.T) (policy.ActorCriticSpec, *lossGraph, *learner.Learner, gaussCase) {
	t.Helper()
	const m = 8
	cfg := DefaultConfig()
	cfg.EntropyCoeff = 0.02
	spec := policy.ActorCriticSpec{ObsDim: 3, ActionDim: 2, Model: policy.ModelConfig{Hidden: []int{16, 8}, Activation: policy.Tanh}}
	rng := envs.NewRand(22, 0)
	w := spec.Init(rng)
	for i := range w.Tensors {
		for j := range w.Tensors[i].Data {
			w.Tensors[i].Data[j] += float32(rng.NormFloat64() * 0.3)
		}
	}
	c := gaussCase{clip: cfg.Clip, entCoeff: cfg.EntropyCoeff, vfCoeff: cfg.VFCoeff}
	for i := 0; i < m*spec.ObsDim; i++ {
		c.obs = append(c.obs, rng.NormFloat64())
	}
	for i := 0; i < m*spec.ActionDim; i++ {
		c.actions = append(c.actions, rng.NormFloat64())
	}
	for i := 0; i < m; i++ {
		c.adv = append(c.adv, []float64{1.3, -0.7, 0.4, -1.9}[i%4])
		c.oldLogp = append(c.oldLogp, 0)
		c.oldValues = append(c.oldValues, 0)
		c.returns = append(c.returns, 0)
	}
	_, newLogp := cleanRLContinuousLoss(spec, w, c)
	values := mlp64(spec.Critic(), w, c.obs, m)
	ratios := []float64{0.5, 1.5, 0.9, 1.1, 1.5, 0.5, 1.05, 0.7}
	dv := []float64{0.5, -0.05, -0.6, 0.1, 0.3, -0.3, 0.02, 0.9}
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
	for i := range c.actions {
		l.actions.Data[i] = float32(c.actions[i])
	}
	for i := 0; i < m; i++ {
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

// TestGaussianLossMatchesCleanRL compares the continuous loss, log π and
// entropy with ppo_continuous_action.py's, written out in float64.
func TestGaussianLossMatchesCleanRL(t *testing.T) {
	spec, l, lr, c := newGaussianFixture(t)
	got, err := lr.Forward()
	if err != nil {
		t.Fatal(err)
	}
	want, newLogp := cleanRLContinuousLoss(spec, lr.Weights(), c)
	if math.Abs(float64(got)-want) > 1e-4*math.Abs(want) {
		t.Errorf("graph loss = %v; want %v (CleanRL, float64)", got, want)
	}
	for i, lp := range l.newLogProbs {
		if math.Abs(float64(lp)-newLogp[i]) > 1e-4 {
			t.Errorf("graph log π(a_%d|s_%d) = %v; want %v", i, i, lp, newLogp[i])
		}
	}
}

// TestGaussianLossGradients checks every parameter's gradient, log σ's
// included, against central finite differences of the reference loss.
func TestGaussianLossGradients(t *testing.T) {
	spec, _, lr, c := newGaussianFixture(t)
	grads, err := lr.Gradients()
	if err != nil {
		t.Fatal(err)
	}
	w := lr.Weights()
	sawLogStd := false
	for ti := range w.Tensors {
		d := w.Tensors[ti].Data
		sawLogStd = sawLogStd || w.Tensors[ti].Name == policy.LogStdName
		for j := range d {
			const eps = 1e-3
			orig := d[j]
			d[j] = orig + eps
			up, _ := cleanRLContinuousLoss(spec, w, c)
			d[j] = orig - eps
			down, _ := cleanRLContinuousLoss(spec, w, c)
			d[j] = orig
			fd := (up - down) / (float64(orig+eps) - float64(orig-eps))
			g := float64(grads[ti][j])
			if math.Abs(g-fd) > 1e-3*math.Abs(fd)+1e-4 {
				t.Errorf("∂loss/∂%s[%d] = %v; want %v (finite difference)", w.Tensors[ti].Name, j, g, fd)
			}
		}
	}
	if !sawLogStd {
		t.Fatal("no log σ parameter")
	}
}
