package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/internal/wire"
)

// ServiceName is the gRPC service's full name. Its methods are Act
// (ActRequest → ActReply) and Spec (SpecRequest → Spec), carried as
// msgpack (content-type application/grpc+msgpack) without .proto files:
// a client in any language with a msgpack library calls
// "/rlgo.serve.v1.Policy/Act" with a map of the JSON request's keys.
const ServiceName = "rlgo.serve.v1.Policy"

// Full method names, for clients (grpc.ClientConn.Invoke).
const (
	MethodAct  = "/" + ServiceName + "/Act"
	MethodSpec = "/" + ServiceName + "/Spec"
)

// ActRequest is an act call over gRPC, with the keys of the JSON request.
type ActRequest struct {
	Observation  []float32   `msgpack:"observation,omitempty"`
	Observations [][]float32 `msgpack:"observations,omitempty"`
	Explore      bool        `msgpack:"explore,omitempty"`
	Seed         *uint64     `msgpack:"seed,omitempty"`
	Session      string      `msgpack:"session,omitempty"`
	Sessions     []string    `msgpack:"sessions,omitempty"`
	Reset        bool        `msgpack:"reset,omitempty"`
	Resets       []bool      `msgpack:"resets,omitempty"`
	Probs        bool        `msgpack:"probs,omitempty"`
	QValues      bool        `msgpack:"q_values,omitempty"`

	decodeErr error
}

// ActReply is the answer to an act call, encoded with the keys of the
// JSON reply: "action" (an int, or a list for a Box action space) for a
// request with an observation, "actions" for one with observations,
// "version", and "probs", "q_values" or "mean" and "std" when asked for.
type ActReply struct {
	Version uint64
	// Batch says the request had observations (the reply has actions).
	Batch bool
	// Actions holds one Discrete action per observation; Continuous one
	// row of ActionDim values per observation for a Box action space.
	Actions    []int
	Continuous [][]float32
	// Probs (actor-critic) or QValues (Q-network), one row per
	// observation, when asked for; Mean and Std for a Gaussian actor.
	Probs, QValues, Mean, Std [][]float32
}

