package external

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
)

// stubBackend lets a VectorEnv check replies without a server.
type stubBackend struct{}

func (stubBackend) conn() *grpc.ClientConn               { return nil }
func (stubBackend) recover(context.Context, error) error { return nil }
func (stubBackend) alive() bool                          { return true }
func (stubBackend) describe() string                     { return "fuzz" }
func (stubBackend) unixSocket() bool                     { return false }
func (stubBackend) close() error                         { return nil }

func fuzzVector(n int) *VectorEnv {
	v := &VectorEnv{opts: Options{EnvID: "Fuzz-v0"}.withDefaults(), be: stubBackend{}}
	v.init(&Spec{ID: "Fuzz-v0", NumEnvs: n, Observation: envs.UniformBox(3, -1, 1), Action: envs.Discrete{N: 2}})
	v.didReset = true
	return v
}

func marshal(t testing.TB, v any) []byte {
	b, err := wire.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// allocatedBytes returns the bytes the heap allocated while f ran.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// checkAlloc fails t if decoding in bytes allocated more than 64 KiB
// plus 64 bytes per input byte: the guards must keep a short message
// from declaring a huge allocation (facts.md, msgpack's 5-byte crash).
func checkAlloc(t *testing.T, what string, in []byte, n uint64) {
	t.Helper()
	if limit := 64<<10 + 64*uint64(len(in)); n > limit {
		t.Fatalf("%s of %d bytes allocated %d bytes; want at most %d", what, len(in), n, limit)
	}
}

// canonical is v's msgpack encoding with sorted map keys, to compare
// decoded messages (NaNs included) by value.
func canonical(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// roundTrip checks that v, decoded from accepted bytes, re-encodes with
// the codec to bytes that decode into fresh (empty, with v's bounds) to
// the same value.
func roundTrip(t *testing.T, v, fresh any) {
	t.Helper()
	b, err := codec{}.Marshal(v)
	if err != nil {
		t.Fatalf("re-encoding an accepted message: %v", err)
	}
	if err := (codec{}).Unmarshal(b, fresh); err != nil {
		t.Fatalf("decoding the re-encoding %x of an accepted message: %v", b, err)
	}
	if a, c := canonical(t, v), canonical(t, fresh); !bytes.Equal(a, c) {
		t.Fatalf("round trip changed the message:\n%x\n%x", a, c)
	}
}

// FuzzSpecReply: any bytes as a Spec reply decode to a checked Spec or an
// error, within specLimits, never a panic or a huge allocation.
func FuzzSpecReply(f *testing.F) {
	r, _ := encodeSpec(&Spec{ID: "X", NumEnvs: 2, Observation: envs.UniformBox(3, -1, 1), Action: envs.Discrete{N: 2}})
	f.Add(marshal(f, r))
	r2, _ := encodeSpec(&Spec{ID: "Y", NumEnvs: 1, Observation: &envs.Box{Low: make([]float32, 6), High: make([]float32, 6), Dims: []int{2, 3}}, Action: envs.UniformBox(2, -1, 1), HasThreshold: true})
	f.Add(marshal(f, r2))
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r specReply
		var s *Spec
		var derr, err error
		checkAlloc(t, "a Spec reply", b, allocatedBytes(func() {
			if derr = (codec{}).Unmarshal(b, &r); derr == nil {
				s, err = decodeSpec(&r)
			}
		}))
		if derr != nil {
			return
		}
		roundTrip(t, &r, &specReply{})
		if err != nil {
			return
		}
		if s.Observation.Size() <= 0 || s.NumEnvs <= 0 || s.ActionSize() <= 0 {
			t.Fatalf("decodeSpec accepted %+v", s)
		}
	})
}

// FuzzStepReply: any bytes as a Step reply of 3 envs are applied whole
// or rejected; an accepted one leaves finite observations of the right
// size and a FinalObs for exactly the envs that ended.
func FuzzStepReply(f *testing.F) {
	ok := &stepReply{
		Obs:        putF32(nil, make([]float32, 9)),
		Rewards:    putF64(nil, []float64{1, 0, -1}),
		Terminated: []byte{0, 1, 0},
		Truncated:  []byte{0, 0, 1},
		FinalObs:   putF32(nil, make([]float32, 6)),
	}
	f.Add(marshal(f, ok))
	x := 2.0
	ok.Infos = map[string][]*float64{"a": {&x, nil, &x}}
	f.Add(marshal(f, ok))
	f.Add([]byte{0x81, 0xa3, 'o', 'b', 's', 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		v := fuzzVector(3)
		v.reply.Infos = nil
		var s *envs.VectorStep
		var derr, err error
		checkAlloc(t, "a Step reply", b, allocatedBytes(func() {
			if derr = (codec{}).Unmarshal(b, &v.reply); derr == nil {
				s, err = v.applyStep()
			}
		}))
		if derr != nil {
			return
		}
		roundTrip(t, &v.reply, &stepReply{bounds: v.reply.bounds})
		if err != nil {
			return
		}
		if len(v.Obs()) != 9 {
			t.Fatalf("Obs has %d values", len(v.Obs()))
		}
		for i := range 3 {
			ended := s.Terminated[i] || s.Truncated[i]
			if ended != (s.FinalObs[i] != nil) {
				t.Fatalf("env %d: ended %v but FinalObs %v", i, ended, s.FinalObs[i])
			}
		}
	})
}

