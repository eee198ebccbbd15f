package tune

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

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

// scalarNode is a plain YAML scalar (a number, as strconv writes it).
func scalarNode(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

// strNode is a YAML string (quoted when it would read as another type).
func strNode(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func floatNode(v float64) *yaml.Node { return scalarNode(strconv.FormatFloat(v, 'g', -1, 64)) }

// spaceNode is sp in the config's own form: {kind: [values]} (or, for a
// PBT mutation of kind MutationList, the list of values).
func spaceNode(t *testing.T, sp Space) *yaml.Node {
	t.Helper()
	list := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	switch sp.Kind {
	case GridSearch, Choice, MutationList:
		for _, v := range sp.Values {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(v), &doc); err != nil || len(doc.Content) != 1 {
				t.Fatalf("space %s: value %q (flow YAML) does not read back: %v", sp.Key, v, err)
			}
			list.Content = append(list.Content, doc.Content[0])
		}
	case RandInt:
		list.Content = []*yaml.Node{scalarNode(strconv.FormatInt(int64(sp.Lo), 10)), scalarNode(strconv.FormatInt(int64(sp.Hi), 10))}
	default:
		list.Content = []*yaml.Node{floatNode(sp.Lo), floatNode(sp.Hi)}
	}
	if sp.Kind == MutationList {
		return list
	}
	return &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{strNode(sp.Kind), list}}
}

// settingsNode is t as a tune: section, every setting given (PBT's only
// with scheduler pbt, as Parse requires).
func settingsNode(t *testing.T, st Settings) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, strNode(k), v) }
	if len(st.Seeds) > 0 {
		seeds := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, s := range st.Seeds {
			seeds.Content = append(seeds.Content, scalarNode(strconv.FormatUint(s, 10)))
		}
		add("seeds", seeds)
	}
	add("num_samples", scalarNode(strconv.Itoa(st.NumSamples)))
	add("metric", strNode(st.Metric))
	add("mode", strNode(st.Mode))
	add("max_concurrent", scalarNode(strconv.Itoa(st.MaxConcurrent)))
	add("seed", scalarNode(strconv.FormatUint(st.Seed, 10)))
	sc := st.Scheduler
	if sc.Type == SchedulerNone {
		return m
	}
	s := &yaml.Node{Kind: yaml.MappingNode}
	sadd := func(k string, v *yaml.Node) { s.Content = append(s.Content, strNode(k), v) }
	sadd("type", strNode(sc.Type))
	sadd("grace_period", scalarNode(strconv.Itoa(sc.GracePeriod)))
	sadd("reduction_factor", floatNode(sc.ReductionFactor))
	sadd("max_t", scalarNode(strconv.Itoa(sc.MaxT)))
	sadd("min_samples_required", scalarNode(strconv.Itoa(sc.MinSamplesRequired)))
	if sc.Type == SchedulerPBT {
		sadd("perturbation_interval", scalarNode(strconv.FormatInt(sc.PerturbationInterval, 10)))
		sadd("quantile_fraction", floatNode(sc.QuantileFraction))
		sadd("resample_probability", floatNode(sc.ResampleProbability))
		f := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, v := range sc.PerturbationFactors {
			f.Content = append(f.Content, floatNode(v))
		}
		sadd("perturbation_factors", f)
		mu := &yaml.Node{Kind: yaml.MappingNode}
		for _, sp := range sc.Mutations {
			mu.Content = append(mu.Content, strNode(sp.Key), spaceNode(t, sp))
		}
		sadd("hyperparam_mutations", mu)
	}
	add("scheduler", s)
	return m
}

// unparse writes s back as a tune config: each search space as a
// top-level entry at its dotted key, in order, then the tune: section
// with every setting given, then Base's entries.
func unparse(t *testing.T, s *Spec) []byte {
	t.Helper()
	var base yaml.Node
	if err := yaml.Unmarshal(s.Base, &base); err != nil {
		t.Fatalf("Base does not read back: %v\n%s", err, s.Base)
	}
	if len(base.Content) != 1 || base.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("Base is not a mapping:\n%s", s.Base)
	}
	doc := base.Content[0]
	var head []*yaml.Node
	for _, sp := range s.Spaces {
		head = append(head, strNode(sp.Key), spaceNode(t, sp))
	}
	head = append(head, strNode("tune"), settingsNode(t, s.Tune))
	doc.Content = append(head, doc.Content...)
	b, err := yaml.Marshal(&base)
	if err != nil {
		t.Fatalf("encoding the config again: %v", err)
	}
	return b
}

