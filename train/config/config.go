// Package config loads rltrain's experiment configs: strict YAML (an
// unknown key or a bad value is an error naming the key and its line),
// documented defaults, command-line overrides (--set ppo.lr=1e-4), and
// validation of every section.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/rlgo/rlgo/envs/external"

	"go.yaml.in/yaml/v3"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train/checkpoint"
)

// Config is one experiment. Every key has a default (Default) and is
// documented in the README's config reference.
type Config struct {
	// Name names the run directory (runs/<name>-<time>). Default "run".
	Name string `yaml:"name"`
	// Algorithm is a registered algorithm's name (algorithms.Names:
	// "ppo", "dqn", ...). Default "ppo".
	Algorithm string `yaml:"algorithm"`
	// Env is the environment every worker makes.
	Env EnvConfig `yaml:"env"`
	// Seed seeds everything: weights, workers' envs and actions, shuffling. Default 1.
	Seed uint64 `yaml:"seed"`
	// Stop ends the run at the first criterion met.
	Stop StopConfig `yaml:"stop"`
	// Rollout sizes the fleet.
	Rollout rollout.Config `yaml:"rollout"`
	// Model shapes the networks.
	Model policy.ModelConfig `yaml:"model"`
	// Learner places the learner.
	Learner LearnerConfig `yaml:"learner"`
	// Checkpoint says how often to checkpoint, how many to keep, and where.
	Checkpoint checkpoint.Config `yaml:"checkpoint"`
	// Evaluation runs the greedy policy on separate envs every few iterations.
	Evaluation EvaluationConfig `yaml:"evaluation"`
	// Section is the algorithm's own section, under the YAML key of its
	// name (ppo:, dqn:, ...): a pointer to the algorithm's config struct
	// (e.g. *ppo.Config) holding its defaults where the file sets
	// nothing. A section of another algorithm is an error.
	Section algorithms.Config `yaml:"-"`
	// Tracking sends the run to the experiment trackers users already run
	// (MLflow); see docs/tracking.md.
	Tracking TrackingConfig `yaml:"tracking"`
}

// TrackingConfig configures the external experiment trackers. TensorBoard
// files and the report are always written and need no config.
type TrackingConfig struct {
	// MLflow logs the run to an MLflow tracking server.
	MLflow MLflowConfig `yaml:"mlflow"`
}

// MLflowConfig configures MLflow tracking.
type MLflowConfig struct {
	// URI is the tracking server's http(s) URL, e.g. http://localhost:5000.
	// Default "": $MLFLOW_TRACKING_URI if set, else no MLflow tracking.
	// Credentials come from $MLFLOW_TRACKING_TOKEN or
	// $MLFLOW_TRACKING_USERNAME/$MLFLOW_TRACKING_PASSWORD, never the config.
	URI string `yaml:"uri,omitempty"`
	// Experiment is the experiment's name, created if missing. Default ""
	// means the config's name.
	Experiment string `yaml:"experiment,omitempty"`
}

