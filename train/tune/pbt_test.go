package tune

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/train/config"
)

// script is a Rand that returns given draws in order, so a test states
// which branch each draw takes.
type script struct {
	t      *testing.T
	floats []float64
	ints   []int
}

func (s *script) Float64() float64 {
	if len(s.floats) == 0 {
		s.t.Fatalf("unexpected Float64 draw")
	}
	v := s.floats[0]
	s.floats = s.floats[1:]
	return v
}

func (s *script) IntN(n int) int {
	if len(s.ints) == 0 {
		s.t.Fatalf("unexpected IntN(%d) draw", n)
	}
	v := s.ints[0]
	s.ints = s.ints[1:]
	if v < 0 || v >= n {
		s.t.Fatalf("scripted IntN(%d) = %d is out of range", n, v)
	}
	return v
}

func (s *script) done() {
	if len(s.floats)+len(s.ints) > 0 {
		s.t.Errorf("draws left unused: floats %v, ints %v", s.floats, s.ints)
	}
}

func score(v float64) *float64 { return &v }

// population returns trials with the given last scores (NaN: none yet)
// and statuses ("" running); each has a snapshot and ppo.lr=0.001.
func population(scores []float64, statuses []string) []*TrialState {
	var pop []*TrialState
	for i, s := range scores {
		st := &PBTState{Budget: 100000, Snapshot: "pbt/snap", SnapshotIteration: 10, Values: []Param{{Key: "ppo.lr", Value: "0.001"}}}
		if !math.IsNaN(s) {
			st.LastScore = score(s)
		}
		status := StatusRunning
		if statuses != nil && statuses[i] != "" {
			status = statuses[i]
		}
		pop = append(pop, &TrialState{Trial: Trial{ID: i}, Status: status, PBT: st})
	}
	return pop
}

// TestPBTQuantiles follows Ray Tune's PopulationBasedTraining._quantiles:
// unended trials with a score, sorted; ceil(n·q) each side, at most
// floor(n/2); nothing below two trials.
func TestPBTQuantiles(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name         string
		scores       []float64
		statuses     []string
		q            float64
		mode         string
		lower, upper []int
	}{
		{"eight, a quarter", []float64{5, 1, 7, 3, 8, 2, 6, 4}, nil, 0.25, "max", []int{1, 5}, []int{2, 4}},
		{"five: ceil(1.25)=2", []float64{5, 1, 3, 2, 4}, nil, 0.25, "max", []int{1, 3}, []int{4, 0}},
		{"three: at most floor(3/2)", []float64{3, 1, 2}, nil, 0.5, "max", []int{1}, []int{0}},
		{"one scored: none", []float64{3, nan, nan}, nil, 0.25, "max", nil, nil},
		{"no score and ended left out", []float64{9, 1, nan, 5, 2}, []string{StatusFinished, "", "", StatusPaused, StatusFailed}, 0.25, "max", []int{1}, []int{3}},
		{"min: small is good", []float64{5, 1, 7, 3}, nil, 0.25, "min", []int{2}, []int{1}},
		{"q 0: no exploitation", []float64{5, 1, 7, 3}, nil, 0, "max", []int{}, []int{}},
	} {
		p := NewPBT(SchedulerConfig{QuantileFraction: tc.q}, tc.mode, nil)
		lower, upper := p.quantiles(population(tc.scores, tc.statuses))
		if len(lower)+len(tc.lower) > 0 && !reflect.DeepEqual(lower, tc.lower) || len(upper)+len(tc.upper) > 0 && !reflect.DeepEqual(upper, tc.upper) {
			t.Errorf("%s: quantiles = %v, %v; want %v, %v", tc.name, lower, upper, tc.lower, tc.upper)
		}
	}
}

