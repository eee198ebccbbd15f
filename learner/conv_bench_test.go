package learner

import (
	"fmt"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// trainFLOPs counts one training step's arithmetic for torso then head
// on batch inputs (a multiply-add is 2): the forward pass F, the filter
// and weight gradients (F again) and the input gradients of every layer
// but the first (F less the first layer's share). Adam's few operations
// per parameter are left out.
func trainFLOPs(torso policy.Conv, head policy.MLP, batch int) float64 {
	var layers []float64
	for i, l := range torso.Layers {
		s := torso.Shape(i)
		o := torso.Shape(i + 1)
		layers = append(layers, 2*float64(o[0]*o[1]*l.Kernel*l.Kernel*s[2]*l.Filters))
	}
	for i := 0; i < head.Layers(); i++ {
		layers = append(layers, 2*float64(head.Sizes[i]*head.Sizes[i+1]))
	}
	var f float64
	for _, l := range layers {
		f += 3 * l
	}
	return (f - layers[0]) * float64(batch)
}

// BenchmarkConvLearnerStep measures one learner step (forward, backward,
// global-norm clipping and Adam) of a conv actor-critic as PPO builds it
// (ActorConv+Actor and CriticConv+Critic, separate torsos) under a
// linear loss Σ R⊙logits + Σ R⊙V, on MinAtar's network and on
// nature_cnn with 84×84×4 frames.
func BenchmarkConvLearnerStep(b *testing.B) {
	minatar := policy.ModelConfig{Conv: []policy.ConvLayer{{Filters: 16, Kernel: 3, Stride: 1}}, Hidden: []int{128}, Activation: policy.ReLU}
	for _, c := range []struct {
		name  string
		spec  policy.ActorCriticSpec
		batch int
	}{
		{"minatar", policy.ActorCriticSpec{ObsDim: 400, ObsShape: []int{10, 10, 4}, NumActions: 6, Model: minatar}, 64},
		{"minatar", policy.ActorCriticSpec{ObsDim: 400, ObsShape: []int{10, 10, 4}, NumActions: 6, Model: minatar}, 1024},
		{"nature_cnn", policy.ActorCriticSpec{ObsDim: 84 * 84 * 4, ObsShape: []int{84, 84, 4}, NumActions: 6, Model: policy.ModelConfig{Preset: policy.NatureCNN}}, 32},
	} {
		b.Run(fmt.Sprintf("%s/batch=%d", c.name, c.batch), func(b *testing.B) {
			rng := envs.NewRand(1, 0)
			gr := NewGraph(c.spec.Init(rng))
			obs := gr.Input("obs", c.batch, c.spec.ObsDim)
			for i := range obs.Data {
				obs.Data[i] = float32(rng.IntN(2))
			}
			var terms []*gorgonia.Node
			for _, net := range []struct {
				torso policy.Conv
				head  policy.MLP
			}{{c.spec.ActorConv(), c.spec.Actor()}, {c.spec.CriticConv(), c.spec.Critic()}} {
				y, err := gr.Network(net.torso, net.head, obs.Node)
				if err != nil {
					b.Fatal(err)
				}
				r := gr.Input("r_"+net.head.Name, c.batch, net.head.Sizes[len(net.head.Sizes)-1])
				for i := range r.Data {
					r.Data[i] = float32(rng.NormFloat64()) / float32(c.batch)
				}
				term, err := Scalar("linear_"+net.head.Name, linearLoss, 0, y, r.Node)
				if err != nil {
					b.Fatal(err)
				}
				terms = append(terms, term)
			}
			l, err := New(Config{Adam: AdamConfig{MaxGradNorm: 0.5}}, gr, gorgonia.Must(gorgonia.Add(terms[0], terms[1])))
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			if _, err := l.Step(1e-4); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := processCPUSeconds()
			for b.Loop() {
				if _, err := l.Step(1e-4); err != nil {
					b.Fatal(err)
				}
			}
			cpu = processCPUSeconds() - cpu
			flops := trainFLOPs(c.spec.ActorConv(), c.spec.Actor(), c.batch) + trainFLOPs(c.spec.CriticConv(), c.spec.Critic(), c.batch)
			b.ReportMetric(flops, "FLOP/op")
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if cpu > 0 {
				b.ReportMetric(cpu/float64(b.N)*1e9, "cpu-ns/op")
				b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
			}
		})
	}
}

// linearLoss is Σ y⊙r over in = (y, r), with gradient r.
func linearLoss(in [][]float32, grad []float32) float32 {
	y, r := in[0], in[1]
	if grad != nil {
		copy(grad, r[:len(y)])
	}
	var s float32
	for i, v := range y {
		s += v * r[i]
	}
	return s
}
