package envs

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Factory creates a new, independent instance of an env. opts are the
// env's own keyword options (Gymnasium's gym.make(id, **kwargs)); an env
// that does not know an option returns an error naming it.
type Factory func(opts Options) (Env, error)

// Options are keyword options for an env, as given in a config's env.options.
type Options map[string]any

// Spec describes a registered env, like Gymnasium's EnvSpec.
type Spec struct {
	// ID names the env, e.g. "CartPole-v1".
	ID string
	// New creates the unwrapped env.
	New Factory
	// MaxEpisodeSteps, when positive, makes Make wrap the env in a TimeLimit
	// of that many steps (Gymnasium's max_episode_steps).
	MaxEpisodeSteps int
	// RewardThreshold is the return at which the task counts as solved;
	// HasThreshold is false for envs without one (Pendulum-v1).
	RewardThreshold float64
	// HasThreshold reports whether RewardThreshold is set.
	HasThreshold bool
	// Description is one line for `rltrain envs`.
	Description string
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Spec{}
)

// ErrUnknownEnv is wrapped by Make and Lookup for an id nobody registered.
var ErrUnknownEnv = errors.New("unknown env id")

// Register adds spec to the registry. It returns an error if the id is
// empty, already taken, or spec.New is nil.
func Register(spec Spec) error {
	if spec.ID == "" {
		return errors.New("envs: Register: empty id")
	}
	if spec.New == nil {
		return fmt.Errorf("envs: Register %q: nil factory", spec.ID)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, ok := registry[spec.ID]; ok {
		return fmt.Errorf("envs: Register %q: id already registered", spec.ID)
	}
	registry[spec.ID] = spec
	return nil
}

// MustRegister is Register for package init functions: it panics on error.
func MustRegister(spec Spec) {
	if err := Register(spec); err != nil {
		panic(err)
	}
}

// Lookup returns the spec registered under id.
func Lookup(id string) (Spec, error) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	s, ok := registry[id]
	if !ok {
		return Spec{}, fmt.Errorf("%w %q (registered: %s)", ErrUnknownEnv, id, strings.Join(idsLocked(), ", "))
	}
	return s, nil
}

// Registered returns the specs of all registered envs, sorted by id.
func Registered() []Spec {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Spec, 0, len(registry))
	for _, id := range idsLocked() {
		out = append(out, registry[id])
	}
	return out
}

func idsLocked() []string {
	ids := make([]string, 0, len(registry))
	for id := range registry {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// MaxEpisodeStepsOption is the option key that overrides a spec's
// MaxEpisodeSteps in Make (0 disables the time limit).
const MaxEpisodeStepsOption = "max_episode_steps"

// Make creates the env registered under id, wrapped in a TimeLimit when its
// spec (or opts["max_episode_steps"]) sets one. It is Gymnasium's gym.make.
func Make(id string, opts Options) (Env, error) {
	spec, err := Lookup(id)
	if err != nil {
		return nil, err
	}
	limit := spec.MaxEpisodeSteps
	envOpts := opts
	if v, ok := opts[MaxEpisodeStepsOption]; ok {
		n, ok := toInt(v)
		if !ok || n < 0 {
			return nil, fmt.Errorf("make %s: option %s: want a non-negative integer, got %v", id, MaxEpisodeStepsOption, v)
		}
		limit = n
		envOpts = make(Options, len(opts))
		for k, v := range opts {
			if k != MaxEpisodeStepsOption {
				envOpts[k] = v
			}
		}
	}
	env, err := spec.New(envOpts)
	if err != nil {
		return nil, fmt.Errorf("make %s: %w", id, err)
	}
	if limit > 0 {
		env = NewTimeLimit(env, limit)
	}
	return env, nil
}

// UnknownOptions returns an error naming the keys of opts that are not in
// known, or nil. Env factories use it to reject typos.
func UnknownOptions(opts Options, known ...string) error {
	var bad []string
	for k := range opts {
		if !slices.Contains(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("unknown option(s) %s (known: %s)", strings.Join(bad, ", "), strings.Join(known, ", "))
}

// FloatOption reads opts[key] as a float64, returning def when absent.
func FloatOption(opts Options, key string, def float64) (float64, error) {
	v, ok := opts[key]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	}
	return 0, fmt.Errorf("option %s: want a number, got %T %v", key, v, v)
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case uint64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	}
	return 0, false
}
