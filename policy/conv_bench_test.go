package policy

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// ConvFLOPs is the number of floating-point operations (a multiply-add
// counts 2) of one forward pass of torso then head over batch inputs.
func convFLOPs(torso Conv, head MLP, batch int) float64 {
	var f float64
	for i, l := range torso.Layers {
		g := torso.geom(i)
		f += 2 * float64(g.Positions()*g.Patch()*l.Filters)
	}
	for i := 0; i < head.Layers(); i++ {
		f += 2 * float64(head.Sizes[i]*head.Sizes[i+1])
	}
	return f * float64(batch)
}

// benchSpecs are the networks of issue 15's cost table: MinAtar's (10×10×4
// frames, 16 3×3 filters, 128 hidden, 6 actions) and nature_cnn on
// 84×84×4 frames.
var benchSpecs = []struct {
	name string
	spec ActorCriticSpec
}{
	{"minatar", ActorCriticSpec{ObsDim: 400, ObsShape: []int{10, 10, 4}, NumActions: 6, Model: minatarModel}},
	{"nature_cnn", ActorCriticSpec{ObsDim: 84 * 84 * 4, ObsShape: []int{84, 84, 4}, NumActions: 6, Model: ModelConfig{Preset: NatureCNN}}},
}

// BenchmarkConvForward measures one network's pure-Go forward pass (the
// actor: conv torso, hidden layer, logits) as a worker or policy.Load
// runs it, and reports its arithmetic rate (GFLOP/s; one Zen 3 core's
// float32 FMA peak is 32 FLOP/cycle, ~78 GFLOP/s at 2.45 GHz).
func BenchmarkConvForward(b *testing.B) {
	for _, s := range benchSpecs {
		rng := rand.New(rand.NewPCG(1, 2))
		w := &Weights{}
		s.spec.ActorConv().Init(w, rng)
		actor := s.spec.Actor()
		for i := 0; i < actor.Layers(); i++ { // random weights: Orthogonal's QR of 3136×512 takes seconds
			in, out := actor.Sizes[i], actor.Sizes[i+1]
			data := make([]float32, in*out)
			for j := range data {
				data[j] = float32(rng.NormFloat64() * 0.05)
			}
			w.Tensors = append(w.Tensors, Tensor{Name: actor.WeightName(i), Shape: []int{in, out}, Data: data},
				Tensor{Name: actor.BiasName(i), Shape: []int{out}, Data: make([]float32, out)})
		}
		conv, err := NewConvForward(s.spec.ActorConv(), w)
		if err != nil {
			b.Fatal(err)
		}
		mlp, err := NewForward(actor, w)
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 32, 64} {
			b.Run(fmt.Sprintf("%s/batch=%d", s.name, batch), func(b *testing.B) {
				x := make([]float32, batch*s.spec.ObsDim)
				for i := range x {
					x[i] = float32(rng.IntN(2))
				}
				mlp.Run(conv.Run(x, batch), batch)
				b.ReportAllocs()
				cpu := processCPUSeconds()
				for b.Loop() {
					mlp.Run(conv.Run(x, batch), batch)
				}
				reportCost(b, convFLOPs(s.spec.ActorConv(), actor, batch), processCPUSeconds()-cpu)
			})
		}
	}
}

// reportCost reports a benchmark's FLOPs per op, and its rate per wall
// second and per CPU second (cpu: the process's CPU seconds over the
// loop, negative when unknown).
func reportCost(b *testing.B, flops, cpu float64) {
	b.ReportMetric(flops, "FLOP/op")
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(cpu/float64(b.N)*1e9, "cpu-ns/op")
		b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
	}
}
