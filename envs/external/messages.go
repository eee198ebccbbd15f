package external

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
)

// ProtocolVersion is the env protocol's version, sent in Spec both ways.
const ProtocolVersion = 1

// ServiceName is the gRPC service's full name.
const ServiceName = "rlgo.env.v1.Env"

// Method names of the service.
const (
	methodSpec  = "Spec"
	methodReset = "Reset"
	methodStep  = "Step"
	methodClose = "Close"
	// methodStepStream is Step as a bidirectional stream: the client sends
	// one Step request per vector step on a stream it keeps open, the
	// server answers each with one Step reply, in order. Servers that list
	// CapStepStream in their Spec reply serve it; the others are stepped
	// with the unary Step.
	methodStepStream = "StepStream"
)

// CapStepStream is the capability a server lists in its Spec reply's
// capabilities when it serves StepStream. Capabilities are how the
// protocol grows without a new version: a client uses only what the
// server lists, and old clients ignore the field.
const CapStepStream = "step_stream"

// CapStepSocket is the capability a server lists when it also answers
// Step requests on a plain Unix socket, whose path the Spec reply's
// step_socket field gives: each request and reply is a frame of a
// 4-byte little-endian length and the msgpack message, the same maps as
// the unary Step's (a failed step's reply is {code, message}: a gRPC
// status code and its text). Only a client connected over a Unix socket
// uses it: no gRPC framing, HTTP/2 or thread hand-offs per step.
const CapStepSocket = "step_socket"

// maxSocketPath bounds the step_socket path of a Spec reply.
const maxSocketPath = 4096

// maxCapabilities bounds the capabilities a Spec reply may list.
const maxCapabilities = 64

func fullMethod(m string) string { return "/" + ServiceName + "/" + m }

// Space kinds in a spaceMsg.
const (
	kindBox      = "box"
	kindDiscrete = "discrete"
)

// MaxInfoKeys bounds how many numeric info names one Step reply carries.
const MaxInfoKeys = 64

// maxObsValues bounds one observation's size in a Spec (an 8-bit
// 1024×1024×16 image is far beyond any env of interest).
const maxObsValues = 1 << 24

// limited is implemented by messages that carry their own decode bounds,
// derived from the spec (sizes of N envs' observations and actions).
type limited interface{ wireLimits() wire.Limits }

// bounds is embedded (unexported, so not encoded) in messages whose size
// is known before they arrive.
type bounds struct{ lim wire.Limits }

func (b *bounds) wireLimits() wire.Limits { return b.lim }

type specRequest struct {
	Protocol int `msgpack:"protocol"`
}

// spaceMsg is a space on the wire.
type spaceMsg struct {
	Kind  string `msgpack:"kind"`
	Shape []int  `msgpack:"shape,omitempty"`
	Low   []byte `msgpack:"low,omitempty"`
	High  []byte `msgpack:"high,omitempty"`
	N     int    `msgpack:"n,omitempty"`
}

type specReply struct {
	Protocol         int      `msgpack:"protocol"`
	ID               string   `msgpack:"id"`
	NumEnvs          int      `msgpack:"num_envs"`
	ObservationSpace spaceMsg `msgpack:"observation_space"`
	ActionSpace      spaceMsg `msgpack:"action_space"`
	MaxEpisodeSteps  int      `msgpack:"max_episode_steps"`
	RewardThreshold  *float64 `msgpack:"reward_threshold"`
	Capabilities     []string `msgpack:"capabilities,omitempty"`
	StepSocket       string   `msgpack:"step_socket,omitempty"`
}

type resetRequest struct {
	bounds
	Seeds []*uint64 `msgpack:"seeds"`
}

type resetReply struct {
	bounds
	Obs []byte `msgpack:"obs"`
}

type stepRequest struct {
	bounds
	Actions []byte `msgpack:"actions"`
}

type stepReply struct {
	bounds
	Obs        []byte                `msgpack:"obs"`
	Rewards    []byte                `msgpack:"rewards"`
	Terminated []byte                `msgpack:"terminated"`
	Truncated  []byte                `msgpack:"truncated"`
	FinalObs   []byte                `msgpack:"final_obs"`
	Infos      map[string][]*float64 `msgpack:"infos,omitempty"`
	// Code and Message are set only in a step socket's reply to a step
	// that failed: a gRPC status code (non-zero) and its text.
	Code    int    `msgpack:"code,omitempty"`
	Message string `msgpack:"message,omitempty"`
}

type closeRequest struct{}