// DecodeMsgpack reads an act request from any msgpack encoder: numbers
// may be floats of either width or integers (Python's msgpack packs
// floats as float64), and an unknown key is an error naming it, as in
// the JSON request. Lists are bounded by the bytes that hold them
// (wire.Validate ran first).
func (r *ActRequest) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return fmt.Errorf("want a map: %w", err)
	}
	for range n {
		key, err := dec.DecodeString()
		if err != nil {
			return fmt.Errorf("field name: %w", err)
		}
		switch key {
		case "observation":
			r.Observation, err = decodeFloats(dec, "observation")
		case "observations":
			var m int
			if m, err = dec.DecodeArrayLen(); err == nil && m > 0 {
				r.Observations = make([][]float32, m)
				for i := range m {
					if r.Observations[i], err = decodeFloats(dec, indexed("observations", i)); err != nil {
						break
					}
				}
			}
		case "explore":
			r.Explore, err = dec.DecodeBool()
		case "probs":
			r.Probs, err = dec.DecodeBool()
		case "q_values":
			r.QValues, err = dec.DecodeBool()
		case "reset":
			r.Reset, err = dec.DecodeBool()
		case "seed":
			var v uint64
			if v, err = dec.DecodeUint64(); err == nil {
				r.Seed = &v
			}
		case "session":
			r.Session, err = dec.DecodeString()
		case "sessions":
			var m int
			if m, err = dec.DecodeArrayLen(); err == nil && m > 0 {
				r.Sessions = make([]string, m)
				for i := range m {
					if r.Sessions[i], err = dec.DecodeString(); err != nil {
						break
					}
				}
			}
		case "resets":
			var m int
			if m, err = dec.DecodeArrayLen(); err == nil && m > 0 {
				r.Resets = make([]bool, m)
				for i := range m {
					if r.Resets[i], err = dec.DecodeBool(); err != nil {
						break
					}
				}
			}
		default:
			if len(key) > 40 {
				key = key[:40] + "…"
			}
			return fmt.Errorf("%q: unknown field (known: observation, observations, explore, seed, session, sessions, reset, resets, probs, q_values)", key)
		}
		if err != nil {
			if strings.HasPrefix(key, "observation") {
				return err
			}
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

// decodeFloats reads a list of numbers (float32, float64 or integers).
func decodeFloats(dec *msgpack.Decoder, field string) ([]float32, error) {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return nil, fmt.Errorf("%s: want a list of numbers: %w", field, err)
	}
	if n <= 0 {
		return nil, nil
	}
	out := make([]float32, n)
	for i := range out {
		v, err := dec.DecodeFloat64()
		if err != nil {
			return nil, fmt.Errorf("%s: want a number", indexed(field, i))
		}
		out[i] = float32(v)
	}
	return out, nil
}

// SpecRequest asks for the Spec (it has no fields).
type SpecRequest struct{}

// EncodeMsgpack writes r as the JSON reply's map.
func (r *ActReply) EncodeMsgpack(enc *msgpack.Encoder) error {
	n := 2
	for _, x := range [][][]float32{r.Probs, r.QValues, r.Mean, r.Std} {
		if x != nil {
			n++
		}
	}
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	key := "action"
	if r.Batch {
		key = "actions"
	}
	if err := enc.EncodeString(key); err != nil {
		return err
	}
	var err error
	switch {
	case r.Continuous != nil && r.Batch:
		err = enc.Encode(r.Continuous)
	case r.Continuous != nil:
		err = enc.Encode(r.Continuous[0])
	case r.Batch:
		err = enc.Encode(r.Actions)
	case len(r.Actions) == 1:
		err = enc.EncodeInt(int64(r.Actions[0]))
	default:
		err = errors.New("serve: reply without an action")
	}
	if err != nil {
		return err
	}
	if err := enc.EncodeString("version"); err != nil {
		return err
	}
	if err := enc.EncodeUint(r.Version); err != nil {
		return err
	}
	for _, f := range []struct {
		key string
		v   [][]float32
	}{{"probs", r.Probs}, {"q_values", r.QValues}, {"mean", r.Mean}, {"std", r.Std}} {
		if f.v == nil {
			continue
		}
		if err := enc.EncodeString(f.key); err != nil {
			return err
		}
		if r.Batch {
			err = enc.Encode(f.v)
		} else {
			err = enc.Encode(f.v[0])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack reads what EncodeMsgpack writes.
func (r *ActReply) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	*r = ActReply{}
	actions := false // an action key was read: a second one is refused (its rows would be appended)
	for range n {
		key, err := dec.DecodeString()
		if err != nil {
			return err
		}
		switch key {
		case "version":
			r.Version, err = dec.DecodeUint64()
		case "action", "actions":
			if actions {
				return fmt.Errorf("reply %s: action or actions given twice", key)
			}
			actions = true
			r.Batch = key == "actions"
			var v any
			if v, err = dec.DecodeInterface(); err == nil {
				err = r.setActions(v)
			}
		case "probs", "q_values", "mean", "std":
			var rows [][]float32
			if r.Batch {
				err = dec.Decode(&rows)
			} else {
				var row []float32
				err = dec.Decode(&row)
				rows = [][]float32{row}
			}
			switch key {
			case "probs":
				r.Probs = rows
			case "q_values":
				r.QValues = rows
			case "mean":
				r.Mean = rows
			default:
				r.Std = rows
			}
		default:
			err = dec.Skip()
		}
		if err != nil {
			return fmt.Errorf("reply %s: %w", key, err)
		}
	}
	return nil
}

// setActions reads a decoded action or list of actions.
func (r *ActReply) setActions(v any) error {
	rows := []any{v}
	if r.Batch {
		l, ok := v.([]any)
		if !ok && v != nil { // nil: an empty batch, as EncodeMsgpack writes it
			return fmt.Errorf("want a list, got %T", v)
		}
		rows = l
	}
	for _, row := range rows {
		switch a := row.(type) {
		case []any:
			vec := make([]float32, len(a))
			for j, x := range a {
				f, ok := toFloat(x)
				if !ok {
					return fmt.Errorf("want numbers, got %T", x)
				}
				vec[j] = f
			}
			r.Continuous = append(r.Continuous, vec)
		default:
			i, ok := toInt(a)
			if !ok {
				return fmt.Errorf("want an int, got %T", a)
			}
			r.Actions = append(r.Actions, i)
		}
	}
	if r.Actions != nil && r.Continuous != nil {
		return errors.New("want either integers or lists of numbers, got both")
	}
	return nil
}

func toFloat(x any) (float32, bool) {
	switch v := x.(type) {
	case float32:
		return v, true
	case float64:
		return float32(v), true
	}
	i, ok := toInt(x)
	return float32(i), ok
}

func toInt(x any) (int, bool) {
	switch v := x.(type) {
	case int8:
		return int(v), true
	case int16:
		return int(v), true
	case int32:
		return int(v), true
	case int64:
		return int(v), true
	case uint8:
		return int(v), true
	case uint16:
		return int(v), true
	case uint32:
		return int(v), true
	case uint64:
		return int(v), true
	}
	return 0, false
}

// Codec is the msgpack codec of the service (as the rollout service's:
// every message's headers are length-checked by wire.Validate before
// msgpack decodes it). Clients pass it with grpc.ForceCodec; the server
// forces it, so it answers any content-subtype.
type Codec struct{}

// Marshal encodes v as msgpack.
func (Codec) Marshal(v any) ([]byte, error) { return wire.Marshal(v) }

// Unmarshal checks and decodes data. An ActRequest that fails to decode
// keeps its error, so the call is answered InvalidArgument naming it.
func (Codec) Unmarshal(data []byte, v any) error {
	if err := wire.Validate(data, wire.DefaultLimits); err != nil {
		if r, ok := v.(*ActRequest); ok {
			r.decodeErr = err
			return nil
		}
		return err
	}
	if err := msgpack.Unmarshal(data, v); err != nil {
		if r, ok := v.(*ActRequest); ok {
			r.decodeErr = err
			return nil
		}
		return fmt.Errorf("msgpack: decode %d bytes into %T: %w", len(data), v, err)
	}
	return nil
}

// Name is the content-subtype, "msgpack".
func (Codec) Name() string { return "msgpack" }

// serverCodec is the server's msgpack codec: Codec, except for act calls,
// which it decodes straight into a recycled call (decodeActMsgpack, into
// the call's own copy of the message) and whose replies it encodes from
// the call into a recycled buffer (appendMsgpackReply), handing the call
// back to the free list once encoded: no allocation per call of its own.
type serverCodec struct{ s *Server }

// Marshal encodes an answered call (the act handler's reply) or any
// other message as Codec does.
func (sc serverCodec) Marshal(v any) (mem.BufferSlice, error) {
	c, ok := v.(*call)
	if !ok {
		b, err := Codec{}.Marshal(v)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	r := sc.s.getReply()
	r.b = appendMsgpackReply(r.b[:0], c)
	sc.s.free.put(c) // the call is answered and encoded: it is free
	r.bs[0] = mem.NewBuffer(&r.b, r)
	return r.bs[:], nil
}

// Unmarshal decodes an act request into its call (a request that fails
// to decode keeps its error in the call, answered InvalidArgument naming
// the field) or any other message as Codec does.
func (sc serverCodec) Unmarshal(data mem.BufferSlice, v any) error {
	c, ok := v.(*call)
	if !ok {
		return Codec{}.Unmarshal(data.Materialize(), v)
	}
	// The call keeps its own copy: grpc frees data on return, and session
	// ids are slices of the message.
	c.msg = growB(c.msg, data.Len())
	data.CopyTo(c.msg)
	c.decodeErr = decodeActMsgpack(c.msg, c, sc.s.cfg.MaxRequestRows)
	return nil
}

func (serverCodec) Name() string { return "msgpack" }

// replyBuf is a reply's bytes and the one-buffer slice grpc sends: grpc
// frees the buffer once written, which puts replyBuf back (it is its own
// mem.BufferPool).
type replyBuf struct {
	b    []byte
	bs   [1]mem.Buffer
	home chan *replyBuf
	max  int // the largest buffer kept
}

// Get is never called (the buffer is made by getReply); it is there for
// mem.BufferPool.
func (r *replyBuf) Get(int) *[]byte { return &r.b }

// Put takes r back once grpc has written its bytes.
func (r *replyBuf) Put(*[]byte) {
	r.bs[0] = nil
	if cap(r.b) > r.max {
		return
	}
	select {
	case r.home <- r:
	default:
	}
}

// getReply returns a free reply buffer. Its capacity is at least 1 KiB,
// so that mem.NewBuffer pools it (below, it would wrap the bytes in an
// allocated SliceBuffer and never give them back).
func (s *Server) getReply() *replyBuf {
	select {
	case r := <-s.replies:
		return r
	default:
		return &replyBuf{b: make([]byte, 0, 4096), home: s.replies, max: max(4*s.cfg.MaxBodyBytes, 4096)}
	}
}

func growB(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// actServer is what the hand-written ServiceDesc dispatches to.
type actServer interface {
	act(ctx context.Context, dec func(any) error) (any, error)
	spec(ctx context.Context, dec func(any) error) (any, error)
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*actServer)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Act", Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			return srv.(actServer).act(ctx, dec)
		}},
		{MethodName: "Spec", Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			return srv.(actServer).spec(ctx, dec)
		}},
	},
	Metadata: "train/serve/grpc.go",
}

