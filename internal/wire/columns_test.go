package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// cols is a message of the three column kinds, coded with the column
// encoders (as rollout.SampleBatch and policy.Tensor are).
type cols struct {
	F []float32
	I []int32
	B []bool
}

func (c *cols) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeArrayLen(3); err != nil {
		return err
	}
	if err := EncodeFloat32s(enc, c.F); err != nil {
		return err
	}
	if err := EncodeInt32s(enc, c.I); err != nil {
		return err
	}
	return EncodeBools(enc, c.B)
}

func (c *cols) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n != 3 {
		return errBadCols
	}
	if c.F, err = DecodeFloat32s(dec, c.F); err != nil {
		return err
	}
	if c.I, err = DecodeInt32s(dec, c.I); err != nil {
		return err
	}
	c.B, err = DecodeBools(dec, c.B)
	return err
}

var errBadCols = errors.New("cols: want an array of 3 columns")

// withPortable runs f with the little-endian shortcut on and off, so both
// paths are tested on any host.
func withPortable(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, le := range []bool{littleEndian, false} {
		name := "native"
		if !le {
			name = "portable"
		}
		t.Run(name, func(t *testing.T) {
			saved := littleEndian
			littleEndian = le
			defer func() { littleEndian = saved }()
			f(t)
		})
	}
}

func TestColumnsRoundTrip(t *testing.T) {
	withPortable(t, func(t *testing.T) {
		big := make([]float32, chunk/4*2+3) // crosses the decoder's chunks
		for i := range big {
			big[i] = float32(i) * 0.5
		}
		for _, tc := range []struct {
			name string
			in   cols
		}{
			{"nil", cols{}},
			{"empty", cols{F: []float32{}, I: []int32{}, B: []bool{}}},
			{"values", cols{
				F: []float32{0, float32(math.Copysign(0, -1)), 1.5, -3e38, math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Inf(-1))},
				I: []int32{0, -1, math.MaxInt32, math.MinInt32, 7},
				B: []bool{true, false, true},
			}},
			{"long", cols{F: big, I: make([]int32, 70000), B: make([]bool, 70000)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := mustMarshal(t, &tc.in)
				if err := Validate(b, DefaultLimits); err != nil {
					t.Fatal(err)
				}
				var got cols
				if err := Unmarshal(b, &got, DefaultLimits); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.in) {
					t.Errorf("round trip = %v; want %v", got, tc.in)
				}
			})
		}
	})
}

// TestColumnsWireFormat pins the bytes: little-endian words in a bin.
func TestColumnsWireFormat(t *testing.T) {
	withPortable(t, func(t *testing.T) {
		b := mustMarshal(t, &cols{F: []float32{1, -2}, I: []int32{-1, 258}, B: []bool{true, false}})
		want := []byte{0x93,
			0xc4, 8, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
			0xc4, 8, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x00, 0x00,
			0xc4, 2, 1, 0}
		if !bytes.Equal(b, want) {
			t.Errorf("encoded % x; want % x", b, want)
		}
	})
}

// TestColumnsNaNBits checks that a NaN's payload survives (the bits are
// copied, not converted).
func TestColumnsNaNBits(t *testing.T) {
	withPortable(t, func(t *testing.T) {
		nan := math.Float32frombits(0x7fc01234)
		var got cols
		if err := Unmarshal(mustMarshal(t, &cols{F: []float32{nan}}), &got, DefaultLimits); err != nil {
			t.Fatal(err)
		}
		if bits := math.Float32bits(got.F[0]); bits != 0x7fc01234 {
			t.Errorf("NaN bits = %#x; want 0x7fc01234", bits)
		}
	})
}

// TestColumnsOldArrays checks that columns written as msgpack arrays of
// numbers (the encoding before bins) still decode.
func TestColumnsOldArrays(t *testing.T) {
	b := mustMarshal(t, []any{[]float32{1.5, -2}, []int32{3, -4}, []bool{false, true}})
	var got cols
	if err := Unmarshal(b, &got, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	want := cols{F: []float32{1.5, -2}, I: []int32{3, -4}, B: []bool{false, true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %v; want %v", got, want)
	}
}

func TestColumnsRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		msg  string
	}{
		{"float bin not a multiple of 4", []byte{0x93, 0xc4, 3, 1, 2, 3, 0xc0, 0xc0}, "not a whole number of 4-byte values"},
		{"bool byte 2", []byte{0x93, 0xc0, 0xc0, 0xc4, 2, 1, 2}, "byte 1 is 2, want 0 or 1"},
		{"string for a column", []byte{0x93, 0xa1, 'x', 0xc0, 0xc0}, "neither bin nor array"},
		{"map for a column", []byte{0x93, 0xc0, 0x80, 0xc0}, "neither bin nor array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got cols
			err := Unmarshal(tc.b, &got, DefaultLimits)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Unmarshal(% x) = %v; want an error containing %q", tc.b, err, tc.msg)
			}
		})
	}
}

// TestColumnsReuse checks that decoding into columns with room allocates
// no column (the fleet's buffers are reused every fragment).
func TestColumnsReuse(t *testing.T) {
	in := cols{F: make([]float32, 1000), I: make([]int32, 1000), B: make([]bool, 1000)}
	b := mustMarshal(t, &in)
	dst := cols{F: make([]float32, 0, 1000), I: make([]int32, 0, 1000), B: make([]bool, 0, 1000)}
	f, i, bo := &dst.F[:1][0], &dst.I[:1][0], &dst.B[:1][0]
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&dst); err != nil {
		t.Fatal(err)
	}
	if &dst.F[0] != f || &dst.I[0] != i || &dst.B[0] != bo {
		t.Error("decoding into columns with room allocated new ones")
	}
}

// TestColumnsLyingHeader decodes, without Validate, bins that declare far
// more bytes than the message holds: the decoder must fail having
// allocated about what it read, not what the header declared.
func TestColumnsLyingHeader(t *testing.T) {
	for _, b := range [][]byte{
		{0x93, 0xc6, 0x7f, 0xff, 0xff, 0xfc, 1, 2, 3, 4},    // float32s: 2 GiB declared
		{0x93, 0xc0, 0xc6, 0xff, 0xff, 0xff, 0xfc, 1, 2, 3}, // int32s: 4 GiB declared
		{0x93, 0xc0, 0xc0, 0xc6, 0xff, 0xff, 0xff, 0xff, 1}, // bools: 4 GiB declared
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var got cols
		err := msgpack.Unmarshal(b, &got)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("Unmarshal(% x) succeeded", b)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4*chunk {
			t.Errorf("Unmarshal(% x) allocated %d bytes", b, grew)
		}
	}
}

func BenchmarkFloat32sEncode(b *testing.B) {
	x := &cols{F: make([]float32, 10000)}
	b.SetBytes(40000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFloat32sDecode(b *testing.B) {
	data := mustMarshal(b, &cols{F: make([]float32, 10000)})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var dst cols
	for b.Loop() {
		if err := Unmarshal(data, &dst, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}
