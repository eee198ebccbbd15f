package remote

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// fuzzBatch is a small well-formed batch (2 envs × 2 steps) for seeds.
func fuzzBatch() *rollout.SampleBatch {
	return &rollout.SampleBatch{
		ID: "w0-1", WeightsVersion: 3, NumEnvs: 2, Steps: 2, ObsDim: 1,
		Columns:    rollout.ColLogProbs | rollout.ColValues | rollout.ColFinalObs,
		Obs:        []float32{1, 2, 3, 4},
		Actions:    []int32{0, 1, 1, 0},
		Rewards:    []float32{1, 1, 1, 0},
		Terminated: []bool{false, true, false, false},
		Truncated:  []bool{false, false, false, true},
		LogProbs:   []float32{-0.5, -0.7, -0.1, -2},
		Values:     []float32{0.5, 0.25, 1, -1},
		FinalObs:   []rollout.FinalObs{{Index: 1, Obs: []float32{9}}, {Index: 3, Obs: []float32{8}}},
		Episodes:   []rollout.EpisodeStats{{Env: 1, Step: 0, Return: 1, Length: 4, Metrics: []float64{2}}},
		ObsStats:   policy.NewObsStats(1),
	}
}

// FuzzCodec feeds arbitrary bytes to the codec as every request and reply
// type. It must return an error or a value, never crash, never allocate
// more than a small multiple of the message's size (the header walk runs
// before anything is decoded), and what it accepts must survive a round
// trip: re-encoded and decoded again, it encodes to the same bytes.
func FuzzCodec(f *testing.F) {
	for _, h := range hostile {
		f.Add(h.b)
	}
	var seeds [][]byte
	for _, v := range []any{
		&RegisterRequest{Protocol: 1, Hostname: "h", PID: 2, PreviousID: "L1-w1"},
		&WaitWorkRequest{WorkerID: "L1-w1", HaveVersion: 3},
		&WaitWorkReply{Version: 3, Weights: []byte{0x80}, TaskID: "L1.v3.t4"},
		&UploadRequest{WorkerID: "L1-w1", TaskID: "L1.v3.t4", Batch: fuzzBatch()},
		&RegisterReply{WorkerID: "w", Spec: rollout.ActorCriticPolicy(cartPoleSpec()), Weights: []byte{0x80}, Columns: rollout.ColFinalObs},
		&UploadReply{Status: Accepted},
	} {
		b, err := wire.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		seeds = append(seeds, b)
	}
	types := []func() any{
		func() any { return new(RegisterRequest) },
		func() any { return new(RegisterReply) },
		func() any { return new(WaitWorkRequest) },
		func() any { return new(WaitWorkReply) },
		func() any { return new(UploadRequest) },
		func() any { return new(UploadReply) },
		func() any { return new(HeartbeatRequest) },
	}
	// msgpack builds its per-type caches on first use: not counted below.
	for _, newMsg := range types {
		for _, s := range seeds {
			v := newMsg()
			_ = codec{}.Unmarshal(s, v)
			_, _ = codec{}.Marshal(v)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := codec{}
		msgs := make([]any, len(types))
		errs := make([]error, len(types))
		for i, newMsg := range types {
			msgs[i] = newMsg()
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i, v := range msgs {
			errs[i] = c.Unmarshal(b, v)
		}
		runtime.ReadMemStats(&after)
		// A msgpack element takes at least a byte and decodes into at
		// most ~64 bytes of Go value; a bin into its own size. Every type
		// decodes b once.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(len(types)*(64*len(b)+16<<10)) {
			t.Fatalf("decoding %d bytes as %d message types allocated %d bytes", len(b), len(types), grew)
		}
		for i, v := range msgs {
			if up, ok := v.(*UploadRequest); errs[i] != nil || (ok && up.decodeErr != nil) {
				continue
			}
			enc, err := c.Marshal(v)
			if err != nil {
				t.Fatalf("re-encode %T: %v", v, err)
			}
			again := types[i]()
			if err := c.Unmarshal(enc, again); err != nil {
				t.Fatalf("re-encoded %T is rejected: %v", v, err)
			}
			if up, ok := again.(*UploadRequest); ok && up.decodeErr != nil {
				t.Fatalf("re-encoded upload does not decode: %v", up.decodeErr)
			}
			enc2, err := c.Marshal(again)
			if err != nil {
				t.Fatalf("re-encode %T: %v", v, err)
			}
			if !bytes.Equal(enc, enc2) {
				t.Fatalf("round trip changed the %T:\n% x\n% x", v, enc, enc2)
			}
		}
	})
}

// TestUploadRequestRoundTrip checks that a batch travels inline in its
// upload, decoded by the one pass of the codec.
func TestUploadRequestRoundTrip(t *testing.T) {
	in := &UploadRequest{WorkerID: "L1-w1", TaskID: "L1.v3.t4", Batch: fuzzBatch()}
	data, err := codec{}.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out UploadRequest
	if err := (codec{}).Unmarshal(data, &out); err != nil || out.decodeErr != nil {
		t.Fatalf("Unmarshal = %v, %v", err, out.decodeErr)
	}
	if err := out.Batch.Validate(); err != nil {
		t.Fatal(err)
	}
	batch, _ := in.Batch.Encode()
	if !bytes.Contains(data, batch) {
		t.Error("the upload does not hold the batch's own encoding inline")
	}
	if len(data) > len(batch)+64 {
		t.Errorf("upload of %d bytes for a batch of %d; want the batch plus a few ids", len(data), len(batch))
	}
}
