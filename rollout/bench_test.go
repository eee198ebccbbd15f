package rollout

import (
	"context"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/policy"
)

// cartPoleFragment is one fragment of configs/cartpole-ppo.yaml: a real
// CartPole-v1 worker (2 envs × 128 steps) acting with the config's
// 64-64 tanh policy, as a remote worker uploads it.
func cartPoleFragment(b *testing.B) *SampleBatch {
	b.Helper()
	spec := policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{64, 64}, Activation: policy.Tanh}}
	w := spec.Init(envs.NewRand(1, 2))
	w.Version = 7
	p, err := policy.NewActorCritic(spec, w)
	if err != nil {
		b.Fatal(err)
	}
	wk, err := NewWorker(0, Config{Workers: 1, EnvsPerWorker: 2, FragmentLength: 128}, WorkerSpec{EnvID: "CartPole-v1", Seed: 1}, p)
	if err != nil {
		b.Fatal(err)
	}
	defer wk.Close()
	batch, err := wk.Sample(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return batch
}

// BenchmarkSampleBatchEncode is a worker encoding one CartPole fragment
// for upload (msgpack). SetBytes is the encoded size, so MB/s is the
// msgpack output rate.
func BenchmarkSampleBatchEncode(b *testing.B) {
	batch := cartPoleFragment(b)
	data, err := batch.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := batch.Encode(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch.Len()*b.N)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkSampleBatchDecode is the learner decoding one uploaded
// fragment with UnmarshalSampleBatch: the header walk, msgpack and
// Validate.
func BenchmarkSampleBatchDecode(b *testing.B) {
	batch := cartPoleFragment(b)
	data, err := batch.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalSampleBatch(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch.Len()*b.N)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkSampleBatchWalk is the header walk alone (wire.Validate): the
// length checks UnmarshalSampleBatch runs before msgpack sees the bytes.
func BenchmarkSampleBatchWalk(b *testing.B) {
	batch := cartPoleFragment(b)
	data, err := batch.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := wire.Validate(data, wire.DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWorkerSample is one CartPole fragment of configs/cartpole-ppo.yaml
// (2 envs × 128 steps, 64-64 tanh policy) sampled into a new batch
// (Worker.Sample) or refilled into the last one (SampleInto, as the
// fleets do), with every column, PPO's or DQN's.
func BenchmarkWorkerSample(b *testing.B) {
	spec := policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{64, 64}, Activation: policy.Tanh}}
	for _, tc := range []struct {
		name  string
		cols  Columns
		reuse bool
	}{
		{"all/new", 0, false},
		{"all/reuse", 0, true},
		{"ppo/reuse", ColLogProbs | ColValues | ColBootstrapValues | ColLastValues, true},
		{"dqn/reuse", ColFinalObs | ColLastObs, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := spec.Init(envs.NewRand(1, 2))
			p, err := policy.NewActorCritic(spec, w)
			if err != nil {
				b.Fatal(err)
			}
			wk, err := NewWorker(0, Config{Workers: 1, EnvsPerWorker: 2, FragmentLength: 128}, WorkerSpec{EnvID: "CartPole-v1", Seed: 1, Columns: tc.cols}, p)
			if err != nil {
				b.Fatal(err)
			}
			defer wk.Close()
			var batch SampleBatch
			b.ReportAllocs()
			for b.Loop() {
				if !tc.reuse {
					batch = SampleBatch{}
				}
				if err := wk.SampleInto(context.Background(), &batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch.Len()*b.N)/b.Elapsed().Seconds(), "steps/s")
		})
	}
}
