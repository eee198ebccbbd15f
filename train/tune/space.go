// Package tune runs experiments of many trials of one config, as Ray
// Tune does for RLlib: search spaces on any config key (grid_search,
// choice, uniform, loguniform, randint) and seeds expand into trials;
// each trial runs as its own `rltrain train` child process in its own
// run directory under one experiment directory; the ASHA and median
// stopping schedulers stop weak trials early; experiment.csv,
// experiment.json and a report compare the trials; an interrupted or
// killed experiment resumes from the trials' checkpoints.
package tune

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rlgo/rlgo/train/config"
)

// Search-space kinds: the one key of a mapping that replaces a value.
const (
	GridSearch = "grid_search" // every value, a trial each (cartesian product over keys)
	Choice     = "choice"      // one value drawn uniformly per sample
	Uniform    = "uniform"     // a float drawn uniformly from [lo, hi)
	LogUniform = "loguniform"  // a float whose log is uniform on [log lo, log hi)
	RandInt    = "randint"     // an integer drawn uniformly from [lo, hi), hi excluded as in Ray Tune
)

var kinds = []string{GridSearch, Choice, Uniform, LogUniform, RandInt}

// Scheduler types (tune.scheduler.type).
const (
	SchedulerNone   = ""
	SchedulerASHA   = "asha"
	SchedulerMedian = "median"
	// SchedulerPBT (pbt.go) is population-based training.
)

// Settings is the config's tune: section.
type Settings struct {
	// Seeds run every sampled config once per seed (seed=N); none means
	// the config's own seed.
	Seeds []uint64 `json:"seeds,omitempty"`
	// NumSamples repeats the grid this many times, drawing the random
	// spaces afresh each time. Default 1.
	NumSamples int `json:"num_samples"`
	// Metric is the progress.csv column trials are judged by. Default
	// episode_return_mean.
	Metric string `json:"metric"`
	// Mode is max (default) or min.
	Mode string `json:"mode"`
	// MaxConcurrent caps the trials running at once; 0 leaves only the
	// core budget (--parallel).
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// Seed seeds the random search spaces. Default 0.
	Seed uint64 `json:"seed"`
	// Scheduler stops weak trials early; off by default.
	Scheduler SchedulerConfig `json:"scheduler"`
}

// SchedulerConfig is tune.scheduler.
type SchedulerConfig struct {
	// Type is asha, median or "" (none).
	Type string `json:"type,omitempty"`
	// GracePeriod is the number of iterations before any trial may be
	// stopped (ASHA's first rung). Default 1.
	GracePeriod int `json:"grace_period,omitempty"`
	// ReductionFactor is ASHA's η: rungs at grace_period·η^k iterations,
	// and a trial passes a rung in the top 1/η. Default 4 (Ray Tune's).
	ReductionFactor float64 `json:"reduction_factor,omitempty"`
	// MaxT is the last iteration ASHA places rungs below; 0 means the
	// trial's stop.iterations, else 100 (Ray Tune's default).
	MaxT int `json:"max_t,omitempty"`
	// MinSamplesRequired is the median rule's number of other trials
	// needed before it stops one. Default 3.
	MinSamplesRequired int `json:"min_samples_required,omitempty"`

	// PerturbationInterval is PBT's interval in env steps: a trial is
	// considered for exploit and explore each time it has trained this
	// many env steps since its last perturbation. Required for pbt.
	PerturbationInterval int64 `json:"perturbation_interval,omitempty"`
	// QuantileFraction is PBT's top and bottom fraction of the
	// population (0 to 0.5): the bottom copies the top. Default 0.25.
	QuantileFraction float64 `json:"quantile_fraction,omitempty"`
	// ResampleProbability is the chance that explore draws a mutated
	// key afresh from its space instead of perturbing it. Default 0.25.
	ResampleProbability float64 `json:"resample_probability,omitempty"`
	// PerturbationFactors are the factors explore multiplies a value by,
	// one drawn uniformly. Default [1.2, 0.8] (Ray Tune's).
	PerturbationFactors []float64 `json:"perturbation_factors,omitempty"`
	// Mutations are PBT's hyperparam_mutations, in file order: a search
	// space (choice, uniform, loguniform, randint) or an explicit list
	// (Kind MutationList) per dotted key.
	Mutations []Space `json:"hyperparam_mutations,omitempty"`
}

