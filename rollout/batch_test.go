package rollout

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/policy"
)

func sampleBatch() *SampleBatch {
	return &SampleBatch{
		ID: "w1-7", WorkerIndex: 1, WeightsVersion: 42, NumEnvs: 2, Steps: 2, ObsDim: 3,
		Obs:             []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		Actions:         []int32{0, 1, 1, 0},
		Rewards:         []float32{1, 1, 1, 0.5},
		Terminated:      []bool{false, false, true, false},
		Truncated:       []bool{false, false, false, true},
		LogProbs:        []float32{-0.6, -0.7, -0.8, -0.9},
		Values:          []float32{0.1, 0.2, 0.3, 0.4},
		BootstrapValues: []float32{0, 0, 0, 2.5},
		FinalObs:        []FinalObs{{Index: 2, Obs: []float32{9, 9, 9}}, {Index: 3, Obs: []float32{8, 8, 8}}},
		LastObs:         []float32{0, 0, 0, 1, 1, 1},
		LastValues:      []float32{0.5, 0.6},
		Episodes:        []EpisodeStats{{Worker: 1, Env: 0, Step: 1, Return: 17, Length: 17}},
	}
}

func TestSampleBatchRoundTrip(t *testing.T) {
	b := sampleBatch()
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalSampleBatch(data)
	if err != nil {
		t.Fatalf("UnmarshalSampleBatch = %v", err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("round trip = %+v; want %+v", got, b)
	}
}

func TestSampleBatchRejects(t *testing.T) {
	good, _ := sampleBatch().Encode()
	short := sampleBatch()
	short.Rewards = short.Rewards[:3]
	shortBytes, _ := short.Encode()
	badFinal := sampleBatch()
	badFinal.FinalObs[0].Index = 99
	badFinalBytes, _ := badFinal.Encode()
	tests := []struct {
		name      string
		data      []byte
		malformed bool // rejected by the header walk, before decoding
	}{
		{"empty", nil, true},
		{"truncated", good[:len(good)/2], true},
		{"trailing byte", append(append([]byte{}, good...), 0xc0), true},
		{"array32 bomb", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, true},
		{"map32 bomb", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, true},
		{"column length mismatch", shortBytes, false},
		{"final obs out of shape", badFinalBytes, false},
		{"wrong type", []byte{0x81, 0xa3, 'o', 'b', 's', 0xa1, 'x'}, false},
	}
	for _, tt := range tests {
		_, err := UnmarshalSampleBatch(tt.data)
		if err == nil {
			t.Errorf("%s: UnmarshalSampleBatch = nil error; want an error", tt.name)
			continue
		}
		if got := errors.Is(err, wire.ErrMalformed); got != tt.malformed {
			t.Errorf("%s: errors.Is(%v, ErrMalformed) = %v; want %v", tt.name, err, got, tt.malformed)
		}
	}
}

// TestSampleBatchWireFormat checks that numeric columns travel as bins:
// an encoded CartPole-sized batch is about 4 bytes a float, 1 a bool.
func TestSampleBatchWireFormat(t *testing.T) {
	b := sampleBatch()
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// "rewards": bin8 of 16 bytes, 1, 1, 1, 0.5 little-endian.
	want := []byte{0xa7, 'r', 'e', 'w', 'a', 'r', 'd', 's', 0xc4, 16,
		0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x3f}
	if !bytes.Contains(data, want) {
		t.Errorf("encoded % x; want it to contain % x", data, want)
	}
	if want := []byte{0xaa, 't', 'e', 'r', 'm', 'i', 'n', 'a', 't', 'e', 'd', 0xc4, 4, 0, 0, 1, 0}; !bytes.Contains(data, want) {
		t.Errorf("encoded % x; want it to contain % x", data, want)
	}
}

// TestSampleBatchDecodesArrays checks that columns written as msgpack
// arrays still decode to the same batch.
func TestSampleBatchDecodesArrays(t *testing.T) {
	b := sampleBatch()
	var m map[string]any
	data, _ := b.Encode()
	// Re-encode every column as an array through a generic map.
	if err := wire.Unmarshal(data, &m, wire.DefaultLimits); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"obs", "rewards", "logp", "values", "bootstrap_values", "last_obs", "last_values"} {
		raw := m[k].([]byte)
		f := make([]float32, len(raw)/4)
		for i := range f {
			f[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		m[k] = f
	}
	m["actions"] = b.Actions
	m["terminated"], m["truncated"] = b.Terminated, b.Truncated
	fos := []any{}
	for _, fo := range b.FinalObs {
		fos = append(fos, map[string]any{"index": fo.Index, "obs": fo.Obs})
	}
	m["final_obs"] = fos
	old, err := wire.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(old, []byte{0xc4}) {
		t.Fatal("the old encoding still has a bin")
	}
	got, err := UnmarshalSampleBatch(old)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("decoded %+v; want %+v", got, b)
	}
}

// TestSampleBatchDecodeReuses checks that decoding into a batch reuses
// its columns' storage, and that no field of the earlier batch survives.
func TestSampleBatchDecodeReuses(t *testing.T) {
	b := sampleBatch()
	data, _ := b.Encode()
	dst := sampleBatch()
	dst.ID, dst.ObsStats, dst.Columns = "stale", policy.NewObsStats(3), ColValues
	obs, final := &dst.Obs[0], &dst.FinalObs[1].Obs[0]
	if err := wire.Unmarshal(data, dst, wire.DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dst, b) {
		t.Errorf("decoded %+v; want %+v", dst, b)
	}
	if &dst.Obs[0] != obs || &dst.FinalObs[1].Obs[0] != final {
		t.Error("decoding into a batch with room allocated new columns")
	}
}

func TestSampleBatchColumnsValidate(t *testing.T) {
	dqn := func() *SampleBatch {
		b := sampleBatch()
		b.Columns = ColFinalObs | ColLastObs
		b.LogProbs, b.Values, b.BootstrapValues, b.LastValues = nil, nil, nil, nil
		return b
	}
	for _, tc := range []struct {
		name string
		edit func(b *SampleBatch)
		msg  string // "" for valid
	}{
		{"dqn columns", func(*SampleBatch) {}, ""},
		{"undeclared values", func(b *SampleBatch) { b.Values = make([]float32, 4) }, "column values has 4 values, want 0"},
		{"declared logp missing", func(b *SampleBatch) { b.Columns |= ColLogProbs }, "column logp has 0 values, want 4"},
		{"undeclared final obs", func(b *SampleBatch) { b.Columns = ColLastObs }, "2 final observations in a batch without column final_obs"},
		{"unknown column", func(b *SampleBatch) { b.Columns |= 1 << 7 }, "unknown columns"},
		{"final obs out of order", func(b *SampleBatch) { b.FinalObs[0].Index, b.FinalObs[1].Index = 3, 2 }, "out of shape or order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := dqn()
			tc.edit(b)
			err := b.Validate()
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Validate = %v; want nil", err)
				}
				data, _ := b.Encode()
				got, err := UnmarshalSampleBatch(data)
				if err != nil || !reflect.DeepEqual(got, b) {
					t.Fatalf("round trip = %+v, %v; want %+v", got, err, b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Validate = %v; want an error containing %q", err, tc.msg)
			}
		})
	}
}