// Validate checks that URI, when set, is an http(s) URL without
// credentials (they would be written to config.yaml and logged as a param).
func (c MLflowConfig) Validate() error {
	if c.URI == "" {
		return nil
	}
	u, err := url.Parse(c.URI)
	if err != nil {
		return fmt.Errorf("uri: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("uri: want an http:// or https:// URL of the tracking server, got %q", c.URI)
	}
	if u.User != nil {
		return errors.New("uri: credentials do not belong in the config (it is written to config.yaml): set $MLFLOW_TRACKING_USERNAME and $MLFLOW_TRACKING_PASSWORD, or $MLFLOW_TRACKING_TOKEN")
	}
	return nil
}

// EnvConfig names the environment.
type EnvConfig struct {
	// ID is a registered env id (rltrain envs lists them). Required.
	ID string `yaml:"id"`
	// Options are passed to the env's factory (gym.make kwargs), e.g.
	// max_episode_steps.
	Options map[string]any `yaml:"options,omitempty"`
	// Wrappers wrap every env, first innermost (Gymnasium's wrappers): a
	// list of names or single-key maps of a name to its options, e.g.
	//   wrappers: [clip_action, {normalize_reward: {gamma: 0.99, clip: 10}}]
	// normalize_observation is applied by the rollout workers with
	// statistics the learner merges from all of them and broadcasts with
	// the weights (saved in checkpoints and exported policies), so it must
	// come after any wrapper that changes observations. See envs.WrapperNames.
	Wrappers []Wrapper `yaml:"wrappers,omitempty"`
	// Metrics declares custom episode metrics read from the env's step
	// info, reported as custom/<name> (mean of the last 100 episodes).
	Metrics []rollout.MetricSpec `yaml:"metrics,omitempty"`
	// External steps the env in a server process instead of the registry:
	// an env in any language, e.g. a Python Gymnasium env
	//   external: {command: [python3, -m, rlgo_env, serve, --env, CartPole-v1]}
	// (every worker starts its own server for its envs), or a server
	// someone else runs: external: {address: host:port}. ID then only
	// names the env. See docs/external-envs.md.
	External *external.Config `yaml:"external,omitempty"`
}

// Wrapper is one entry of env.wrappers: a wrapper name and its options.
type Wrapper envs.WrapperSpec

// UnmarshalYAML reads "name" or "{name: {option: value, ...}}".
func (w *Wrapper) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		w.Name = n.Value
		return nil
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			return fmt.Errorf("line %d: a wrapper is a name or a map of one name to its options", n.Line)
		}
		w.Name = n.Content[0].Value
		if v := n.Content[1]; !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
			var opts map[string]any
			if err := v.Decode(&opts); err != nil {
				return fmt.Errorf("line %d: wrapper %s: options: want a map of option to value", v.Line, w.Name)
			}
			w.Options = opts
		}
		return nil
	}
	return fmt.Errorf("line %d: a wrapper is a name or a map of one name to its options", n.Line)
}

// MarshalYAML writes the form UnmarshalYAML reads.
func (w Wrapper) MarshalYAML() (any, error) {
	if len(w.Options) == 0 {
		return w.Name, nil
	}
	return map[string]any{w.Name: map[string]any(w.Options)}, nil
}

// WrapperSpecs returns the wrappers as envs.WrapperSpecs.
func (e EnvConfig) WrapperSpecs() []envs.WrapperSpec {
	out := make([]envs.WrapperSpec, len(e.Wrappers))
	for i, w := range e.Wrappers {
		out[i] = envs.WrapperSpec(w)
	}
	return out
}

// StopConfig holds the stop criteria, checked at the end of each
// iteration; the first met ends the run.
type StopConfig struct {
	// EpisodeReturnMean is the success criterion: stop once the mean return
	// of the last 100 training episodes reaches it. Unset by default.
	EpisodeReturnMean *float64 `yaml:"episode_return_mean,omitempty"`
	// EnvSteps is the budget of env steps. Default 1,000,000.
	EnvSteps int64 `yaml:"env_steps"`
	// EvaluationReturnMean, when set, stops the run once an evaluation's
	// mean return reaches it (needs evaluation.interval > 0). Unset by default.
	EvaluationReturnMean *float64 `yaml:"evaluation_return_mean,omitempty"`
	// Iterations, when positive, is a budget of iterations. Default 0 (none).
	Iterations int `yaml:"iterations,omitempty"`
	// TimeS, when positive, is a budget of wall-clock seconds. Default 0 (none).
	TimeS float64 `yaml:"time_s,omitempty"`
}

// EvaluationConfig schedules evaluation of the greedy policy during
// training, on envs separate from the training envs.
type EvaluationConfig struct {
	// Interval is the number of iterations between evaluations; 0 (default) never.
	Interval int `yaml:"interval"`
	// Episodes per evaluation. Default 10.
	Episodes int `yaml:"episodes"`
	// Seed of the first evaluation episode's reset (episode i uses seed+i),
	// the same at every evaluation so they compare. Default 1000000.
	Seed uint64 `yaml:"seed"`
}

// LearnerConfig places the learner.
type LearnerConfig struct {
	// Device is auto (default), cpu or cuda:N.
	Device string `yaml:"device"`
}

// Default returns the config every file is decoded onto, with the
// default algorithm's section when that algorithm is registered.
func Default() Config {
	c := Config{
		Name:       "run",
		Algorithm:  "ppo",
		Seed:       1,
		Stop:       StopConfig{EnvSteps: 1_000_000},
		Rollout:    rollout.DefaultConfig(),
		Model:      policy.DefaultModelConfig(),
		Learner:    LearnerConfig{Device: "auto"},
		Checkpoint: checkpoint.DefaultConfig(),
		Evaluation: EvaluationConfig{Episodes: 10, Seed: 1_000_000},
	}
	if reg, err := c.Registration(); err == nil {
		c.Section = reg.NewConfig()
	}
	return c
}

