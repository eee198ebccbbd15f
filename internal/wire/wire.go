// Package wire guards msgpack decoding of bytes that come from outside the
// process.
//
// github.com/vmihailenco/msgpack/v5 allocates the length declared in an
// array, map, str or bin header before it reads the elements, so a 5-byte
// message such as 0xdd 0xff 0xff 0xff 0xff (an array32 declaring 2^32-1
// elements) ends the process with a fatal out-of-memory error that recover
// cannot catch. Validate walks the msgpack headers first and rejects any
// declared length that the remaining bytes cannot hold, so that after it
// succeeds every allocation the decoder makes is bounded by the size of the
// message times the size of the destination element types.
package wire

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// ErrMalformed is wrapped by every error Validate returns: the message is
// not exactly one well-formed msgpack value within the Limits.
var ErrMalformed = errors.New("malformed message")

// Limits bounds what Validate accepts. A field that is zero or negative
// takes its value from DefaultLimits. Validate and the msgpack decoder both
// recurse once per nesting level, so keep MaxDepth in the tens.
type Limits struct {
	MaxBytes    int // longest message accepted, in bytes
	MaxDepth    int // most arrays and maps nested inside each other
	MaxElements int // most array elements plus map keys and values, in total
	// MaxDecoded bounds what the message may cost once decoded, in bytes
	// under a simple model: every str, bin and ext counts its length and
	// every array element and map key or value counts ElemBytes (the
	// size of the largest Go value one element of rlgo's messages decodes
	// into, with room for slice growth). Zero or negative: no bound (it
	// does not default). A 16 MB message of 16.7M one-byte nils in an
	// array of structs costs ~2 GB under this model, and decoded ~1.1 GB.
	MaxDecoded int
}

// ElemBytes is what one array element or map key or value counts towards
// Limits.MaxDecoded. rollout.EpisodeStats, the largest element of a
// batch, is 72 bytes; msgpack grows slices by doubling.
const ElemBytes = 128

// DefaultLimits are the limits for messages between processes of rlgo.
var DefaultLimits = Limits{MaxBytes: 64 << 20, MaxDepth: 32, MaxElements: 1 << 24}

func (l Limits) orDefault() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultLimits.MaxElements
	}
	return l
}

// Validate reports whether b holds exactly one msgpack value, with no
// trailing bytes, whose declared lengths all fit in the bytes that follow
// them and which stays within lim. The error it returns wraps ErrMalformed
// and names the offset of the offending header.
func Validate(b []byte, lim Limits) error {
	lim = lim.orDefault()
	if len(b) > lim.MaxBytes {
		return malformed("message is %d bytes, more than the limit of %d", len(b), lim.MaxBytes)
	}
	w := walker{b: b, lim: lim}
	if err := w.value(0); err != nil {
		return err
	}
	if w.off != len(b) {
		return malformed("%d trailing bytes after the value that ends at offset %d", len(b)-w.off, w.off)
	}
	return nil
}

// Unmarshal validates b with lim and then decodes it into v with
// msgpack.Unmarshal. Use it, not msgpack.Unmarshal, for bytes from outside
// the process.
func Unmarshal(b []byte, v any, lim Limits) error {
	if err := Validate(b, lim); err != nil {
		return err
	}
	if err := msgpack.Unmarshal(b, v); err != nil {
		return fmt.Errorf("msgpack: decode %d bytes into %T: %w", len(b), v, err)
	}
	return nil
}

// Marshal encodes v as msgpack.Marshal does. It encodes into a pooled
// buffer and returns an exact-size copy: one allocation, where a buffer
// grown from empty allocated and copied about twice the message. A
// message too large for the pool (a checkpoint's replay buffer, hundreds
// of megabytes) is returned in the buffer it was encoded into instead of
// being copied once more.
func Marshal(v any) ([]byte, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	enc := msgpack.GetEncoder()
	enc.Reset(buf)
	err := enc.Encode(v)
	msgpack.PutEncoder(enc)
	if err != nil {
		if buf.Cap() <= maxPooled {
			bufPool.Put(buf)
		}
		return nil, fmt.Errorf("msgpack: encode %T: %w", v, err)
	}
	if buf.Cap() > maxPooled {
		return buf.Bytes(), nil
	}
	out := bytes.Clone(buf.Bytes())
	bufPool.Put(buf)
	return out, nil
}

// MarshalSize is Marshal for one large message whose encoded size is
// known within a little: it encodes into a buffer of size bytes (grown if
// that is short) and returns it without a copy. Each fresh page costs a
// fault and a clear, and a buffer grown by doubling touches about three
// times the message, so a 320 MB replay buffer took ~3× as long through
// Marshal (BenchmarkReplayStateMarshal in algorithms/dqn).
func MarshalSize(v any, size int) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, max(size, 0)))
	enc := msgpack.GetEncoder()
	enc.Reset(buf)
	err := enc.Encode(v)
	msgpack.PutEncoder(enc)
	if err != nil {
		return nil, fmt.Errorf("msgpack: encode %T: %w", v, err)
	}
	return buf.Bytes(), nil
}

// maxPooled is the largest buffer Marshal keeps for reuse (a checkpoint's
// replay buffer is not kept alive by the pool).
const maxPooled = 4 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func malformed(format string, args ...any) error {
	return fmt.Errorf("msgpack: "+format+": %w", append(args, ErrMalformed)...)
}

