package dqn

import (
	"context"
	"math"
	"testing"

	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// Wiring tests: each checks one of DQN's moving parts inside a real run
// against numbers computed here from separately built pieces, so that a
// one-line mistake in how the parts are connected (the online network
// built on the target's weights, τ applied the wrong way round, PER's
// weights not reaching the loss) fails a fast default test. .ci/mutate
// applies such mistakes and expects these tests to catch them.

// wiredDQN is smallConfig (double, dueling, 3-step, Huber, PER, Polyak
// τ = 0.05 every 4 steps) trained for three iterations, so the replay
// buffer holds transitions, the online network has learnt and the target
// network lags behind it.
func wiredDQN(t *testing.T) *DQN {
	t.Helper()
	d, err := New(smallConfig(13))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for i := 0; i < 3; i++ {
		if _, err := d.Train(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// huber is the Huber loss with κ = 1 (SB3's smooth_l1_loss).
func huber(d float64) float64 {
	if math.Abs(d) <= 1 {
		return 0.5 * d * d
	}
	return math.Abs(d) - 0.5
}

// argmax64 returns the index of the largest of x and whether it is clear
// of the runner-up by more than tol (float32 and float64 forwards could
// otherwise pick different actions).
func argmax64(x []float64, tol float64) (int, bool) {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	for i, v := range x {
		if i != best && x[best]-v <= tol {
			return best, false
		}
	}
	return best, true
}

// TestDoubleDQNTargetsFromSeparateNetworks takes real gradient steps and
// recomputes each one's TD targets, importance weights, loss and new
// priorities from a float64 forward pass of the online and target
// networks' weights copied before the step (van Hasselt et al. 2016,
// eq. 4: the online network selects a*, the target network values it;
// Schaul et al. 2016: w_i = (N·P(i))^−β / max_j w_j).
func TestDoubleDQNTargetsFromSeparateNetworks(t *testing.T) {
	d := wiredDQN(t)
	spec, m, na := d.spec, d.cfg.BatchSize, d.spec.NumActions
	beta := d.cfg.BetaAt(d.EnvSteps)
	// Give the target network weights of its own (τ = 0.05 every 4 steps
	// keeps it too close to the online one for their argmaxes to differ),
	// so that double and vanilla targets differ on many rows.
	other := spec.Init(testRand())
	for ti, tn := range d.next.target.Tensors {
		copy(tn.Data, other.Tensors[ti].Data)
	}
	var differ, checked int
	for step := 0; step < 3; step++ {
		online, target := d.learner.Weights().Clone(), d.next.target.Clone()
		var st stepStats
		if err := d.gradientStep(1e-3, beta, &st); err != nil {
			t.Fatal(err)
		}
		idx := append([]int(nil), d.idx...)
		obs := make([]float64, 0, m*spec.ObsDim)
		next := make([]float64, 0, m*spec.ObsDim)
		for _, i := range idx {
			for _, v := range d.replay.Obs(i) {
				obs = append(obs, float64(v))
			}
			for _, v := range d.replay.NextObs(i) {
				next = append(next, float64(v))
			}
		}
		qOnlineNext := q64(spec, online, next, m)
		qTargetNext := q64(spec, target, next, m)
		qOnline := q64(spec, online, obs, m)

		// The loss weighs each row by its importance weight (checked
		// against the priorities in TestPERImportanceWeightsReachTheLoss).
		var loss float64
		for j, i := range idx {
			a, sure := argmax64(qOnlineNext[j*na:(j+1)*na], 1e-4)
			y := float64(d.replay.Return(i)) + float64(d.replay.Bootstrap(i))*qTargetNext[j*na+a]
			got := float64(d.loss.targets.Data[j])
			if sure && math.Abs(got-y) > 1e-4*math.Max(1, math.Abs(y)) {
				t.Errorf("step %d row %d: TD target = %v; want %v (R + γ^n·Q_target(s', argmax Q_online(s')))", step, j, got, y)
			}
			vanilla := float64(d.replay.Return(i)) + float64(d.replay.Bootstrap(i))*maxOf(qTargetNext[j*na:(j+1)*na])
			if sure && math.Abs(vanilla-y) > 1e-3 {
				differ++
			}
			checked++
			act := int(d.replay.Action(i))
			delta := qOnline[j*na+act] - float64(d.loss.targets.Data[j])
			loss += float64(d.loss.weights.Data[j]) * huber(delta)
			// The new priority is (|δ| + ε)^α of the step's TD error.
			wantP := math.Pow(math.Abs(delta)+d.cfg.PriorityEps, d.cfg.Alpha)
			if gotP := d.per.tree.Get(i); math.Abs(gotP-wantP) > 1e-4*math.Max(1, wantP) {
				t.Errorf("step %d row %d: priority of slot %d = %v; want (|δ|+ε)^α = %v", step, j, i, gotP, wantP)
			}
		}
		loss /= float64(m)
		if math.Abs(st.loss-loss) > 1e-4*math.Max(1, math.Abs(loss)) {
			t.Errorf("step %d: loss = %v; want Σ w_i·huber(Q(s,a) − y)/m = %v", step, st.loss, loss)
		}
	}
	// Unless the two networks disagree on some a*, double and vanilla
	// targets coincide and this test could not tell them apart.
	if differ == 0 {
		t.Fatalf("no row of %d has a double-DQN target different from the vanilla one: the test is vacuous", checked)
	}
	t.Logf("%d of %d rows have double-DQN targets different from vanilla ones", differ, checked)
}

func maxOf(x []float64) float64 {
	m := x[0]
	for _, v := range x[1:] {
		m = math.Max(m, v)
	}
	return m
}

// TestPERImportanceWeightsReachTheLoss draws a minibatch as a gradient
// step does and checks the weights written into the loss's input against
// w_i = (N·P(i))^−β / max_j w_j computed from the priorities, and that
// they are not all 1 (prioritised replay is on and priorities differ).
func TestPERImportanceWeightsReachTheLoss(t *testing.T) {
	d := wiredDQN(t)
	beta := d.cfg.BetaAt(d.EnvSteps)
	// Priorities before the step: the weights are computed from these.
	n := d.replay.Len()
	pri := make([]float64, n)
	var total float64
	minP := math.Inf(1)
	for i := range pri {
		pri[i] = d.per.tree.Get(i)
		total += pri[i]
		minP = math.Min(minP, pri[i])
	}
	var st stepStats
	if err := d.gradientStep(1e-3, beta, &st); err != nil {
		t.Fatal(err)
	}
	maxW := math.Pow(float64(n)*minP/total, -beta)
	var notOne int
	for j, i := range d.idx {
		want := math.Pow(float64(n)*pri[i]/total, -beta) / maxW
		got := float64(d.loss.weights.Data[j])
		if math.Abs(got-want) > 1e-4 {
			t.Errorf("row %d (slot %d): importance weight = %v; want (N·P(i))^−β / max w = %v", j, i, got, want)
		}
		if math.Abs(got-1) > 1e-3 {
			notOne++
		}
	}
	if notOne == 0 {
		t.Errorf("every importance weight is 1 after %d env steps of prioritised replay; want some below 1", d.EnvSteps)
	}
}

// setTensors fills every tensor of w with f(tensor, element).
func setTensors(w *policy.Weights, f func(ti, k int) float32) {
	for ti := range w.Tensors {
		for k := range w.Tensors[ti].Data {
			w.Tensors[ti].Data[k] = f(ti, k)
		}
	}
}

// TestTargetUpdate checks the target network's update as a unit: Polyak
// averaging θ' ← τ·θ + (1 − τ)·θ' (Lillicrap et al. 2016) for τ < 1, a
// copy for τ = 1 (Mnih et al. 2015) that does not alias the online
// weights, and that the next-state target network evaluates the updated
// θ' while the online network of double Q-learning evaluates θ.
func TestTargetUpdate(t *testing.T) {
	for _, tau := range []float64{0.05, 0.5, 1} {
		cfg, setup := smallConfig(5)
		cfg.Tau = tau
		d, err := New(cfg, setup)
		if err != nil {
			t.Fatal(err)
		}
		online := d.learner.Weights()
		setTensors(online, func(ti, k int) float32 { return float32(math.Sin(float64(3*ti+k))) * 0.5 })
		setTensors(d.next.target, func(ti, k int) float32 { return float32(math.Cos(float64(7*ti+2*k))) * 0.5 })
		before := d.next.target.Clone()
		d.updateTarget()
		for ti, tn := range d.next.target.Tensors {
			for k, got := range tn.Data {
				want := tau*float64(online.Tensors[ti].Data[k]) + (1-tau)*float64(before.Tensors[ti].Data[k])
				if math.Abs(float64(got)-want) > 1e-6 {
					t.Fatalf("τ=%v: target %s[%d] = %v; want τ·θ + (1−τ)·θ' = %v (θ %v, θ' %v)", tau, tn.Name, k, got, want, online.Tensors[ti].Data[k], before.Tensors[ti].Data[k])
				}
			}
		}
		// The networks computing TD targets see these weights: the target
		// network θ', the online one θ (as the learner changes it in place).
		rng := testRand()
		for i := range d.next.nextObs {
			d.next.nextObs[i] = float32(rng.NormFloat64())
		}
		obs := make([]float64, len(d.next.nextObs))
		for i, v := range d.next.nextObs {
			obs[i] = float64(v)
		}
		setTensors(online, func(ti, k int) float32 { return float32(math.Sin(float64(5*ti+3*k))) * 0.5 })
		qt, qo := d.next.run()
		wantT, wantO := q64(d.spec, d.next.target, obs, d.next.m), q64(d.spec, online, obs, d.next.m)
		for i := range wantT {
			if math.Abs(float64(qt[i])-wantT[i]) > 1e-4 || math.Abs(float64(qo[i])-wantO[i]) > 1e-4 {
				t.Fatalf("τ=%v: next-state Q[%d]: target net %v, online net %v; want %v (θ') and %v (θ)", tau, i, qt[i], qo[i], wantT[i], wantO[i])
			}
		}
		if tau == 1 {
			for ti, tn := range d.next.target.Tensors {
				if &tn.Data[0] == &online.Tensors[ti].Data[0] {
					t.Fatalf("hard update: target %s shares the online network's storage", tn.Name)
				}
			}
		}
		d.Close()
	}
}

// TestTargetUpdateSchedule runs Train and checks when the target network
// moves: with a hard update every 256 env steps (one iteration) it equals
// the online network after each iteration, and with an interval longer
// than the run it keeps its initial weights.
func TestTargetUpdateSchedule(t *testing.T) {
	for _, tc := range []struct {
		interval int64
		follows  bool
	}{{256, true}, {1 << 40, false}} {
		cfg, setup := smallConfig(9)
		cfg.Tau, cfg.TargetUpdateInterval, cfg.LearningStarts = 1, tc.interval, 100
		d, err := New(cfg, setup)
		if err != nil {
			t.Fatal(err)
		}
		initial := d.next.target.Clone()
		for it := 1; it <= 2; it++ {
			if _, err := d.Train(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := initial
			if tc.follows {
				want = d.learner.Weights()
			}
			for ti, tn := range d.next.target.Tensors {
				for k, v := range tn.Data {
					if v != want.Tensors[ti].Data[k] {
						t.Fatalf("interval %d, iteration %d: target %s[%d] = %v; want %v", tc.interval, it, tn.Name, k, v, want.Tensors[ti].Data[k])
					}
				}
			}
		}
		// The online network has learnt meanwhile, so the check above is
		// not trivially true.
		moved := false
		for ti, tn := range d.learner.Weights().Tensors {
			for k, v := range tn.Data {
				moved = moved || v != initial.Tensors[ti].Data[k]
			}
		}
		if !moved {
			t.Fatalf("interval %d: the online network did not change in 2 iterations", tc.interval)
		}
		d.Close()
	}
}

// TestNStepAcrossTruncation feeds a fragment whose env ends it with two
// steps pending and a next fragment that truncates the episode at its
// first step (n = 3, γ = 0.5): the three pending transitions sum the
// rewards up to the cut and bootstrap from the final observation with
// γ^k, and the next episode's first transitions do not reach back across
// the reset.
func TestNStepAcrossTruncation(t *testing.T) {
	d := &DQN{cfg: DefaultConfig(), replay: NewReplay(32, 1)}
	queues := []nStepQueue{newNStepQueue(3, 1, 0.5)}
	// Fragment 1: obs 1, 2 with rewards 1, 2; nothing ends.
	d.store(&rollout.SampleBatch{
		NumEnvs: 1, Steps: 2, ObsDim: 1,
		Obs: []float32{1, 2}, Actions: []int32{0, 1}, Rewards: []float32{1, 2},
		Terminated: []bool{false, false}, Truncated: []bool{false, false},
		LastObs: []float32{3},
	}, queues)
	if d.replay.Len() != 0 {
		t.Fatalf("after 2 of 3 steps the replay holds %v; want nothing yet", replayContents(d.replay))
	}
	// Fragment 2: obs 3 (reward 4) is truncated with final obs 3.5; the
	// env resets to obs 10, then steps 10, 11, 12 with rewards 8, 16, 32.
	d.store(&rollout.SampleBatch{
		NumEnvs: 1, Steps: 4, ObsDim: 1,
		Obs: []float32{3, 10, 11, 12}, Actions: make([]int32, 4), Rewards: []float32{4, 8, 16, 32},
		Terminated: make([]bool, 4), Truncated: []bool{true, false, false, false},
		FinalObs: []rollout.FinalObs{{Index: 0, Obs: []float32{3.5}}},
		LastObs:  []float32{13},
	}, queues)
	want := []transition{
		{1, 1 + 0.5*2 + 0.25*4, 3.5, 0.125}, // three rewards, cut by the time limit: γ^3 from the final obs
		{2, 2 + 0.5*4, 3.5, 0.25},           // γ^2
		{3, 4, 3.5, 0.5},                    // γ^1
		{10, 8 + 0.5*16 + 0.25*32, 13, 0.125},
	}
	got := replayContents(d.replay)
	if len(got) != len(want) {
		t.Fatalf("replay holds %v; want %v", got, want)
	}
	for i := range want {
		if math.Abs(float64(got[i].ret-want[i].ret)) > 1e-6 || got[i] != (transition{want[i].obs, got[i].ret, want[i].next, want[i].bootstrap}) {
			t.Errorf("transition %d = %+v; want %+v", i, got[i], want[i])
		}
	}
	if a := d.replay.Action(1); a != 1 {
		t.Errorf("transition 1's action = %d; want 1 (the action taken at obs 2)", a)
	}
}