// Registration returns the registration of the config's algorithm.
func (c *Config) Registration() (algorithms.Registration, error) {
	return algorithms.Lookup(c.Algorithm)
}

// Setup returns the shared setup the config describes; newFleet nil
// means a local fleet.
func (c *Config) Setup(newFleet rollout.NewFleetFunc) algorithms.Setup {
	return algorithms.Setup{
		EnvID: c.Env.ID, EnvOptions: c.Env.Options, Wrappers: c.Env.WrapperSpecs(), Metrics: c.Env.Metrics, External: c.Env.External,
		Seed: c.Seed, Model: c.Model, Rollout: c.Rollout, Device: c.Learner.Device, NewFleet: newFleet,
	}
}

// docType is the type a config file decodes into: Config's keys and the
// algorithm's section under its name (none for an unknown algorithm).
func docType(reg *algorithms.Registration, section algorithms.Config) reflect.Type {
	fields := []reflect.StructField{{Name: "Config", Type: reflect.TypeOf(Config{}), Tag: `yaml:",inline"`}}
	if reg != nil {
		fields = append(fields, reflect.StructField{Name: "Section", Type: reflect.TypeOf(section).Elem(), Tag: reflect.StructTag(fmt.Sprintf(`yaml:"%s"`, reg.Name))})
	}
	return reflect.StructOf(fields)
}

// doc returns a pointer to a value of docType holding c and its section.
func (c *Config) doc() reflect.Value {
	var reg *algorithms.Registration
	if r, err := c.Registration(); err == nil && c.Section != nil {
		reg = &r
	}
	v := reflect.New(docType(reg, c.Section))
	v.Elem().Field(0).Set(reflect.ValueOf(*c))
	if reg != nil {
		v.Elem().Field(1).Set(reflect.ValueOf(c.Section).Elem())
	}
	return v
}

// fromDoc copies a decoded doc back into c and its section.
func (c *Config) fromDoc(v reflect.Value) {
	section := c.Section
	*c = v.Elem().Field(0).Interface().(Config)
	c.Section = section
	if v.Elem().NumField() > 1 {
		reflect.ValueOf(c.Section).Elem().Set(v.Elem().Field(1))
	}
}

