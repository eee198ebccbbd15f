package remote

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rlgo/rlgo/algorithms"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/algorithms/ppo"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// pendulumRun is a small Pendulum-v1 run with observation and reward
// normalisation: 2 fragments of 2 envs × 32 steps per iteration.
func pendulumRun() Run {
	return Run{
		EnvID: "Pendulum-v1",
		Wrappers: []envs.WrapperSpec{
			{Name: envs.WrapNormalizeObservation, Options: envs.Options{"clip": 5}},
			{Name: envs.WrapNormalizeReward, Options: envs.Options{"gamma": 0.9, "clip": 10}},
		},
		Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 32},
		Seed:    5,
	}
}

// batchRecorder is a fleet that keeps the batches of the last Sample.
type batchRecorder struct {
	rollout.Fleet
	mu      sync.Mutex
	batches [][]*rollout.SampleBatch
}

func (r *batchRecorder) Sample(ctx context.Context) ([]*rollout.SampleBatch, error) {
	b, err := r.Fleet.Sample(ctx)
	r.mu.Lock()
	r.batches = append(r.batches, b)
	r.mu.Unlock()
	return b, err
}

// TestRemotePPOPendulumWithNormalisation proves that PPO drives a real
// loopback fleet of in-process workers on Pendulum-v1 with
// env.wrappers [normalize_observation, normalize_reward]: every batch is
// accepted with continuous actions and raw observation statistics, and
// the statistics the learner merges and broadcasts grow by each
// iteration's steps.
func TestRemotePPOPendulumWithNormalisation(t *testing.T) {
	run := pendulumRun()
	cfg := fastConfig()
	cfg.MinWorkers = 2
	s := startBuf(t, cfg, run)
	var rec *batchRecorder
	pcfg := ppo.DefaultConfig()
	pcfg.Epochs, pcfg.Minibatches = 2, 2
	p, err := ppo.New(pcfg, algorithms.Setup{
		EnvID: run.EnvID, Wrappers: run.Wrappers, Seed: run.Seed,
		Model:   policy.ModelConfig{Hidden: []int{16}, Activation: policy.Tanh},
		Rollout: run.Rollout, Device: "cpu",
		NewFleet: func(spec rollout.FleetSpec, w *policy.Weights) (rollout.Fleet, error) {
			if spec.Policy.ActionDim() != 1 || spec.Policy.ObsDim() != 3 {
				t.Errorf("fleet spec %+v; want 3 observations and 1 continuous action", spec.Policy)
			}
			if w.ObsNorm == nil || w.ObsNorm.Clip != 5 || w.ObsNorm.Count != 0 {
				t.Errorf("initial weights' ObsNorm = %+v; want empty statistics with clip 5", w.ObsNorm)
			}
			f, err := s.NewFleet(spec, w)
			rec = &batchRecorder{Fleet: f}
			return rec, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, stop := startWorkers(t, s, 2, WorkerConfig{})
	defer stop()

	steps := float64(run.Rollout.StepsPerIteration())
	const iterations = 3
	checked := 0 // batches whose normalisation was checked
	for it := 1; it <= iterations; it++ {
		actedWith := p.Weights().ObsNorm.Clone() // what this iteration's workers normalise with
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := p.Train(ctx)
		cancel()
		if err != nil {
			t.Fatalf("iteration %d: %v", it, err)
		}
		if res.EnvSteps != int64(it)*int64(steps) {
			t.Errorf("iteration %d: %d env steps, want %d", it, res.EnvSteps, int64(it)*int64(steps))
		}
		norm := p.Weights().ObsNorm
		if norm == nil || norm.Count != float64(it)*steps {
			t.Fatalf("iteration %d: learner's ObsNorm = %+v; want count %v", it, norm, float64(it)*steps)
		}
		if err := norm.Validate(3); err != nil {
			t.Errorf("iteration %d: merged statistics: %v", it, err)
		}
		batches := rec.batches[len(rec.batches)-1]
		if len(batches) != run.Rollout.Workers {
			t.Fatalf("iteration %d: %d batches, want %d", it, len(batches), run.Rollout.Workers)
		}
		for _, b := range batches {
			if b.ActionDim != 1 || len(b.Actions) != 0 || len(b.ContinuousActions) != b.Len() {
				t.Errorf("iteration %d: batch %s: action_dim %d, %d discrete, %d continuous actions", it, b.ID, b.ActionDim, len(b.Actions), len(b.ContinuousActions))
			}
			if b.ObsStats == nil || b.ObsStats.Count != float64(b.Len()) {
				t.Errorf("iteration %d: batch %s: ObsStats %+v; want the raw statistics of %d observations", it, b.ID, b.ObsStats, b.Len())
				continue
			}
			// Raw Pendulum observations: cos θ and sin θ in [-1, 1], so
			// their variance is at most 1; the normalised ones in Obs are
			// within the clip.
			for j := range 2 {
				if b.ObsStats.Var[j] > 1 || math.Abs(b.ObsStats.Mean[j]) > 1 {
					t.Errorf("iteration %d: batch %s: ObsStats element %d mean %v var %v is not of raw observations", it, b.ID, j, b.ObsStats.Mean[j], b.ObsStats.Var[j])
				}
			}
			clipped := false
			for _, x := range b.Obs {
				if x < -5 || x > 5 {
					t.Fatalf("iteration %d: batch %s: observation %v outside the clip 5", it, b.ID, x)
				}
				clipped = clipped || x == 5 || x == -5
			}
			if clipped {
				continue
			}
			// The workers normalised with the broadcast statistics: the
			// mean of the normalised observations is the raw mean so
			// normalised.
			checked++
			for j := range 3 {
				var m float64
				for k := j; k < len(b.Obs); k += 3 {
					m += float64(b.Obs[k])
				}
				m /= float64(b.Len())
				want := (b.ObsStats.Mean[j] - actedWith.Mean[j]) / math.Sqrt(actedWith.Var[j]+actedWith.Epsilon)
				if math.Abs(m-want) > 1e-4*math.Max(1, math.Abs(want)) {
					t.Errorf("iteration %d: batch %s: element %d: normalised mean %v; raw mean %v normalised with the broadcast statistics is %v", it, b.ID, j, m, b.ObsStats.Mean[j], want)
				}
			}
		}
	}
	if checked < iterations {
		t.Errorf("only %d batches had no clipped observation: the normalisation was hardly checked", checked)
	}
	st := s.Stats()
	// At least one fragment per worker and iteration: a loaded machine can
	// make a slow worker's task go to another worker too.
	if st.Total.Fragments < int64(iterations*run.Rollout.Workers) || st.Total.Rejected != 0 || st.Total.Stale != 0 {
		t.Errorf("fleet counters %+v; want at least %d fragments, none rejected or stale", st.Total, iterations*run.Rollout.Workers)
	}
	if st.Version != uint64(iterations+1) {
		t.Errorf("fleet version %d, want %d", st.Version, iterations+1)
	}
	rec.Close()
	stop()
}

// TestCheckBatchContinuous proves that the learner rejects, as
// InvalidArgument and counted, a batch of a continuous-action run with
// the wrong action size (discrete actions, or 2 per step for 1) or a
// non-finite continuous action or observation statistic, and still
// accepts a good batch for the same task.
func TestCheckBatchContinuous(t *testing.T) {
	run := pendulumRun()
	s := startBuf(t, fastConfig(), run)
	spec := policy.ActorCriticSpec{ObsDim: 3, ActionDim: 1, Model: policy.ModelConfig{Hidden: []int{8}, Activation: policy.Tanh}}
	w := initWeights(spec, 1)
	w.ObsNorm = policy.NewObsNorm(3, 5)
	f, err := s.FleetFor(rollout.FleetSpec{Policy: rollout.ActorCriticPolicy(spec)}, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetWeights(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	fw := newFakeWorker(t, s.conn(t))
	if len(fw.reg.WrappersYAML) == 0 {
		t.Error("RegisterReply carries no wrappers")
	}
	var task string
	good := func() *rollout.SampleBatch {
		b, err := fw.rw.Sample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		edit func(b *rollout.SampleBatch)
		want string
	}{
		{"two action elements for one", func(b *rollout.SampleBatch) {
			b.ActionDim = 2
			b.ContinuousActions = append(b.ContinuousActions, b.ContinuousActions...)
		}, "action_dim 2, want 1"},
		{"discrete actions", func(b *rollout.SampleBatch) {
			b.ActionDim = 0
			b.ContinuousActions = nil
			b.Actions = make([]int32, b.Len())
		}, "action_dim 0, want 1"},
		{"NaN action", func(b *rollout.SampleBatch) { b.ContinuousActions[3] = float32(math.NaN()) }, "non-finite"},
		{"infinite action", func(b *rollout.SampleBatch) { b.ContinuousActions[0] = float32(math.Inf(-1)) }, "non-finite"},
		{"NaN observation statistics", func(b *rollout.SampleBatch) { b.ObsStats.Mean[1] = math.NaN() }, "observation statistics"},
		{"observation statistics of another size", func(b *rollout.SampleBatch) { b.ObsStats = policy.NewObsStats(2) }, "observation statistics"},
	}
	for i, tt := range tests {
		b := good()
		if b.ObsStats == nil || b.ActionDim != 1 {
			t.Fatalf("the worker's batch: ObsStats %v, ActionDim %d; want statistics and 1", b.ObsStats, b.ActionDim)
		}
		tt.edit(b)
		task = fw.task() // a rejected upload's task is taken away
		_, err := fw.upload(task, b)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: UploadBatch = %v; want InvalidArgument containing %q", tt.name, err, tt.want)
		}
		if st := f.Stats(); st.Total.Rejected != int64(i+1) || st.Total.Fragments != 0 {
			t.Errorf("%s: counters %+v; want %d rejected, 0 fragments", tt.name, st.Total, i+1)
		}
	}
	task = fw.task()
	if got, err := fw.upload(task, fw.sample()); err != nil || got != Accepted {
		t.Errorf("UploadBatch(good) = %v, %v; want accepted", got, err)
	}
}

// TestCheckBatchObsStatsMatchTheRun proves that, in a run with
// normalize_observation, the learner rejects a batch without observation
// statistics or with statistics of another number of observations than
// the batch holds: PPO would otherwise fail the whole run on it ("batch
// has no observation statistics") or merge a skewed count.
func TestCheckBatchObsStatsMatchTheRun(t *testing.T) {
	run := pendulumRun()
	s := startBuf(t, fastConfig(), run)
	spec := policy.ActorCriticSpec{ObsDim: 3, ActionDim: 1, Model: policy.ModelConfig{Hidden: []int{8}, Activation: policy.Tanh}}
	w := initWeights(spec, 1)
	w.ObsNorm = policy.NewObsNorm(3, 5)
	f, err := s.FleetFor(rollout.FleetSpec{Policy: rollout.ActorCriticPolicy(spec)}, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetWeights(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	fw := newFakeWorker(t, s.conn(t))
	var task string
	tests := []struct {
		name string
		edit func(b *rollout.SampleBatch)
	}{
		{"no statistics", func(b *rollout.SampleBatch) { b.ObsStats = nil }},
		{"count above the batch's observations", func(b *rollout.SampleBatch) { b.ObsStats.Count = 1e12 }},
		{"count below the batch's observations", func(b *rollout.SampleBatch) { b.ObsStats.Count = 1 }},
	}
	for _, tt := range tests {
		b, err := fw.rw.Sample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tt.edit(b)
		task = fw.task() // a rejected upload's task is taken away
		if got, err := fw.upload(task, b); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: UploadBatch = %v, %v; want InvalidArgument", tt.name, got, err)
		}
	}
	task = fw.task()
	if got, err := fw.upload(task, fw.sample()); err != nil || got != Accepted {
		t.Errorf("UploadBatch(good) = %v, %v; want accepted", got, err)
	}
}
