package learner

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// TestForwardAgreesWithPolicy proves that the learner's gorgonia graph and
// the workers' pure-Go forward pass compute the same network.
func TestForwardAgreesWithPolicy(t *testing.T) {
	for _, act := range []policy.Activation{policy.Tanh, policy.ReLU} {
		for _, batch := range []int{1, 7, 64} {
			rng := envs.NewRand(3, uint64(batch))
			spec := policy.ActorCriticSpec{ObsDim: 5, NumActions: 3, Model: policy.ModelConfig{Hidden: []int{16, 8}, Activation: act}}
			w := spec.Init(rng)
			for i := range w.Tensors { // random biases too, and larger output weights
				for j := range w.Tensors[i].Data {
					w.Tensors[i].Data[j] += float32(rng.NormFloat64() * 0.5)
				}
			}
			x := make([]float32, batch*spec.ObsDim)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 2)
			}

			gr := NewGraph(w)
			in := gr.Input("obs", batch, spec.ObsDim)
			copy(in.Data, x)
			var outs []*Output
			var sum *gorgonia.Node
			for _, m := range []policy.MLP{spec.Actor(), spec.Critic()} {
				y, err := gr.MLP(m, in.Node)
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, gr.Read(m.Name, y))
				s := gorgonia.Must(gorgonia.Sum(y))
				if sum == nil {
					sum = s
				} else {
					sum = gorgonia.Must(gorgonia.Add(sum, s))
				}
			}
			l, err := New(Config{}, gr, sum)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Forward(); err != nil {
				t.Fatal(err)
			}
			for k, m := range []policy.MLP{spec.Actor(), spec.Critic()} {
				f, err := policy.NewForward(m, w)
				if err != nil {
					t.Fatal(err)
				}
				want := f.Run(x, batch)
				got := outs[k].Values()
				if len(got) != len(want) {
					t.Fatalf("%s %s batch %d: graph gives %d values; want %d", act, m.Name, batch, len(got), len(want))
				}
				var maxDiff float64
				for i := range got {
					maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
				}
				if maxDiff > 1e-5 {
					t.Errorf("%s %s batch %d: max |graph - pure Go| = %g; want <= 1e-5", act, m.Name, batch, maxDiff)
				}
			}
			l.Close()
		}
	}
}
