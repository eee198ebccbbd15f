package policy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ModelConfig is the network section of a config (YAML key "model").
type ModelConfig struct {
	// Hidden are the hidden layer sizes. Default [64, 64] (CleanRL).
	Hidden []int `yaml:"hidden"`
	// Activation of hidden layers: tanh (default) or relu.
	Activation Activation `yaml:"activation"`
	// LogStdInit is the initial log σ of a Gaussian policy (Box action
	// spaces; SB3's log_std_init). Default 0 (σ = 1, CleanRL).
	LogStdInit float64 `yaml:"log_std_init,omitempty"`
	// Conv are convolutional layers in front of the hidden layers, for
	// image observations (H×W×C, channels last); each is followed by
	// Activation. Default none: an MLP on the flat observation.
	Conv []ConvLayer `yaml:"conv,omitempty"`
	// Preset names a whole network: nature_cnn (NatureCNN) sets conv,
	// hidden ([512]) and activation (relu); conv, or hidden or activation
	// other than their defaults, alongside it are an error. Default none.
	Preset string `yaml:"preset,omitempty"`
	// Init is the MLP layers' weight initialisation: orthogonal (CleanRL's
	// layer_init, SB3's PPO), torch_default (torch.nn.Linear's own, as
	// SB3's and CleanRL's DQN networks start) or gymnax_blines (its flax
	// MLPs' LeCun-normal weights and U[0, 0.05) biases). Conv layers are
	// always orthogonal. Default orthogonal.
	Init Init `yaml:"init,omitempty"`
}

// DefaultModelConfig returns CleanRL's PPO network: two hidden layers of 64 with tanh.
func DefaultModelConfig() ModelConfig {
	return ModelConfig{Hidden: []int{64, 64}, Activation: Tanh}
}

// Validate checks the sizes, activation, conv layers and preset; errors
// name the YAML key (conv[0].kernel: ...).
func (c ModelConfig) Validate() error {
	if err := c.validateConv(); err != nil {
		return err
	}
	c = c.Resolve()
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
	if err := c.Init.Validate(); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if !(c.LogStdInit >= -20 && c.LogStdInit <= 5) {
		return fmt.Errorf("log_std_init: want a value in [-20, 5], got %v", c.LogStdInit)
	}
	return nil
}

// ActorCriticSpec describes separate actor and critic MLPs, as CleanRL's
// ppo.py Agent for a discrete action space (NumActions > 0, categorical
// over the actor's logits) and ppo_continuous_action.py's for a Box action
// space (ActionDim > 0, a diagonal Gaussian whose mean is the actor's
// output and whose log standard deviation is a state-independent
// parameter, "pi/log_std"). Exactly one of NumActions and ActionDim is set.
//
// With conv layers in the model, the actor and the critic each have their
// own convolutional torso in front of their MLP (ActorConv "pi/conv",
// CriticConv "vf/conv"), as they have their own MLPs: CleanRL's
// ppo_atari.py shares one torso (and its hidden layer) between the two
// heads instead, at half the cost; separate networks keep the actor's and
// critic's gradients apart, as for vectors.
type ActorCriticSpec struct {
	ObsDim int
	// ObsShape is the observation Box's shape (ObsDim values, row-major;
	// images H×W×C, channels last). nil or rank 1 is a vector; conv layers
	// need rank 3 (or rank 2, one channel).
	ObsShape   []int
	NumActions int
	ActionDim  int
	Model      ModelConfig
}

// LogStdName is the Gaussian policy's log-standard-deviation parameter.
const LogStdName = "pi/log_std"

// Continuous reports whether the spec is a Gaussian policy over a Box.
func (s ActorCriticSpec) Continuous() bool { return s.ActionDim > 0 }

// Outputs is the actor's output size: NumActions logits or ActionDim means.
func (s ActorCriticSpec) Outputs() int {
	if s.Continuous() {
		return s.ActionDim
	}
	return s.NumActions
}

// Actor is the policy network: observations (or, with conv layers, the
// outputs of ActorConv) to action logits, or to the Gaussian's means
// ("pi/...").
func (s ActorCriticSpec) Actor() MLP {
	m := s.Model.Resolve()
	return MLP{Name: "pi", Sizes: s.sizes(m, s.Outputs()), Activation: m.Activation, OutputGain: 0.01, InitKind: m.Init}
}

