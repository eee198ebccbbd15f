package external

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
)

// Factory makes one env of a server.
type Factory func() (envs.Env, error)

// ServeOptions configure Serve. Zero fields take the documented defaults.
type ServeOptions struct {
	// ID is the env id reported in Spec.
	ID string
	// MaxEpisodeSteps and RewardThreshold/HasThreshold are reported in
	// Spec (the time limit itself is the factory's envs' business, as
	// envs.Make's TimeLimit).
	MaxEpisodeSteps int
	RewardThreshold float64
	HasThreshold    bool
	// Token, when set, is required as a bearer token on every call.
	// Listening beyond loopback requires it.
	Token string
	// TLS serves TLS; beyond loopback it is required unless
	// AllowPlaintext.
	TLS            *tls.Config
	AllowPlaintext bool
	// Logger receives one line per session event; nil discards them.
	Logger *slog.Logger
	// NoStepStream leaves CapStepStream out of the Spec reply and refuses
	// StepStream, as a server of the first protocol revision does (clients
	// then step with the unary Step).
	NoStepStream bool
	// NoStepSocket serves no step socket (CapStepSocket). Otherwise a
	// server listening on a Unix socket path without a token also answers
	// Step frames on that path + ".step".
	NoStepSocket bool
}

// ServeRegistered serves numEnvs envs made by envs.MakeWrapped(id,
// envOpts, wrappers), reporting the registry's time limit and reward
// threshold: what `rltrain serve-env ID` runs.
func ServeRegistered(ctx context.Context, lis net.Listener, id string, envOpts envs.Options, wrappers []envs.WrapperSpec, numEnvs int, opts ServeOptions) error {
	spec, err := envs.Lookup(id)
	if err != nil {
		return err
	}
	opts.ID = id
	opts.MaxEpisodeSteps = spec.MaxEpisodeSteps
	if v, ok := envOpts[envs.MaxEpisodeStepsOption]; ok {
		if n, err := strconv.Atoi(fmt.Sprint(v)); err == nil {
			opts.MaxEpisodeSteps = n
		}
	}
	opts.RewardThreshold, opts.HasThreshold = spec.RewardThreshold, spec.HasThreshold
	return Serve(ctx, lis, func() (envs.Env, error) { return envs.MakeWrapped(id, envOpts, wrappers) }, numEnvs, opts)
}

// Listen returns the listener a server started by a supervisor or by hand
// should use: address ("unix:///path.sock", "unix:path" or host:port), or
// $RLGO_ENV_SOCKET when address is empty.
func Listen(address string) (net.Listener, error) {
	if address == "" {
		address = os.Getenv(SocketEnv)
		if address == "" {
			return nil, fmt.Errorf("external env: no address and no %s", SocketEnv)
		}
		return net.Listen("unix", address)
	}
	if path, ok := strings.CutPrefix(address, "unix://"); ok {
		return net.Listen("unix", path)
	}
	if path, ok := strings.CutPrefix(address, "unix:"); ok {
		return net.Listen("unix", path)
	}
	return net.Listen("tcp", address)
}

// NumEnvsFromEnv returns $RLGO_ENV_NUM_ENVS, or def when it is unset.
func NumEnvsFromEnv(def int) (int, error) {
	s := os.Getenv(NumEnvsEnv)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("external env: %s=%q: want a positive integer", NumEnvsEnv, s)
	}
	return n, nil
}