// Space is one search space in the config.
type Space struct {
	// Key is the dotted config key it replaces, e.g. ppo.lr.
	Key string `json:"key"`
	// Kind is grid_search, choice, uniform, loguniform or randint.
	Kind string `json:"kind"`
	// Values are grid_search's and choice's values, as --set values (flow YAML).
	Values []string `json:"values,omitempty"`
	// Lo and Hi bound uniform, loguniform and randint.
	Lo float64 `json:"lo,omitempty"`
	Hi float64 `json:"hi,omitempty"`
	// Line is the key's line in the config file.
	Line int `json:"line"`
}

// Spec is a tune config: the tune-free base config, its search spaces
// and the tune: settings.
type Spec struct {
	// Path is the config file.
	Path string
	// Base is the config without its tune: section and search spaces,
	// as YAML: every trial is Base plus its --set overrides.
	Base []byte
	// Spaces are the search spaces, in file order.
	Spaces []Space
	// Tune is the tune: section, defaults filled.
	Tune Settings

	seedsLine int
	origLine  map[string]int // dotted key → line in Path
	baseKey   map[int]string // line in Base → dotted key
}

// Param is one tuned parameter's value in a trial.
type Param struct {
	// Key is the dotted config key ("seed" for tune.seeds).
	Key string `json:"key"`
	// Value is the value as given to --set.
	Value string `json:"value"`
}

// Trial is one expanded trial: Base with Params applied.
type Trial struct {
	// ID numbers trials from 0 in expansion order.
	ID int `json:"id"`
	// Name is trial-NNN, its run directory's name.
	Name string `json:"name"`
	// Params are the trial's values of the search spaces (then seed).
	Params []Param `json:"params"`
}

// Sets returns the trial's --set overrides (key=value).
func (t Trial) Sets() []string {
	out := make([]string, len(t.Params))
	for i, p := range t.Params {
		out[i] = p.Key + "=" + p.Value
	}
	return out
}

// Load reads and parses the tune config at path.
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &config.Error{Where: path, Msg: fmt.Sprintf("read config: %v", errors.Unwrap(err))}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, config.MaxFileBytes+1))
	if err != nil {
		return nil, &config.Error{Where: path, Msg: fmt.Sprintf("read config: %v", err)}
	}
	return Parse(path, data)
}