// TestPBTExplore follows Ray Tune's _explore with perturbation_factors
// (1.2, 0.8): each draw's branch is scripted.
func TestPBTExplore(t *testing.T) {
	lr := Space{Key: "ppo.lr", Kind: LogUniform, Lo: 1e-5, Hi: 1e-2}
	epochs := Space{Key: "ppo.epochs", Kind: MutationList, Values: []string{"2", "4", "8"}}
	mb := Space{Key: "ppo.minibatches", Kind: RandInt, Lo: 1, Hi: 9}
	clip := Space{Key: "ppo.clip", Kind: Choice, Values: []string{"0.1", "0.2", "0.3"}}
	for _, tc := range []struct {
		name   string
		m      Space
		from   string
		floats []float64
		ints   []int
		to, op string
	}{
		{"perturb up", lr, "0.001", []float64{0.9}, []int{0}, "0.0012", "* 1.2"},
		{"perturb down", lr, "0.001", []float64{0.25}, []int{1}, "0.0008", "* 0.8"},
		{"resample below the probability", lr, "0.001", []float64{0.1, 0.5}, nil, "0.000316228", "resample"},
		{"perturb clamped to the space", lr, "0.0095", []float64{0.5}, []int{0}, "0.01", "* 1.2 (clamped)"},
		{"list: shift left", epochs, "4", []float64{0.5}, []int{0}, "2", "shift left"},
		{"list: shift right", epochs, "4", []float64{0.5}, []int{1}, "8", "shift right"},
		{"list: noop at the end", epochs, "8", []float64{0.5}, []int{1}, "8", "shift right (noop)"},
		{"list: resample", epochs, "4", []float64{0.2}, []int{2}, "8", "resample"},
		{"list: value not in it is resampled", epochs, "5", []float64{0.9}, []int{0}, "2", "resample"},
		{"int truncates as Python's int()", mb, "4", []float64{0.5}, []int{1}, "3", "* 0.8"},
		{"int clamped below hi (excluded)", mb, "8", []float64{0.5}, []int{0}, "8", "* 1.2 (clamped)"},
		{"choice multiplies (Ray Tune: continuous)", clip, "0.2", []float64{0.5}, []int{0}, "0.24", "* 1.2"},
	} {
		rng := &script{t: t, floats: tc.floats, ints: tc.ints}
		vals, ch, err := explore(rng, []Param{{Key: tc.m.Key, Value: tc.from}}, []Space{tc.m}, 0.25, []float64{1.2, 0.8})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		want := []Change{{Key: tc.m.Key, From: tc.from, To: tc.to, Op: tc.op}}
		if !reflect.DeepEqual(ch, want) || vals[0].Value != tc.to {
			t.Errorf("%s: explore = %v, %+v; want %s, %+v", tc.name, vals, ch, tc.to, want)
		}
		rng.done()
	}
	_, _, err := explore(&script{t: t, floats: []float64{0.9}, ints: []int{0}}, []Param{{Key: "x", Value: "[64, 64]"}}, []Space{{Key: "x", Kind: Uniform, Lo: 1, Hi: 2}}, 0.25, []float64{1.2, 0.8})
	if err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Errorf("explore of a non-number = %v; want an error saying so", err)
	}
}

