package ppo

import (
	"context"
	"math"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// lastBatches is a rollout.Fleet that keeps the batches of the last
// Sample (valid until the next one) for the test to read.
type lastBatches struct {
	rollout.Fleet
	batches []*rollout.SampleBatch
}

func (f *lastBatches) Sample(ctx context.Context) ([]*rollout.SampleBatch, error) {
	b, err := f.Fleet.Sample(ctx)
	f.batches = b
	return b, err
}

// gaeBySum is GAE written as its definition, a sum rather than the
// reversed recursion of gae: A_t = Σ_{l≥0} (γλ)^l·δ_{t+l}, the sum
// stopping after the step that ends the episode or the fragment, with
// δ_t = r_t + γ·V_next − V(s_t) and V_next the value of s_{t+1}, of the
// final observation after a truncation, 0 after a termination, and
// LastValues after the fragment's last step (Schulman et al. 2016,
// eq. 16; Pardo et al. 2018 for truncation).
func gaeBySum(b *rollout.SampleBatch, gamma, lambda float64) []float64 {
	T, N := b.Steps, b.NumEnvs
	delta := make([]float64, T*N)
	for t := 0; t < T; t++ {
		for i := 0; i < N; i++ {
			k := t*N + i
			next := 0.0
			switch {
			case b.Terminated[k]:
			case b.Truncated[k]:
				next = float64(b.BootstrapValues[k])
			case t == T-1:
				next = float64(b.LastValues[i])
			default:
				next = float64(b.Values[k+N])
			}
			delta[k] = float64(b.Rewards[k]) + gamma*next - float64(b.Values[k])
		}
	}
	adv := make([]float64, T*N)
	for t := 0; t < T; t++ {
		for i := 0; i < N; i++ {
			w := 1.0
			for u := t; u < T; u++ {
				k := u*N + i
				adv[t*N+i] += w * delta[k]
				if b.Terminated[k] || b.Truncated[k] {
					break
				}
				w *= gamma * lambda
			}
		}
	}
	return adv
}

// TestTrainBatchFromFragments runs real PPO iterations on a short
// time limit (so episodes are truncated as well as terminated) and checks
// the flattened train batch against the sampled fragments: advantages
// from gaeBySum, returns = advantages + values, observations, actions,
// log-probabilities and values in batch order, and a minibatch's
// advantages normalised to mean 0 and standard deviation 1.
func TestTrainBatchFromFragments(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Gamma, cfg.Lambda = 0.9, 0.8
	rec := &lastBatches{}
	s := algorithms.Setup{EnvID: "CartPole-v1", EnvOptions: map[string]any{"max_episode_steps": 20.0}, Seed: 5, Device: "cpu",
		Model: policy.DefaultModelConfig(), Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 64}}
	s.NewFleet = func(fs rollout.FleetSpec, w *policy.Weights) (rollout.Fleet, error) {
		f, err := rollout.NewLocalFleet(s.Rollout, s.WorkerSpec(), func() (rollout.Policy, error) { return rollout.NewPolicy(fs.Policy, w) })
		rec.Fleet = f
		return rec, err
	}
	p, err := New(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var truncated, terminated int
	for it := 0; it < 3; it++ {
		if _, err := p.Train(context.Background()); err != nil {
			t.Fatal(err)
		}
		off := 0
		for _, b := range rec.batches {
			want := gaeBySum(b, cfg.Gamma, cfg.Lambda)
			for k := 0; k < b.Len(); k++ {
				j := off + k
				if math.Abs(float64(p.bAdvantages[j])-want[k]) > 1e-4*math.Max(1, math.Abs(want[k])) {
					t.Fatalf("iteration %d, worker %d, row %d: advantage %v; want %v", it+1, b.WorkerIndex, k, p.bAdvantages[j], want[k])
				}
				if r := float64(b.Values[k]) + want[k]; math.Abs(float64(p.bReturn[j])-r) > 1e-4*math.Max(1, math.Abs(r)) {
					t.Fatalf("iteration %d, worker %d, row %d: return %v; want advantage + value = %v", it+1, b.WorkerIndex, k, p.bReturn[j], r)
				}
				if p.bActions[j] != b.Actions[k] || p.bLogProbs[j] != b.LogProbs[k] || p.bValues[j] != b.Values[k] || p.bObs[j*4] != b.Obs[k*4] {
					t.Fatalf("iteration %d, worker %d, row %d: train batch row differs from the fragment's", it+1, b.WorkerIndex, k)
				}
				if b.Truncated[k] && !b.Terminated[k] {
					truncated++
				}
				if b.Terminated[k] {
					terminated++
				}
			}
			off += b.Len()
		}
		if off != len(p.bAdvantages) {
			t.Fatalf("fragments hold %d steps; train batch %d", off, len(p.bAdvantages))
		}
	}
	if truncated == 0 || terminated == 0 {
		t.Fatalf("%d truncated and %d terminated episodes: want both, or the bootstraps are untested", truncated, terminated)
	}

	// A minibatch as the update loads it: advantages normalised with the
	// unbiased standard deviation (torch.std, detail 7).
	idx := []int{3, 1, 4, 15, 9, 26, 5, 35}
	mb := p.loss.advantages.Data
	p.loadMinibatch(append(idx, make([]int, len(mb)-len(idx))...))
	var mean, ss float64
	for _, v := range mb {
		mean += float64(v)
	}
	mean /= float64(len(mb))
	for _, v := range mb {
		ss += (float64(v) - mean) * (float64(v) - mean)
	}
	if std := math.Sqrt(ss / float64(len(mb)-1)); math.Abs(mean) > 1e-4 || math.Abs(std-1) > 1e-3 {
		t.Errorf("normalised minibatch advantages: mean %v, std %v; want 0 and 1", mean, std)
	}
	for j, k := range idx {
		if p.loss.returns.Data[j] != p.bReturn[k] || p.loss.oldLogProbs.Data[j] != p.bLogProbs[k] || p.loss.oldValues.Data[j] != p.bValues[k] {
			t.Errorf("minibatch row %d: not train batch row %d", j, k)
		}
		if p.loss.actionsOneHot.Data[j*2+int(p.bActions[k])] != 1 || p.loss.actionsOneHot.Data[j*2+1-int(p.bActions[k])] != 0 {
			t.Errorf("minibatch row %d: one-hot action %v; want action %d", j, p.loss.actionsOneHot.Data[j*2:j*2+2], p.bActions[k])
		}
	}
}
