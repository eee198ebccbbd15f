package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Columns of numbers travel as one msgpack bin each: a float32 or int32
// column is its values as 4-byte little-endian words (IEEE 754 for
// floats), a bool column one byte per value (0 or 1). A nil column is
// msgpack nil. Encoding is a copy of the slice's memory on little-endian
// hosts; a tagged msgpack element per value went through reflection and
// cost ~20× more.
//
// The decoders also accept a msgpack array of numbers, the encoding these
// columns had before, so files written by earlier versions still load.
// They never allocate more than the bytes they have actually read (a bin
// header that declares more than the message holds fails at its end), so
// they stay bounded even where Validate has not run first.

// chunk is the most a decoder allocates ahead of the bytes it has read.
const chunk = 1 << 20

// littleEndian says whether the host stores a uint32 low byte first, so a
// column's memory is its wire encoding. Tests turn it off to exercise the
// portable path.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// EncodeFloat32s writes x as a bin of 4·len(x) little-endian bytes, or nil
// when x is nil.
func EncodeFloat32s(enc *msgpack.Encoder, x []float32) error {
	if x == nil {
		return enc.EncodeNil()
	}
	return encodeWords(enc, len(x), func(i int) uint32 { return math.Float32bits(x[i]) }, asBytes(x))
}

// EncodeInt32s writes x as a bin of 4·len(x) little-endian bytes, or nil
// when x is nil.
func EncodeInt32s(enc *msgpack.Encoder, x []int32) error {
	if x == nil {
		return enc.EncodeNil()
	}
	return encodeWords(enc, len(x), func(i int) uint32 { return uint32(x[i]) }, asBytes(x))
}

// EncodeBools writes x as a bin of one byte (0 or 1) per value, or nil
// when x is nil.
func EncodeBools(enc *msgpack.Encoder, x []bool) error {
	if x == nil {
		return enc.EncodeNil()
	}
	if err := enc.EncodeBytesLen(len(x)); err != nil {
		return err
	}
	// A Go bool is one byte holding 0 or 1.
	_, err := enc.Writer().Write(asBytes(x))
	return err
}

