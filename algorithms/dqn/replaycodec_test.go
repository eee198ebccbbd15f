package dqn

import (
	"bytes"
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/internal/wire"
)

// legacyReplayState has replayState's fields and tags but not its
// methods: msgpack encodes it as earlier versions encoded replay.msgpack,
// one tagged element per value.
type legacyReplayState replayState

func testReplayState(per bool) *replayState {
	s := &replayState{
		Capacity: 8, ObsDim: 3, Next: 5, Size: 5,
		Obs:       []float32{0, 1, 0, 1, 1, 0, 0.5, -2, 3, 0, 0, 1, 1, 0, 1},
		NextObs:   []float32{1, 0, 0, 1, 1, 1, -2, 3, 0.25, 0, 1, 1, 0, 0, float32(math.Inf(1))},
		Actions:   []int32{0, 2, 1, 1, 0},
		Returns:   []float32{0, 1, -1, 0.5, 2},
		Bootstrap: []float32{0.99, 0, 0.99, 0.99, 0},
	}
	if per {
		s.Priorities = []float64{0.1, 1, 2.5, 0, 0.3}
		s.MaxPriority = 2.5
	}
	return s
}

// TestReplayStateCodec: replay.msgpack round-trips, its columns are bins
// (a header and 4 bytes per value, not a tagged element per value), and a
// file in the earlier per-element encoding still decodes to the same
// state, so checkpoints written before still resume.
func TestReplayStateCodec(t *testing.T) {
	for _, per := range []bool{false, true} {
		want := testReplayState(per)
		b, err := wire.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		sized, err := wire.MarshalSize(want, want.encodedSize())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sized, b) || len(sized) > want.encodedSize() || cap(sized) != want.encodedSize() {
			t.Errorf("per=%v: MarshalSize gave %d bytes in a buffer of %d, Marshal %d; encodedSize %d must bound them without growing", per, len(sized), cap(sized), len(b), want.encodedSize())
		}
		old, err := wire.Marshal((*legacyReplayState)(want))
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"bin": b, "legacy": old} {
			var got replayState
			if err := algorithms.Decode(map[string][]byte{fileReplay: data}, fileReplay, &got); err != nil {
				t.Fatalf("per=%v %s: %v", per, name, err)
			}
			if !reflect.DeepEqual(&got, want) {
				t.Errorf("per=%v %s: decoded %+v\nwant %+v", per, name, got, *want)
			}
		}
		// The obs column alone: a bin of 15 × 4 bytes right after its key.
		col := append([]byte{0xa3, 'o', 'b', 's', 0xc4, 60}, wireBytes(want.Obs)...)
		if !bytes.Contains(b, col) {
			t.Errorf("per=%v: obs is not one 60-byte bin in % x", per, b)
		}
	}
}

// wireBytes is x as wire's column encoding lays it out.
func wireBytes(x []float32) []byte {
	out := make([]byte, 0, 4*len(x))
	for _, v := range x {
		u := math.Float32bits(v)
		out = append(out, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return out
}

// FuzzReplayState feeds arbitrary bytes to replay.msgpack's decoder (the
// path a resumed checkpoint takes, algorithms.Decode): it must never
// panic, must allocate no more than a small multiple of the input, and
// what it accepts must survive encode → decode with the same bytes.
func FuzzReplayState(f *testing.F) {
	for _, per := range []bool{false, true} {
		s := testReplayState(per)
		b, _ := wire.Marshal(s)
		old, _ := wire.Marshal((*legacyReplayState)(s))
		f.Add(b)
		f.Add(old)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{0x81, 0xa3, 'o', 'b', 's', 0xc6, 0x7f, 0xff, 0xff, 0xfc})
	f.Add([]byte{0x81, 0xa7, 'a', 'c', 't', 'i', 'o', 'n', 's', 0xdd, 0x7f, 0xff, 0xff, 0xff})
	decode := func(data []byte) (*replayState, error) {
		var s replayState
		err := algorithms.Decode(map[string][]byte{fileReplay: data}, fileReplay, &s)
		return &s, err
	}
	warm, _ := wire.Marshal(testReplayState(true))
	if s, err := decode(warm); err == nil { // msgpack's type caches: not counted below
		_, _ = wire.Marshal(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := decode(data)
		runtime.ReadMemStats(&after)
		// A bin decodes into its own size; a tagged element (one byte at
		// least) into at most 8 bytes; the limits allow 1 MiB of slack.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(16*len(data)+2<<20) {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(data), grew)
		}
		if err != nil {
			return
		}
		enc, err := wire.Marshal(s)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := decode(enc)
		if err != nil {
			t.Fatalf("re-encoded state is rejected: %v", err)
		}
		enc2, err := wire.Marshal(again)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the state:\n% x\n% x", enc, enc2)
		}
	})
}

// BenchmarkReplayStateMarshal encodes a full Breakout-MinAtar replay
// (100,000 transitions of 400-wide observations, 320 MB), as every DQN
// checkpoint of configs/breakout-minatar-dqn.yaml does (sized, into one
// buffer of its size); bin is the same encoding through wire.Marshal's
// growing buffer, legacy the per-element encoding it replaced.
func BenchmarkReplayStateMarshal(b *testing.B) {
	const n, dim = 100_000, 400
	s := &replayState{Capacity: n, ObsDim: dim, Next: 0, Size: n,
		Obs: make([]float32, n*dim), NextObs: make([]float32, n*dim), Actions: make([]int32, n),
		Returns: make([]float32, n), Bootstrap: make([]float32, n)}
	for i := range s.Obs {
		if i%7 == 0 {
			s.Obs[i], s.NextObs[i] = 1, 1
		}
	}
	for _, bc := range []struct {
		name string
		v    any
		size int
	}{{"sized", s, s.encodedSize()}, {"bin", s, 0}, {"legacy", (*legacyReplayState)(s), 0}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(8 * n * dim))
			for b.Loop() {
				var err error
				if bc.size > 0 {
					_, err = wire.MarshalSize(bc.v, bc.size)
				} else {
					_, err = wire.Marshal(bc.v)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
