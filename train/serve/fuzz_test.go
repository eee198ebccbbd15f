package serve

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecodeAct: any body either decodes into a call whose shapes are
// consistent (every observation of the length wanted, finite values) or
// is refused with a RequestError; it never panics.
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
		err := decodeAct(body, c, 2, 4, 8)
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
			if v != v || v > 3.4028235e38 || v < -3.4028235e38 {
				t.Fatalf("decodeAct(%q): non-finite value %v", body, v)
			}
		}
	})
}

// FuzzGRPCCodec: any message either decodes into a call whose shapes
// are consistent (every observation of the length wanted, finite values,
// session ids of 1 to 128 bytes) or is refused with a RequestError (the
// server's decoder, decodeActMsgpack), and decodes into an ActRequest or
// its decode error (Codec, for Go clients and proxies); an ActReply's
// decoder takes any bytes. None panics or allocates what the bytes do not
// hold.
func FuzzGRPCCodec(f *testing.F) {
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
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newCall()
		if err := decodeActMsgpack(data, c, 8); err != nil {
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
				if v != v || v > 3.4028235e38 || v < -3.4028235e38 {
					t.Fatalf("decodeActMsgpack(%x): non-finite value %v", data, v)
				}
			}
			for _, id := range c.sessions {
				if len(id.b) == 0 || len(id.b) > maxSessionID {
					t.Fatalf("decodeActMsgpack(%x): session id of %d bytes", data, len(id.b))
				}
			}
		}
		var req ActRequest
		if err := (Codec{}).Unmarshal(data, &req); err != nil {
			t.Fatalf("Unmarshal into an ActRequest returned %v; want the error kept in the request", err)
		}
		var rep ActReply
		(Codec{}).Unmarshal(data, &rep)
	})
}
