package serve

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
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