// WatchParent returns a context that is cancelled when the supervisor
// named by $RLGO_ENV_PARENT_PID is gone (this process's parent changed),
// so a served process does not outlive a killed worker. Without the
// variable it returns ctx's child, never cancelled by a parent.
func WatchParent(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	want, err := strconv.Atoi(os.Getenv(ParentPIDEnv))
	if err != nil || want <= 1 {
		return ctx, cancel
	}
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != want {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// Serve serves numEnvs envs made by factory on lis until ctx is done,
// then stops and closes the envs. One client at a time: calls are
// serialised. The envs are made at once (to answer Spec) and after a Close
// call again at the next Reset.
func Serve(ctx context.Context, lis net.Listener, factory Factory, numEnvs int, opts ServeOptions) error {
	if numEnvs <= 0 || numEnvs > 1<<16 {
		return fmt.Errorf("external env server: numEnvs = %d: want 1 to %d", numEnvs, 1<<16)
	}
	if err := checkListenSecurity(lis.Addr(), opts.Token, opts.TLS != nil, opts.AllowPlaintext); err != nil {
		return err
	}
	s := &server{factory: factory, n: numEnvs, log: opts.Logger, noStream: opts.NoStepStream}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.makeEnvs(); err != nil {
		return err
	}
	spec := &Spec{ID: opts.ID, NumEnvs: numEnvs, Observation: s.vec.Env(0).ObservationSpace().(*envs.Box),
		Action: s.vec.Env(0).ActionSpace(), MaxEpisodeSteps: opts.MaxEpisodeSteps,
		RewardThreshold: opts.RewardThreshold, HasThreshold: opts.HasThreshold, StepStream: !opts.NoStepStream}
	reply, err := encodeSpec(spec)
	if err != nil {
		s.vec.Close()
		return fmt.Errorf("external env server %s: %w", opts.ID, err)
	}
	if _, err := decodeSpec(reply); err != nil {
		s.vec.Close()
		return fmt.Errorf("external env server %s: spec: %w", opts.ID, err)
	}
	var stepLis net.Listener
	if path := stepSocketPath(lis); path != "" && opts.Token == "" && !opts.NoStepSocket {
		os.Remove(path) // a stale socket of a killed server
		if l, lerr := net.Listen("unix", path); lerr != nil {
			// E.g. a path beyond the 108 bytes a socket address holds:
			// clients then step over StepStream.
			s.log.Warn("no step socket", "path", path, "err", lerr)
		} else {
			stepLis = l
			spec.StepSocket = path
			if reply, err = encodeSpec(spec); err != nil {
				stepLis.Close()
				s.vec.Close()
				return fmt.Errorf("external env server %s: %w", opts.ID, err)
			}
		}
	}
	s.spec, s.specReply = spec, reply
	s.adim = spec.ActionSize()
	s.acts = make([]envs.Action, numEnvs)
	if b, ok := spec.Action.(*envs.Box); ok {
		for i := range s.acts {
			s.acts[i].Continuous = make([]float32, b.Size())
		}
	}
	s.reqLim = requestLimits(numEnvs, s.adim)
	maxReq := max(s.reqLim.MaxBytes, 1<<16)
	sopts := []grpc.ServerOption{
		grpc.ForceServerCodec(codec{}),
		grpc.MaxRecvMsgSize(maxReq),
		grpc.MaxSendMsgSize(max(specLimits.MaxBytes, replyLimits(numEnvs, spec.Observation.Size()).MaxBytes)),
		grpc.MaxConcurrentStreams(4),
	}
	if opts.TLS != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	if opts.Token != "" {
		sum := sha256.Sum256([]byte(opts.Token))
		sopts = append(sopts, grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			if err := checkToken(md, sum); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}), grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			md, _ := metadata.FromIncomingContext(ss.Context())
			if err := checkToken(md, sum); err != nil {
				return err
			}
			return h(srv, ss)
		}))
	}
	g := grpc.NewServer(sopts...)
	g.RegisterService(&serviceDesc, s)
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(lis) }()
	stepDone := make(chan struct{})
	if stepLis != nil {
		go func() {
			defer close(stepDone)
			serveStepSocket(stepLis, s, s.requestBounds)
		}()
	} else {
		close(stepDone)
	}
	s.log.Info("env server listening", "id", opts.ID, "address", lis.Addr().String(), "envs", numEnvs)
	select {
	case <-ctx.Done():
		stopped := make(chan struct{})
		go func() { g.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(2 * time.Second):
			g.Stop()
		}
		err = nil
	case err = <-errc:
		g.Stop()
	}
	if stepLis != nil {
		stepLis.Close() // removes the socket file
	}
	<-stepDone
	s.mu.Lock()
	if s.vec != nil {
		s.vec.Close()
		s.vec = nil
	}
	s.mu.Unlock()
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("external env server %s: %w", opts.ID, err)
	}
	return nil
}

// checkListenSecurity: beyond loopback a token is required, and TLS
// unless plaintext is explicitly allowed. Unix sockets are local.
func checkListenSecurity(addr net.Addr, token string, tls, allowPlaintext bool) error {
	if addr.Network() == "unix" || isLocal(addr.String()) {
		return nil
	}
	if token == "" {
		return fmt.Errorf("external env server: listening on %s (not loopback) needs a token", addr)
	}
	if !tls && !allowPlaintext {
		return fmt.Errorf("external env server: listening on %s (not loopback) needs TLS, or plaintext explicitly allowed on a private network", addr)
	}
	return nil
}

// checkToken compares md's bearer token with sum in constant time.
func checkToken(md metadata.MD, sum [sha256.Size]byte) error {
	vals := md.Get(authHeader)
	if len(vals) == 0 {
		return status.Error(codes.Unauthenticated, "missing bearer token")
	}
	tok, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || tok == "" {
		return status.Error(codes.Unauthenticated, "missing bearer token")
	}
	got := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(got[:], sum[:]) != 1 {
		return status.Error(codes.PermissionDenied, "wrong token")
	}
	return nil
}