type closeReply struct{}

// Spec describes what a server serves: its Spec reply, decoded and checked.
type Spec struct {
	// ID is the env's id as the server names it (e.g. CartPole-v1).
	ID string
	// NumEnvs is the number of envs one Step call steps.
	NumEnvs int
	// Observation is the observation space (observations travel as
	// float32, whatever the env's own dtype).
	Observation *envs.Box
	// Action is envs.Discrete or *envs.Box.
	Action envs.Space
	// MaxEpisodeSteps is the time limit the server applies (0: none).
	MaxEpisodeSteps int
	// RewardThreshold is the return at which the task counts as solved;
	// HasThreshold is false when the server gave none.
	RewardThreshold float64
	HasThreshold    bool
	// StepStream reports that the server serves StepStream (it listed
	// CapStepStream).
	StepStream bool
	// StepSocket is the path of the server's step socket ("" when it
	// listed no CapStepSocket).
	StepSocket string
}

// ActionSize is the number of values of one action on the wire: 1 for a
// Discrete space (an int32), the Box's size for a Box.
func (s *Spec) ActionSize() int {
	if b, ok := s.Action.(*envs.Box); ok {
		return b.Size()
	}
	return 1
}

// replyLimits bounds a Reset or Step reply of n envs with observations of
// d values: two observation blocks, rewards, flags and MaxInfoKeys info
// arrays, with room for keys and headers.
func replyLimits(n, d int) wire.Limits {
	obs := n * d * 4
	info := MaxInfoKeys * (n*9 + 5 + 256)
	return wire.Limits{
		MaxBytes:    2*obs + 10*n + info + 4096,
		MaxDepth:    4,
		MaxElements: 32 + 2*MaxInfoKeys + MaxInfoKeys*n,
	}
}

// requestLimits bounds a Reset or Step request of n envs with actions of a
// values.
func requestLimits(n, a int) wire.Limits {
	return wire.Limits{MaxBytes: n*a*4 + 9*n + 1024, MaxDepth: 3, MaxElements: 16 + n}
}

// specLimits bounds a Spec reply: the two spaces' bounds and shapes.
var specLimits = wire.Limits{MaxBytes: 4*4*maxObsValues + 1<<16, MaxDepth: 4, MaxElements: 1 << 12}