// newGRPC builds the gRPC server: forced msgpack codec, bounded
// messages and streams, keepalive, and grpc.health.v1 (which needs no
// token; the act and spec handlers check it, before reading the message).
func (s *Server) newGRPC() *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(serverCodec{s}),
		grpc.MaxRecvMsgSize(s.cfg.MaxBodyBytes),
		grpc.MaxSendMsgSize(64 << 20),
		grpc.MaxConcurrentStreams(1024),
		grpc.MaxHeaderListSize(64 << 10),
		grpc.ConnectionTimeout(10 * time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}
	if s.cfg.MaxWait > 0 {
		// Only a batch that may wait asks what is on its way; the handler
		// costs grpc-go ~20 allocations per call (its events).
		opts = append(opts, grpc.StatsHandler(arrivals{s.batch}))
	}
	if s.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.tls)))
	}
	g := grpc.NewServer(opts...)
	g.RegisterService(&serviceDesc, grpcHandlers{s})
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	h.SetServingStatus(ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, h)
	return g
}

// grpcAuthorize checks a call's bearer token (Unauthenticated without
// one, PermissionDenied for a wrong one). With a token configured it
// allocates once: grpc-go's metadata accessors copy what they return.
func (s *Server) grpcAuthorize(ctx context.Context) error {
	if s.cfg.Token == "" {
		return nil
	}
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	tok := ""
	if len(vals) > 0 {
		tok, _ = strings.CutPrefix(vals[0], "Bearer ")
	}
	if tok == "" {
		s.metrics.request("grpc", outcomeUnauthorized)
		return status.Error(codes.Unauthenticated, "missing bearer token")
	}
	if sum := tokenSum(tok); subtle.ConstantTimeCompare(sum[:], s.auth[:]) != 1 {
		s.metrics.request("grpc", outcomeUnauthorized)
		return status.Error(codes.PermissionDenied, "wrong token")
	}
	return nil
}

