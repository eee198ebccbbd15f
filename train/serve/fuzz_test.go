package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// allocatedBytes returns the bytes the heap allocated while f ran.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// checkAlloc fails t if decoding in bytes allocated more than 64 KiB plus
// 64 bytes per input byte: no declared length may make a short message
// allocate much (facts.md, msgpack's 5-byte crash).
func checkAlloc(t *testing.T, what string, in []byte, n uint64) {
	t.Helper()
	if limit := 64<<10 + 64*uint64(len(in)); n > limit {
		t.Fatalf("%s of %d bytes allocated %d bytes; want at most %d", what, len(in), n, limit)
	}
}

// decoded is what a decoder filled in a call, comparable with ==
// (observations by their bits, session ids as strings); norm takes
// resets that are all false as none, as the server does.
func decoded(c *call, norm bool) string {
	ids := make([]string, len(c.sessions))
	for i, s := range c.sessions {
		ids[i] = string(s.b) + s.s
	}
	bits := make([]uint32, len(c.frames))
	for i, v := range c.frames {
		bits[i] = math.Float32bits(v)
	}
	resets := c.resets
	if norm && !slices.Contains(resets, true) {
		resets = nil
	}
	return fmt.Sprintf("rows %d batch %v explore %v probs %v q %v seed %v/%d lens %v frames %x sessions %q resets %v",
		c.rows, c.batch, c.explore, c.probs, c.qValues, c.hasSeed, c.seed, c.lens, bits, ids, resets)
}

// request is the ActRequest a Go client sends for the call c decoded
// (c passed checkShapes).
func request(c *call) *ActRequest {
	r := &ActRequest{Explore: c.explore, Probs: c.probs, QValues: c.qValues}
	if c.hasSeed {
		r.Seed = &c.seed
	}
	ids := make([]string, len(c.sessions))
	for i, s := range c.sessions {
		ids[i] = string(s.b) + s.s
	}
	if !c.batch {
		r.Observation = c.frames
		if len(ids) == 1 {
			r.Session = ids[0]
		}
		r.Reset = len(c.resets) == 1 && c.resets[0]
		return r
	}
	off := 0
	for _, n := range c.lens {
		r.Observations = append(r.Observations, c.frames[off:off+int(n)])
		off += int(n)
	}
	r.Sessions, r.Resets = ids, c.resets
	return r
}

