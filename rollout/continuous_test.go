package rollout

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/policy"
)

// Test envs of this file.
const (
	// recordPendulumID is Pendulum-v1 (200-step limit) that records the
	// actions it is stepped with.
	recordPendulumID = "rlgo-test/RecordingPendulum-v0"
	// boxScriptID is contBoxEnv: Box(2) observations, a Box action space
	// with bounds [-1, 1] × [0, 3], episodes of k steps (option k, default
	// 4) and info values for custom metrics.
	boxScriptID = "rlgo-test/BoxScript-v0"
)

func init() {
	envs.MustRegister(envs.Spec{ID: recordPendulumID, MaxEpisodeSteps: 200, New: func(opts envs.Options) (envs.Env, error) {
		p, err := classic.NewPendulum(opts)
		if err != nil {
			return nil, err
		}
		return &recordEnv{Env: p}, nil
	}})
	envs.MustRegister(envs.Spec{ID: boxScriptID, New: func(opts envs.Options) (envs.Env, error) {
		k, err := envs.FloatOption(opts, "k", 4)
		if err != nil {
			return nil, err
		}
		return &contBoxEnv{k: int(k)}, nil
	}})
}

// recordEnv records the continuous actions it is stepped with.
type recordEnv struct {
	envs.Env
	actions [][]float32
}

func (r *recordEnv) Step(a envs.Action) (envs.StepResult, error) {
	r.actions = append(r.actions, slices.Clone(a.Continuous))
	return r.Env.Step(a)
}

// contBoxEnv is a deterministic env with a Box action space. After step t
// of an episode its observation is (t, episode), and its info holds
// "hit": float64(t), "even": t%2 == 0 (a bool), "odd": float64(t) on odd
// steps only, and nothing under any other key. It terminates at step k,
// records its actions, and can snapshot.
type contBoxEnv struct {
	k           int
	t, episode  int
	actions     [][]float32
	obs         [2]float32
	actionSpace *envs.Box
}

func (e *contBoxEnv) ObservationSpace() envs.Space { return envs.UniformBox(2, -1000, 1000) }
func (e *contBoxEnv) ActionSpace() envs.Space {
	if e.actionSpace == nil {
		e.actionSpace = envs.NewBox([]float32{-1, 0}, []float32{1, 3})
	}
	return e.actionSpace
}
func (e *contBoxEnv) Close() error { return nil }

func (e *contBoxEnv) observe() []float32 {
	e.obs = [2]float32{float32(e.t), float32(e.episode)}
	return e.obs[:]
}

func (e *contBoxEnv) Reset(*uint64) ([]float32, envs.Info, error) {
	e.t = 0
	e.episode++
	return e.observe(), nil, nil
}

func (e *contBoxEnv) Step(a envs.Action) (envs.StepResult, error) {
	e.actions = append(e.actions, slices.Clone(a.Continuous))
	e.t++
	info := envs.Info{"hit": float64(e.t), "even": e.t%2 == 0}
	if e.t%2 == 1 {
		info["odd"] = float64(e.t)
	}
	return envs.StepResult{Obs: e.observe(), Reward: 1, Terminated: e.t >= e.k, Info: info}, nil
}

func (e *contBoxEnv) Snapshot() ([]byte, error) {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, uint64(e.t)), uint64(e.episode)), nil
}

func (e *contBoxEnv) Restore(b []byte) error {
	if len(b) != 16 {
		return errors.New("contBoxEnv: bad snapshot")
	}
	e.t, e.episode = int(binary.LittleEndian.Uint64(b)), int(binary.LittleEndian.Uint64(b[8:]))
	return nil
}

// stubContPolicy is a ContinuousPolicy whose actions do not depend on the
// observations: step s of row i is script[(s*n+i) % len(script)], the
// same whatever it observes, so that two workers with the same seed step
// their envs alike. It records what it observed; Values is the sum of the
// observation. With norm set it reports observation statistics like
// policy.ActorCritic.
type stubContPolicy struct {
	dim    int // action size
	script []float32
	norm   *policy.ObsNorm
	calls  int
	acted  []float32 // every action it returned
	seen   []float32 // every observation ActContinuous got
}

func (p *stubContPolicy) SetWeights(*policy.Weights) error { return nil }
func (p *stubContPolicy) Version() uint64                  { return 1 }
func (p *stubContPolicy) Act([]float32, int, *rand.Rand, []int, []float32, []float32) {
	panic("stubContPolicy: Act on a Box action space")
}

