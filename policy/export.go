package policy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"

	"github.com/rlgo/rlgo/internal/wire"
)

// ExportFormat is the version of the exported-policy file written here.
// Format 2 ends the file with a trailer (exportMagic and the CRC32C of
// everything before it); format 1 files, which had none, are refused.
const ExportFormat = 2

// exportMagic starts the trailer of an exported policy file.
var exportMagic = []byte("RLGOPOLICY2")

// exportTrailer is the trailer's size: the magic and a CRC32C.
var exportTrailer = len(exportMagic) + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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

// Encode returns the file content: the msgpack of e, then the trailer
// (the magic and the CRC32C of the msgpack), so that Decode detects any
// damage.
func (e *Exported) Encode() ([]byte, error) {
	e.Format = ExportFormat
	body, err := wire.Marshal(e)
	if err != nil {
		return nil, err
	}
	out := append(body, exportMagic...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(body, castagnoli)), nil
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
// bytes are checked before msgpack decodes them, as for any outside input:
// the trailer's checksum over the whole file, then the msgpack headers;
// after decoding, the schema strictly — the tensors are exactly those the
// network needs, every weight is finite, the model and spaces are valid.
func Decode(b []byte) (*Policy, error) {
	if len(b) < exportTrailer || !bytes.Equal(b[len(b)-exportTrailer:len(b)-4], exportMagic) {
		return nil, errors.New("load policy: no checksum trailer: not an exported policy of format 2 (a damaged file, or format 1: export it again with this build's rltrain export)")
	}
	body := b[:len(b)-exportTrailer]
	if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return nil, fmt.Errorf("load policy: checksum mismatch (CRC32C %08x, the file says %08x): the file is damaged", got, want)
	}
	var e Exported
	if err := wire.Unmarshal(body, &e, wire.DefaultLimits); err != nil {
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
	if err := e.Model.Validate(); err != nil {
		return nil, fmt.Errorf("load policy: model: %w", err)
	}
	if e.Weights.ObsNorm != nil {
		if err := e.Weights.ObsNorm.Validate(len(e.ObsLow)); err != nil {
			return nil, fmt.Errorf("load policy: %w", err)
		}
	}
	if err := e.Weights.Validate(); err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	for _, t := range e.Weights.Tensors {
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("load policy: weights: tensor %s[%d] is %v", t.Name, i, v)
			}
		}
	}
	for i := range e.ObsLow {
		if math.IsNaN(float64(e.ObsLow[i])) || math.IsNaN(float64(e.ObsHigh[i])) || e.ObsLow[i] > e.ObsHigh[i] {
			return nil, fmt.Errorf("load policy: observation bounds [%v, %v] at %d", e.ObsLow[i], e.ObsHigh[i], i)
		}
	}
	for i := range e.ActionLow {
		if !(e.ActionLow[i] <= e.ActionHigh[i]) || math.IsInf(float64(e.ActionLow[i]), 0) || math.IsInf(float64(e.ActionHigh[i]), 0) {
			return nil, fmt.Errorf("load policy: action bounds [%v, %v] at %d", e.ActionLow[i], e.ActionHigh[i], i)
		}
	}
	if err := e.Model.validateConv(); err != nil { // sizes from outside, before anything is allocated for them
		return nil, fmt.Errorf("load policy: model: %w", err)
	}
	p := &Policy{exp: &e, action: make([]int, 1), cont: make([]float32, len(e.ActionLow))}
	var err error
	// want are the tensors the network has, to compare with the file's:
	// initialised the cheap way (no QR decomposition), only names and
	// sizes matter. Init runs only once the policy is built: building it
	// refuses weights that lack a tensor of the network or hold one of
	// another size, so Init allocates no more than the file holds (before,
	// a 628-byte file declaring hidden layers [4096, 4096] made Decode
	// allocate 134 MB, and [65536, 65536] 34 GB: FuzzDecode's
	// huge-network-small-file seed).
	var want *Weights
	rng := rand.New(rand.NewPCG(0, 0))
	cheap := e.Model
	cheap.Init = InitTorchDefault
	switch e.Kind {
	case "actor_critic":
		spec := ActorCriticSpec{ObsDim: len(e.ObsLow), ObsShape: e.ObsShape, NumActions: e.NumActions, ActionDim: len(e.ActionLow), Model: e.Model}
		if err = spec.Validate(); err == nil {
			if p.greedy, err = NewActorCritic(spec, e.Weights); err == nil {
				s := spec
				s.Model = cheap
				want = s.Init(rng)
			}
		}
	case "q":
		spec := QSpec{ObsDim: len(e.ObsLow), ObsShape: e.ObsShape, NumActions: e.NumActions, Model: e.Model, Dueling: e.Dueling}
		if err = spec.Validate(); err == nil {
			if p.greedy, err = NewEpsilonGreedy(spec, e.Weights); err == nil {
				s := spec
				s.Model = cheap
				want = s.Init(rng)
			}
		}
	default:
		err = fmt.Errorf("unknown policy kind %q", e.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	if len(want.Tensors) != len(e.Weights.Tensors) {
		return nil, fmt.Errorf("load policy: weights: %d tensors, the network has %d", len(e.Weights.Tensors), len(want.Tensors))
	}
	for i, t := range want.Tensors {
		if got := e.Weights.Tensors[i]; got.Name != t.Name || len(got.Data) != len(t.Data) {
			return nil, fmt.Errorf("load policy: weights: tensor %d is %s[%d], the network's is %s[%d]", i, got.Name, len(got.Data), t.Name, len(t.Data))
		}
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

// DecodeExported checks an exported policy file as Decode does and returns
// its content (for tools that read the spaces, model and weights).
func DecodeExported(b []byte) (*Exported, error) {
	p, err := Decode(b)
	if err != nil {
		return nil, err
	}
	return p.exp, nil
}