// TestPBTOnBoundary checks the decisions at a trial's boundary: the
// upper quantile keeps a checkpoint copy, the lower copies a random
// upper trial with perturbed values (unless that one has no copy), the
// middle goes on, and a trial without a metric value is only moved on.
func TestPBTOnBoundary(t *testing.T) {
	nan := math.NaN()
	cfg := SchedulerConfig{QuantileFraction: 0.25, ResampleProbability: 0.25, PerturbationFactors: []float64{1.2, 0.8},
		Mutations: []Space{{Key: "ppo.lr", Kind: LogUniform, Lo: 1e-5, Hi: 1e-2}}}
	for _, tc := range []struct {
		name     string
		scores   []float64 // last scores before the boundary
		trial    int
		metric   float64
		noSnap   []int // trials without a checkpoint copy
		floats   []float64
		ints     []int
		snapshot bool
		donor    int
		values   []Param
	}{
		{name: "upper keeps a copy", scores: []float64{5, 1, 7, 3}, trial: 2, metric: 9, snapshot: true, donor: -1},
		{name: "middle goes on", scores: []float64{5, 1, 7, 3}, trial: 0, metric: 5, donor: -1},
		{name: "lower copies the upper, perturbed", scores: []float64{5, 1, 7, 3}, trial: 1, metric: 0.5,
			floats: []float64{0.7}, ints: []int{0, 1}, donor: 2, values: []Param{{Key: "ppo.lr", Value: "0.0008"}}},
		{name: "lower becomes lower by its new score", scores: []float64{5, 1, 7, 3}, trial: 0, metric: 0,
			floats: []float64{0.7}, ints: []int{0, 0}, donor: 2, values: []Param{{Key: "ppo.lr", Value: "0.0012"}}},
		{name: "donor without a copy: no exploit", scores: []float64{5, 1, 7, 3}, trial: 1, metric: 0.5, noSnap: []int{2},
			ints: []int{0}, donor: -1},
		{name: "eight: one of two donors", scores: []float64{5, 1, 7, 3, 8, 2, 6, 4}, trial: 5, metric: 2,
			floats: []float64{0.1, 0.5}, ints: []int{1}, donor: 4, values: []Param{{Key: "ppo.lr", Value: "0.000316228"}}},
		{name: "no metric yet: moved on only", scores: []float64{5, 1, 7, 3}, trial: 1, metric: nan, donor: -1},
		{name: "first scored: no quantiles", scores: []float64{nan, nan, nan}, trial: 0, metric: 4, donor: -1},
	} {
		pop := population(tc.scores, nil)
		for _, i := range tc.noSnap {
			pop[i].PBT.Snapshot = ""
		}
		for i, tr := range pop {
			tr.PBT.LastPerturbation, tr.PBT.LastTrain = int64(1000*(i+1)), int64(1000*(i+1))
		}
		rng := &script{t: t, floats: tc.floats, ints: tc.ints}
		p := NewPBT(cfg, "max", rng)
		d, err := p.OnBoundary(pop, tc.trial, 20000, tc.metric)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d.Snapshot != tc.snapshot || d.Donor != tc.donor || !reflect.DeepEqual(d.Values, tc.values) {
			t.Errorf("%s: decision snapshot %v, donor %d, values %v; want %v, %d, %v", tc.name, d.Snapshot, d.Donor, d.Values, tc.snapshot, tc.donor, tc.values)
		}
		st := pop[tc.trial].PBT
		switch {
		case math.IsNaN(tc.metric) && (st.LastScore == nil || *st.LastScore != tc.scores[tc.trial]):
			t.Errorf("%s: a missing metric changed the score to %v", tc.name, st.LastScore)
		case !math.IsNaN(tc.metric) && (st.LastScore == nil || *st.LastScore != tc.metric):
			t.Errorf("%s: score %v; want %v", tc.name, st.LastScore, tc.metric)
		}
		// Ray Tune: an exploiting trial takes over the donor's times.
		wantTime := int64(20000)
		if tc.donor >= 0 {
			wantTime = int64(1000 * (tc.donor + 1))
		}
		if st.LastPerturbation != wantTime || st.LastTrain != wantTime {
			t.Errorf("%s: times %d, %d; want %d", tc.name, st.LastPerturbation, st.LastTrain, wantTime)
		}
		rng.done()
	}
}