// Parse reads a tune config from data (path names it in errors): it
// takes out the tune: section and every search space, leaving Base.
// Errors are *config.Error naming file and line.
func Parse(path string, data []byte) (*Spec, error) {
	if len(data) > config.MaxFileBytes {
		return nil, &config.Error{Where: path, Msg: fmt.Sprintf("config is over %d bytes", config.MaxFileBytes)}
	}
	s := &Spec{Path: path, origLine: map[string]int{}, baseKey: map[int]string{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		// config.Parse words syntax errors with their line.
		_, perr := config.Parse(path, data, nil)
		if perr != nil {
			return nil, perr
		}
		return nil, &config.Error{Where: path, Msg: err.Error()}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil, &config.Error{Where: path, Msg: "a config is a mapping of keys to values"}
	}
	if d := depth(doc); d > MaxDepth {
		// Every key's dotted name is built level by level: allocation
		// grows with the square of the depth (a 45 KB config nested 9000
		// deep allocated 310 MB).
		return nil, &config.Error{Where: path, Msg: fmt.Sprintf("config nested %d deep; the limit is %d", d, MaxDepth)}
	}
	walk(doc, "", func(key string, line int, _ *yaml.Node) { s.origLine[key] = line })
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "tune" {
			if err := s.parseSettings(doc.Content[i+1]); err != nil {
				return nil, err
			}
			doc.Content = append(doc.Content[:i:i], doc.Content[i+2:]...)
			break
		}
	}
	s.Tune.fill()
	if err := s.takeSpaces(doc, ""); err != nil {
		return nil, err
	}
	if len(s.Tune.Seeds) > 0 {
		for _, sp := range s.Spaces {
			if sp.Key == "seed" {
				return nil, s.errAt("seed", "a search space on seed and tune.seeds: give one of them")
			}
		}
	}
	if n := s.Count(); n > MaxTrials {
		return nil, &config.Error{Where: s.Path, Key: "tune", Msg: fmt.Sprintf("%.0f trials (num_samples × grid sizes × seeds); the limit is %d", n, MaxTrials)}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("tune: encode base config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("tune: encode base config: %w", err)
	}
	s.Base = b.Bytes()
	var base yaml.Node
	if err := yaml.Unmarshal(s.Base, &base); err == nil {
		walk(&base, "", func(key string, line int, _ *yaml.Node) { s.baseKey[line] = key })
	}
	return s, nil
}

func (s *Spec) errAt(key, msg string) error {
	if line, ok := s.origLine[key]; ok {
		return &config.Error{Where: fmt.Sprintf("%s:%d", s.Path, line), Key: key, Msg: msg}
	}
	return &config.Error{Where: s.Path, Key: key, Msg: msg}
}

func nodeErr(path string, n *yaml.Node, key, msg string) error {
	return &config.Error{Where: fmt.Sprintf("%s:%d", path, n.Line), Key: key, Msg: msg}
}

// fill sets the defaults of unset settings.
func (t *Settings) fill() {
	if t.NumSamples == 0 {
		t.NumSamples = 1
	}
	if t.Metric == "" {
		t.Metric = "episode_return_mean"
	}
	if t.Mode == "" {
		t.Mode = "max"
	}
	sc := &t.Scheduler
	if sc.Type == SchedulerPBT {
		if sc.QuantileFraction < 0 {
			sc.QuantileFraction = 0.25
		}
		if sc.ResampleProbability < 0 {
			sc.ResampleProbability = 0.25
		}
		if len(sc.PerturbationFactors) == 0 {
			sc.PerturbationFactors = []float64{1.2, 0.8}
		}
	} else {
		sc.QuantileFraction, sc.ResampleProbability = 0, 0
	}
	if sc.GracePeriod == 0 {
		sc.GracePeriod = 1
	}
	if sc.ReductionFactor == 0 {
		sc.ReductionFactor = 4
	}
	if sc.MinSamplesRequired == 0 {
		sc.MinSamplesRequired = 3
	}
}

// parseSettings decodes the tune: section strictly: an unknown key or a
// bad value names its line.
func (s *Spec) parseSettings(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return nodeErr(s.Path, n, "tune", "want a mapping (seeds, num_samples, metric, mode, max_concurrent, seed, scheduler)")
	}
	t := &s.Tune
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := "tune." + k.Value
		var err error
		switch k.Value {
		case "seeds":
			s.seedsLine = k.Line
			err = v.Decode(&t.Seeds)
			if err == nil && len(t.Seeds) == 0 {
				return nodeErr(s.Path, v, key, "want a non-empty list of seeds")
			}
		case "num_samples":
			err = v.Decode(&t.NumSamples)
			if err == nil && t.NumSamples < 1 {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want >= 1, got %d", t.NumSamples))
			}
		case "metric":
			err = v.Decode(&t.Metric)
		case "mode":
			err = v.Decode(&t.Mode)
			if err == nil && t.Mode != "max" && t.Mode != "min" {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want max or min, got %q", t.Mode))
			}
		case "max_concurrent":
			err = v.Decode(&t.MaxConcurrent)
			if err == nil && t.MaxConcurrent < 0 {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want >= 0, got %d", t.MaxConcurrent))
			}
		case "seed":
			err = v.Decode(&t.Seed)
		case "scheduler":
			if err := s.parseScheduler(v); err != nil {
				return err
			}
		default:
			return nodeErr(s.Path, k, key, fmt.Sprintf("unknown key %q (known keys here: max_concurrent, metric, mode, num_samples, scheduler, seed, seeds)", k.Value))
		}
		if err != nil {
			return nodeErr(s.Path, v, key, cleanDecode(err))
		}
	}
	return nil
}

