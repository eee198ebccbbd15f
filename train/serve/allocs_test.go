package serve

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
)

// TestBatchPathAllocs: a request of a size seen before allocates nothing
// on its way through the JSON decoder, the session stacks, the batcher
// (queue, forward pass, answer) and the JSON encoder, and nothing in the
// whole HTTP handler (net/http's own connection and request objects
// aside, which the benchmark's allocs/op include).
func TestBatchPathAllocs(t *testing.T) {
	batch := `{"observations":[` + strings.TrimSuffix(strings.Repeat(`[0.1,-0.2,0.03,0.5],`, 32), ",") + `],"probs":true}`
	for _, tc := range []struct {
		kind, body string
		frames     int
	}{
		{"actor_critic", `{"observation":[0.1,-0.2,0.03,0.5]}`, 1},
		{"actor_critic", `{"observation":[0.1,-0.2,0.03,0.5],"probs":true,"explore":true}`, 1},
		{"actor_critic", `{"observation":[0.1,-0.2,0.03,0.5],"explore":true,"seed":7}`, 1},
		{"actor_critic", batch, 1},
		{"q", `{"observation":[0.1,-0.2,0.03,0.5],"q_values":true,"explore":true}`, 1},
		{"dueling_q", `{"observations":[[0.1,-0.2,0.03,0.5],[1,2,3,4]]}`, 1},
		{"gaussian", `{"observation":[0.1,-0.2,0.03,0.5],"probs":true,"explore":true}`, 1},
		{"actor_critic", `{"observation":[0.1,-0.2,0.03,0.5],"session":"episode-17","explore":true}`, 4},
		{"actor_critic", `{"observations":[[0.1,-0.2,0.03,0.5],[1,2,3,4]],"sessions":["a","b"],"resets":[false,true]}`, 4},
	} {
		t.Run(fmt.Sprintf("%s/%.50s", tc.kind, tc.body), func(t *testing.T) {
			srv, err := New(Config{FrameStack: FrameStack{N: tc.frames}}, testPolicyFrames(t, tc.kind, 1, 1, tc.frames))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			body := []byte(tc.body)
			c := srv.free.get()
			out := make([]byte, 0, 1<<14)
			frame := srv.sessions.frame
			run := func() {
				c.reset()
				if err := decodeAct(body, c, frame, frame*srv.sessions.n, 1024); err != nil {
					t.Fatal(err)
				}
				if err := srv.act(c); err != nil {
					t.Fatal(err)
				}
				out = appendReply(out[:0], c)
			}
			run()
			if a := testing.AllocsPerRun(2000, run); a != 0 {
				t.Errorf("decode + act + encode: %v allocations per request; want 0", a)
			}

			// The whole handler, with a reused request and writer.
			rd := bytes.NewReader(body)
			req, _ := http.NewRequest(http.MethodPost, "/v1/act", nil)
			req.Body = readCloser{rd}
			req.ContentLength = int64(len(body))
			w := &nopWriter{h: http.Header{}}
			handle := func() {
				rd.Reset(body)
				w.code, w.n = 0, 0
				srv.handleAct(w, req)
				if w.code != 0 && w.code != http.StatusOK {
					t.Fatalf("handler answered %d", w.code)
				}
			}
			handle()
			if a := testing.AllocsPerRun(2000, handle); a != 0 {
				t.Errorf("handleAct: %v allocations per request; want 0", a)
			}
		})
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// nopWriter is a ResponseWriter that counts and discards.
type nopWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) WriteHeader(code int)        { w.code = code }
func (w *nopWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// TestGRPCPathAllocs: the server's own part of a gRPC act call (the
// token check, decoding the message into a recycled call, the batcher,
// encoding the reply from the call into a recycled buffer, and the call's
// and buffer's return once grpc frees the reply) allocates nothing for a
// request of a size seen before, grpc-go's own stream, context and frame
// objects aside (the benchmark's allocs/op include those: compare the
// floor server's). The reply's bytes are those an ActReply of the same
// answer encodes to (what Go and Python clients decode).
func TestGRPCPathAllocs(t *testing.T) {
	obs := []float32{0.1, -0.2, 0.03, 0.5}
	rows := make([][]float32, 32)
	for i := range rows {
		rows[i] = obs
	}
	seed := uint64(7)
	for _, tc := range []struct {
		kind   string
		req    any
		frames int
		token  string
		allocs float64
	}{
		{kind: "actor_critic", req: &ActRequest{Observation: obs}},
		{kind: "actor_critic", req: &ActRequest{Observation: obs, Probs: true, Explore: true}},
		{kind: "actor_critic", req: &ActRequest{Observation: obs, Explore: true, Seed: &seed}},
		{kind: "actor_critic", req: &ActRequest{Observations: rows, Probs: true}},
		// As Python's msgpack packs it: float64 and integer numbers.
		{kind: "actor_critic", req: map[string]any{"observations": [][]any{{0.1, -2, uint8(3), 0.5}}, "probs": true}},
		{kind: "q", req: &ActRequest{Observation: obs, QValues: true, Explore: true}},
		{kind: "dueling_q", req: &ActRequest{Observations: [][]float32{obs, {1, 2, 3, 4}}}},
		{kind: "gaussian", req: &ActRequest{Observation: obs, Probs: true, Explore: true}},
		{kind: "gaussian", req: &ActRequest{Observations: rows[:3]}},
		{kind: "actor_critic", req: &ActRequest{Observation: obs, Session: "episode-17", Explore: true}, frames: 4},
		{kind: "actor_critic", req: &ActRequest{Observations: [][]float32{obs, {1, 2, 3, 4}}, Sessions: []string{"a", "b"}, Resets: []bool{false, true}}, frames: 4},
		// grpc-go's metadata accessor copies the values it returns.
		{kind: "actor_critic", req: &ActRequest{Observation: obs}, token: "a-token-longer-than-thirty-two-bytes-0123456789", allocs: 1},
	} {
		body, err := msgpack.Marshal(tc.req)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("%s/%x", tc.kind, body[:min(len(body), 24)]), func(t *testing.T) {
			frames := max(tc.frames, 1)
			srv, err := New(Config{FrameStack: FrameStack{N: frames}, Token: tc.token}, testPolicyFrames(t, tc.kind, 1, 1, frames))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			h, codec := grpcHandlers{srv}, serverCodec{srv}
			ctx := context.Background()
			if tc.token != "" {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+tc.token))
			}
			data := mem.BufferSlice{mem.SliceBuffer(body)}
			dec := func(v any) error { return codec.Unmarshal(data, v) }

			rep, err := h.act(ctx, dec)
			if err != nil {
				t.Fatal(err)
			}
			want, err := msgpack.Marshal(replyOf(rep.(*call)))
			if err != nil {
				t.Fatal(err)
			}
			out, err := codec.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Materialize(); !bytes.Equal(got, want) {
				t.Errorf("reply %x; want ActReply's %x", got, want)
			}
			out.Free()

			run := func() {
				rep, err := h.act(ctx, dec)
				if err != nil {
					t.Fatal(err)
				}
				out, err := codec.Marshal(rep)
				if err != nil {
					t.Fatal(err)
				}
				out.Free() // as grpc does once the reply is written
			}
			if a := testing.AllocsPerRun(2000, run); a != tc.allocs {
				t.Errorf("act + encode: %v allocations per call; want %v", a, tc.allocs)
			}
		})
	}
}

// replyOf copies c's answer into an ActReply (what the gRPC handler
// returned before it encoded from the call).
func replyOf(c *call) *ActReply {
	r := &ActReply{Version: c.version, Batch: c.batch}
	if c.actDim == 0 {
		r.Actions = append([]int(nil), c.actions[:c.rows]...)
	} else {
		r.Continuous = rowsOf(c.cont, c.rows, c.actDim, c.actDim, 0)
	}
	switch {
	case c.probs && c.actDim > 0:
		r.Mean = rowsOf(c.extra, c.rows, 2*c.actDim, c.actDim, 0)
		r.Std = rowsOf(c.extra, c.rows, 2*c.actDim, c.actDim, c.actDim)
	case c.probs:
		r.Probs = rowsOf(c.extra, c.rows, c.numAct, c.numAct, 0)
	case c.qValues:
		r.QValues = rowsOf(c.extra, c.rows, c.numAct, c.numAct, 0)
	}
	return r
}

func rowsOf(x []float32, rows, stride, width, off int) [][]float32 {
	out := make([][]float32, rows)
	for i := range out {
		out[i] = append([]float32(nil), x[i*stride+off:i*stride+off+width]...)
	}
	return out
}
