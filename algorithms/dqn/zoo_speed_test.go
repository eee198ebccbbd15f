package dqn

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/internal/kernels"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// The speed goal: 50,000 env steps of CartPole-v1 at
// rl-baselines3-zoo's DQN settings (hyperparams/dqn.yml) against
// Stable-Baselines3's 52–62 s on this machine class. Run both builds:
//
//	RLGO_LONG=1 go test ./algorithms/dqn -run TestLongZooSpeed -v
//	RLGO_LONG=1 go test -tags openblas ./algorithms/dqn -run TestLongZooSpeed -v
//	go test [-tags openblas] ./algorithms/dqn -run '^$' -bench ZooGradientStep -count 10

// zooVanillaConfig is the zoo's CartPole-v1 DQN exactly as SB3 runs it:
// vanilla DQN (no double Q-learning, no dueling head, 1-step returns),
// lr 2.3e-3, batch 64, buffer 100k, learning_starts 1000, γ 0.99,
// target_update_interval 10 (hard copies), train_freq 256,
// gradient_steps 128, exploration_fraction 0.16 of 50k steps (8,000)
// down to 0.04, net_arch [256, 256] with ReLU (SB3's default
// activation) initialised as torch.nn.Linear's defaults (SB3's QNetwork
// does not re-initialise its layers; rlgo's orthogonal init cost ~70 of
// the final return, docs/dqn.md), SB3's Huber (smooth L1) loss and
// max_grad_norm 10, and one env. Fragments of 50 steps make the 50,000 steps exactly 1,000
// iterations; the fleet acts with weights at most 50 steps old where SB3
// acts with the current ones.
func zooVanillaConfig(seed uint64) (Config, algorithms.Setup) {
	cfg := DefaultConfig()
	cfg.LR, cfg.Gamma, cfg.BufferSize, cfg.BatchSize = 2.3e-3, 0.99, 100000, 64
	cfg.LearningStarts, cfg.TrainFreq, cfg.GradientSteps = 1000, 256, 128
	cfg.TargetUpdateInterval, cfg.Tau = 10, 1
	cfg.Epsilon = 1
	cfg.EpsilonSchedule.Final, cfg.EpsilonSchedule.Steps = 0.04, 8000
	cfg.Double, cfg.Dueling, cfg.NStep = false, false, 1
	cfg.Loss, cfg.HuberDelta, cfg.MaxGradNorm = "huber", 1, 10
	return cfg, algorithms.Setup{EnvID: "CartPole-v1", Seed: seed, Device: "cpu",
		Model:   policy.ModelConfig{Hidden: []int{256, 256}, Activation: policy.ReLU, Init: policy.InitTorchDefault},
		Rollout: rollout.Config{Workers: 1, EnvsPerWorker: 1, FragmentLength: 50}}
}

// gemmFlops is the floating-point operations (2 per multiply-add) of
// the matrix products in one gradient step on a minibatch of m: the
// online network's forward, its backward (every layer's weight gradient,
// and the input gradient of every layer whose input is not the
// observation), and the forward passes on the next observations (the
// target network, and the online network too with double Q-learning).
// The element-wise work (activations, loss, Adam) is left out: it is
// O(parameters), not O(parameters·m).
func gemmFlops(spec policy.QSpec, m int, double bool) float64 {
	var fwd, dx float64
	layers := func(sizes []int, firstTakesObs bool) {
		for i := 0; i+1 < len(sizes); i++ {
			f := 2 * float64(m) * float64(sizes[i]) * float64(sizes[i+1])
			fwd += f
			if i > 0 || !firstTakesObs {
				dx += f
			}
		}
	}
	if spec.Dueling {
		torso := spec.Torso().Sizes
		layers(torso, true)
		obsIn := len(torso) == 1 // no torso layers: the streams read the observation
		layers(spec.Value().Sizes, obsIn)
		layers(spec.Advantage().Sizes, obsIn)
	} else {
		layers(spec.Plain().Sizes, true)
	}
	passes := 2.0 // online forward + target forward
	if double {
		passes++
	}
	return passes*fwd + fwd + dx // + weight gradients (as many as the forward) + input gradients
}