// walker checks one value at a time; off is the offset of the next byte.
type walker struct {
	b     []byte
	off   int
	lim   Limits
	elems uint64 // elements declared so far
	cost  uint64 // decoded bytes so far under the MaxDecoded model
}

// spend adds n decoded bytes for the value at offset at and checks the
// MaxDecoded bound.
func (w *walker) spend(at int, kind string, n uint64) error {
	if w.lim.MaxDecoded <= 0 {
		return nil
	}
	if w.cost += n; w.cost > uint64(w.lim.MaxDecoded) {
		return malformed("%s at offset %d brings the message to %d decoded bytes, more than the limit of %d", kind, at, w.cost, w.lim.MaxDecoded)
	}
	return nil
}

func (w *walker) remain() uint64 { return uint64(len(w.b) - w.off) }

// value checks the value at w.off, which lies inside depth arrays and maps.
func (w *walker) value(depth int) error {
	at := w.off
	if w.off >= len(w.b) {
		return malformed("message ends at offset %d where a value should start", at)
	}
	c := w.b[w.off]
	w.off++
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3: // fixint, nil, bool
		return nil
	case c <= 0x8f:
		return w.container(at, "map", uint64(c&0x0f), 2, depth)
	case c <= 0x9f:
		return w.container(at, "array", uint64(c&0x0f), 1, depth)
	case c <= 0xbf:
		if err := w.skip(at, "str", "declares", uint64(c&0x1f)); err != nil {
			return err
		}
		return w.spend(at, "str", uint64(c&0x1f))
	case c == 0xc1:
		return malformed("reserved type byte 0xc1 at offset %d", at)
	case c <= 0xc6: // bin8, bin16, bin32
		return w.sized(at, "bin", 1<<(c-0xc4), 0)
	case c <= 0xc9: // ext8, ext16, ext32: length, type, data
		return w.sized(at, "ext", 1<<(c-0xc7), 1)
	case c <= 0xcb: // float32, float64
		return w.skip(at, "float", "needs", 4<<(c-0xca))
	case c <= 0xcf: // uint8 to uint64
		return w.skip(at, "uint", "needs", 1<<(c-0xcc))
	case c <= 0xd3: // int8 to int64
		return w.skip(at, "int", "needs", 1<<(c-0xd0))
	case c <= 0xd8: // fixext1 to fixext16: type, data
		return w.skip(at, "fixext", "needs", 1+1<<(c-0xd4))
	case c <= 0xdb: // str8, str16, str32
		return w.sized(at, "str", 1<<(c-0xd9), 0)
	case c <= 0xdd: // array16, array32
		n, err := w.length(at, "array", 2<<(c-0xdc))
		if err != nil {
			return err
		}
		return w.container(at, "array", n, 1, depth)
	default: // map16, map32
		n, err := w.length(at, "map", 2<<(c-0xde))
		if err != nil {
			return err
		}
		return w.container(at, "map", n, 2, depth)
	}
}

// length reads the size-byte big-endian length of the header at offset at.
func (w *walker) length(at int, kind string, size int) (uint64, error) {
	if w.remain() < uint64(size) {
		return 0, malformed("%s header at offset %d needs %d length bytes but only %d remain", kind, at, size, w.remain())
	}
	var n uint64
	for _, x := range w.b[w.off : w.off+size] {
		n = n<<8 | uint64(x)
	}
	w.off += size
	return n, nil
}

// sized skips a str, bin or ext whose length takes size bytes and whose
// payload is that length plus extra bytes.
func (w *walker) sized(at int, kind string, size int, extra uint64) error {
	n, err := w.length(at, kind, size)
	if err != nil {
		return err
	}
	if err := w.skip(at, kind, "declares", n+extra); err != nil {
		return err
	}
	return w.spend(at, kind, n)
}

// skip steps over the n payload bytes of the value at offset at; verb says
// whether its header declares n or its format fixes it.
func (w *walker) skip(at int, kind, verb string, n uint64) error {
	if n > w.remain() {
		return malformed("%s at offset %d %s %d bytes but only %d remain", kind, at, verb, n, w.remain())
	}
	w.off += int(n)
	return nil
}

// container checks the n entries of an array (per 1) or map (per 2, one key
// and one value) whose header starts at offset at and lies inside depth
// arrays and maps. Every entry takes at least one byte.
func (w *walker) container(at int, kind string, n, per uint64, depth int) error {
	if depth >= w.lim.MaxDepth {
		return malformed("%s at offset %d nests deeper than %d levels", kind, at, w.lim.MaxDepth)
	}
	unit := "elements"
	if per == 2 {
		unit = "pairs"
	}
	if n > w.remain()/per {
		return malformed("%s at offset %d declares %d %s but only %d bytes remain", kind, at, n, unit, w.remain())
	}
	if w.elems += n * per; w.elems > uint64(w.lim.MaxElements) {
		return malformed("%s at offset %d brings the message to %d elements, more than the limit of %d", kind, at, w.elems, w.lim.MaxElements)
	}
	if err := w.spend(at, kind, n*per*ElemBytes); err != nil {
		return err
	}
	for i := uint64(0); i < n*per; i++ {
		if err := w.value(depth + 1); err != nil {
			return err
		}
	}
	return nil
}