// encodeWords writes n 4-byte words: mem (the slice's memory) on a
// little-endian host, else word(i) for each i.
func encodeWords(enc *msgpack.Encoder, n int, word func(int) uint32, mem []byte) error {
	if n > math.MaxUint32/4 {
		return fmt.Errorf("msgpack: column of %d values is too long for a bin", n)
	}
	if err := enc.EncodeBytesLen(4 * n); err != nil {
		return err
	}
	w := enc.Writer()
	if littleEndian {
		_, err := w.Write(mem)
		return err
	}
	if buf, ok := w.(*bytes.Buffer); ok {
		buf.Grow(4 * n)
		b := buf.AvailableBuffer()
		for i := range n {
			b = binary.LittleEndian.AppendUint32(b, word(i))
		}
		_, err := buf.Write(b)
		return err
	}
	b := make([]byte, 0, 4*min(n, 1024))
	for i := 0; i < n; i += 1024 {
		b = b[:0]
		for j := i; j < min(n, i+1024); j++ {
			b = binary.LittleEndian.AppendUint32(b, word(j))
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// DecodeFloat32s reads a column written by EncodeFloat32s (or a msgpack
// array of numbers) into dst's storage when it is large enough, else into
// a new slice, and returns it; nil decodes to nil.
func DecodeFloat32s(dec *msgpack.Decoder, dst []float32) ([]float32, error) {
	return decodeWords(dec, dst, "float32", math.Float32frombits, dec.DecodeFloat32)
}

// DecodeInt32s reads a column written by EncodeInt32s (or a msgpack array
// of integers) like DecodeFloat32s.
func DecodeInt32s(dec *msgpack.Decoder, dst []int32) ([]int32, error) {
	return decodeWords(dec, dst, "int32", func(u uint32) int32 { return int32(u) }, dec.DecodeInt32)
}

// DecodeBools reads a column written by EncodeBools (or a msgpack array of
// bools) like DecodeFloat32s. A byte other than 0 or 1 is an error.
func DecodeBools(dec *msgpack.Decoder, dst []bool) ([]bool, error) {
	n, bin, err := columnHeader(dec, "bool")
	if err != nil || n < 0 {
		return nil, err
	}
	if !bin {
		return decodeArray(dec, dst, n, dec.DecodeBool)
	}
	out := dst[:0]
	for len(out) < n {
		k := min(n-len(out), chunk)
		out = growTo(out, len(out)+k)
		part := out[len(out)-k:]
		b := asBytes(part)
		if err := dec.ReadFull(b); err != nil {
			return nil, fmt.Errorf("msgpack: bool column of %d values: %w", n, err)
		}
		for i, x := range b {
			if x > 1 {
				return nil, fmt.Errorf("msgpack: bool column: byte %d is %d, want 0 or 1", len(out)-k+i, x)
			}
		}
	}
	return nonNil(out), nil
}

// decodeWords decodes a column of 4-byte words: from a bin through conv
// on the little-endian words, or from an array element by element with
// elem.
func decodeWords[T float32 | int32](dec *msgpack.Decoder, dst []T, kind string, conv func(uint32) T, elem func() (T, error)) ([]T, error) {
	n, bin, err := columnHeader(dec, kind)
	if err != nil || n < 0 {
		return nil, err
	}
	if !bin {
		return decodeArray(dec, dst, n, elem)
	}
	if n%4 != 0 {
		return nil, fmt.Errorf("msgpack: %s column of %d bytes is not a whole number of 4-byte values", kind, n)
	}
	n /= 4
	out := dst[:0]
	var buf []byte
	for len(out) < n {
		k := min(n-len(out), chunk/4)
		out = growTo(out, len(out)+k)
		part := out[len(out)-k:]
		if littleEndian {
			if err := dec.ReadFull(asBytes(part)); err != nil {
				return nil, fmt.Errorf("msgpack: %s column of %d values: %w", kind, n, err)
			}
			continue
		}
		if cap(buf) < 4*k {
			buf = make([]byte, 4*k)
		}
		buf = buf[:4*k]
		if err := dec.ReadFull(buf); err != nil {
			return nil, fmt.Errorf("msgpack: %s column of %d values: %w", kind, n, err)
		}
		for i := range part {
			part[i] = conv(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	}
	return nonNil(out), nil
}

// columnHeader reads the header of a column: -1 for nil, else the bin's
// byte length (bin true) or the array's element count.
func columnHeader(dec *msgpack.Decoder, kind string) (n int, bin bool, err error) {
	c, err := dec.PeekCode()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c == msgpcode.Nil:
		return -1, false, dec.DecodeNil()
	case c == msgpcode.Bin8 || c == msgpcode.Bin16 || c == msgpcode.Bin32:
		n, err = dec.DecodeBytesLen()
		return n, true, err
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err = dec.DecodeArrayLen()
		return n, false, err
	}
	return 0, false, fmt.Errorf("msgpack: %s column: code %#x is neither bin nor array", kind, c)
}

// decodeArray reads n elements with elem, growing the column as they
// arrive (a declared length is not trusted for an allocation).
func decodeArray[T any](dec *msgpack.Decoder, dst []T, n int, elem func() (T, error)) ([]T, error) {
	out := dst[:0]
	if n <= cap(dst) {
		out = dst[:0:n]
	}
	for range n {
		x, err := elem()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return nonNil(out), nil
}

// growTo returns x extended to length n, in place when its capacity
// allows. A new slice has room for twice what x held (growing a long
// column chunk by chunk stays linear) and never more than that plus n.
func growTo[T any](x []T, n int) []T {
	if n <= cap(x) {
		return x[:n]
	}
	y := make([]T, n, max(n, 2*len(x)))
	copy(y, x)
	return y
}

// asBytes returns the memory of x as bytes.
func asBytes[T float32 | int32 | bool](x []T) []byte {
	if len(x) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x)*int(unsafe.Sizeof(x[0])))
}

// nonNil returns x, or an empty slice for nil: an empty column decodes
// as empty, not as nil.
func nonNil[T any](x []T) []T {
	if x == nil {
		return []T{}
	}
	return x
}
