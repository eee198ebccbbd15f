package remote

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc/encoding"

	"github.com/rlgo/rlgo/internal/wire"
)

// CodecName is the gRPC content-subtype of the service's messages
// (content-type application/grpc+msgpack).
const CodecName = "msgpack"

func init() { encoding.RegisterCodec(codec{}) }

// codec is the msgpack encoding.Codec. Unmarshal walks the headers of
// every message and length-checks them (wire.Validate) before msgpack
// allocates anything, then decodes the message in one pass. It is
// stateless, so safe for concurrent use.
type codec struct{}

func (codec) Marshal(v any) ([]byte, error) { return wire.Marshal(v) }

// decodeFailer is a request that takes its own decode error, so that its
// handler can answer it (UploadRequest). Any other message that fails to
// decode fails the call: grpc answers codes.Internal.
type decodeFailer interface{ decodeFailed(error) }

func (codec) Unmarshal(data []byte, v any) error {
	if err := wire.Validate(data, wire.DefaultLimits); err != nil {
		return err
	}
	if err := msgpack.Unmarshal(data, v); err != nil {
		err = fmt.Errorf("msgpack: decode %d bytes into %T: %w", len(data), v, err)
		if df, ok := v.(decodeFailer); ok {
			df.decodeFailed(err)
			return nil
		}
		return err
	}
	return nil
}

func (codec) Name() string { return CodecName }
