package tune

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	_ "github.com/rlgo/rlgo/algorithms/ppo" // the ppo: section
	_ "github.com/rlgo/rlgo/envs/classic"   // CartPole-v1
	"github.com/rlgo/rlgo/train/config"
)

const gridConfig = `name: sweep
algorithm: ppo
env: {id: CartPole-v1}
stop: {iterations: 3}
rollout: {workers: 1, envs_per_worker: 2, fragment_length: 64}
ppo:
  lr: {grid_search: [1e-3, 3e-3]}
  epochs:
    grid_search: [4, 10]
  minibatches: 2
tune:
  seeds: [1, 2, 3]
`

func TestExpandGridTimesSeeds(t *testing.T) {
	s, err := Parse("sweep.yaml", []byte(gridConfig))
	if err != nil {
		t.Fatal(err)
	}
	trials := s.Expand()
	if len(trials) != 12 {
		t.Fatalf("Expand() = %d trials; want 2×2×3 = 12", len(trials))
	}
	var got []string
	for _, tr := range trials {
		got = append(got, strings.Join(tr.Sets(), " "))
	}
	want := []string{
		"ppo.lr=1e-3 ppo.epochs=4 seed=1", "ppo.lr=1e-3 ppo.epochs=4 seed=2", "ppo.lr=1e-3 ppo.epochs=4 seed=3",
		"ppo.lr=1e-3 ppo.epochs=10 seed=1", "ppo.lr=1e-3 ppo.epochs=10 seed=2", "ppo.lr=1e-3 ppo.epochs=10 seed=3",
		"ppo.lr=3e-3 ppo.epochs=4 seed=1", "ppo.lr=3e-3 ppo.epochs=4 seed=2", "ppo.lr=3e-3 ppo.epochs=4 seed=3",
		"ppo.lr=3e-3 ppo.epochs=10 seed=1", "ppo.lr=3e-3 ppo.epochs=10 seed=2", "ppo.lr=3e-3 ppo.epochs=10 seed=3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("trials' --sets = %q; want %q", got, want)
	}
	if trials[11].Name != "trial-011" {
		t.Errorf("last trial's name = %q; want trial-011", trials[11].Name)
	}
	if strings.Contains(string(s.Base), "grid_search") || strings.Contains(string(s.Base), "tune") {
		t.Errorf("Base still holds tune keys:\n%s", s.Base)
	}
	loaded, err := s.Check(trials)
	if err != nil {
		t.Fatal(err)
	}
	if l := loaded[10]; l.Seed != 2 || l.Rollout.Workers != 1 {
		t.Errorf("trial 10 loads seed %d, %d workers; want 2, 1", l.Seed, l.Rollout.Workers)
	}
}

const randomConfig = `name: random
env: {id: CartPole-v1}
ppo:
  lr: {loguniform: [1e-4, 1e-2]}
  epochs: {randint: [2, 12]}
  clip: {uniform: [0.1, 0.3]}
  entropy_coeff: {choice: [0, 0.01]}
tune:
  num_samples: 16
  seed: 5
`

func TestExpandRandomReproducible(t *testing.T) {
	expand := func(src string) []Trial {
		s, err := Parse("random.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Check(s.Expand()); err != nil {
			t.Fatal(err)
		}
		return s.Expand()
	}
	a, b := expand(randomConfig), expand(randomConfig)
	if len(a) != 16 {
		t.Fatalf("%d trials; want num_samples 16", len(a))
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two expansions under tune.seed 5 differ:\n%v\n%v", a, b)
	}
	c := expand(strings.Replace(randomConfig, "seed: 5", "seed: 6", 1))
	if reflect.DeepEqual(a, c) {
		t.Errorf("tune.seed 5 and 6 draw the same trials")
	}
	distinct := map[string]bool{}
	for _, tr := range a {
		for _, p := range tr.Params {
			switch p.Key {
			case "ppo.epochs":
				if n, err := strconv.Atoi(p.Value); err != nil || n < 2 || n >= 12 {
					t.Errorf("randint [2, 12) drew %s", p.Value)
				}
			case "ppo.lr":
				if v, err := strconv.ParseFloat(p.Value, 64); err != nil || v < 1e-4 || v >= 1e-2 {
					t.Errorf("loguniform [1e-4, 1e-2) drew %s", p.Value)
				}
				distinct[p.Value] = true
			}
		}
	}
	if len(distinct) != 16 {
		t.Errorf("16 loguniform draws gave %d distinct values", len(distinct))
	}
}

func TestStrictErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, where, msg string
	}{
		{"typo in a search-space key", "env: {id: CartPole-v1}\nppo:\n  lr: {grid_serach: [1e-3, 3e-3]}\n", "x.yaml:3", `unknown search space "grid_serach"; did you mean grid_search?`},
		{"unknown key under a search space", "env: {id: CartPole-v1}\nppo:\n  lrr: {grid_search: [1e-3, 3e-3]}\n", "x.yaml:3", `unknown key "lrr"`},
		{"bad value in a grid", "env: {id: CartPole-v1}\nppo:\n  epochs:\n    grid_search: [4, -1]\n", "x.yaml:3", "ppo.epochs"},
		{"unknown tune key", "env: {id: CartPole-v1}\ntune:\n  seeds: [1]\n  num_sample: 3\n", "x.yaml:4", `unknown key "num_sample"`},
		{"unknown scheduler key", "env: {id: CartPole-v1}\ntune:\n  scheduler: {type: asha, grace: 2}\n", "x.yaml:3", `unknown key "grace"`},
		{"bad scheduler type", "env: {id: CartPole-v1}\ntune:\n  scheduler:\n    type: hyperband\n", "x.yaml:4", "want asha, median or pbt"},
		{"loguniform from 0", "env: {id: CartPole-v1}\nppo:\n  lr: {loguniform: [0, 1e-2]}\n", "x.yaml:3", "want 0 < lo"},
		{"uniform backwards", "env: {id: CartPole-v1}\nppo:\n  clip: {uniform: [0.3, 0.1]}\n", "x.yaml:3", "want lo < hi"},
		{"randint of floats", "env: {id: CartPole-v1}\nppo:\n  epochs: {randint: [1.5, 4]}\n", "x.yaml:3", "want whole numbers"},
		{"typo in the base config", "env: {id: CartPole-v1}\nppo:\n  lr: {grid_search: [1e-3]}\n  epohcs: 4\n", "x.yaml:4", `unknown key "epohcs"`},
		{"seed space and seeds", "env: {id: CartPole-v1}\nseed: {grid_search: [1, 2]}\ntune: {seeds: [1]}\n", "x.yaml:2", "tune.seeds"},
		{"space in a list", "env: {id: CartPole-v1}\nmodel: {hidden: [{choice: [32, 64]}, 64]}\n", "x.yaml:2", "inside a list"},
		{"bad mode", "env: {id: CartPole-v1}\ntune: {mode: maximum}\n", "x.yaml:2", "want max or min"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("x.yaml", []byte(tc.src))
			if err == nil {
				_, err = s.Check(s.Expand())
			}
			if err == nil {
				t.Fatalf("no error; want %s: ...%s", tc.where, tc.msg)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if ce.Where != tc.where || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error = %q (at %q); want at %s, containing %q", err, ce.Where, tc.where, tc.msg)
			}
		})
	}
}

func TestTooManyTrials(t *testing.T) {
	src := "env: {id: CartPole-v1}\nppo:\n  lr: {grid_search: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n  epochs: {grid_search: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\ntune: {num_samples: 101}\n"
	if _, err := Parse("x.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "10100 trials") {
		t.Errorf("Parse of 10,100 trials: %v; want an error naming the count", err)
	}
}

// FuzzParse: a tune config from outside never panics Parse or Expand,
// and every trial's --set keys are the spaces' (and seed).
func FuzzParse(f *testing.F) {
	f.Add([]byte(gridConfig))
	f.Add([]byte(randomConfig))
	f.Add([]byte("a: {choice: [[1, 2], {b: c}]}\ntune: {seeds: [1, 2], scheduler: {type: median}}\n"))
	f.Add([]byte("x: [{grid_search: [1]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if s.Count() > 1000 {
			return
		}
		trials := s.Expand()
		if float64(len(trials)) != s.Count() {
			t.Fatalf("Expand() = %d trials; Count() = %v", len(trials), s.Count())
		}
		for _, tr := range trials {
			if len(tr.Params) != len(s.Spaces)+min(1, len(s.Tune.Seeds)) {
				t.Fatalf("trial %v has %d params for %d spaces", tr, len(tr.Params), len(s.Spaces))
			}
		}
	})
}