// BenchmarkZooGradientStep measures one gradient step (sample, TD
// targets, forward, backward, Adam) at the zoo's settings, vanilla (what
// SB3 runs) and with zooConfig's double Q-learning, dueling head and
// 3-step returns, and reports learner updates/s and the products'
// GFLOP/s.
func BenchmarkZooGradientStep(b *testing.B) {
	b.Logf("gemm backend %s, gorgonia BLAS %s", kernels.GemmBackend, learner.BLAS)
	for _, c := range []struct {
		name string
		cfg  func(uint64) (Config, algorithms.Setup)
	}{{"vanilla", zooVanillaConfig}, {"double-dueling-3step", zooConfig}} {
		b.Run(c.name, func(b *testing.B) {
			cfg, setup := c.cfg(1)
			d := collected(b, cfg, setup, 2000)
			defer d.Close()
			var st stepStats
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if err := d.gradientStep(1e-4, 0.4, &st); err != nil {
					b.Fatal(err)
				}
			}
			s, cpu := b.Elapsed().Seconds(), (cpuTime() - cpu0).Seconds()
			flops := gemmFlops(d.spec, cfg.BatchSize, cfg.Double) * float64(b.N)
			b.ReportMetric(float64(b.N)/s, "updates/s")
			b.ReportMetric(flops/s/1e9, "GFLOP/s")
			b.ReportMetric(1e3*cpu/float64(b.N), "cpu-ms/op")
			b.ReportMetric(flops/cpu/1e9, "cpu-GFLOP/s")
		})
	}
}

// TestGemmFlops checks gemmFlops on the zoo network by hand:
// [4→256→256→2] on 64 rows is 2·64·67,072 = 8,585,216 per forward pass.
func TestGemmFlops(t *testing.T) {
	spec := policy.QSpec{ObsDim: 4, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{256, 256}, Activation: policy.ReLU}}
	fwd := 2.0 * 64 * (4*256 + 256*256 + 256*2)
	dx := 2.0 * 64 * (256*256 + 256*2)
	if got, want := gemmFlops(spec, 64, false), 3*fwd+dx; got != want {
		t.Errorf("vanilla: gemmFlops = %v; want %v", got, want)
	}
	if got, want := gemmFlops(spec, 64, true), 4*fwd+dx; got != want {
		t.Errorf("double: gemmFlops = %v; want %v", got, want)
	}
	spec.Dueling = true // torso 4→256, streams 256→256→1 and 256→256→2
	fwd = 2.0 * 64 * (4*256 + 256*256 + 256 + 256*256 + 256*2)
	dx = 2.0 * 64 * (256*256 + 256 + 256*256 + 256*2) // the torso's first layer reads obs
	if got, want := gemmFlops(spec, 64, false), 3*fwd+dx; got != want {
		t.Errorf("dueling: gemmFlops = %v; want %v", got, want)
	}
}

// TestLongZooSpeed runs the speed measurement (long suite,
// RLGO_LONG=1): 50,000 env steps at the zoo's vanilla settings, logging
// the wall time, learner updates/s, the products' GFLOP/s and the load.
// It asserts no time (the machine is shared); docs/benchmarks.md has the
// numbers and the comparison with SB3's 52–62 s.
func TestLongZooSpeed(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	const steps = 50000
	cfg, setup := zooVanillaConfig(1)
	t.Logf("gemm backend %s, gorgonia BLAS %s, load before: %s", kernels.GemmBackend, learner.BLAS, loadavg())
	start, cpu0 := time.Now(), cpuTime()
	d, err := New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var r algorithms.Result
	var updates float64
	var learn, sample float64
	for r.EnvSteps < steps {
		if r, err = d.Train(context.Background()); err != nil {
			t.Fatal(err)
		}
		updates += r.Learner[6].Value
		learn += r.LearnTimeS
		sample += r.SampleTimeS
	}
	wall, cpu := time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds()
	if r.EnvSteps != steps {
		t.Errorf("ran %d env steps; want exactly %d", r.EnvSteps, steps)
	}
	flops := gemmFlops(d.spec, cfg.BatchSize, cfg.Double)
	t.Logf("%d env steps in %.1f s wall, %.1f s process CPU (learn %.1f s, sample %.1f s); %d gradient steps, %.3f ms each, %.0f updates/s, %.1f GFLOP/s in the products (%.1f MFLOP a step); episode_return_mean %.1f; load after: %s",
		r.EnvSteps, wall, cpu, learn, sample, int(updates), 1e3*learn/updates, updates/learn, flops*updates/learn/1e9, flops/1e6, r.EpisodeReturnMean, loadavg())
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine a steadier measure of the work than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadavg is /proc/loadavg's 1, 5 and 15-minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
