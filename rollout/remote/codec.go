package remote

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

	"github.com/rlgo/rlgo/internal/wire"
)

// CodecName is the gRPC content-subtype of the service's messages
// (content-type application/grpc+msgpack).
const CodecName = "msgpack"

func init() { encoding.RegisterCodecV2(codecV2{}) }

// codecV2 is codec over grpc's buffer slices, so that an upload over the
// run's budget is refused from its length alone, before grpc copies its
// pieces into one slice (grpc's adapter of a plain Codec always does).
type codecV2 struct{}

func (codecV2) Marshal(v any) (mem.BufferSlice, error) {
	b, err := codec{}.Marshal(v)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (codecV2) Unmarshal(data mem.BufferSlice, v any) error {
	if l, ok := v.(limited); ok {
		if max := l.limits().MaxBytes; data.Len() > max {
			err := fmt.Errorf("msgpack: message is %d bytes, more than the limit of %d: %w", data.Len(), max, wire.ErrMalformed)
			if df, ok := v.(decodeFailer); ok {
				df.decodeFailed(err)
				return nil
			}
			return err
		}
	}
	return codec{}.Unmarshal(data.Materialize(), v)
}

func (codecV2) Name() string { return CodecName }

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

// limited is a request that carries its own wire.Limits (UploadRequest:
// the run's upload budget, set by the server before decoding).
type limited interface{ limits() wire.Limits }

func (codec) Unmarshal(data []byte, v any) error {
	lim := wire.DefaultLimits
	if l, ok := v.(limited); ok {
		lim = l.limits()
	}
	if err := wire.Validate(data, lim); err != nil {
		if df, ok := v.(decodeFailer); ok {
			df.decodeFailed(err)
			return nil
		}
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
