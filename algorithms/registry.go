package algorithms

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rlgo/rlgo/rollout"
)

// Config is an algorithm's own config section (the YAML key of its name,
// e.g. ppo:), with documented defaults and a Validate whose errors are
// FieldErrors naming the key within the section.
type Config interface {
	Validate() error
}

// SetupValidator is implemented by a Config whose validity depends on
// the shared Setup (e.g. PPO's minibatches must divide the train batch).
type SetupValidator interface {
	ValidateSetup(s Setup) error
}

// Registration tells the run loop, the config loader and the CLI
// everything they need of an algorithm, so that a new algorithm is one
// package plus one Register call (in its init), and no switch over
// algorithm names exists anywhere else.
type Registration struct {
	// Name is the algorithm's name: the value of the config's algorithm
	// key and the YAML key of its section.
	Name string
	// NewConfig returns the section with its defaults, as a pointer to
	// the algorithm's config struct (e.g. *ppo.Config), which the config
	// loader decodes the section into, strictly.
	NewConfig func() Config
	// New builds the algorithm from its section (a value NewConfig
	// returned) and the shared setup.
	New func(cfg Config, s Setup) (Algorithm, error)
	// Policy returns the spec of the policy the algorithm's workers act
	// with (and that evaluation and export use) for an env with spaces
	// sp, or an error saying why the algorithm cannot act in that env
	// (e.g. DQN with a Box action space).
	Policy func(cfg Config, s Setup, sp rollout.Spaces) (rollout.PolicySpec, error)
}

var registry struct {
	sync.RWMutex
	m map[string]Registration
}

// Register adds an algorithm. It panics on an empty or repeated name or a
// missing function: registrations happen in init, and such a mistake is
// the programmer's.
func Register(r Registration) {
	if r.Name == "" || r.NewConfig == nil || r.New == nil || r.Policy == nil {
		panic(fmt.Sprintf("algorithms: Register(%q): name, NewConfig, New and Policy are required", r.Name))
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.m == nil {
		registry.m = map[string]Registration{}
	}
	if _, dup := registry.m[r.Name]; dup {
		panic(fmt.Sprintf("algorithms: Register(%q) called twice", r.Name))
	}
	registry.m[r.Name] = r
}

// Lookup returns the registration of the algorithm name.
func Lookup(name string) (Registration, error) {
	registry.RLock()
	defer registry.RUnlock()
	r, ok := registry.m[name]
	if !ok {
		return Registration{}, fmt.Errorf("unknown algorithm %q (known: %s)", name, strings.Join(namesLocked(), ", "))
	}
	return r, nil
}

// Names returns the registered algorithms' names, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	var names []string
	for n := range registry.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Build validates cfg and s and builds the algorithm r describes,
// returning config errors as FieldErrors with the section's name
// prefixed (ppo.lr, model.hidden, ...).
func (r Registration) Build(cfg Config, s Setup) (Algorithm, error) {
	s = s.WithDefaults()
	if err := r.Check(cfg, s); err != nil {
		return nil, err
	}
	return r.New(cfg, s)
}

// Check validates cfg against s (the section's Validate and
// ValidateSetup, the setup's Validate) without building anything. Errors
// are FieldErrors naming the full key where the key is known.
func (r Registration) Check(cfg Config, s Setup) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return prefixed(r.Name, err)
	}
	if v, ok := cfg.(SetupValidator); ok {
		if err := v.ValidateSetup(s); err != nil {
			return prefixed(r.Name, err)
		}
	}
	return nil
}

// Of returns the Registration of an algorithm whose config section is
// the struct C (with a Validate method on C): defaults gives the
// section's defaults, build the algorithm, and policy the acting policy's
// spec for an env's spaces. It panics if *C is not a Config.
func Of[C any, A Algorithm](name string, defaults func() C, build func(C, Setup) (A, error), policy func(C, Setup, rollout.Spaces) (rollout.PolicySpec, error)) Registration {
	if _, ok := any(new(C)).(Config); !ok {
		panic(fmt.Sprintf("algorithms: Of(%q): *%T has no Validate() error method", name, *new(C)))
	}
	return Registration{
		Name:      name,
		NewConfig: func() Config { c := defaults(); return any(&c).(Config) },
		New: func(c Config, s Setup) (Algorithm, error) {
			a, err := build(*any(c).(*C), s)
			if err != nil {
				return nil, err
			}
			return a, nil
		},
		Policy: func(c Config, s Setup, sp rollout.Spaces) (rollout.PolicySpec, error) {
			return policy(*any(c).(*C), s, sp)
		},
	}
}