// Error is a config error: a usage error (exit code 2) that names the key
// and where it came from.
type Error struct {
	// Where is "FILE:LINE", "FILE" or "--set KEY=VALUE".
	Where string
	// Key is the dotted key, when known.
	Key string
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Where != "" {
		b.WriteString(e.Where + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Loaded is a config with the positions its keys came from.
type Loaded struct {
	Config
	// Path is the file it was read from.
	Path    string
	where   map[string]string
	docType reflect.Type
}

// Load reads the YAML file at path onto Default(), applies the --set
// overrides in order, and validates the result.
func Load(path string, sets []string) (*Loaded, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Where: path, Msg: fmt.Sprintf("read config: %v", errors.Unwrap(err))}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, &Error{Where: path, Msg: fmt.Sprintf("read config: %v", err)}
	}
	return Parse(path, data, sets)
}

// Parse is Load on bytes already read; path is used in messages.
func Parse(path string, data []byte, sets []string) (*Loaded, error) {
	if len(data) > MaxFileBytes {
		return nil, &Error{Where: path, Msg: fmt.Sprintf("config is over %d bytes (%d KiB); a config is a short hand-written file", MaxFileBytes, MaxFileBytes>>10)}
	}
	l := &Loaded{Config: Default(), Path: path, where: map[string]string{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg := syntaxLine(cleanYAML(err.Error()))
		if line > 0 {
			return nil, &Error{Where: fmt.Sprintf("%s:%d", path, line), Msg: msg}
		}
		return nil, &Error{Where: path, Msg: msg}
	}
	// Lengths and depth first: walkKeys builds every key's dotted path.
	if err := checkLengths(&root, "", 0); err != nil {
		var ve *valueError
		if errors.As(err, &ve) {
			return nil, &Error{Where: fmt.Sprintf("%s:%d", path, ve.line), Key: ve.key, Msg: ve.msg}
		}
		return nil, err
	}
	lines := map[int][]string{}
	walkKeys(&root, "", func(key string, line int) {
		l.where[key] = fmt.Sprintf("%s:%d", path, line)
		lines[line] = append(lines[line], key)
	})
	// The algorithm decides which section the file may hold: read it
	// first (the last --set algorithm=... wins), then decode strictly.
	l.Algorithm = topLevelScalar(&root, "algorithm", l.Algorithm)
	for _, s := range sets {
		if k, v, ok := strings.Cut(s, "="); ok && strings.TrimSpace(k) == "algorithm" {
			l.Algorithm = strings.TrimSpace(v)
			l.where["algorithm"] = "--set " + s
		}
	}
	reg, err := algorithms.Lookup(l.Algorithm)
	if err != nil {
		return nil, &Error{Where: l.Where("algorithm"), Key: "algorithm", Msg: err.Error()}
	}
	l.Section = reg.NewConfig()
	doc := l.doc()
	l.docType = doc.Type().Elem()
	if err := checkNodes(&root, l.docType); err != nil {
		var ve *valueError
		if errors.As(err, &ve) {
			return nil, &Error{Where: fmt.Sprintf("%s:%d", path, ve.line), Key: ve.key, Msg: ve.msg}
		}
		return nil, err
	}
	if err := strictDecode(data, doc.Interface()); err != nil {
		return nil, decodeError(err, l.docType, func(line int, field string) (string, string) {
			keys := lines[line]
			for _, k := range keys { // a flow mapping puts several keys on one line
				if field != "" && (k == field || strings.HasSuffix(k, "."+field)) {
					return fmt.Sprintf("%s:%d", path, line), k
				}
			}
			if len(keys) > 0 {
				return fmt.Sprintf("%s:%d", path, line), keys[len(keys)-1]
			}
			if line > 0 {
				return fmt.Sprintf("%s:%d", path, line), ""
			}
			return path, ""
		})
	}
	for _, s := range sets {
		if err := l.set(doc, s); err != nil {
			return nil, err
		}
	}
	l.fromDoc(doc)
	if err := l.validate(); err != nil {
		return nil, err
	}
	return l, nil
}

// set applies one --set key=value override, with the value parsed as YAML.
func (l *Loaded) set(v reflect.Value, s string) error {
	where := "--set " + s
	key, val, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return &Error{Where: where, Msg: "want key=value, e.g. ppo.lr=1e-4"}
	}
	parts := strings.Split(key, ".")
	var y strings.Builder
	for i, p := range parts {
		if p == "" {
			return &Error{Where: where, Key: key, Msg: "empty key component"}
		}
		y.WriteString(strings.Repeat("  ", i) + p + ":")
		if i < len(parts)-1 {
			y.WriteString("\n")
		}
	}
	y.WriteString(" " + val + "\n")
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(y.String()), &root); err == nil {
		if err := checkNodes(&root, l.docType); err != nil {
			var ve *valueError
			if errors.As(err, &ve) {
				return &Error{Where: where, Key: ve.key, Msg: ve.msg}
			}
			return err
		}
	}
	if err := strictDecode([]byte(y.String()), v.Interface()); err != nil {
		return decodeError(err, l.docType, func(int, string) (string, string) { return where, key })
	}
	l.where[key] = where
	return nil
}

func strictDecode(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if errors.Is(err, errEOF) {
		return nil // an empty file leaves the defaults
	}
	return err
}

var errEOF = func() error {
	err := yaml.NewDecoder(bytes.NewReader(nil)).Decode(&struct{}{})
	return err
}()

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)
var keyRE = regexp.MustCompile(`^[a-z_][a-z0-9_.\[\]]*$`)
var fieldRE = regexp.MustCompile(`^field (\S+) not found in type (.+)$`)