// uncommented returns n's tree without its comments.
func uncommented(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = uncommented(k)
	}
	return &c
}

// parsed is what Parse read: Base (comments aside: they may move to
// another node when entries are put before them), the spaces (without
// their lines) and the settings.
func parsed(t *testing.T, s *Spec) string {
	t.Helper()
	var base yaml.Node
	if err := yaml.Unmarshal(s.Base, &base); err != nil {
		t.Fatalf("Base does not read back: %v\n%s", err, s.Base)
	}
	b, err := yaml.Marshal(uncommented(&base))
	if err != nil {
		t.Fatalf("encoding Base again: %v", err)
	}
	spaces := make([]Space, len(s.Spaces))
	for i, sp := range s.Spaces {
		sp.Line, sp.Values = 0, meanings(t, sp.Values)
		spaces[i] = sp
	}
	tune := s.Tune
	tune.Scheduler.Mutations = nil
	for _, sp := range s.Tune.Scheduler.Mutations {
		sp.Line, sp.Values = 0, meanings(t, sp.Values)
		tune.Scheduler.Mutations = append(tune.Scheduler.Mutations, sp)
	}
	return fmt.Sprintf("spaces %#v\ntune %#v\nbase:\n%s", spaces, tune, b)
}

// meanings returns flow-YAML values with their quoting styles cleared,
// so that values meaning the same (the string 0:0 written plain, or quoted
// as the encoder writes it back) compare equal; tags are kept, so 1 and
// '1' still differ.
func meanings(t *testing.T, values []string) []string {
	t.Helper()
	if values == nil {
		return nil
	}
	var plain func(n *yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			plain(c)
		}
	}
	out := make([]string, len(values))
	for i, v := range values {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(v), &doc); err != nil {
			t.Fatalf("value %q (flow YAML) does not read back: %v", v, err)
		}
		plain(&doc)
		b, err := yaml.Marshal(&doc)
		if err != nil {
			t.Fatalf("encoding value %q again: %v", v, err)
		}
		out[i] = string(b)
	}
	return out
}

// FuzzParse: a tune config from outside never panics Parse or Expand;
// Parse allocates at most 64 KiB plus 2 KiB per input byte (it parses
// YAML twice and encodes it once: a flat list of 10,000 numbers took 936
// bytes per input byte, a config nested 1000 deep 1540; nested 3000 deep
// it took 2919 before MaxDepth); every trial's --set keys
// are the spaces' (and seed). Round trip: an accepted config written
// back in the config's own form (each search space as {kind: [values]}
// at its dotted key, the tune: section with every setting, then Base)
// parses to the same spaces, settings and Base.
func FuzzParse(f *testing.F) {
	f.Add([]byte(gridConfig))
	f.Add([]byte(randomConfig))
	f.Add([]byte("a: {choice: [[1, 2], {b: c}]}\ntune: {seeds: [1, 2], scheduler: {type: median}}\n"))
	f.Add([]byte("x: [{grid_search: [1]}]\n"))
	f.Add([]byte("ppo: {lr: 1e-3, clip: 0.2}\ntune:\n  scheduler:\n    type: pbt\n    perturbation_interval: 1000\n    hyperparam_mutations:\n      ppo:\n        lr: {loguniform: [1e-5, 1e-2]}\n        clip: [0.1, 0.2, 0.3]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s *Spec
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err = Parse("fuzz.yaml", data)
		runtime.ReadMemStats(&after)
		if grew, limit := after.TotalAlloc-before.TotalAlloc, uint64(64<<10+2048*len(data)); grew > limit {
			t.Fatalf("Parse of %d bytes allocated %d bytes; want at most %d", len(data), grew, limit)
		}
		if err != nil {
			return
		}
		again := unparse(t, s)
		s2, err := Parse("fuzz.yaml", again)
		if err != nil {
			t.Fatalf("Parse accepted %q; written back as\n%s\nit refuses it: %v", data, again, err)
		}
		if a, b := parsed(t, s), parsed(t, s2); a != b {
			t.Fatalf("round trip of %q through\n%s\nchanged what Parse reads:\n%s\n%s", data, again, a, b)
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