// TestPBTDeterministic: the same seed gives the same decisions.
func TestPBTDeterministic(t *testing.T) {
	cfg := SchedulerConfig{QuantileFraction: 0.25, ResampleProbability: 0.25, PerturbationFactors: []float64{1.2, 0.8},
		Mutations: []Space{{Key: "ppo.lr", Kind: LogUniform, Lo: 1e-5, Hi: 1e-2}, {Key: "ppo.epochs", Kind: MutationList, Values: []string{"2", "4", "8"}}}}
	runOnce := func() [][]Param {
		pop := population([]float64{5, 1, 7, 3, 8, 2, 6, 4}, nil)
		for _, tr := range pop {
			tr.PBT.Values = append(tr.PBT.Values, Param{Key: "ppo.epochs", Value: "4"})
		}
		p := NewPBT(cfg, "max", rand.New(rand.NewPCG(1, 2)))
		var out [][]Param
		for step := 0; step < 20; step++ {
			i := step % len(pop)
			d, err := p.OnBoundary(pop, i, int64(1000*step), float64((step*7)%11))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d.Values)
		}
		return out
	}
	a, b := runOnce(), runOnce()
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two runs with one seed differ:\n%v\n%v", a, b)
	}
	exploits := 0
	for _, v := range a {
		if v != nil {
			exploits++
		}
	}
	if exploits == 0 {
		t.Errorf("20 boundaries of 8 trials made no exploit")
	}
}