// decodeError turns yaml.v3's errors into Errors naming key and line.
func decodeError(err error, t reflect.Type, at func(line int, field string) (where, key string)) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		msg := cleanYAML(err.Error())
		where, key := at(0, "")
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			where, key = at(n, "")
			msg = m[2]
		}
		return &Error{Where: where, Key: key, Msg: msg}
	}
	var errs []error
	for _, msg := range te.Errors {
		m := lineRE.FindStringSubmatch(msg)
		if m == nil {
			where, key := at(0, "")
			errs = append(errs, &Error{Where: where, Key: key, Msg: msg})
			continue
		}
		n, _ := strconv.Atoi(m[1])
		text := m[2]
		field := ""
		if f := fieldRE.FindStringSubmatch(text); f != nil {
			field = f[1]
		}
		where, key := at(n, field)
		if f := fieldRE.FindStringSubmatch(text); f != nil {
			text = fmt.Sprintf("unknown key %q", f[1])
			parts := strings.Split(key, ".")
			for i, p := range parts { // a --set key names more than the unknown field: cut after it
				if p == field {
					key = strings.Join(parts[:i+1], ".")
					break
				}
			}
			if known := knownKeys(t, key); known != "" {
				text += " (known keys here: " + known + ")"
			}
		}
		errs = append(errs, &Error{Where: where, Key: key, Msg: text})
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func cleanYAML(s string) string { return strings.TrimPrefix(s, "yaml: ") }

// knownKeys lists the YAML keys of the struct of type t that holds key.
func knownKeys(t reflect.Type, key string) string {
	parts := strings.Split(key, ".")
	for _, p := range parts[:max(len(parts)-1, 0)] {
		f, ok := fieldByTag(t, p)
		if !ok {
			return ""
		}
		t = f.Type
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
	}
	keys := yamlKeys(t)
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// yamlKeys lists the YAML keys of struct type t, inline fields' included.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case opts == "inline":
			keys = append(keys, yamlKeys(t.Field(i).Type)...)
		case name != "" && name != "-":
			keys = append(keys, name)
		}
	}
	return keys
}

func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if opts == "inline" {
			if f, ok := fieldByTag(t.Field(i).Type, tag); ok {
				return f, true
			}
		}
		if name == tag {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// topLevelScalar returns the value of the top-level scalar key in the
// document root, or def when there is none.
func topLevelScalar(root *yaml.Node, key, def string) string {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return def
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return def
}

// walkKeys calls fn with the dotted path and line of every mapping key.
func walkKeys(n *yaml.Node, prefix string, fn func(key string, line int)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walkKeys(c, prefix, fn)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			key := fmt.Sprintf("%s[%d]", prefix, i)
			fn(key, c.Line)
			walkKeys(c, key, fn)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + k.Value
			}
			fn(key, k.Line)
			walkKeys(n.Content[i+1], key, fn)
		}
	}
}