// Critic is the value network: observations (or the outputs of
// CriticConv) to V(s) ("vf/...").
func (s ActorCriticSpec) Critic() MLP {
	m := s.Model.Resolve()
	return MLP{Name: "vf", Sizes: s.sizes(m, 1), Activation: m.Activation, OutputGain: 1, InitKind: m.Init}
}

// ActorConv is the actor's convolutional torso ("pi/conv/..."), in front
// of Actor; it has no layers when the model has none.
func (s ActorCriticSpec) ActorConv() Conv { return s.conv("pi/conv") }

// CriticConv is the critic's convolutional torso ("vf/conv/..."), in
// front of Critic; it has no layers when the model has none.
func (s ActorCriticSpec) CriticConv() Conv { return s.conv("vf/conv") }

func (s ActorCriticSpec) conv(name string) Conv {
	m := s.Model.Resolve()
	return Conv{Name: name, InShape: imageShape(s.ObsDim, s.ObsShape), Layers: m.Conv, Activation: m.Activation}
}

// sizes are the MLP's layer sizes: its input is the observation, or the
// conv torso's output.
func (s ActorCriticSpec) sizes(m ModelConfig, out int) []int {
	in := s.ObsDim
	if len(m.Conv) > 0 {
		in = s.conv("").OutSize()
	}
	return append(append([]int{in}, m.Hidden...), out)
}

// Validate checks the model, and that the observation shape fits it (a
// spec may come from outside: a file, the wire).
func (s ActorCriticSpec) Validate() error {
	if err := s.Model.Validate(); err != nil {
		return err
	}
	return s.checkConv()
}

// checkConv checks the observation shape and the conv torso.
func (s ActorCriticSpec) checkConv() error {
	if err := checkObsShape(s.ObsDim, s.ObsShape, s.Model); err != nil {
		return err
	}
	return s.ActorConv().validateLayers()
}

// Init returns version-0 weights for both networks, drawn from rng.
func (s ActorCriticSpec) Init(rng *rand.Rand) *Weights {
	w := &Weights{}
	s.ActorConv().Init(w, rng)
	s.Actor().Init(w, rng)
	s.CriticConv().Init(w, rng)
	s.Critic().Init(w, rng)
	if s.Continuous() {
		// actor_logstd = nn.Parameter(torch.zeros(1, action_dim)): σ = 1.
		logStd := make([]float32, s.ActionDim)
		for i := range logStd {
			logStd[i] = float32(s.Model.LogStdInit)
		}
		w.Tensors = append(w.Tensors, Tensor{Name: LogStdName, Shape: []int{1, s.ActionDim}, Data: logStd})
	}
	return w
}

// ActorCritic acts with an ActorCriticSpec's networks in pure Go. It holds
// its own copy of the weights, updated with SetWeights. Not safe for
// concurrent use: each rollout worker has its own.
type ActorCritic struct {
	spec                  ActorCriticSpec
	w                     *Weights
	actor, critic         *Forward
	actorConv, criticConv *ConvForward // nil without conv layers
	logp                  []float32
	logStd                []float32 // the weights' pi/log_std (continuous)
	normBuf               []float32 // Greedy's and Sample's normalised observations
	sampleLogp            []float32 // Sample's discarded log-probabilities
}