// FuzzResetReply: any bytes as a Reset reply of 2 envs.
func FuzzResetReply(f *testing.F) {
	f.Add(marshal(f, &resetReply{Obs: putF32(nil, make([]float32, 6))}))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := resetReply{}
		r.lim = replyLimits(2, 3)
		var err error
		checkAlloc(t, "a Reset reply", b, allocatedBytes(func() { err = (codec{}).Unmarshal(b, &r) }))
		if err != nil {
			return
		}
		roundTrip(t, &r, &resetReply{bounds: r.bounds})
		v := fuzzVector(2)
		if len(r.Obs) == 4*6 {
			v.checkObs(methodReset, "obs", r.Obs, -1)
		}
	})
}

// cartPoleServer is the Go server of 2 CartPoles as Serve sets it up,
// without a listener: the fuzz targets call its handlers directly.
func cartPoleServer(f *testing.F) *server {
	srv := &server{factory: func() (envs.Env, error) { return envs.Make("CartPole-v1", nil) }, n: 2}
	if err := srv.makeEnvs(); err != nil {
		f.Fatal(err)
	}
	srv.spec = &Spec{ID: "CartPole-v1", NumEnvs: 2, Observation: srv.vec.Env(0).ObservationSpace().(*envs.Box), Action: envs.Discrete{N: 2}}
	srv.adim = 1
	srv.acts = make([]envs.Action, 2)
	srv.reqLim = requestLimits(2, 1)
	return srv
}

// FuzzServerRequests: any bytes as a Reset or Step request to the Go
// server of 2 CartPoles are served or refused with a status, never a
// panic.
func FuzzServerRequests(f *testing.F) {
	s1, s2 := uint64(1), uint64(2)
	f.Add(false, marshal(f, &resetRequest{Seeds: []*uint64{&s1, &s2}}))
	f.Add(false, marshal(f, &resetRequest{Seeds: []*uint64{nil, &s2}}))
	f.Add(true, marshal(f, &stepRequest{Actions: []byte{1, 0, 0, 0, 0, 0, 0, 0}}))
	f.Add(true, marshal(f, &stepRequest{Actions: []byte{9, 0, 0, 0, 0, 0, 0, 0x80}}))
	srv := cartPoleServer(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, step bool, b []byte) {
		if step {
			r := &stepRequest{}
			r.lim = srv.requestBounds()
			var err error
			checkAlloc(t, "a Step request", b, allocatedBytes(func() {
				if err = (codec{}).Unmarshal(b, r); err == nil {
					srv.rpcStep(ctx, r)
				}
			}))
			if err == nil {
				roundTrip(t, r, &stepRequest{bounds: r.bounds})
			}
			return
		}
		r := &resetRequest{}
		r.lim = srv.requestBounds()
		var err error
		checkAlloc(t, "a Reset request", b, allocatedBytes(func() {
			if err = (codec{}).Unmarshal(b, r); err == nil {
				srv.rpcReset(ctx, r)
			}
		}))
		if err == nil {
			roundTrip(t, r, &resetRequest{bounds: r.bounds})
		}
	})
}

// FuzzStepSocketServer: any bytes sent to the Go server's step socket
// (frames or not) are answered with well-formed reply frames, or the
// connection is closed, never a panic or a read of a frame beyond the
// request bound.
func FuzzStepSocketServer(f *testing.F) {
	frame := func(body []byte) []byte {
		return append(binary.LittleEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	f.Add(frame(marshal(f, &stepRequest{Actions: []byte{1, 0, 0, 0, 0, 0, 0, 0}})))
	f.Add(append(frame(marshal(f, &stepRequest{Actions: []byte{1, 0, 0, 0, 0, 0, 0, 0}})), frame([]byte{0xc1})...))
	f.Add(frame(marshal(f, &stepRequest{Actions: []byte{9, 0, 0, 0}})))
	f.Add(binary.LittleEndian.AppendUint32(nil, 1<<31))
	srv := cartPoleServer(f)
	if err := srv.vec.Reset(1); err != nil {
		f.Fatal(err)
	}
	srv.reset = true
	f.Fuzz(func(t *testing.T, b []byte) {
		client, server := socketPair(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			serveStepConn(server, srv, srv.reqLim)
			server.Close()
		}()
		go func() {
			client.Write(b)
			client.CloseWrite()
		}()
		lim := replyLimits(2, 4)
		for {
			var hdr [4]byte
			if _, err := io.ReadFull(client, hdr[:]); err != nil {
				break
			}
			n := binary.LittleEndian.Uint32(hdr[:])
			if int(n) > lim.MaxBytes {
				t.Fatalf("reply frame of %d bytes, more than %d", n, lim.MaxBytes)
			}
			body := make([]byte, n)
			if _, err := io.ReadFull(client, body); err != nil {
				t.Fatalf("reply frame cut: %v", err)
			}
			r := &stepReply{}
			r.lim = lim
			if err := (codec{}).Unmarshal(body, r); err != nil {
				t.Fatalf("reply frame does not decode: %v", err)
			}
		}
		client.Close()
		<-done
		srv.reset = true // a failed step needs a Reset; the vector is still usable here
	})
}

// socketPair returns the two ends of a connected Unix socket pair.
func socketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}