func (p *stubContPolicy) ActContinuous(obs []float32, n int, rng *rand.Rand, actions, logp, values []float32) {
	p.seen = append(p.seen, obs...)
	for i := range n * p.dim {
		actions[i] = p.script[(p.calls*n*p.dim+i)%len(p.script)]
		rng.Float64() // use the stream as a real policy would
	}
	p.calls++
	p.acted = append(p.acted, actions[:n*p.dim]...)
	for i := range n {
		logp[i] = -float32(i)
	}
	if values != nil {
		p.Values(obs, n, values)
	}
}

func (p *stubContPolicy) Values(obs []float32, n int, dst []float32) {
	d := len(obs) / n
	for i := range n {
		var s float32
		for _, x := range obs[i*d : (i+1)*d] {
			s += x
		}
		dst[i] = s
	}
}

// normedStub is a stubContPolicy that reports ObsNorm() as a policy whose
// weights carry statistics does.
type normedStub struct{ *stubContPolicy }

func (p normedStub) ObsNorm() *policy.ObsNorm { return p.norm }

func sampleOnce(t *testing.T, w *Worker) *SampleBatch {
	t.Helper()
	b, err := w.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatalf("batch does not validate: %v", err)
	}
	return b
}

// TestWorkerClipsContinuousActionsForTheEnv proves that a worker on a Box
// action space stores the actions its ContinuousPolicy sampled, unclipped,
// in ContinuousActions (Actions empty, ActionDim set) while the env is
// stepped with them clipped to each element's bounds.
func TestWorkerClipsContinuousActionsForTheEnv(t *testing.T) {
	tests := []struct {
		name   string
		envID  string
		dim    int
		script []float32
		low    []float32
		high   []float32
		envOf  func(e envs.Env) [][]float32 // the actions the env received
	}{
		{"Pendulum", recordPendulumID, 1, []float32{-5, 1.5, 7, -2, 2.5, 0}, []float32{-2}, []float32{2}, func(e envs.Env) [][]float32 {
			r, _ := envs.Find[*recordEnv](e)
			return r.actions
		}},
		{"two bounded elements", boxScriptID, 2, []float32{-3, -3, 0.5, 0.5, 4, 4, 1, 2.5, -1, 3.5}, []float32{-1, 0}, []float32{1, 3}, func(e envs.Env) [][]float32 {
			r, _ := envs.Find[*contBoxEnv](e)
			return r.actions
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const N, T = 2, 7
			pol := &stubContPolicy{dim: tt.dim, script: tt.script}
			w, err := NewWorker(0, Config{Workers: 1, EnvsPerWorker: N, FragmentLength: T}, WorkerSpec{EnvID: tt.envID, Seed: 3}, pol)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			b := sampleOnce(t, w)
			if b.ActionDim != tt.dim || len(b.Actions) != 0 || len(b.ContinuousActions) != T*N*tt.dim {
				t.Fatalf("ActionDim %d, %d discrete and %d continuous actions; want %d, 0, %d", b.ActionDim, len(b.Actions), len(b.ContinuousActions), tt.dim, T*N*tt.dim)
			}
			if !slices.Equal(b.ContinuousActions, pol.acted) {
				t.Errorf("ContinuousActions = %v\nwant what the policy sampled, unclipped: %v", b.ContinuousActions, pol.acted)
			}
			if b.ObsStats != nil {
				t.Error("ObsStats set without observation statistics in the weights")
			}
			for i := range N {
				got := tt.envOf(w.venv.(*envs.VectorEnv).Env(i))
				if len(got) != T {
					t.Fatalf("env %d was stepped %d times, want %d", i, len(got), T)
				}
				for s, a := range got {
					k := s*N + i
					for j := range tt.dim {
						sampled := b.ContinuousActions[k*tt.dim+j]
						want := min(max(sampled, tt.low[j]), tt.high[j])
						if a[j] != want {
							t.Errorf("env %d step %d element %d: env got %v; sampled %v clipped to [%v, %v] is %v", i, s, j, a[j], sampled, tt.low[j], tt.high[j], want)
						}
					}
				}
			}
			clipped := false
			for k, a := range b.ContinuousActions {
				j := k % tt.dim
				clipped = clipped || a < tt.low[j] || a > tt.high[j]
			}
			if !clipped {
				t.Error("no sampled action was out of bounds: the test proves nothing")
			}
		})
	}
}