// envServer is what the hand-written ServiceDesc dispatches to.
type envServer interface {
	rpcSpec(context.Context, *specRequest) (*specReply, error)
	rpcReset(context.Context, *resetRequest) (*resetReply, error)
	rpcStep(context.Context, *stepRequest) (*stepReply, error)
	rpcClose(context.Context, *closeRequest) (*closeReply, error)
	// requestBounds bounds Reset and Step requests.
	requestBounds() wire.Limits
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*envServer)(nil),
	Methods: []grpc.MethodDesc{
		unary(methodSpec, envServer.rpcSpec, nil),
		unary(methodReset, envServer.rpcReset, func(s envServer, r *resetRequest) { r.lim = s.requestBounds() }),
		unary(methodStep, envServer.rpcStep, func(s envServer, r *stepRequest) { r.lim = s.requestBounds() }),
		unary(methodClose, envServer.rpcClose, nil),
	},
	Streams: []grpc.StreamDesc{{
		StreamName:    methodStepStream,
		Handler:       func(srv any, ss grpc.ServerStream) error { return serveStepStream(srv.(envServer), ss) },
		ServerStreams: true,
		ClientStreams: true,
	}},
	Metadata: "envs/external/messages.go",
}

// unary builds one MethodDesc; prepare sets a request's decode bounds
// before the codec decodes it.
func unary[Req, Resp any](name string, call func(envServer, context.Context, *Req) (*Resp, error), prepare func(envServer, *Req)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(Req)
			if prepare != nil {
				prepare(srv.(envServer), in)
			}
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return call(srv.(envServer), ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod(name)}
			return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return call(srv.(envServer), ctx, req.(*Req))
			})
		},
	}
}

// server serves one envs.VectorEnv.
type server struct {
	factory Factory
	n       int
	log     *slog.Logger

	mu        sync.Mutex
	vec       *envs.VectorEnv
	spec      *Spec
	specReply *specReply
	adim      int
	acts      []envs.Action
	reqLim    wire.Limits
	reset     bool // Reset was called since the envs were made
	noStream  bool // ServeOptions.NoStepStream
}

func (s *server) requestBounds() wire.Limits { return s.reqLim }

func (s *server) makeEnvs() error {
	list := make([]envs.Env, s.n)
	for i := range list {
		e, err := s.factory()
		if err != nil {
			for _, m := range list[:i] {
				m.Close()
			}
			return fmt.Errorf("external env server: make env %d: %w", i, err)
		}
		list[i] = e
	}
	vec, err := envs.NewVectorEnv(list)
	if err != nil {
		for _, m := range list {
			m.Close()
		}
		return fmt.Errorf("external env server: %w", err)
	}
	s.vec, s.reset = vec, false
	return nil
}

func (s *server) rpcSpec(context.Context, *specRequest) (*specReply, error) { return s.specReply, nil }