// decodeSpace turns a space on the wire into an envs.Space; field names
// the message field for errors.
func decodeSpace(m spaceMsg, field string) (envs.Space, error) {
	switch m.Kind {
	case kindDiscrete:
		if m.N <= 0 || m.N > math.MaxInt32 {
			return nil, fmt.Errorf("%s.n = %d: want a positive int32", field, m.N)
		}
		return envs.Discrete{N: m.N}, nil
	case kindBox:
		size := 1
		if len(m.Shape) == 0 {
			return nil, fmt.Errorf("%s.shape is empty: want at least one dimension", field)
		}
		for i, d := range m.Shape {
			if d <= 0 || d > maxObsValues {
				return nil, fmt.Errorf("%s.shape[%d] = %d: want a positive size", field, i, d)
			}
			if size *= d; size > maxObsValues {
				return nil, fmt.Errorf("%s.shape %v: more than %d values", field, m.Shape, maxObsValues)
			}
		}
		if len(m.Low) != 4*size || len(m.High) != 4*size {
			return nil, fmt.Errorf("%s: low has %d bytes and high %d: want %d each (%d float32)", field, len(m.Low), len(m.High), 4*size, size)
		}
		low, high := make([]float32, size), make([]float32, size)
		getF32(low, m.Low)
		getF32(high, m.High)
		for i := range low {
			if math.IsNaN(float64(low[i])) || math.IsNaN(float64(high[i])) || low[i] > high[i] {
				return nil, fmt.Errorf("%s: low[%d] = %v, high[%d] = %v: want low <= high", field, i, low[i], i, high[i])
			}
		}
		b := &envs.Box{Low: low, High: high}
		if len(m.Shape) > 1 {
			b.Dims = append([]int(nil), m.Shape...)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("%s.kind = %q: want %q or %q", field, m.Kind, kindBox, kindDiscrete)
	}
}

// encodeSpace is decodeSpace's inverse for the spaces a VectorEnv accepts.
func encodeSpace(s envs.Space) (spaceMsg, error) {
	switch s := s.(type) {
	case envs.Discrete:
		return spaceMsg{Kind: kindDiscrete, N: s.N}, nil
	case *envs.Box:
		return spaceMsg{Kind: kindBox, Shape: s.Shape(), Low: putF32(nil, s.Low), High: putF32(nil, s.High)}, nil
	default:
		return spaceMsg{}, fmt.Errorf("space %v is neither a Box nor Discrete", s)
	}
}

// decodeSpec checks a Spec reply; the error names the field.
func decodeSpec(r *specReply) (*Spec, error) {
	if r.Protocol != ProtocolVersion {
		return nil, fmt.Errorf("protocol = %d: this client speaks version %d", r.Protocol, ProtocolVersion)
	}
	if r.NumEnvs <= 0 || r.NumEnvs > 1<<16 {
		return nil, fmt.Errorf("num_envs = %d: want 1 to %d", r.NumEnvs, 1<<16)
	}
	obs, err := decodeSpace(r.ObservationSpace, "observation_space")
	if err != nil {
		return nil, err
	}
	box, ok := obs.(*envs.Box)
	if !ok {
		return nil, fmt.Errorf("observation_space is %v: want a box", obs)
	}
	if r.NumEnvs*box.Size() > maxObsValues {
		return nil, fmt.Errorf("num_envs × observation size = %d × %d: more than %d values per step", r.NumEnvs, box.Size(), maxObsValues)
	}
	act, err := decodeSpace(r.ActionSpace, "action_space")
	if err != nil {
		return nil, err
	}
	if b, ok := act.(*envs.Box); ok && r.NumEnvs*b.Size() > maxObsValues {
		return nil, fmt.Errorf("num_envs × action size = %d × %d: more than %d values per step", r.NumEnvs, b.Size(), maxObsValues)
	}
	if r.MaxEpisodeSteps < 0 {
		return nil, fmt.Errorf("max_episode_steps = %d: want 0 (none) or more", r.MaxEpisodeSteps)
	}
	if len(r.Capabilities) > maxCapabilities {
		return nil, fmt.Errorf("capabilities: %d names, more than %d", len(r.Capabilities), maxCapabilities)
	}
	s := &Spec{ID: r.ID, NumEnvs: r.NumEnvs, Observation: box, Action: act, MaxEpisodeSteps: r.MaxEpisodeSteps,
		StepStream: slices.Contains(r.Capabilities, CapStepStream)}
	if slices.Contains(r.Capabilities, CapStepSocket) {
		if r.StepSocket == "" || len(r.StepSocket) > maxSocketPath {
			return nil, fmt.Errorf("step_socket = %q: want the path of a Unix socket (capability %s)", r.StepSocket, CapStepSocket)
		}
		s.StepSocket = r.StepSocket
	}
	if r.RewardThreshold != nil {
		if math.IsNaN(*r.RewardThreshold) {
			return nil, fmt.Errorf("reward_threshold is NaN")
		}
		s.RewardThreshold, s.HasThreshold = *r.RewardThreshold, true
	}
	return s, nil
}

// encodeSpec is the reply a server gives for spec.
func encodeSpec(s *Spec) (*specReply, error) {
	obs, err := encodeSpace(s.Observation)
	if err != nil {
		return nil, fmt.Errorf("observation space: %w", err)
	}
	act, err := encodeSpace(s.Action)
	if err != nil {
		return nil, fmt.Errorf("action space: %w", err)
	}
	r := &specReply{Protocol: ProtocolVersion, ID: s.ID, NumEnvs: s.NumEnvs, ObservationSpace: obs, ActionSpace: act, MaxEpisodeSteps: s.MaxEpisodeSteps}
	if s.StepStream {
		r.Capabilities = append(r.Capabilities, CapStepStream)
	}
	if s.StepSocket != "" {
		r.Capabilities = append(r.Capabilities, CapStepSocket)
		r.StepSocket = s.StepSocket
	}
	if s.HasThreshold {
		t := s.RewardThreshold
		r.RewardThreshold = &t
	}
	return r, nil
}

// putF32 appends x as little-endian float32s to dst.
func putF32(dst []byte, x []float32) []byte {
	for _, v := range x {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

// getF32 fills dst from len(dst)×4 little-endian bytes of b.
func getF32(dst []float32, b []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// putF64 appends x as little-endian float64s to dst.
func putF64(dst []byte, x []float64) []byte {
	for _, v := range x {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	return dst
}

// putFlags appends x as one byte each (1 true, 0 false) to dst.
func putFlags(dst []byte, x []bool) []byte {
	for _, v := range x {
		var b byte
		if v {
			b = 1
		}
		dst = append(dst, b)
	}
	return dst
}
