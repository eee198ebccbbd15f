package policy

import (
	"errors"
	"fmt"
	"os"

	"github.com/rlgo/rlgo/internal/wire"
)

// ExportFormat is the version of the exported-policy file written here.
const ExportFormat = 1

// Exported is an inference-only policy, as `rltrain export` writes it: the
// network's kind and shape, its weights, and the observation and action
// spaces it was trained on. It holds data only; Load turns it into a
// Policy that acts in pure Go (no gorgonia).
type Exported struct {
	Format int `msgpack:"format"`
	// Kind is "actor_critic" (PPO: the actor's most probable action) or
	// "q" (DQN: the greedy action).
	Kind string `msgpack:"kind"`
	// EnvID names the env the policy was trained on (informational).
	EnvID string `msgpack:"env_id"`
	// ObsLow and ObsHigh are the observation Box's bounds (of the
	// observations the policy sees: after env wrappers such as frame_stack,
	// before normalisation, which the policy applies itself with the
	// statistics in Weights.ObsNorm); NumActions is the Discrete action
	// space's size, or 0 for a Box action space with bounds ActionLow and
	// ActionHigh (a Gaussian actor-critic).
	ObsLow  []float32 `msgpack:"obs_low"`
	ObsHigh []float32 `msgpack:"obs_high"`
	// ObsShape is the observation Box's shape (nil for a vector): a
	// convolutional model (Model.Conv, Model.Preset) reads its
	// observations as images of this shape.
	ObsShape   []int       `msgpack:"obs_shape,omitempty"`
	NumActions int         `msgpack:"num_actions"`
	ActionLow  []float32   `msgpack:"action_low"`
	ActionHigh []float32   `msgpack:"action_high"`
	Model      ModelConfig `msgpack:"model"`
	// Dueling marks a dueling Q-network.
	Dueling bool     `msgpack:"dueling"`
	Weights *Weights `msgpack:"weights"`
}

// Encode returns the msgpack file content.
func (e *Exported) Encode() ([]byte, error) {
	e.Format = ExportFormat
	return wire.Marshal(e)
}

// Policy acts with an exported policy. It is not safe for concurrent use
// (it reuses buffers); give each goroutine its own Load.
type Policy struct {
	exp    *Exported
	greedy interface {
		Greedy(obs []float32, n int, actions []int)
	}
	action []int
	cont   []float32
}

// Load reads an exported policy file (`rltrain export`).
func Load(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return Decode(b)
}

// Decode builds a Policy from the bytes of an exported policy file. The
// bytes are checked before msgpack decodes them, as for any outside input.
func Decode(b []byte) (*Policy, error) {
	var e Exported
	if err := wire.Unmarshal(b, &e, wire.DefaultLimits); err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	if e.Format != ExportFormat {
		return nil, fmt.Errorf("load policy: format %d, this build reads %d", e.Format, ExportFormat)
	}
	continuous := len(e.ActionLow) > 0
	if e.Weights == nil || len(e.ObsLow) == 0 || len(e.ObsLow) != len(e.ObsHigh) || (e.NumActions < 1) == !continuous ||
		len(e.ActionLow) != len(e.ActionHigh) || (continuous && e.Kind != "actor_critic") {
		return nil, errors.New("load policy: incomplete file (weights, observation bounds, or exactly one of action count and action bounds missing)")
	}
	if e.Weights.ObsNorm != nil {
		if err := e.Weights.ObsNorm.Validate(len(e.ObsLow)); err != nil {
			return nil, fmt.Errorf("load policy: %w", err)
		}
	}
	if err := e.Weights.Validate(); err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	if err := e.Model.validateConv(); err != nil { // sizes from outside, before anything is allocated for them
		return nil, fmt.Errorf("load policy: model: %w", err)
	}
	p := &Policy{exp: &e, action: make([]int, 1), cont: make([]float32, len(e.ActionLow))}
	var err error
	switch e.Kind {
	case "actor_critic":
		p.greedy, err = NewActorCritic(ActorCriticSpec{ObsDim: len(e.ObsLow), ObsShape: e.ObsShape, NumActions: e.NumActions, ActionDim: len(e.ActionLow), Model: e.Model}, e.Weights)
	case "q":
		p.greedy, err = NewEpsilonGreedy(QSpec{ObsDim: len(e.ObsLow), ObsShape: e.ObsShape, NumActions: e.NumActions, Model: e.Model, Dueling: e.Dueling}, e.Weights)
	default:
		err = fmt.Errorf("unknown policy kind %q", e.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return p, nil
}

// Act returns the policy's deterministic action for one observation of a
// Discrete action space.
func (p *Policy) Act(obs []float32) (int, error) {
	if len(obs) != len(p.exp.ObsLow) {
		return 0, fmt.Errorf("act: observation has %d values, want %d", len(obs), len(p.exp.ObsLow))
	}
	if p.Continuous() {
		return 0, errors.New("act: the policy has continuous actions; use ActContinuous")
	}
	p.greedy.Greedy(obs, 1, p.action)
	return p.action[0], nil
}

// ActContinuous returns the deterministic action (the Gaussian's mean,
// clipped to the action bounds) for one observation of a policy with a
// Box action space. The slice is reused by the next call.
func (p *Policy) ActContinuous(obs []float32) ([]float32, error) {
	if len(obs) != len(p.exp.ObsLow) {
		return nil, fmt.Errorf("act: observation has %d values, want %d", len(obs), len(p.exp.ObsLow))
	}
	if !p.Continuous() {
		return nil, errors.New("act: the policy has discrete actions; use Act")
	}
	p.greedy.(*ActorCritic).GreedyContinuous(obs, 1, p.cont)
	for j := range p.cont {
		p.cont[j] = min(max(p.cont[j], p.exp.ActionLow[j]), p.exp.ActionHigh[j])
	}
	return p.cont, nil
}

// Continuous reports whether the policy acts in a Box action space.
func (p *Policy) Continuous() bool { return len(p.exp.ActionLow) > 0 }

// ActionBounds returns the Box action space's bounds (nil for a discrete policy).
func (p *Policy) ActionBounds() (low, high []float32) { return p.exp.ActionLow, p.exp.ActionHigh }

// EnvID returns the id of the env the policy was trained on.
func (p *Policy) EnvID() string { return p.exp.EnvID }

// NumActions returns the size of the Discrete action space.
func (p *Policy) NumActions() int { return p.exp.NumActions }

// ObsLow returns the lower bounds of the observation Box (its length is
// the observation size).
func (p *Policy) ObsLow() []float32 { return p.exp.ObsLow }