func TestLookupKey(t *testing.T) {
	y := []byte("ppo:\n  lr: 0.001\n  epochs: 4\nmodel:\n  hidden: [64, 64]\n")
	for _, tc := range []struct {
		key, want string
		ok        bool
	}{
		{"ppo.lr", "0.001", true},
		{"ppo.epochs", "4", true},
		{"model.hidden", "[64, 64]", true},
		{"ppo.nope", "", false},
		{"ppo.lr.x", "", false},
	} {
		if got, ok := lookupKey(y, tc.key); got != tc.want || ok != tc.ok {
			t.Errorf("lookupKey(%s) = %q, %v; want %q, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

const pbtConfig = `name: pbt
env: {id: CartPole-v1}
stop: {env_steps: 4096}
rollout: {workers: 1, envs_per_worker: 2, fragment_length: 64}
ppo:
  lr: {loguniform: [1e-6, 1e-5]}
tune:
  num_samples: 4
  scheduler:
    type: pbt
    perturbation_interval: 1024
    hyperparam_mutations:
      ppo.lr: {loguniform: [1e-5, 1e-2]}
      ppo:
        epochs: [2, 4, 8]
`

func TestPBTConfig(t *testing.T) {
	s, err := Parse("pbt.yaml", []byte(pbtConfig))
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Tune.Scheduler
	want := []Space{{Key: "ppo.lr", Kind: LogUniform, Lo: 1e-5, Hi: 1e-2, Line: 13}, {Key: "ppo.epochs", Kind: MutationList, Values: []string{"2", "4", "8"}, Line: 15}}
	if sc.PerturbationInterval != 1024 || sc.QuantileFraction != 0.25 || sc.ResampleProbability != 0.25 ||
		!reflect.DeepEqual(sc.PerturbationFactors, []float64{1.2, 0.8}) || !reflect.DeepEqual(sc.Mutations, want) {
		t.Errorf("scheduler = %+v; want interval 1024, Ray Tune's defaults 0.25, 0.25, [1.2 0.8] and mutations %+v", sc, want)
	}
	trials := s.Expand()
	loaded, err := s.Check(trials)
	if err != nil {
		t.Fatal(err)
	}
	exp := &Experiment{}
	for _, tr := range trials {
		exp.Trials = append(exp.Trials, &TrialState{Trial: tr})
	}
	if err := initPBT(s, exp, loaded); err != nil {
		t.Fatal(err)
	}
	st := exp.Trials[0].PBT
	if st.Budget != 4096 || len(st.Values) != 2 || st.Values[0].Value != trials[0].Params[0].Value || st.Values[1] != (Param{Key: "ppo.epochs", Value: "4"}) {
		t.Errorf("trial 0's PBT state %+v; want budget 4096, its drawn ppo.lr %s and the default ppo.epochs 4", st, trials[0].Params[0].Value)
	}
	if err := s.checkMutations(trials[0]); err != nil {
		t.Errorf("checkMutations: %v", err)
	}

	for _, tc := range []struct{ name, edit, where, msg string }{
		{"no interval", "    perturbation_interval: 1024\n", "pbt.yaml:10", "perturbation_interval: required for pbt"},
		{"no mutations", "    hyperparam_mutations:\n      ppo.lr: {loguniform: [1e-5, 1e-2]}\n      ppo:\n        epochs: [2, 4, 8]\n", "pbt.yaml:10", "hyperparam_mutations: required for pbt"},
	} {
		_, err := Parse("pbt.yaml", []byte(strings.Replace(pbtConfig, tc.edit, "", 1)))
		checkConfigError(t, tc.name, err, tc.where, tc.msg)
	}
	for _, tc := range []struct{ name, from, to, where, msg string }{
		{"pbt key under asha", "type: pbt", "type: asha", "pbt.yaml:11", "a pbt setting, but the scheduler is asha"},
		{"quantile above 0.5", "perturbation_interval: 1024", "perturbation_interval: 1024\n    quantile_fraction: 0.6", "pbt.yaml:12", "want 0 to 0.5"},
		{"zero interval", "perturbation_interval: 1024", "perturbation_interval: 0", "pbt.yaml:11", "want >= 1 env steps"},
		{"negative factor", "perturbation_interval: 1024", "perturbation_interval: 1024\n    perturbation_factors: [1.2, -1]", "pbt.yaml:12", "want factors > 0"},
		{"grid_search mutation", "ppo.lr: {loguniform: [1e-5, 1e-2]}", "ppo.lr: {grid_search: [1e-5, 1e-2]}", "pbt.yaml:13", "grid_search cannot be a mutation"},
		{"misspelt space", "ppo.lr: {loguniform: [1e-5, 1e-2]}", "ppo.lr: {loguniforn: [1e-5, 1e-2]}", "pbt.yaml:13", "did you mean loguniform"},
		{"empty list", "epochs: [2, 4, 8]", "epochs: []", "pbt.yaml:15", "want at least one value"},
		{"non-number choice", "epochs: [2, 4, 8]", "activation: {choice: [tanh, relu]}", "pbt.yaml:15", "is not a number"},
		{"model key", "ppo.lr: {loguniform: [1e-5, 1e-2]}", "model.hidden: [[32, 32], [64, 64]]", "pbt.yaml:13", "pbt cannot mutate model.hidden"},
		{"nested model section", "      ppo:\n        epochs: [2, 4, 8]", "      model:\n        activation: [tanh, relu]", "pbt.yaml:14", "pbt cannot mutate model: "},
		{"rollout key", "      ppo:\n        epochs: [2, 4, 8]", "      rollout.envs_per_worker: {randint: [1, 4]}", "pbt.yaml:14", "pbt cannot mutate rollout.envs_per_worker"},
		{"twice", "      ppo:\n        epochs: [2, 4, 8]", "      ppo:\n        lr: [1e-3]", "pbt.yaml:15", "given twice"},
	} {
		_, err := Parse("pbt.yaml", []byte(strings.Replace(pbtConfig, tc.from, tc.to, 1)))
		checkConfigError(t, tc.name, err, tc.where, tc.msg)
	}
	// A mutated key the config does not have, or a value it refuses, is
	// an error at the mutation's line.
	for _, tc := range []struct{ name, from, to, msg string }{
		{"unknown key", "epochs: [2, 4, 8]", "epoch: [2, 4, 8]", "ppo.epoch"},
		{"refused value", "epochs: [2, 4, 8]", "epochs: [0, 4, 8]", "ppo.epochs=0"},
	} {
		s, err := Parse("pbt.yaml", []byte(strings.Replace(pbtConfig, tc.from, tc.to, 1)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkConfigError(t, tc.name, s.checkMutations(s.Expand()[0]), "pbt.yaml:15", tc.msg)
	}
}

func checkConfigError(t *testing.T, name string, err error, where, msg string) {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Where != where || !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: error %v; want a config error at %s containing %q", name, err, where, msg)
	}
}