func (s *Spec) parseScheduler(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return nodeErr(s.Path, n, "tune.scheduler", "want a mapping with type: asha or median")
	}
	sc := &s.Tune.Scheduler
	sc.QuantileFraction, sc.ResampleProbability = -1, -1 // unset: fill's defaults
	var mutationsNode, intervalNode *yaml.Node
	pbtKey := ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := "tune.scheduler." + k.Value
		var err error
		switch k.Value {
		case "perturbation_interval", "quantile_fraction", "resample_probability", "perturbation_factors", "hyperparam_mutations":
			if pbtKey == "" {
				pbtKey = key
			}
		}
		switch k.Value {
		case "type":
			err = v.Decode(&sc.Type)
			if err == nil && sc.Type != SchedulerASHA && sc.Type != SchedulerMedian && sc.Type != SchedulerPBT {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want asha, median or pbt, got %q", sc.Type))
			}
		case "perturbation_interval":
			intervalNode = v
			err = v.Decode(&sc.PerturbationInterval)
			if err == nil && sc.PerturbationInterval < 1 {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want >= 1 env steps, got %d", sc.PerturbationInterval))
			}
		case "quantile_fraction":
			err = v.Decode(&sc.QuantileFraction)
			if err == nil && !(sc.QuantileFraction >= 0 && sc.QuantileFraction <= 0.5) {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want 0 to 0.5, got %v", sc.QuantileFraction))
			}
		case "resample_probability":
			err = v.Decode(&sc.ResampleProbability)
			if err == nil && !(sc.ResampleProbability >= 0 && sc.ResampleProbability <= 1) {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want 0 to 1, got %v", sc.ResampleProbability))
			}
		case "perturbation_factors":
			err = v.Decode(&sc.PerturbationFactors)
			if err == nil && len(sc.PerturbationFactors) == 0 {
				return nodeErr(s.Path, v, key, "want a non-empty list of factors, e.g. [1.2, 0.8]")
			}
			for _, f := range sc.PerturbationFactors {
				if err == nil && (!(f > 0) || math.IsInf(f, 0)) {
					return nodeErr(s.Path, v, key, fmt.Sprintf("want factors > 0, got %v", f))
				}
			}
		case "hyperparam_mutations":
			mutationsNode = v
			if err := s.parseMutations(v, ""); err != nil {
				return err
			}
		case "grace_period":
			err = v.Decode(&sc.GracePeriod)
			if err == nil && sc.GracePeriod < 1 {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want >= 1, got %d", sc.GracePeriod))
			}
		case "reduction_factor":
			err = v.Decode(&sc.ReductionFactor)
			if err == nil && !(sc.ReductionFactor > 1) {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want > 1, got %v", sc.ReductionFactor))
			}
		case "max_t":
			err = v.Decode(&sc.MaxT)
			if err == nil && sc.MaxT < 0 {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want >= 0, got %d", sc.MaxT))
			}
		case "min_samples_required":
			err = v.Decode(&sc.MinSamplesRequired)
			if err == nil && sc.MinSamplesRequired < 1 {
				return nodeErr(s.Path, v, key, fmt.Sprintf("want >= 1, got %d", sc.MinSamplesRequired))
			}
		default:
			return nodeErr(s.Path, k, key, fmt.Sprintf("unknown key %q (known keys here: grace_period, hyperparam_mutations, max_t, min_samples_required, perturbation_factors, perturbation_interval, quantile_fraction, reduction_factor, resample_probability, type)", k.Value))
		}
		if err != nil {
			return nodeErr(s.Path, v, key, cleanDecode(err))
		}
	}
	switch {
	case sc.Type == "":
		return nodeErr(s.Path, n, "tune.scheduler.type", "required: asha, median or pbt")
	case sc.Type != SchedulerPBT && pbtKey != "":
		return s.errAt(pbtKey, fmt.Sprintf("a pbt setting, but the scheduler is %s", sc.Type))
	case sc.Type == SchedulerPBT && intervalNode == nil:
		return nodeErr(s.Path, n, "tune.scheduler.perturbation_interval", "required for pbt: the env steps between perturbations")
	case sc.Type == SchedulerPBT && len(sc.Mutations) == 0:
		at := n
		if mutationsNode != nil {
			at = mutationsNode
		}
		return nodeErr(s.Path, at, "tune.scheduler.hyperparam_mutations", "required for pbt: the keys to perturb, each with a search space or a list of values")
	}
	return nil
}

