package rollout

import (
	"errors"
	"reflect"
	"runtime"
	"testing"

	"github.com/rlgo/rlgo/internal/wire"
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

// FuzzUnmarshalSampleBatch feeds arbitrary bytes to the decoder: it must
// never panic, and must not allocate more than a small multiple of the
// input (a 5-byte header may not make it allocate gigabytes; facts.md).
func FuzzUnmarshalSampleBatch(f *testing.F) {
	good, _ := sampleBatch().Encode()
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x81, 0xa3, 'o', 'b', 's', 0xdd, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b, err := UnmarshalSampleBatch(data)
		runtime.ReadMemStats(&after)
		// Each msgpack element takes at least one byte and decodes into at
		// most 64 bytes of Go value (FinalObs and EpisodeStats structs).
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(64*len(data)+64<<10) {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(data), grew)
		}
		if err == nil {
			if verr := b.Validate(); verr != nil {
				t.Fatalf("accepted a batch that fails Validate: %v", verr)
			}
		}
	})
}