type grpcHandlers struct{ s *Server }

// arrivals counts an Act call as on its way (batcher.arrive) from the
// moment its headers arrive, before its message is read and decoded, as
// the HTTP handler does from before it reads the body (installed with
// max_wait only: without, nothing reads the count). The handler takes
// the count over; a call that never reaches it (refused token, a message
// too large) stops counting when it ends.
type arrivals struct{ b *batcher }

type arrivalKey struct{}

// arrival is one Act call's count: taken by the handler, or dropped at
// the end of the call.
type arrival struct{ taken atomic.Bool }

func (a arrivals) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if info.FullMethodName != MethodAct {
		return ctx
	}
	a.b.arriving.Add(1)
	return context.WithValue(ctx, arrivalKey{}, &arrival{})
}

func (a arrivals) HandleRPC(ctx context.Context, st stats.RPCStats) {
	if _, ok := st.(*stats.End); !ok {
		return
	}
	if ar, ok := ctx.Value(arrivalKey{}).(*arrival); ok && ar.taken.CompareAndSwap(false, true) {
		a.b.arriving.Add(-1)
	}
}

func (arrivals) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (arrivals) HandleConn(context.Context, stats.ConnStats) {}

func (h grpcHandlers) spec(ctx context.Context, dec func(any) error) (any, error) {
	if err := h.s.grpcAuthorize(ctx); err != nil {
		return nil, err
	}
	if err := dec(new(SpecRequest)); err != nil {
		return nil, err
	}
	sp := h.s.Spec()
	return &sp, nil
}