// parseMutations reads PBT's hyperparam_mutations: dotted or nested
// keys, each a search space (choice, uniform, loguniform, randint) or
// an explicit list of values.
func (s *Spec) parseMutations(n *yaml.Node, prefix string) error {
	if n.Kind != yaml.MappingNode {
		return nodeErr(s.Path, n, "tune.scheduler.hyperparam_mutations"+prefix, "want a mapping of config keys to search spaces or lists of values")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		where := "tune.scheduler.hyperparam_mutations." + key
		if section, _, _ := strings.Cut(key, "."); section == "model" || section == "rollout" {
			return nodeErr(s.Path, k, where, fmt.Sprintf("pbt cannot mutate %s: an exploit copies another trial's checkpoint, which must fit the trial's networks (model) and fleet (rollout); mutate learner settings (lr, clip, entropy, epochs, ...)", key))
		}
		for _, m := range s.Tune.Scheduler.Mutations {
			if m.Key == key {
				return nodeErr(s.Path, k, where, "given twice")
			}
		}
		switch v.Kind {
		case yaml.SequenceNode:
			if len(v.Content) == 0 {
				return nodeErr(s.Path, v, where, "want at least one value")
			}
			sp := Space{Key: key, Kind: MutationList, Line: k.Line}
			for _, c := range v.Content {
				val, err := flowYAML(c)
				if err != nil {
					return nodeErr(s.Path, c, where, err.Error())
				}
				sp.Values = append(sp.Values, val)
			}
			s.Tune.Scheduler.Mutations = append(s.Tune.Scheduler.Mutations, sp)
		case yaml.MappingNode:
			sp, ok, err := s.space(where, k, v)
			if err != nil {
				return err
			}
			if !ok {
				if err := s.parseMutations(v, key); err != nil {
					return err
				}
				continue
			}
			sp.Key = key
			if sp.Kind == GridSearch {
				return nodeErr(s.Path, v, where, "grid_search cannot be a mutation: give a list of values (explore moves to a neighbour) or choice")
			}
			if sp.Kind == Choice {
				for _, val := range sp.Values {
					if _, err := strconv.ParseFloat(val, 64); err != nil {
						return nodeErr(s.Path, v, where, fmt.Sprintf("choice: %q is not a number; explore multiplies a choice's value (as Ray Tune): give non-numbers as a list of values", val))
					}
				}
			}
			s.Tune.Scheduler.Mutations = append(s.Tune.Scheduler.Mutations, sp)
		default:
			return nodeErr(s.Path, v, where, "want a search space (choice, uniform, loguniform, randint) or a list of values")
		}
	}
	return nil
}

var decodeLineRE = regexp.MustCompile(`^(yaml: )?(unmarshal errors:\s*)?(line \d+: )?`)

func cleanDecode(err error) string {
	return strings.TrimSpace(decodeLineRE.ReplaceAllString(strings.TrimSpace(err.Error()), ""))
}

// takeSpaces removes every search-space mapping under n (a mapping at
// dotted key prefix) into s.Spaces.
func (s *Spec) takeSpaces(n *yaml.Node, prefix string) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + k.Value
			}
			sp, ok, err := s.space(key, k, v)
			if err != nil {
				return err
			}
			if ok {
				s.Spaces = append(s.Spaces, sp)
				n.Content = append(n.Content[:i:i], n.Content[i+2:]...)
				continue
			}
			if err := s.takeSpaces(v, key); err != nil {
				return err
			}
			i += 2
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind == yaml.MappingNode && len(c.Content) == 2 && isKind(c.Content[0].Value) {
				return nodeErr(s.Path, c, prefix, "a search space inside a list is not supported: put it on the whole list, e.g. hidden: {grid_search: [[64, 64], [128, 128]]}")
			}
			if err := s.takeSpaces(c, prefix); err != nil {
				return err
			}
		}
	}
	return nil
}

func isKind(k string) bool {
	for _, c := range kinds {
		if k == c {
			return true
		}
	}
	return false
}

