package remote

import (
	"testing"

	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/rollout"
)

// FuzzCodec feeds arbitrary bytes to the codec as every request and reply
// type: it must return an error or a value, never crash or allocate
// beyond the message's size (the guard runs first).
func FuzzCodec(f *testing.F) {
	for _, h := range hostile {
		f.Add(h.b)
	}
	for _, v := range []any{
		&RegisterRequest{Protocol: 1, Hostname: "h", PID: 2, PreviousID: "L1-w1"},
		&WaitWorkRequest{WorkerID: "L1-w1", HaveVersion: 3},
		&UploadRequest{WorkerID: "L1-w1", TaskID: "L1.v3.t4", Batch: []byte{0x80}},
		&RegisterReply{WorkerID: "w", Spec: rollout.ActorCriticPolicy(cartPoleSpec()), Weights: []byte{0x80}},
	} {
		b, err := wire.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := codec{}
		c.Unmarshal(b, new(RegisterRequest))
		c.Unmarshal(b, new(RegisterReply))
		c.Unmarshal(b, new(WaitWorkRequest))
		c.Unmarshal(b, new(WaitWorkReply))
		c.Unmarshal(b, new(UploadRequest))
		c.Unmarshal(b, new(UploadReply))
		c.Unmarshal(b, new(HeartbeatRequest))
	})
}