func (s *server) rpcReset(_ context.Context, r *resetRequest) (*resetReply, error) {
	if len(r.Seeds) != s.n {
		return nil, status.Errorf(codes.InvalidArgument, "reset: %d seeds for %d envs", len(r.Seeds), s.n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vec == nil {
		if err := s.makeEnvs(); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	for i, seed := range r.Seeds {
		var err error
		if seed == nil {
			err = resetUnseeded(s.vec, i)
		} else {
			err = s.vec.ResetEnv(i, s.vec.Env(i), *seed)
		}
		if err != nil {
			return nil, status.Errorf(codes.Internal, "env %s: %v", s.spec.ID, err)
		}
	}
	s.reset = true
	return &resetReply{Obs: putF32(nil, s.vec.Obs())}, nil
}

// resetUnseeded resets env i of vec continuing its random stream: Reset
// with seed nil, through a single-env VectorEnv's errors and checks.
func resetUnseeded(vec *envs.VectorEnv, i int) error {
	obs, _, err := vec.Env(i).Reset(nil)
	if err != nil {
		return &envs.EnvError{EnvIndex: i, Err: fmt.Errorf("reset: %w", err)}
	}
	d := vec.ObsDim()
	if len(obs) != d {
		return &envs.EnvError{EnvIndex: i, Err: fmt.Errorf("observation has %d values, want %d", len(obs), d)}
	}
	copy(vec.Obs()[i*d:], obs)
	return nil
}

func (s *server) rpcStep(_ context.Context, r *stepRequest) (*stepReply, error) {
	out := new(stepReply)
	if err := s.step(r, out); err != nil {
		return nil, err
	}
	return out, nil
}

// stepper is implemented by servers that step into a reply they are
// given, so StepStream reuses one reply's buffers.
type stepper interface {
	step(r *stepRequest, out *stepReply) error
	stepStreamServed() bool
}

func (s *server) stepStreamServed() bool { return !s.noStream }

// serveStepStream answers each Step request of the stream with one Step
// reply until the client closes the stream or a step fails (the stream
// then ends with the step's error status, as the unary Step returns it).
// The request and, for a stepper, the reply are reused: SendMsg encodes
// before it returns.
func serveStepStream(srv envServer, ss grpc.ServerStream) error {
	st, reuse := srv.(stepper)
	if reuse && !st.stepStreamServed() {
		return status.Errorf(codes.Unimplemented, "method %s not served", methodStepStream)
	}
	var in stepRequest
	var out stepReply
	for {
		in.lim, in.Actions = srv.requestBounds(), in.Actions[:0]
		if err := ss.RecvMsg(&in); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		var reply *stepReply
		var err error
		if reuse {
			reply, err = &out, st.step(&in, &out)
		} else {
			reply, err = srv.rpcStep(ss.Context(), &in)
		}
		if err != nil {
			return err
		}
		if err := ss.SendMsg(reply); err != nil {
			return err
		}
	}
}

// step steps the envs with r's actions and fills out, reusing its slices.
func (s *server) step(r *stepRequest, out *stepReply) error {
	if len(r.Actions) != 4*s.n*s.adim {
		return status.Errorf(codes.InvalidArgument, "step: actions has %d bytes, want %d (%d envs × %d × 4)", len(r.Actions), 4*s.n*s.adim, s.n, s.adim)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vec == nil || !s.reset {
		return status.Error(codes.FailedPrecondition, "step before reset")
	}
	if b, ok := s.spec.Action.(*envs.Box); ok {
		for i := range s.acts {
			getF32(s.acts[i].Continuous, r.Actions[4*i*b.Size():])
		}
	} else {
		for i := range s.acts {
			s.acts[i].Discrete = int(int32(uint32(r.Actions[4*i]) | uint32(r.Actions[4*i+1])<<8 | uint32(r.Actions[4*i+2])<<16 | uint32(r.Actions[4*i+3])<<24))
		}
	}
	st, err := s.vec.Step(s.acts)
	if err != nil {
		code := codes.Internal
		if errors.Is(err, envs.ErrInvalidAction) {
			code = codes.InvalidArgument
		}
		// The vector env is unusable after an env failed: a new Reset
		// is needed.
		s.reset = false
		return status.Errorf(code, "env %s: %v", s.spec.ID, err)
	}
	out.Obs = putF32(out.Obs[:0], s.vec.Obs())
	out.Rewards = putF64(out.Rewards[:0], st.Rewards)
	out.Terminated = putFlags(out.Terminated[:0], st.Terminated)
	out.Truncated = putFlags(out.Truncated[:0], st.Truncated)
	out.FinalObs = out.FinalObs[:0]
	for _, f := range st.FinalObs {
		if f != nil {
			out.FinalObs = putF32(out.FinalObs, f)
		}
	}
	out.Infos = numericInfos(st.Infos)
	return nil
}

// numericInfos turns the envs' step infos into the wire's map of name to
// one value per env (nil where absent): numbers and bools (1 or 0) only,
// an envs.EpisodeStats as episode.r, episode.l and episode.t.
func numericInfos(infos []envs.Info) map[string][]*float64 {
	var out map[string][]*float64
	set := func(name string, i int, x float64) {
		if out == nil {
			out = map[string][]*float64{}
		}
		vals, ok := out[name]
		if !ok {
			if len(out) >= MaxInfoKeys {
				return
			}
			vals = make([]*float64, len(infos))
			out[name] = vals
		}
		vals[i] = &x
	}
	for i, info := range infos {
		for k, v := range info {
			if st, ok := v.(envs.EpisodeStats); ok {
				set(InfoEpisodeReturn, i, st.Return)
				set(InfoEpisodeLength, i, float64(st.Length))
				set(InfoEpisodeTime, i, st.Time.Seconds())
				continue
			}
			if x, ok := toFloat(v); ok {
				set(k, i, x)
			}
		}
	}
	return out
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return math.NaN(), false
}

func (s *server) rpcClose(context.Context, *closeRequest) (*closeReply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vec != nil {
		err := s.vec.Close()
		s.vec = nil
		if err != nil {
			return nil, status.Errorf(codes.Internal, "close: %v", err)
		}
	}
	return &closeReply{}, nil
}