// TestWorkerBoxEnvNeedsContinuousPolicy proves that a worker whose env has
// a Box action space and whose policy acts only with discrete actions
// fails at construction with an error saying so.
func TestWorkerBoxEnvNeedsContinuousPolicy(t *testing.T) {
	spec := policy.QSpec{ObsDim: 3, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{4}, Activation: policy.Tanh}}
	q, err := policy.NewEpsilonGreedy(spec, spec.Init(envs.NewRand(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewWorker(5, Config{Workers: 1, EnvsPerWorker: 1, FragmentLength: 4}, WorkerSpec{EnvID: "Pendulum-v1"}, q)
	if err == nil {
		t.Fatal("NewWorker accepted a discrete-only policy for Pendulum-v1")
	}
	for _, want := range []string{"worker 5", "Pendulum-v1", "Box action space", "discrete"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewWorker = %q; want it to contain %q", err, want)
		}
	}
}

// TestWorkerNormalisesObservations proves that a worker whose policy's
// weights carry an ObsNorm gives the policy, and stores in Obs, LastObs
// and FinalObs, the raw observations normalised with it (clip included),
// computes bootstrap and last values on normalised observations, and
// reports in ObsStats the statistics of the raw observations — those an
// un-normalised worker with the same seed records.
func TestWorkerNormalisesObservations(t *testing.T) {
	const N, T = 3, 12
	cfg := Config{Workers: 1, EnvsPerWorker: N, FragmentLength: T}
	// A 5-step limit puts truncations, with their final observations, in the fragment.
	spec := WorkerSpec{EnvID: "Pendulum-v1", EnvOptions: envs.Options{"max_episode_steps": 5}, Seed: 17}
	norm := &policy.ObsNorm{Mean: []float64{0.1, -0.2, 0.5}, Var: []float64{0.5, 0.25, 4}, Count: 50, Clip: 1.5, Epsilon: 1e-8}
	script := []float32{-3, 0.5, 1, 2.5, -0.25}

	rawPol := &stubContPolicy{dim: 1, script: script}
	rawW, err := NewWorker(1, cfg, spec, rawPol)
	if err != nil {
		t.Fatal(err)
	}
	defer rawW.Close()
	normPol := normedStub{&stubContPolicy{dim: 1, script: script, norm: norm}}
	normW, err := NewWorker(1, cfg, spec, normPol)
	if err != nil {
		t.Fatal(err)
	}
	defer normW.Close()

	for frag := range 2 { // the second fragment starts from the first's envs
		raw, got := sampleOnce(t, rawW), sampleOnce(t, normW)
		apply := func(x []float32) []float32 {
			out := make([]float32, len(x))
			norm.Apply(out, x)
			return out
		}
		if raw.ObsStats != nil {
			t.Error("un-normalised worker reported ObsStats")
		}
		if !slices.Equal(got.Rewards, raw.Rewards) || !slices.Equal(got.Truncated, raw.Truncated) {
			t.Fatalf("fragment %d: the two workers' trajectories differ", frag)
		}
		if want := apply(raw.Obs); !slices.Equal(got.Obs, want) {
			t.Errorf("fragment %d: Obs = %v...\nwant the raw observations normalised %v...", frag, got.Obs[:6], want[:6])
		}
		if !slices.Equal(normPol.seen[frag*T*N*3:], got.Obs) {
			t.Errorf("fragment %d: the policy saw other observations than Obs", frag)
		}
		clipped := false
		for _, x := range got.Obs {
			if x < -1.5 || x > 1.5 {
				t.Fatalf("fragment %d: normalised observation %v outside the clip 1.5", frag, x)
			}
			clipped = clipped || x == 1.5 || x == -1.5
		}
		if !clipped {
			t.Errorf("fragment %d: no observation reached the clip: the test does not exercise it", frag)
		}
		if want := apply(raw.LastObs); !slices.Equal(got.LastObs, want) {
			t.Errorf("fragment %d: LastObs = %v, want %v", frag, got.LastObs, want)
		}
		wantLast := make([]float32, N)
		normPol.Values(got.LastObs, N, wantLast)
		if !slices.Equal(got.LastValues, wantLast) {
			t.Errorf("fragment %d: LastValues = %v, want the values of the normalised last observations %v", frag, got.LastValues, wantLast)
		}
		if len(got.FinalObs) == 0 || len(got.FinalObs) != len(raw.FinalObs) {
			t.Fatalf("fragment %d: %d final observations, raw worker %d; want the same, > 0", frag, len(got.FinalObs), len(raw.FinalObs))
		}
		for i, f := range got.FinalObs {
			want := apply(raw.FinalObs[i].Obs)
			if f.Index != raw.FinalObs[i].Index || !slices.Equal(f.Obs, want) {
				t.Errorf("fragment %d: FinalObs[%d] = %d %v, want %d %v", frag, i, f.Index, f.Obs, raw.FinalObs[i].Index, want)
			}
			boot := make([]float32, 1)
			normPol.Values(want, 1, boot)
			if got.BootstrapValues[f.Index] != boot[0] {
				t.Errorf("fragment %d: BootstrapValues[%d] = %v, want V(normalised final obs) = %v", frag, f.Index, got.BootstrapValues[f.Index], boot[0])
			}
		}
		// ObsStats: the raw observations of the fragment, not the normalised ones.
		s := got.ObsStats
		if s == nil {
			t.Fatalf("fragment %d: no ObsStats", frag)
		}
		if s.Count != T*N {
			t.Errorf("fragment %d: ObsStats.Count = %v, want %d", frag, s.Count, T*N)
		}
		for j := range 3 {
			var mean, vr float64
			for k := j; k < len(raw.Obs); k += 3 {
				mean += float64(raw.Obs[k])
			}
			mean /= T * N
			for k := j; k < len(raw.Obs); k += 3 {
				d := float64(raw.Obs[k]) - mean
				vr += d * d
			}
			vr /= T * N
			if math.Abs(s.Mean[j]-mean) > 1e-9 || math.Abs(s.Var[j]-vr) > 1e-9*math.Max(1, vr) {
				t.Errorf("fragment %d: ObsStats element %d = mean %v var %v; raw observations have %v, %v", frag, j, s.Mean[j], s.Var[j], mean, vr)
			}
		}
	}
	// The worker does not change the statistics it was given.
	if norm.Count != 50 || norm.Mean[0] != 0.1 {
		t.Errorf("the worker modified the policy's statistics: %+v", norm)
	}
}

// TestWorkerNormalisesWithActorCritic proves that a real Gaussian
// policy.ActorCritic whose weights carry an ObsNorm drives a worker on
// Pendulum-v1: the batch validates, observations are within the clip,
// ObsStats counts every step, and statistics of the wrong size fail the
// fragment.
func TestWorkerNormalisesWithActorCritic(t *testing.T) {
	spec := policy.ActorCriticSpec{ObsDim: 3, ActionDim: 1, Model: policy.ModelConfig{Hidden: []int{8}, Activation: policy.Tanh}}
	w := spec.Init(envs.NewRand(1, 2))
	w.ObsNorm = policy.NewObsNorm(3, 2)
	w.ObsNorm.Var = []float64{0.01, 0.01, 0.01}
	p, err := policy.NewActorCritic(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	wk, err := NewWorker(0, Config{Workers: 1, EnvsPerWorker: 2, FragmentLength: 16}, WorkerSpec{EnvID: "Pendulum-v1", Seed: 1}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer wk.Close()
	b := sampleOnce(t, wk)
	if b.ObsStats == nil || b.ObsStats.Count != 32 || b.ActionDim != 1 || len(b.ContinuousActions) != 32 {
		t.Fatalf("batch: ObsStats %+v, ActionDim %d, %d continuous actions; want count 32, 1, 32", b.ObsStats, b.ActionDim, len(b.ContinuousActions))
	}
	for _, x := range append(slices.Clone(b.Obs), b.LastObs...) {
		if x < -2 || x > 2 {
			t.Fatalf("observation %v outside the clip 2", x)
		}
	}
	// Weights whose statistics do not match the observations fail the fragment.
	bad := w.Clone()
	bad.ObsNorm = policy.NewObsNorm(4, 0)
	if err := wk.SetWeights(bad); err != nil {
		t.Fatal(err)
	}
	_, err = wk.Sample(context.Background())
	var we *WorkerError
	if !errors.As(err, &we) || !strings.Contains(err.Error(), "normalisation") {
		t.Errorf("Sample with 4-value statistics for 3-value observations = %v; want a WorkerError about normalisation", err)
	}
}

// boxMetrics are the custom metrics of contBoxEnv's info.
var boxMetrics = []MetricSpec{
	{Name: "hits", InfoKey: "hit"},                  // sum of t: 1+2+3+4 = 10
	{Name: "even"},                                  // sum of a bool: t = 2, 4 → 2
	{Name: "last_odd", InfoKey: "odd", Agg: "last"}, // last step that had it: t = 3
	{Name: "absent", Agg: MetricSum},                // never in info: 0
}

var boxMetricsWant = []float64{10, 2, 3, 0}

// TestWorkerCustomMetrics proves that each completed episode's Metrics
// aggregate the env's info values as declared (sum of float64s, sum of
// bools, last value present, 0 when absent), in declaration order, for
// episodes that span fragment boundaries as well as those inside one.
func TestWorkerCustomMetrics(t *testing.T) {
	if err := ValidateMetrics(boxMetrics); err != nil {
		t.Fatal(err)
	}
	const N = 2
	pol := &stubContPolicy{dim: 2, script: []float32{0, 1}}
	// Fragments of 3 steps and episodes of 4: most episodes span two fragments.
	w, err := NewWorker(0, Config{Workers: 1, EnvsPerWorker: N, FragmentLength: 3}, WorkerSpec{EnvID: boxScriptID, Metrics: boxMetrics, Seed: 1}, pol)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	episodes := 0
	for frag := range 6 { // 18 steps: 4 episodes per env
		b := sampleOnce(t, w)
		for _, e := range b.Episodes {
			episodes++
			if e.Length != 4 || !reflect.DeepEqual(e.Metrics, boxMetricsWant) {
				t.Errorf("fragment %d: episode %+v; want length 4, metrics %v", frag, e, boxMetricsWant)
			}
		}
	}
	if episodes != 4*N {
		t.Errorf("%d episodes in 18 steps of %d envs, want %d", episodes, N, 4*N)
	}

	// Without declared metrics, episodes carry none.
	w2, err := NewWorker(0, Config{Workers: 1, EnvsPerWorker: 1, FragmentLength: 4}, WorkerSpec{EnvID: boxScriptID}, &stubContPolicy{dim: 2, script: []float32{0}})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if b := sampleOnce(t, w2); len(b.Episodes) != 1 || b.Episodes[0].Metrics != nil {
		t.Errorf("episodes without declared metrics: %+v; want one with nil Metrics", b.Episodes)
	}
}

// TestWorkerSnapshotKeepsMetricAccumulators proves that a worker restored
// from a Snapshot taken in the middle of episodes (through the msgpack
// encoding checkpoints use) completes them with the same custom metrics
// as the worker that was never interrupted.
func TestWorkerSnapshotKeepsMetricAccumulators(t *testing.T) {
	cfg := Config{Workers: 1, EnvsPerWorker: 2, FragmentLength: 3}
	spec := WorkerSpec{EnvID: boxScriptID, Metrics: boxMetrics, Seed: 1}
	newW := func() *Worker {
		w, err := NewWorker(0, cfg, spec, &stubContPolicy{dim: 2, script: []float32{0, 1}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		return w
	}
	orig := newW()
	sampleOnce(t, orig) // 3 of 4 steps: every episode is unfinished
	st, err := orig.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := wire.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var decoded WorkerState
	if err := wire.Unmarshal(data, &decoded, wire.DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if want := []float64{6, 1, 3, 0, 6, 1, 3, 0}; !reflect.DeepEqual(decoded.Metrics, want) {
		t.Errorf("snapshot metrics = %v, want the accumulators after 3 steps %v", decoded.Metrics, want)
	}
	restored := newW()
	if err := restored.Restore(&decoded); err != nil {
		t.Fatal(err)
	}
	a, b := sampleOnce(t, orig), sampleOnce(t, restored)
	if len(a.Episodes) != 2 {
		t.Fatalf("%d episodes ended, want 2", len(a.Episodes))
	}
	for i := range a.Episodes {
		if !reflect.DeepEqual(b.Episodes[i], a.Episodes[i]) || !reflect.DeepEqual(a.Episodes[i].Metrics, boxMetricsWant) {
			t.Errorf("episode %d: restored worker %+v, uninterrupted %+v; want both with metrics %v", i, b.Episodes[i], a.Episodes[i], boxMetricsWant)
		}
	}
}