// NewActorCritic returns an ActorCritic acting with a copy of w.
func NewActorCritic(spec ActorCriticSpec, w *Weights) (*ActorCritic, error) {
	p := &ActorCritic{spec: spec, w: w.Clone()}
	if err := spec.checkConv(); err != nil {
		return nil, fmt.Errorf("actor-critic: %w", err)
	}
	var err error
	if p.actorConv, err = NewConvForward(spec.ActorConv(), p.w); err != nil {
		return nil, err
	}
	if p.criticConv, err = NewConvForward(spec.CriticConv(), p.w); err != nil {
		return nil, err
	}
	if p.actor, err = NewForward(spec.Actor(), p.w); err != nil {
		return nil, err
	}
	if p.critic, err = NewForward(spec.Critic(), p.w); err != nil {
		return nil, err
	}
	if spec.Continuous() {
		t := p.w.Get(LogStdName)
		if t == nil || len(t.Data) != spec.ActionDim {
			return nil, fmt.Errorf("actor-critic: weights have no %s of %d values", LogStdName, spec.ActionDim)
		}
		p.logStd = t.Data
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
	if p.spec.Continuous() {
		panic("policy: Act on a continuous actor-critic; use ActContinuous")
	}
	logits := p.runActor(obs, n)
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

// ActContinuous samples a ~ N(μ(s), σ²) for n observations with rng
// (one standard normal draw per action element, in order) and writes the
// actions ([n, ActionDim], not clipped), log N(a; μ, σ²) summed over the
// elements, and V(s) (values may be nil).
func (p *ActorCritic) ActContinuous(obs []float32, n int, rng *rand.Rand, actions, logp, values []float32) {
	A := p.spec.ActionDim
	mean := p.runActor(obs, n)
	var logStdSum float64
	for _, ls := range p.logStd {
		logStdSum += float64(ls)
	}
	for i := 0; i < n; i++ {
		var sq float64
		for j := 0; j < A; j++ {
			eps := rng.NormFloat64()
			actions[i*A+j] = float32(float64(mean[i*A+j]) + math.Exp(float64(p.logStd[j]))*eps)
			sq += eps * eps
		}
		// log N(a; μ, σ²) = Σ_j −½((a_j−μ_j)/σ_j)² − log σ_j − ½ log 2π
		logp[i] = float32(-0.5*sq - logStdSum - 0.5*float64(A)*math.Log(2*math.Pi))
	}
	if values != nil {
		p.Values(obs, n, values)
	}
}

// normalize returns raw observations normalised with the weights'
// ObsNorm, or obs itself without one.
func (p *ActorCritic) normalize(obs []float32) []float32 {
	return p.w.ObsNorm.normalized(&p.normBuf, obs)
}

// ObsNorm returns the observation-normalisation statistics of the weights
// the policy acts with (nil when observations are used as they are).
// Act, ActContinuous and Values take observations already normalised
// with them (a rollout worker normalises); Greedy and GreedyContinuous
// take raw observations and normalise them.
func (p *ActorCritic) ObsNorm() *ObsNorm { return p.w.ObsNorm }

// GreedyContinuous writes the Gaussian's mean μ(s) for each of n raw
// observations into actions ([n, ActionDim], not clipped): the
// deterministic policy of a continuous actor-critic.
func (p *ActorCritic) GreedyContinuous(obs []float32, n int, actions []float32) {
	copy(actions, p.runActor(p.normalize(obs), n)[:n*p.spec.ActionDim])
}

// Greedy writes the most probable action for each of n raw observations
// (the deterministic policy used for evaluation).
func (p *ActorCritic) Greedy(obs []float32, n int, actions []int) {
	if p.spec.Continuous() {
		panic("policy: Greedy on a continuous actor-critic; use GreedyContinuous")
	}
	logits := p.runActor(p.normalize(obs), n)
	na := p.spec.NumActions
	for i := 0; i < n; i++ {
		d := NewCategorical(p.logp, logits[i*na:(i+1)*na])
		p.logp = d.LogP
		actions[i] = d.Mode()
	}
}

// Sample draws an action from π(·|s) with rng for each of n raw
// observations: the stochastic policy, for an evaluation that samples as
// training does (Stable-Baselines3's deterministic=False). It normalises
// with the weights' ObsNorm, then draws exactly as Act does on the
// normalised observations.
func (p *ActorCritic) Sample(obs []float32, n int, rng *rand.Rand, actions []int) {
	if cap(p.sampleLogp) < n {
		p.sampleLogp = make([]float32, n)
	}
	p.Act(p.normalize(obs), n, rng, actions, p.sampleLogp[:n], nil)
}

// SampleContinuous draws a ~ N(μ(s), σ²) with rng for each of n raw
// observations into actions ([n, ActionDim], not clipped): Sample for a
// Box action space, drawing as ActContinuous does.
func (p *ActorCritic) SampleContinuous(obs []float32, n int, rng *rand.Rand, actions []float32) {
	if cap(p.sampleLogp) < n {
		p.sampleLogp = make([]float32, n)
	}
	p.ActContinuous(p.normalize(obs), n, rng, actions, p.sampleLogp[:n], nil)
}

// Values writes V(s) for n observations into dst.
func (p *ActorCritic) Values(obs []float32, n int, dst []float32) {
	copy(dst, p.critic.Run(p.criticConv.Run(obs, n), n)[:n])
}

// Logits returns the actor's logits for n observations ([n, NumActions]),
// valid until the next call.
func (p *ActorCritic) Logits(obs []float32, n int) []float32 {
	return slices.Clone(p.runActor(obs, n))
}

// runActor is the actor's output for n observations: its conv torso (if
// any), then its MLP.
func (p *ActorCritic) runActor(obs []float32, n int) []float32 {
	return p.actor.Run(p.actorConv.Run(obs, n), n)
}