// space reads v as a search space if it is one (a mapping whose only key
// is a search-space kind); a one-key mapping whose key is a near miss of
// a kind, holding a list, is a typo and an error.
func (s *Spec) space(key string, k, v *yaml.Node) (Space, bool, error) {
	if v.Kind != yaml.MappingNode {
		return Space{}, false, nil
	}
	kindOf := func(i int) string { return v.Content[i].Value }
	found := -1
	for i := 0; i+1 < len(v.Content); i += 2 {
		if isKind(kindOf(i)) {
			found = i
		}
	}
	if found < 0 {
		if len(v.Content) == 2 && v.Content[1].Kind == yaml.SequenceNode {
			if near := nearKind(kindOf(0)); near != "" {
				return Space{}, false, nodeErr(s.Path, v.Content[0], key, fmt.Sprintf("unknown search space %q; did you mean %s? (search spaces: %s)", kindOf(0), near, strings.Join(kinds, ", ")))
			}
		}
		return Space{}, false, nil
	}
	if len(v.Content) != 2 {
		return Space{}, false, nodeErr(s.Path, v, key, fmt.Sprintf("a search space is a mapping of one key (%s), this one has %d", kindOf(found), len(v.Content)/2))
	}
	kind, list := kindOf(0), v.Content[1]
	sp := Space{Key: key, Kind: kind, Line: k.Line}
	where := func(msg string) error { return nodeErr(s.Path, v.Content[0], key, kind+": "+msg) }
	if list.Kind != yaml.SequenceNode {
		return sp, false, where("want a list")
	}
	switch kind {
	case GridSearch, Choice:
		if len(list.Content) == 0 {
			return sp, false, where("want at least one value")
		}
		for _, c := range list.Content {
			val, err := flowYAML(c)
			if err != nil {
				return sp, false, where(err.Error())
			}
			sp.Values = append(sp.Values, val)
		}
	case Uniform, LogUniform, RandInt:
		if len(list.Content) != 2 {
			return sp, false, where(fmt.Sprintf("want [lo, hi], got %d values", len(list.Content)))
		}
		var b [2]float64
		for i, c := range list.Content {
			if kind == RandInt {
				var n int64
				if err := c.Decode(&n); err != nil || c.Tag != "!!int" {
					return sp, false, where(fmt.Sprintf("want whole numbers, got %q", c.Value))
				}
				// Lo and Hi are float64s, and Expand draws from
				// [0, hi-lo) as an int64: bounds within ±2^52 keep both
				// exact (randint [-9e18, 9e18] made Expand panic).
				if n < -1<<52 || n > 1<<52 {
					return sp, false, where(fmt.Sprintf("want whole numbers in [-2^52, 2^52], got %d", n))
				}
				b[i] = float64(n)
				continue
			}
			if err := c.Decode(&b[i]); err != nil || (c.Tag != "!!int" && c.Tag != "!!float") || math.IsNaN(b[i]) || math.IsInf(b[i], 0) {
				return sp, false, where(fmt.Sprintf("want numbers, got %q", c.Value))
			}
		}
		sp.Lo, sp.Hi = b[0], b[1]
		if !(sp.Lo < sp.Hi) {
			return sp, false, where(fmt.Sprintf("want lo < hi, got [%v, %v]", sp.Lo, sp.Hi))
		}
		if kind == LogUniform && sp.Lo <= 0 {
			return sp, false, where(fmt.Sprintf("want 0 < lo, got %v", sp.Lo))
		}
	}
	return sp, true, nil
}