// act answers an act call: the token is checked before the message is
// read, the message is decoded into a recycled call (serverCodec), and
// the call itself is the reply, which serverCodec encodes and recycles.
func (h grpcHandlers) act(ctx context.Context, dec func(any) error) (any, error) {
	s := h.s
	start := time.Now()
	c := s.free.get()
	if a, ok := ctx.Value(arrivalKey{}).(*arrival); ok && a.taken.CompareAndSwap(false, true) {
		// The call now holds the count TagRPC took: it gives it up on
		// every path (putCall, or submit).
		c.arriving = true
	}
	if err := s.grpcAuthorize(ctx); err != nil {
		s.putCall(c)
		return nil, err
	}
	if err := dec(c); err != nil { // grpc's: a message too large, a broken stream
		s.putCall(c)
		return nil, err
	}
	err := c.decodeErr
	if err == nil {
		err = checkShapes(c, s.sessions.frame, s.sessions.frame*s.sessions.n)
	}
	if err == nil {
		err = s.act(c)
	}
	if err != nil {
		s.putCall(c)
		return nil, s.grpcError(err)
	}
	s.batch.depart(c) // (submit did)
	s.metrics.request("grpc", outcomeOK)
	s.metrics.latency["grpc"].Observe(time.Since(start).Seconds())
	return c, nil // serverCodec.Marshal encodes it and puts it back
}

func (s *Server) grpcError(err error) error {
	var re *RequestError
	var tm errTooManySessions
	switch {
	case errors.As(err, &re):
		s.metrics.request("grpc", outcomeBadRequest)
		return status.Error(codes.InvalidArgument, re.Error())
	case errors.As(err, &tm):
		s.metrics.request("grpc", outcomeOverloaded)
		return status.Error(codes.ResourceExhausted, tm.Error())
	case errors.Is(err, errOverloaded):
		s.metrics.request("grpc", outcomeOverloaded)
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	s.metrics.request("grpc", outcomeUnavailable)
	return status.Error(codes.Internal, err.Error())
}

// tokenSum is the SHA-256 of tok, hashed from a copy on the stack when
// tok is not long (a []byte conversion of a string over 32 bytes
// allocates).
func tokenSum(tok string) [sha256.Size]byte {
	var buf [256]byte
	if len(tok) <= len(buf) {
		return sha256.Sum256(append(buf[:0], tok...))
	}
	return sha256.Sum256([]byte(tok))
}
