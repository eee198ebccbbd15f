package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// ModelConfig is the network section of a config (YAML key "model").
type ModelConfig struct {
	// Hidden are the hidden layer sizes. Default [64, 64] (CleanRL).
	Hidden []int `yaml:"hidden"`
	// Activation of hidden layers: tanh (default) or relu.
	Activation Activation `yaml:"activation"`
}

// DefaultModelConfig returns CleanRL's PPO network: two hidden layers of 64 with tanh.
func DefaultModelConfig() ModelConfig {
	return ModelConfig{Hidden: []int{64, 64}, Activation: Tanh}
}

// Validate checks the sizes and activation.
func (c ModelConfig) Validate() error {
	if len(c.Hidden) == 0 {
		return errors.New("hidden: want at least one layer")
	}
	for i, h := range c.Hidden {
		if h <= 0 || h > 1<<16 {
			return fmt.Errorf("hidden[%d]: want a size in [1, 65536], got %d", i, h)
		}
	}
	if err := c.Activation.Validate(); err != nil {
		return fmt.Errorf("activation: %w", err)
	}
	return nil
}

// ActorCriticSpec describes separate actor and critic MLPs for a discrete
// action space, as CleanRL's ppo.py Agent.
type ActorCriticSpec struct {
	ObsDim     int
	NumActions int
	Model      ModelConfig
}

// Actor is the policy network: observations to action logits ("pi/...").
func (s ActorCriticSpec) Actor() MLP {
	return MLP{Name: "pi", Sizes: s.sizes(s.NumActions), Activation: s.Model.Activation, OutputGain: 0.01}
}

// Critic is the value network: observations to V(s) ("vf/...").
func (s ActorCriticSpec) Critic() MLP {
	return MLP{Name: "vf", Sizes: s.sizes(1), Activation: s.Model.Activation, OutputGain: 1}
}

func (s ActorCriticSpec) sizes(out int) []int {
	return append(append([]int{s.ObsDim}, s.Model.Hidden...), out)
}

// Init returns version-0 weights for both networks, drawn from rng.
func (s ActorCriticSpec) Init(rng *rand.Rand) *Weights {
	w := &Weights{}
	s.Actor().Init(w, rng)
	s.Critic().Init(w, rng)
	return w
}

// ActorCritic acts with an ActorCriticSpec's networks in pure Go. It holds
// its own copy of the weights, updated with SetWeights. Not safe for
// concurrent use: each rollout worker has its own.
type ActorCritic struct {
	spec          ActorCriticSpec
	w             *Weights
	actor, critic *Forward
	logp          []float32
}

// NewActorCritic returns an ActorCritic acting with a copy of w.
func NewActorCritic(spec ActorCriticSpec, w *Weights) (*ActorCritic, error) {
	p := &ActorCritic{spec: spec, w: w.Clone()}
	var err error
	if p.actor, err = NewForward(spec.Actor(), p.w); err != nil {
		return nil, err
	}
	if p.critic, err = NewForward(spec.Critic(), p.w); err != nil {
		return nil, err
	}
	return p, nil
}

// SetWeights copies w into the policy's weights (no allocation).
func (p *ActorCritic) SetWeights(w *Weights) error { return p.w.CopyFrom(w) }

// Version returns the version of the weights the policy acts with.
func (p *ActorCritic) Version() uint64 { return p.w.Version }

// Act samples actions for n observations (obs is [n, ObsDim]) from
// π(·|s) with rng, and writes the actions, their log-probabilities and the
// critic's values V(s) into slices of length n (values may be nil).
func (p *ActorCritic) Act(obs []float32, n int, rng *rand.Rand, actions []int, logp, values []float32) {
	logits := p.actor.Run(obs, n)
	na := p.spec.NumActions
	for i := 0; i < n; i++ {
		d := NewCategorical(p.logp, logits[i*na:(i+1)*na])
		p.logp = d.LogP
		actions[i] = d.Sample(rng)
		logp[i] = d.LogProb(actions[i])
	}
	if values != nil {
		p.Values(obs, n, values)
	}
}

// Greedy writes the most probable action for each of n observations (the
// deterministic policy used for evaluation).
func (p *ActorCritic) Greedy(obs []float32, n int, actions []int) {
	logits := p.actor.Run(obs, n)
	na := p.spec.NumActions
	for i := 0; i < n; i++ {
		d := NewCategorical(p.logp, logits[i*na:(i+1)*na])
		p.logp = d.LogP
		actions[i] = d.Mode()
	}
}

// Values writes V(s) for n observations into dst.
func (p *ActorCritic) Values(obs []float32, n int, dst []float32) {
	copy(dst, p.critic.Run(obs, n)[:n])
}

// Logits returns the actor's logits for n observations ([n, NumActions]),
// valid until the next call.
func (p *ActorCritic) Logits(obs []float32, n int) []float32 {
	return slices.Clone(p.actor.Run(obs, n))
}
