package rollout

import (
	"errors"
	"fmt"

	"github.com/rlgo/rlgo/policy"
)

// Kinds of acting policy a PolicySpec describes.
const (
	// PolicyActorCritic is policy.ActorCritic: sample from π (PPO).
	PolicyActorCritic = "actor_critic"
	// PolicyQ is policy.EpsilonGreedy over a Q-network, with the ε the
	// weights carry (Weights.Explore.Epsilon) (DQN).
	PolicyQ = "q"
)

// PolicySpec describes the policy a worker acts with, so that a fleet
// (local or remote) can build it without knowing the algorithm. Exactly
// the field of its Kind is set.
type PolicySpec struct {
	Kind        string                 `msgpack:"kind"`
	ActorCritic policy.ActorCriticSpec `msgpack:"actor_critic"`
	Q           policy.QSpec           `msgpack:"q"`
}

// ActorCriticPolicy describes a policy.ActorCritic.
func ActorCriticPolicy(s policy.ActorCriticSpec) PolicySpec {
	return PolicySpec{Kind: PolicyActorCritic, ActorCritic: s}
}

// QPolicy describes a policy.EpsilonGreedy over the Q-network s.
func QPolicy(s policy.QSpec) PolicySpec { return PolicySpec{Kind: PolicyQ, Q: s} }

// ObsDim is the observation size the policy reads.
func (s PolicySpec) ObsDim() int {
	if s.Kind == PolicyQ {
		return s.Q.ObsDim
	}
	return s.ActorCritic.ObsDim
}

// NumActions is the size of the policy's discrete action space (0 for a
// Gaussian actor-critic).
func (s PolicySpec) NumActions() int {
	if s.Kind == PolicyQ {
		return s.Q.NumActions
	}
	return s.ActorCritic.NumActions
}

// ActionDim is the size of the policy's Box action space (0 for a
// discrete one).
func (s PolicySpec) ActionDim() int {
	if s.Kind == PolicyQ {
		return 0
	}
	return s.ActorCritic.ActionDim
}

// Validate checks the kind and the sizes (a spec may come off the network).
func (s PolicySpec) Validate() error {
	var m policy.ModelConfig
	switch s.Kind {
	case PolicyActorCritic:
		m = s.ActorCritic.Model
	case PolicyQ:
		m = s.Q.Model
	default:
		return fmt.Errorf("policy kind %q: want %s or %s", s.Kind, PolicyActorCritic, PolicyQ)
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if s.ObsDim() <= 0 || s.ObsDim() > 1<<20 || s.NumActions() < 0 || s.ActionDim() < 0 || s.NumActions() > 1<<16 || s.ActionDim() > 1<<16 {
		return errors.New("policy sizes out of range")
	}
	if (s.NumActions() > 0) == (s.ActionDim() > 0) {
		return errors.New("policy needs exactly one of a discrete action count and a continuous action size")
	}
	return nil
}

// NewPolicy builds the acting policy spec describes, with weights w.
func NewPolicy(spec PolicySpec, w *policy.Weights) (Policy, error) {
	switch spec.Kind {
	case PolicyActorCritic:
		p, err := policy.NewActorCritic(spec.ActorCritic, w)
		if err != nil {
			return nil, err
		}
		return p, nil
	case PolicyQ:
		p, err := policy.NewEpsilonGreedy(spec.Q, w)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, fmt.Errorf("policy kind %q: want %s or %s", spec.Kind, PolicyActorCritic, PolicyQ)
}

// FleetSpec is what an algorithm asks of the fleet it builds.
type FleetSpec struct {
	// Policy is what workers act with.
	Policy PolicySpec
	// MaxStaleness is how many weights versions older than the current
	// one a fragment may have been acted with and still count: 0 (PPO,
	// on-policy) accepts only the current version. A local fleet always
	// acts with the current weights and ignores it.
	MaxStaleness uint64
	// Columns are the optional SampleBatch columns the algorithm reads;
	// workers compute and send only those. The zero value is every
	// column. A local fleet passes it on as WorkerSpec.Columns.
	Columns Columns
}

// NewFleetFunc builds a fleet for spec, acting first with w.
type NewFleetFunc func(spec FleetSpec, w *policy.Weights) (Fleet, error)