// FuzzUnmarshalSampleBatch feeds arbitrary bytes to the decoder: it must
// never panic, must not allocate more than a small multiple of the input
// (a 5-byte header may not make it allocate gigabytes; facts.md), and
// what it accepts must survive a round trip.
func FuzzUnmarshalSampleBatch(f *testing.F) {
	good, _ := sampleBatch().Encode()
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x81, 0xa3, 'o', 'b', 's', 0xdd, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0x81, 0xa3, 'o', 'b', 's', 0xc6, 0x7f, 0xff, 0xff, 0xfc})
	stats := sampleBatch()
	stats.ObsStats = policy.NewObsStats(3)
	stats.Episodes[0].Metrics = []float64{1, 2}
	withStats, _ := stats.Encode()
	f.Add(withStats)
	// msgpack builds its per-type caches on first use: not counted below.
	if b, err := UnmarshalSampleBatch(withStats); err == nil {
		_, _ = b.Encode()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b, err := UnmarshalSampleBatch(data)
		runtime.ReadMemStats(&after)
		// Each msgpack element takes at least one byte and decodes into at
		// most 64 bytes of Go value (FinalObs and EpisodeStats structs);
		// a bin decodes into its own size.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(64*len(data)+64<<10) {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(data), grew)
		}
		if err != nil {
			return
		}
		if verr := b.Validate(); verr != nil {
			t.Fatalf("accepted a batch that fails Validate: %v", verr)
		}
		// Round trip, compared through the encoding (NaNs by their bits).
		enc, err := b.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := UnmarshalSampleBatch(enc)
		if err != nil {
			t.Fatalf("re-encoded batch is rejected: %v", err)
		}
		enc2, err := again.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the batch:\n% x\n% x", enc, enc2)
		}
	})
}
