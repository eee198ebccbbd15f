package external

import (
	"github.com/rlgo/rlgo/internal/wire"
)

// codecName is the gRPC content-subtype of the protocol's messages
// (content-type application/grpc+msgpack).
const codecName = "msgpack"

// codec is the msgpack encoding.Codec of the env protocol. Unmarshal runs
// wire.Unmarshal: the message's msgpack headers are walked and checked
// against the message's own bounds (limited) or wire.DefaultLimits before
// msgpack allocates anything. It is stateless, so safe for concurrent use.
//
// It is never registered globally: the client passes it with
// grpc.ForceCodec on every call and the server with grpc.ForceServerCodec,
// so it cannot collide with other msgpack codecs in the same binary.
type codec struct{}

func (codec) Marshal(v any) ([]byte, error) { return wire.Marshal(v) }

func (codec) Unmarshal(data []byte, v any) error {
	lim := wire.DefaultLimits
	if l, ok := v.(limited); ok {
		lim = l.wireLimits()
	} else if _, ok := v.(*specReply); ok {
		lim = specLimits
	}
	return wire.Unmarshal(data, v, lim)
}

func (codec) Name() string { return codecName }
