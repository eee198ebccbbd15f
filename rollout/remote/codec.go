package remote

import (
	"google.golang.org/grpc/encoding"

	"github.com/rlgo/rlgo/internal/wire"
)

// CodecName is the gRPC content-subtype of the service's messages
// (content-type application/grpc+msgpack).
const CodecName = "msgpack"

func init() { encoding.RegisterCodec(codec{}) }

// codec is the msgpack encoding.Codec. Unmarshal runs wire.Unmarshal: the
// headers of every message are walked and length-checked before msgpack
// allocates anything. It is stateless, so safe for concurrent use.
type codec struct{}

func (codec) Marshal(v any) ([]byte, error) { return wire.Marshal(v) }

func (codec) Unmarshal(data []byte, v any) error {
	return wire.Unmarshal(data, v, wire.DefaultLimits)
}

func (codec) Name() string { return CodecName }
