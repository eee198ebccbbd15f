package algorithms

import (
	"errors"
	"regexp"
	"strings"

	"github.com/rlgo/rlgo/envs/external"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// Setup is what every algorithm needs besides its own hyperparameters:
// the env its workers make, the seed, the network shape, the fleet and
// the learner's device. It is validated once (Validate) by every
// algorithm's New.
//
// Zero values: a Model with no layers, activation, log σ or preset is
// policy.DefaultModelConfig (two hidden layers of 64 with tanh), keeping
// its Init; a zero Rollout is rollout.DefaultConfig; Seed
// 0 is a seed like any other; Device "" is "auto"; NewFleet nil is a
// local fleet of goroutine workers. EnvID is required.
type Setup struct {
	// EnvID and EnvOptions name the env every worker makes.
	EnvID      string
	EnvOptions envs.Options
	// Wrappers wrap every env (rollout.WorkerSpec.Wrappers); a
	// normalize_observation entry turns on observation normalisation with
	// statistics merged by the learner from every fragment and broadcast
	// with the weights (policy.ObsNorm).
	Wrappers []envs.WrapperSpec
	// Metrics are custom episode metrics read from step info.
	Metrics []rollout.MetricSpec
	// External, when set, steps the envs in server processes (an env in
	// any language; see rollout.WorkerSpec.External); EnvID only names it.
	External *external.Config
	// Seed is the run seed; weights, sampling and every worker derive from it.
	Seed uint64
	// Model is the networks' shape.
	Model policy.ModelConfig
	// Rollout sizes the fleet and its fragments.
	Rollout rollout.Config
	// Device is the learner's device (learner.Config.Device).
	Device string
	// NewFleet builds the fleet for the algorithm's acting policy
	// (rltrain learner passes the remote fleet); nil means a local fleet
	// of goroutine workers.
	NewFleet rollout.NewFleetFunc
	// KnownSpaces, when set, are the env's spaces as a caller already
	// read them (train.Run, which makes one env to check the config), so
	// that Spaces makes no env of its own: for an external env that is
	// one server process fewer to start. Nil: Spaces makes one env.
	KnownSpaces *rollout.Spaces
}

// WithDefaults returns s with its zero values replaced by their
// documented defaults.
func (s Setup) WithDefaults() Setup {
	if m := s.Model; len(m.Hidden) == 0 && m.Activation == "" && m.LogStdInit == 0 && len(m.Conv) == 0 && m.Preset == "" {
		s.Model = policy.DefaultModelConfig()
		s.Model.Init = m.Init // a model that sets only its init keeps it
	}
	if s.Rollout == (rollout.Config{}) {
		s.Rollout = rollout.DefaultConfig()
	}
	return s
}

// Validate checks the env id, the model and the rollout sizes. Errors
// name the config key (model.hidden, rollout.workers, ...).
func (s Setup) Validate() error {
	if s.EnvID == "" {
		return &FieldError{Key: "env.id", Msg: "required"}
	}
	if err := s.Model.Validate(); err != nil {
		return prefixed("model", err)
	}
	if err := s.Rollout.Validate(); err != nil {
		return prefixed("rollout", err)
	}
	return nil
}

// prefixed returns err as a FieldError under section: a FieldError's
// key, or the leading "key: " of a validation message, gets the
// section's name in front.
func prefixed(section string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Key: section + "." + fe.Key, Msg: fe.Msg}
	}
	if k, m, ok := strings.Cut(err.Error(), ": "); ok && keyRE.MatchString(k) {
		return &FieldError{Key: section + "." + k, Msg: m}
	}
	return &FieldError{Key: section, Msg: err.Error()}
}

// keyRE matches a config key (a dotted path with list indexes).
var keyRE = regexp.MustCompile(`^[a-z_][a-z0-9_.\[\]]*$`)

// WorkerSpec is what every worker of the run makes its envs from.
func (s Setup) WorkerSpec() rollout.WorkerSpec {
	return rollout.WorkerSpec{EnvID: s.EnvID, EnvOptions: s.EnvOptions, Wrappers: s.Wrappers, Metrics: s.Metrics, Seed: s.Seed, External: s.External}
}

// Spaces reads the spaces a worker's policy sees (rollout.EnvSpaces), or
// returns KnownSpaces when set.
func (s Setup) Spaces() (rollout.Spaces, error) {
	if s.KnownSpaces != nil {
		return *s.KnownSpaces, nil
	}
	return rollout.EnvSpaces(s.WorkerSpec())
}