// nearKind returns the kind k is a typo of (edit distance ≤ 2), or "".
func nearKind(k string) string {
	for _, c := range kinds {
		if editDistance(k, c) <= 2 {
			return c
		}
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// flowYAML renders n as one line of YAML, as a --set value.
func flowYAML(n *yaml.Node) (string, error) {
	c := *n
	c.Style |= yaml.FlowStyle
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	b, err := yaml.Marshal(&c)
	if err != nil {
		return "", err
	}
	out := strings.TrimSpace(string(b))
	if strings.Contains(out, "\n") {
		return "", fmt.Errorf("value %q does not fit on one line", out)
	}
	return out, nil
}

// MaxDepth bounds how deep a tune config's mappings and lists nest: the
// run config's bound (config.MaxDepth).
const MaxDepth = config.MaxDepth

// depth returns how deep mappings and lists nest in n (1 for a scalar),
// stopping once past MaxDepth.
func depth(n *yaml.Node) int {
	d := 0
	for _, c := range n.Content {
		if d = max(d, depth(c)); d > MaxDepth {
			break
		}
	}
	return d + 1
}

// walk calls fn with the dotted key, its line and its value node for
// every mapping key, and goes on into mapping values.
func walk(n *yaml.Node, prefix string, fn func(key string, line int, v *yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walk(c, prefix, fn)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			fn(key, n.Content[i].Line, n.Content[i+1])
			walk(n.Content[i+1], key, fn)
		}
	}
}

// MaxTrials bounds an experiment's trials: each is a process and a run
// directory.
const MaxTrials = 10_000

// Count returns the number of trials Expand returns (a float: a config
// may multiply to more than an int holds).
func (s *Spec) Count() float64 {
	n := float64(s.Tune.NumSamples) * float64(max(1, len(s.Tune.Seeds)))
	for _, sp := range s.Spaces {
		if sp.Kind == GridSearch {
			n *= float64(len(sp.Values))
		}
	}
	return n
}

// Expand returns the trials: for each of num_samples samples, every
// combination of the grid_search values (the first grid key varies
// slowest), with the random spaces drawn once per sample and
// combination, then each of tune.seeds. The draws come from a PCG
// source seeded with tune.seed, in that order, so an expansion is
// reproducible.
func (s *Spec) Expand() []Trial {
	rng := rand.New(rand.NewPCG(s.Tune.Seed, 0x7475_6e65)) // "tune"
	var grids []Space
	for _, sp := range s.Spaces {
		if sp.Kind == GridSearch {
			grids = append(grids, sp)
		}
	}
	var trials []Trial
	idx := make([]int, len(grids))
	for sample := 0; sample < s.Tune.NumSamples; sample++ {
		for i := range idx {
			idx[i] = 0
		}
		for {
			var params []Param
			g := 0
			for _, sp := range s.Spaces {
				var v string
				switch sp.Kind {
				case GridSearch:
					v = sp.Values[idx[g]]
					g++
				case Choice:
					v = sp.Values[rng.IntN(len(sp.Values))]
				case Uniform:
					v = formatFloat(sp.Lo + (sp.Hi-sp.Lo)*rng.Float64())
				case LogUniform:
					lo, hi := math.Log(sp.Lo), math.Log(sp.Hi)
					v = formatFloat(math.Exp(lo + (hi-lo)*rng.Float64()))
				case RandInt:
					v = strconv.FormatInt(int64(sp.Lo)+rng.Int64N(int64(sp.Hi-sp.Lo)), 10)
				}
				params = append(params, Param{Key: sp.Key, Value: v})
			}
			seeds := []string{""}
			if len(s.Tune.Seeds) > 0 {
				seeds = seeds[:0]
				for _, sd := range s.Tune.Seeds {
					seeds = append(seeds, strconv.FormatUint(sd, 10))
				}
			}
			for _, sd := range seeds {
				p := append([]Param(nil), params...)
				if sd != "" {
					p = append(p, Param{Key: "seed", Value: sd})
				}
				id := len(trials)
				trials = append(trials, Trial{ID: id, Name: fmt.Sprintf("trial-%03d", id), Params: p})
			}
			// Next grid combination: the last grid key varies fastest.
			i := len(idx) - 1
			for ; i >= 0; i-- {
				idx[i]++
				if idx[i] < len(grids[i].Values) {
					break
				}
				idx[i] = 0
			}
			if i < 0 {
				break
			}
		}
	}
	return trials
}

// formatFloat writes a drawn float with 6 significant digits, as YAML
// reads it back as a float.
func formatFloat(v float64) string {
	out := strconv.FormatFloat(v, 'g', 6, 64)
	if !strings.ContainsAny(out, ".eEn") {
		out += ".0"
	}
	return out
}

// Check loads each trial's config strictly (config.Parse of Base with
// its --set overrides), returning the loaded configs. An error names the
// tune config's file and line: that of the search space (or
// tune.seeds) for a bad value, that of the key for the rest.
func (s *Spec) Check(trials []Trial) ([]*config.Loaded, error) {
	out := make([]*config.Loaded, len(trials))
	for i, t := range trials {
		l, err := config.Parse(s.Path, s.Base, t.Sets())
		if err != nil {
			return nil, s.remap(err, t)
		}
		out[i] = l
	}
	return out, nil
}

// remap rewrites a config error's position from Base and --set to the
// tune config's lines.
func (s *Spec) remap(err error, t Trial) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var ce *config.Error
		if !errors.As(e, &ce) {
			continue
		}
		if set, ok := strings.CutPrefix(ce.Where, "--set "); ok {
			key, val, _ := strings.Cut(set, "=")
			line := s.origLine[key]
			if key == "seed" && len(s.Tune.Seeds) > 0 {
				line = s.seedsLine
			}
			if line > 0 {
				ce.Where = fmt.Sprintf("%s:%d", s.Path, line)
			} else {
				ce.Where = s.Path
			}
			ce.Msg += fmt.Sprintf(" (in %s: %s=%s)", t.Name, key, val)
			continue
		}
		if rest, ok := strings.CutPrefix(ce.Where, s.Path+":"); ok {
			if n, err := strconv.Atoi(rest); err == nil {
				if key, ok := s.baseKey[n]; ok && s.origLine[key] > 0 {
					ce.Where = fmt.Sprintf("%s:%d", s.Path, s.origLine[key])
				} else {
					ce.Where = s.Path
				}
			}
		}
	}
	return err
}