// jsonBody is the JSON body, as encoding/json writes it, of the request
// c decoded (c passed checkShapes).
func jsonBody(t *testing.T, c *call) []byte {
	t.Helper()
	r := request(c)
	m := map[string]any{}
	if r.Observation != nil {
		m["observation"] = r.Observation
	}
	if r.Observations != nil {
		m["observations"] = r.Observations
	}
	for _, f := range []struct {
		key string
		on  bool
	}{{"explore", r.Explore}, {"probs", r.Probs}, {"q_values", r.QValues}} {
		if f.on {
			m[f.key] = true
		}
	}
	if r.Seed != nil {
		m["seed"] = *r.Seed
	}
	if r.Session != "" {
		m["session"] = r.Session
	}
	if len(c.resets) > 0 && !c.batch {
		m["reset"] = c.resets[0]
	}
	if r.Sessions != nil {
		m["sessions"] = r.Sessions
	}
	if r.Resets != nil {
		m["resets"] = r.Resets
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // session ids are printable ASCII, '<' included
	if err := enc.Encode(m); err != nil {
		t.Fatalf("encoding the request as JSON: %v", err)
	}
	return buf.Bytes()
}

// FuzzDecodeAct: any body either decodes into a call whose shapes are
// consistent (every observation of the length wanted, finite values) or
// is refused with a RequestError; it never panics, and decoding
// allocates at most 64 KiB plus 64 bytes per body byte. An accepted
// body's request, written again as JSON by encoding/json, decodes to the
// same call (observations compared by their bits), and so does the same
// request encoded for gRPC (Codec, an ActRequest) and read by the
// server's msgpack decoder: the two decoders agree.
func FuzzDecodeAct(f *testing.F) {
	for _, s := range []string{
		`{"observation":[0.1,-0.2,0.03,0.5]}`,
		`{"observations":[[1,2,3,4],[5,6,7,8]],"explore":true,"seed":3,"probs":true}`,
		`{"observation":[1,2],"session":"a","reset":true}`,
		`{"observations":[[1,2],[3,4]],"sessions":["a","b"],"resets":[true,false]}`,
		`{"observation":[1e39,NaN,-Infinity,"x"]}`,
		`{"q_values":false,"observation":[ 1 , 2 , 3 , 4 ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := newCall()
		var err error
		checkAlloc(t, "a JSON body", body, allocatedBytes(func() { err = decodeAct(body, c, 2, 4, 8) }))
		if err != nil {
			if _, ok := err.(*RequestError); !ok {
				t.Fatalf("decodeAct(%q): error %T %v; want a *RequestError", body, err, err)
			}
			return
		}
		want := 4
		if len(c.sessions) > 0 {
			want = 2
		}
		if c.rows < 1 || c.rows > 8 || len(c.frames) != c.rows*want {
			t.Fatalf("decodeAct(%q): %d rows, %d values; want rows in [1, 8] of %d values", body, c.rows, len(c.frames), want)
		}
		for _, v := range c.frames {
			if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
				t.Fatalf("decodeAct(%q): non-finite value %v", body, v)
			}
		}

		again := jsonBody(t, c)
		c2 := newCall()
		if err := decodeAct(again, c2, 2, 4, 8); err != nil {
			t.Fatalf("decodeAct(%q) accepted, its re-encoding %s refused: %v", body, again, err)
		}
		if a, b := decoded(c, false), decoded(c2, false); a != b {
			t.Fatalf("JSON round trip of %q through %s changed the call:\n%s\n%s", body, again, a, b)
		}

		msg, err := Codec{}.Marshal(request(c))
		if err != nil {
			t.Fatalf("encoding the request for gRPC: %v", err)
		}
		c3 := newCall()
		if err := decodeActMsgpack(msg, c3, 8); err != nil {
			t.Fatalf("decodeAct(%q) accepted, decodeActMsgpack(%x) refused: %v", body, msg, err)
		}
		if err := checkShapes(c3, 2, 4); err != nil {
			t.Fatalf("decodeAct(%q) accepted, decodeActMsgpack(%x)'s call fails checkShapes: %v", body, msg, err)
		}
		if a, b := decoded(c, true), decoded(c3, true); a != b {
			t.Fatalf("JSON %q and its gRPC encoding %x decode differently:\n%s\n%s", body, msg, a, b)
		}
	})
}

// sameEncoding fails t unless a and b encode (Codec) to the same bytes:
// decoded messages compared by value, NaNs by their bits.
func sameEncoding(t *testing.T, what string, a, b any) {
	t.Helper()
	ea, err := Codec{}.Marshal(a)
	if err != nil {
		t.Fatalf("%s: re-encode: %v", what, err)
	}
	eb, err := Codec{}.Marshal(b)
	if err != nil {
		t.Fatalf("%s: re-encode the decoded re-encoding: %v", what, err)
	}
	if !bytes.Equal(ea, eb) {
		t.Fatalf("%s: round trip changed the message:\n%x\n%x", what, ea, eb)
	}
}

// plainReply is an ActReply encoded field by field (msgpack's default
// struct encoding, not ActReply.EncodeMsgpack).
type plainReply ActReply

// FuzzGRPCCodec: any message either decodes into a call whose shapes
// are consistent (every observation of the length wanted, finite values,
// session ids of 1 to 128 bytes) or is refused with a RequestError (the
// server's decoder, decodeActMsgpack), and decodes into an ActRequest or
// its decode error (Codec, for Go clients and proxies); an ActReply's
// decoder takes any bytes. None panics, and each allocates at most 64 KiB
// plus 64 bytes per message byte. Round trips: a call the server accepts
// (checkShapes with the call's own observation length) re-encoded as an
// ActRequest decodes to the same call; an accepted ActRequest or
// ActReply re-encoded with Codec decodes to the same message (a reply
// only when it re-encodes: one with no action is refused by its encoder).
func FuzzGRPCCodec(f *testing.F) {
	seeds := [][]byte{}
	for _, v := range []any{
		&ActRequest{Observation: []float32{1, 2, 3, 4}, Explore: true},
		&ActRequest{Observations: [][]float32{{1, 2}, {3, 4}}, Sessions: []string{"a", "b"}, Resets: []bool{true, false}},
		&ActRequest{Observation: []float32{1, 2}, Session: "a", Reset: true, Seed: new(uint64)},
		map[string]any{"observations": [][]any{{0.5, int64(-3), uint8(2), float32(1)}}, "probs": true},
		&ActReply{Version: 3, Actions: []int{1}, Probs: [][]float32{{0.3, 0.7}}},
		&ActReply{Version: 3, Batch: true, Continuous: [][]float32{{0.5}, {-1}}},
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		seeds = append(seeds, b)
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	// msgpack builds its per-type caches on first use: not counted below.
	for _, b := range seeds {
		var req ActRequest
		var rep ActReply
		_ = Codec{}.Unmarshal(b, &req)
		_ = Codec{}.Unmarshal(b, &rep)
		_, _ = Codec{}.Marshal(&req)
		_, _ = Codec{}.Marshal(&rep)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newCall()
		var err error
		checkAlloc(t, "decodeActMsgpack", data, allocatedBytes(func() { err = decodeActMsgpack(data, c, 8) }))
		if err != nil {
			if _, ok := err.(*RequestError); !ok {
				t.Fatalf("decodeActMsgpack(%x): error %T %v; want a *RequestError", data, err, err)
			}
		} else if err := checkShapes(c, 2, 4); err == nil {
			want := 4
			if len(c.sessions) > 0 {
				want = 2
			}
			if c.rows < 1 || c.rows > 8 || len(c.frames) != c.rows*want {
				t.Fatalf("decodeActMsgpack(%x): %d rows, %d values; want rows in [1, 8] of %d values", data, c.rows, len(c.frames), want)
			}
			for _, v := range c.frames {
				if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
					t.Fatalf("decodeActMsgpack(%x): non-finite value %v", data, v)
				}
			}
			for _, id := range c.sessions {
				if len(id.b) == 0 || len(id.b) > maxSessionID {
					t.Fatalf("decodeActMsgpack(%x): session id of %d bytes", data, len(id.b))
				}
			}
		}
		if err == nil && c.rows > 0 && checkShapes(c, int(c.lens[0]), int(c.lens[0])) == nil {
			msg, err := Codec{}.Marshal(request(c))
			if err != nil {
				t.Fatalf("encoding the request: %v", err)
			}
			c2 := newCall()
			if err := decodeActMsgpack(msg, c2, 8); err != nil {
				t.Fatalf("decodeActMsgpack(%x) accepted, its re-encoding %x refused: %v", data, msg, err)
			}
			if a, b := decoded(c, true), decoded(c2, true); a != b {
				t.Fatalf("round trip of %x through %x changed the call:\n%s\n%s", data, msg, a, b)
			}
		}

		var req ActRequest
		checkAlloc(t, "an ActRequest", data, allocatedBytes(func() { err = Codec{}.Unmarshal(data, &req) }))
		if err != nil {
			t.Fatalf("Unmarshal into an ActRequest returned %v; want the error kept in the request", err)
		}
		if req.decodeErr == nil {
			msg, err := Codec{}.Marshal(&req)
			if err != nil {
				t.Fatalf("re-encoding an ActRequest: %v", err)
			}
			var again ActRequest
			if err := (Codec{}).Unmarshal(msg, &again); err != nil || again.decodeErr != nil {
				t.Fatalf("an accepted ActRequest's re-encoding %x is refused: %v %v", msg, err, again.decodeErr)
			}
			sameEncoding(t, "ActRequest", &req, &again)
		}

		var rep ActReply
		checkAlloc(t, "an ActReply", data, allocatedBytes(func() { err = Codec{}.Unmarshal(data, &rep) }))
		if err == nil {
			if msg, err := (Codec{}).Marshal(&rep); err == nil {
				var again ActReply
				if err := (Codec{}).Unmarshal(msg, &again); err != nil {
					t.Fatalf("an accepted ActReply's re-encoding %x is refused: %v", msg, err)
				}
				// Compared field by field (plainReply has no EncodeMsgpack),
				// so that a field the encoder drops shows.
				sameEncoding(t, "ActReply", (*plainReply)(&rep), (*plainReply)(&again))
			}
		}
	})
}