// Where returns where key was set ("FILE:LINE" or "--set ...") or "" for a default.
func (l *Loaded) Where(key string) string {
	for k := key; k != ""; {
		if w, ok := l.where[k]; ok {
			return w
		}
		i := strings.LastIndex(k, ".")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return ""
}

func (l *Loaded) fieldError(section string, err error) error {
	var fe *algorithms.FieldError
	join := func(k string) string {
		if section == "" {
			return k
		}
		return section + "." + k
	}
	key, msg := section, err.Error()
	if errors.As(err, &fe) {
		key, msg = join(fe.Key), fe.Msg
	} else if k, m, ok := strings.Cut(err.Error(), ": "); ok && keyRE.MatchString(k) {
		key, msg = join(k), m
	}
	where := l.Where(key)
	if where == "" {
		where = l.Path + " (default value)"
	}
	return &Error{Where: where, Key: key, Msg: msg}
}

// Validate checks every section, and that the env id and algorithm exist.
func (l *Loaded) validate() error {
	c := &l.Config
	if c.Name == "" || strings.ContainsAny(c.Name, `/\`) {
		return l.fieldError("name", fmt.Errorf("want a non-empty name without slashes, got %q", c.Name))
	}
	if len(c.Name) > MaxNameBytes {
		return l.fieldError("name", fmt.Errorf("%d bytes long; the limit is %d (it names the run directory)", len(c.Name), MaxNameBytes))
	}
	reg, err := c.Registration()
	if err != nil {
		return &Error{Where: l.Where("algorithm"), Key: "algorithm", Msg: err.Error()}
	}
	if c.Env.ID == "" {
		return &Error{Where: l.Path, Key: "env.id", Msg: "required (rltrain envs lists the registered ids)"}
	}
	if c.Env.External != nil {
		if err := c.Env.External.Validate(); err != nil {
			return l.fieldError("env.external", err)
		}
		for i, w := range c.Env.Wrappers {
			if w.Name != envs.WrapNormalizeObservation {
				key := fmt.Sprintf("env.wrappers[%d]", i)
				return &Error{Where: l.Where(key), Key: key, Msg: fmt.Sprintf("%s cannot wrap an external env (only normalize_observation, which the workers apply, can): wrap the env in its server", w.Name)}
			}
		}
		if len(c.Env.Options) > 0 {
			return &Error{Where: l.Where("env.options"), Key: "env.options", Msg: "an external env takes its options in its server's command (e.g. rlgo_env serve --kwargs JSON)"}
		}
	} else if _, err := envs.Lookup(c.Env.ID); err != nil {
		return &Error{Where: l.Where("env.id"), Key: "env.id", Msg: err.Error() + " (or set env.external to step an env in another process)"}
	}
	for i, w := range c.Env.Wrappers {
		key := fmt.Sprintf("env.wrappers[%d]", i)
		if err := envs.WrapperSpec(w).Validate(); err != nil {
			return &Error{Where: l.Where(key), Key: key, Msg: err.Error()}
		}
		if w.Name == envs.WrapNormalizeObservation {
			for _, later := range c.Env.Wrappers[i+1:] {
				if later.Name == envs.WrapFrameStack || later.Name == envs.WrapNormalizeObservation {
					return &Error{Where: l.Where(key), Key: key, Msg: fmt.Sprintf("normalize_observation must come after %s: the rollout workers normalise the observations the policy sees, with statistics shared by the fleet", later.Name)}
				}
			}
		}
	}
	if err := rollout.ValidateMetrics(c.Env.Metrics); err != nil {
		return l.fieldError("env", err)
	}
	if c.Stop.EnvSteps <= 0 {
		return l.fieldError("stop.env_steps", fmt.Errorf("want > 0, got %d", c.Stop.EnvSteps))
	}
	if c.Stop.Iterations < 0 {
		return l.fieldError("stop.iterations", fmt.Errorf("want >= 0, got %d", c.Stop.Iterations))
	}
	if c.Stop.TimeS < 0 {
		return l.fieldError("stop.time_s", fmt.Errorf("want >= 0, got %v", c.Stop.TimeS))
	}
	if err := c.Rollout.Validate(); err != nil {
		return l.fieldError("rollout", err)
	}
	if err := c.Model.Validate(); err != nil {
		return l.fieldError("model", err)
	}
	if err := c.Checkpoint.Validate(); err != nil {
		return l.fieldError("checkpoint", err)
	}
	if c.Evaluation.Interval < 0 {
		return l.fieldError("evaluation.interval", fmt.Errorf("want >= 0, got %d", c.Evaluation.Interval))
	}
	if c.Evaluation.Episodes < 1 {
		return l.fieldError("evaluation.episodes", fmt.Errorf("want >= 1, got %d", c.Evaluation.Episodes))
	}
	if c.Stop.EvaluationReturnMean != nil && c.Evaluation.Interval == 0 {
		return l.fieldError("stop.evaluation_return_mean", errors.New("needs evaluation.interval > 0"))
	}
	if _, _, err := learner.ParseDevice(c.Learner.Device); err != nil {
		return l.fieldError("learner.device", errors.New(strings.TrimPrefix(err.Error(), "device ")))
	}
	if _, err := learner.SelectDevice(c.Learner.Device); err != nil { // cuda:N in a CPU-only build: fail before any run directory exists
		return l.fieldError("learner.device", err)
	}
	if err := c.Tracking.MLflow.Validate(); err != nil {
		return l.fieldError("tracking.mlflow", err)
	}
	// PPO's minibatches must divide its train batch; DQN samples its own
	// minibatches from replay, so the check is PPO's alone.
	// The algorithm's section, and its fit with the rest (e.g. PPO's
	// minibatches must divide the train batch).
	if err := reg.Check(c.Section, c.Setup(nil)); err != nil {
		return l.fieldError("", err)
	}
	return nil
}

// YAML returns the resolved config as YAML, for the run directory.
func (c *Config) YAML() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c.doc().Interface()); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// FromDescription returns the config that rebuilds the algorithm d
// describes (what `rltrain train --resume`, `evaluate` and `export` read
// from a run's config.yaml): Default() with d's algorithm, section and
// setup. Name, stop criteria, evaluation and checkpoints keep their
// defaults for the caller to set.
func FromDescription(d algorithms.Description) Config {
	c := Default()
	s := d.Setup
	c.Algorithm, c.Section = d.Name, d.Config
	c.Env = EnvConfig{ID: s.EnvID, Options: s.EnvOptions, Metrics: s.Metrics, External: s.External}
	for _, w := range s.Wrappers {
		c.Env.Wrappers = append(c.Env.Wrappers, Wrapper(w))
	}
	c.Seed, c.Model, c.Rollout = s.Seed, s.Model, s.Rollout
	if s.Device != "" {
		c.Learner.Device = s.Device
	}
	return c
}
