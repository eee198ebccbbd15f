package external

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/envs"
)

// Defaults of Options.
const (
	DefaultCallTimeout  = 60 * time.Second
	DefaultStartTimeout = 60 * time.Second
	DefaultMaxRestarts  = 3
)

// RestartInfoKey is set to 1 in the step info of every env whose episode a
// server restart cut (VectorStep.Infos), so a caller can tell a cut from
// a time limit.
const RestartInfoKey = "rlgo.env_restart"

// Options configure a VectorEnv. Zero fields take the documented defaults.
type Options struct {
	// NumEnvs is how many envs the server must serve; required. A server
	// that serves another number is an error (the supervisor tells the
	// process the number through RLGO_ENV_NUM_ENVS).
	NumEnvs int
	// EnvID names the env in errors and log lines (default: the id the
	// server reports).
	EnvID string
	// CallTimeout is the deadline of each Reset and Step call (default
	// DefaultCallTimeout). A supervised process that misses it is killed
	// and restarted.
	CallTimeout time.Duration
	// StartTimeout bounds the wait for a server to answer Spec after it
	// starts (default DefaultStartTimeout).
	StartTimeout time.Duration
	// MaxRestarts is how many restarts in a row, without a successful
	// call between them, are tried before Step or Reset gives up
	// (default DefaultMaxRestarts; negative: never restart).
	MaxRestarts int
	// Transport is how Step calls travel (default TransportAuto: the
	// fastest the server offers).
	Transport Transport

	// Token is sent as a bearer token with every call (Dial only).
	Token string
	// TLS is the client's TLS configuration (Dial only); nil is plaintext,
	// which Dial accepts only for Unix sockets and loopback addresses
	// unless AllowPlaintext is set.
	TLS *tls.Config
	// AllowPlaintext permits plaintext (and a token over it) beyond
	// loopback: a private network.
	AllowPlaintext bool

	// Env holds extra KEY=VALUE environment variables for a started
	// process (Start only), after the supervisor's own environment.
	Env []string
	// Dir is a started process's working directory ("" = this process's).
	Dir string
	// Log receives the server process's stdout and stderr, line by line,
	// each line prefixed by LogPrefix, and the supervisor's notices of
	// restarts. Nil discards them.
	Log io.Writer
	// LogPrefix begins every line written to Log (default
	// "env <id> [pid N]: ").
	LogPrefix string
}

func (o Options) withDefaults() Options {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.MaxRestarts == 0 {
		o.MaxRestarts = DefaultMaxRestarts
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// Transport selects how a VectorEnv sends its Step calls. Spec, Reset and
// Close are always unary gRPC calls.
type Transport int

const (
	// TransportAuto uses the server's step socket when it offers one and
	// the client reaches the server over a Unix socket without a token,
	// else StepStream when it offers that, else unary Step.
	TransportAuto Transport = iota
	// TransportUnary makes one unary Step call per vector step (every
	// server serves it).
	TransportUnary
	// TransportStream sends each Step on one StepStream kept open
	// (CapStepStream); a server without it is stepped with unary calls.
	TransportStream
	// TransportSocket sends each Step as a frame on the server's step
	// socket (CapStepSocket); where that is not usable, as TransportAuto.
	TransportSocket
)

// String names the transport as the docs do.
func (t Transport) String() string {
	switch t {
	case TransportAuto:
		return "auto"
	case TransportUnary:
		return "unary"
	case TransportStream:
		return "stream"
	case TransportSocket:
		return "socket"
	}
	return fmt.Sprintf("Transport(%d)", int(t))
}

// backend is where a VectorEnv's server lives: a supervised process or an
// address someone else serves.
type backend interface {
	// conn returns the current connection.
	conn() *grpc.ClientConn
	// recover brings the server back after a failed call: a process is
	// killed and started anew; an address is waited on until it answers.
	recover(ctx context.Context, cause error) error
	// alive reports false once a process is known to have exited.
	alive() bool
	// describe names the server for errors ("process 1234", "unix:///…").
	describe() string
	// unixSocket reports whether the connection is over a Unix socket
	// (the server is on this host).
	unixSocket() bool
	close() error
}

// VectorEnv is the client of an env server: N envs stepped in lock step
// by one call, with the methods and auto-reset semantics of
// *envs.VectorEnv (see there). It is not safe for concurrent use, except
// Restarts, which may be read from any goroutine.
type VectorEnv struct {
	opts Options
	be   backend
	spec *Spec

	n, dim, adim int
	obs          []float32
	final        [][]float32
	step         envs.VectorStep
	ret          []float64
	length       []int
	steps        int64

	resetSeed uint64
	didReset  bool
	restarts  atomic.Int64
	inARow    int // restarts since the last successful call
	closed    bool

	req   stepRequest
	reply stepReply
	lim   replyBounds

	stream *stepStream // the open StepStream, or nil
	sock   *stepConn   // the open step socket connection, or nil
	via    Transport   // the transport Step uses (never TransportAuto)
}

// stepStream is an open StepStream and the timer that enforces
// CallTimeout on each of its steps.
type stepStream struct {
	cs       grpc.ClientStream
	cancel   context.CancelFunc
	timer    *time.Timer // cancels the stream when a step misses its deadline
	timedOut atomic.Bool // set by timer before it cancels
}

// replyBounds are the decode bounds of Reset and Step replies.
type replyBounds struct {
	recv int // grpc.MaxCallRecvMsgSize
}

// newVectorEnv asks be's server for its Spec and checks it against opts.
func newVectorEnv(ctx context.Context, be backend, opts Options) (*VectorEnv, error) {
	v := &VectorEnv{opts: opts, be: be}
	spec, err := v.fetchSpec(ctx)
	if err != nil {
		return nil, err
	}
	v.init(spec)
	return v, nil
}

// init sizes the VectorEnv's buffers for spec.
func (v *VectorEnv) init(spec *Spec) {
	v.spec = spec
	if v.opts.EnvID == "" {
		v.opts.EnvID = spec.ID
	}
	n, dim := spec.NumEnvs, spec.Observation.Size()
	v.n, v.dim, v.adim = n, dim, spec.ActionSize()
	v.obs = make([]float32, n*dim)
	v.final = make([][]float32, n)
	for i := range v.final {
		v.final[i] = make([]float32, dim)
	}
	v.ret, v.length = make([]float64, n), make([]int, n)
	v.step = envs.VectorStep{
		Rewards:    make([]float64, n),
		Terminated: make([]bool, n),
		Truncated:  make([]bool, n),
		FinalObs:   make([][]float32, n),
		Infos:      make([]envs.Info, n),
	}
	lim := replyLimits(n, dim)
	v.reply.lim = lim
	v.lim.recv = lim.MaxBytes
	v.req.Actions = make([]byte, 0, n*v.adim*4)
	v.via = v.transport()
}

// transport is the transport Step uses with v's server (see Transport).
func (v *VectorEnv) transport() Transport {
	socket := v.spec.StepSocket != "" && v.be.unixSocket() && v.opts.Token == ""
	switch v.opts.Transport {
	case TransportUnary:
		return TransportUnary
	case TransportStream:
		if v.spec.StepStream {
			return TransportStream
		}
		return TransportUnary
	}
	switch {
	case socket:
		return TransportSocket
	case v.spec.StepStream:
		return TransportStream
	}
	return TransportUnary
}

// StepTransport returns the transport Step uses with this server: never
// TransportAuto.
func (v *VectorEnv) StepTransport() Transport { return v.via }

// fetchSpec calls Spec, waiting for the server to come up within
// StartTimeout, and checks the reply against opts.NumEnvs.
func (v *VectorEnv) fetchSpec(ctx context.Context) (*Spec, error) {
	ctx, cancel := context.WithTimeout(ctx, v.opts.StartTimeout)
	defer cancel()
	var r specReply
	err := v.be.conn().Invoke(ctx, fullMethod(methodSpec), &specRequest{Protocol: ProtocolVersion}, &r,
		grpc.ForceCodec(codec{}), grpc.WaitForReady(true), grpc.MaxCallRecvMsgSize(specLimits.MaxBytes))
	if err != nil {
		return nil, fmt.Errorf("external env %s (%s): Spec: %w", v.opts.EnvID, v.be.describe(), err)
	}
	spec, err := decodeSpec(&r)
	if err != nil {
		id := v.opts.EnvID
		if id == "" {
			id = r.ID
		}
		return nil, &ReplyError{EnvID: id, Server: v.be.describe(), Method: methodSpec, Err: err}
	}
	if spec.NumEnvs != v.opts.NumEnvs {
		return nil, fmt.Errorf("external env %s (%s): the server serves %d envs, want %d (a supervised server takes the number from RLGO_ENV_NUM_ENVS: do not fix it in the command)",
			v.opts.EnvID, v.be.describe(), spec.NumEnvs, v.opts.NumEnvs)
	}
	if v.spec != nil && !sameSpaces(v.spec, spec) {
		return nil, fmt.Errorf("external env %s (%s): after a restart the server's spaces changed from %v, %v to %v, %v",
			v.opts.EnvID, v.be.describe(), v.spec.Observation, v.spec.Action, spec.Observation, spec.Action)
	}
	return spec, nil
}

func sameSpaces(a, b *Spec) bool {
	return a.Observation.String() == b.Observation.String() && a.Action.String() == b.Action.String()
}

// ReplyError is a malformed reply from an env server: a field with the
// wrong length, kind or value. It names the env, the server, the method
// and the field.
type ReplyError struct {
	EnvID, Server, Method string
	Err                   error
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("external env %s (%s): malformed %s reply: %v", e.EnvID, e.Server, e.Method, e.Err)
}

func (e *ReplyError) Unwrap() error { return e.Err }

func (v *VectorEnv) malformed(method string, format string, args ...any) error {
	return &ReplyError{EnvID: v.opts.EnvID, Server: v.be.describe(), Method: method, Err: fmt.Errorf(format, args...)}
}

// Spec returns the server's spec.
func (v *VectorEnv) Spec() Spec { return *v.spec }

// ObservationSpace returns the observation Box.
func (v *VectorEnv) ObservationSpace() envs.Space { return v.spec.Observation }

// ActionSpace returns the action space (envs.Discrete or *envs.Box).
func (v *VectorEnv) ActionSpace() envs.Space { return v.spec.Action }

// Len returns the number of envs.
func (v *VectorEnv) Len() int { return v.n }

// ObsDim returns the size of one observation.
func (v *VectorEnv) ObsDim() int { return v.dim }

// Obs returns the current observations, env i at [i*ObsDim():(i+1)*ObsDim()].
// The slice belongs to the VectorEnv.
func (v *VectorEnv) Obs() []float32 { return v.obs }

// Restarts returns how many times the server was restarted (or, for an
// address, reconnected to after a failure). Safe for concurrent use.
func (v *VectorEnv) Restarts() int64 { return v.restarts.Load() }

// Process returns the supervised server process, or nil for a VectorEnv
// made by Dial.
func (v *VectorEnv) Process() *Process {
	p, _ := v.be.(*Process)
	return p
}

// Reset resets every env, seeding env i with seed+i as envs.VectorEnv
// does, and clears episode statistics.
func (v *VectorEnv) Reset(seed uint64) error { return v.ResetContext(context.Background(), seed) }

// ResetContext is Reset with a context for cancellation.
func (v *VectorEnv) ResetContext(ctx context.Context, seed uint64) error {
	if v.closed {
		return errClosed
	}
	v.resetSeed, v.didReset = seed, false
	v.steps = 0
	for {
		err := v.resetSeeds(ctx, seed)
		if err == nil {
			v.inARow = 0
			v.didReset = true
			return nil
		}
		if !v.canRecover(ctx, err) {
			return err
		}
		if rerr := v.recover(ctx, err); rerr != nil {
			return rerr
		}
	}
}

var errClosed = errors.New("external env: closed")

// resetSeeds resets env i with base+i and reads the first observations.
func (v *VectorEnv) resetSeeds(ctx context.Context, base uint64) error {
	seeds := make([]*uint64, v.n)
	for i := range seeds {
		s := base + uint64(i)
		seeds[i] = &s
	}
	return v.resetWith(ctx, seeds)
}

// resetUnseeded resets every env without reseeding it (Gymnasium's
// reset(seed=None): each env's random stream continues).
func (v *VectorEnv) resetUnseeded(ctx context.Context) error {
	if v.closed {
		return errClosed
	}
	if err := v.resetWith(ctx, make([]*uint64, v.n)); err != nil {
		return err
	}
	v.steps = 0
	return nil
}

// resetWith resets env i with seeds[i] (nil: not reseeded) and reads the
// first observations.
func (v *VectorEnv) resetWith(ctx context.Context, seeds []*uint64) error {
	ctx, cancel := context.WithTimeout(ctx, v.opts.CallTimeout)
	defer cancel()
	var r resetReply
	r.lim = v.reply.lim
	if err := v.be.conn().Invoke(ctx, fullMethod(methodReset), &resetRequest{Seeds: seeds}, &r,
		grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(v.lim.recv)); err != nil {
		return v.callError(methodReset, err)
	}
	if len(r.Obs) != 4*v.n*v.dim {
		return v.malformed(methodReset, "field obs: %d bytes, want %d (%d envs × %d float32)", len(r.Obs), 4*v.n*v.dim, v.n, v.dim)
	}
	if err := v.checkObs(methodReset, "obs", r.Obs, -1); err != nil {
		return err
	}
	getF32(v.obs, r.Obs)
	clear(v.ret)
	clear(v.length)
	return nil
}

// callError wraps a failed call with the env and server.
func (v *VectorEnv) callError(method string, err error) error {
	return &CallError{EnvID: v.opts.EnvID, Server: v.be.describe(), Method: method, Err: err}
}

// CallError is a call to an env server that failed: the transport, the
// deadline, or an error the server returned (an env that raised).
type CallError struct {
	EnvID, Server, Method string
	Err                   error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("external env %s (%s): %s: %v", e.EnvID, e.Server, e.Method, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// canRecover reports whether err is a failure of the server (it died,
// hung past the deadline, or the connection broke) that a restart may
// cure, and restarts remain. Errors the server returned on purpose (an
// env that raised, a request it refused) and malformed replies are not.
func (v *VectorEnv) canRecover(ctx context.Context, err error) bool {
	if ctx.Err() != nil || v.opts.MaxRestarts < 0 || v.inARow >= v.opts.MaxRestarts {
		return false
	}
	var ce *CallError
	if !errors.As(err, &ce) {
		return false
	}
	switch status.Code(ce.Err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return !v.be.alive()
}

// recover restarts the server and counts it.
func (v *VectorEnv) recover(ctx context.Context, cause error) error {
	v.inARow++
	n := v.restarts.Add(1)
	fmt.Fprintf(v.opts.Log, "%srestart %d of the env server (%d in a row) after: %v\n", v.logPrefix(), n, v.inARow, cause)
	if err := v.be.recover(ctx, cause); err != nil {
		return fmt.Errorf("external env %s: restart after %v: %w", v.opts.EnvID, cause, err)
	}
	v.dropStream()
	v.dropSocket()
	spec, err := v.fetchSpec(ctx)
	if err != nil {
		return fmt.Errorf("external env %s: restart after %v: %w", v.opts.EnvID, cause, err)
	}
	// A restarted server may offer other transports (and a new step
	// socket path); its spaces and size were checked by fetchSpec.
	v.spec.StepStream, v.spec.StepSocket = spec.StepStream, spec.StepSocket
	v.via = v.transport()
	return nil
}

func (v *VectorEnv) logPrefix() string {
	if v.opts.LogPrefix != "" {
		return v.opts.LogPrefix
	}
	return "env " + v.opts.EnvID + ": "
}

// restartSeed is the seed of the first env after restart k (1-based) of a
// VectorEnv last reset with base: env i gets restartSeed+i. It is a
// splitmix64 mix, so restarted streams differ from every base+i.
func restartSeed(base uint64, k int64) uint64 {
	z := base + 0x9e3779b97f4a7c15*uint64(k)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Step applies actions[i] to env i; envs whose episodes ended are reset
// by the server at once (see envs.VectorEnv.Step). The VectorStep is
// valid until the next Step.
//
// If the server fails (its process died, a call missed the deadline, the
// connection broke), Step restarts it and returns a step on which every
// env's episode ends truncated: reward 0, FinalObs the last observation
// it had, Infos[i][RestartInfoKey] = 1, each cut episode in Episodes, and
// Obs the restarted envs' first observations. The actions of that step
// were not (or not surely) applied. Restarts counts it.
func (v *VectorEnv) Step(actions []envs.Action) (*envs.VectorStep, error) {
	return v.StepContext(context.Background(), actions)
}

// StepContext is Step with a context for cancellation.
func (v *VectorEnv) StepContext(ctx context.Context, actions []envs.Action) (*envs.VectorStep, error) {
	if v.closed {
		return nil, errClosed
	}
	if !v.didReset {
		return nil, fmt.Errorf("external env %s: Step before Reset", v.opts.EnvID)
	}
	if len(actions) != v.n {
		return nil, fmt.Errorf("external env %s: %d actions for %d envs", v.opts.EnvID, len(actions), v.n)
	}
	if err := v.encodeActions(actions); err != nil {
		return nil, err
	}
	v.steps++
	err := v.callStep(ctx)
	if err == nil {
		v.inARow = 0
		return v.applyStep()
	}
	if !v.canRecover(ctx, err) {
		return nil, err
	}
	return v.cut(ctx, err)
}

func (v *VectorEnv) encodeActions(actions []envs.Action) error {
	buf := v.req.Actions[:0]
	switch sp := v.spec.Action.(type) {
	case envs.Discrete:
		for i, a := range actions {
			if err := envs.CheckDiscreteAction(a, sp.N); err != nil {
				return &envs.EnvError{EnvIndex: i, Step: v.steps + 1, Err: err}
			}
			buf = append(buf, byte(a.Discrete), byte(a.Discrete>>8), byte(a.Discrete>>16), byte(a.Discrete>>24))
		}
	case *envs.Box:
		for i, a := range actions {
			if len(a.Continuous) != v.adim {
				return &envs.EnvError{EnvIndex: i, Step: v.steps + 1, Err: fmt.Errorf("continuous action of %d values for %v: %w", len(a.Continuous), sp, envs.ErrInvalidAction)}
			}
			buf = putF32(buf, a.Continuous)
		}
	}
	v.req.Actions = buf
	return nil
}

func (v *VectorEnv) callStep(ctx context.Context) error {
	switch v.via {
	case TransportSocket:
		return v.callStepSocket(ctx)
	case TransportStream:
		return v.callStepStream(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, v.opts.CallTimeout)
	defer cancel()
	r := &v.reply
	r.Obs, r.Rewards, r.Terminated, r.Truncated, r.FinalObs = r.Obs[:0], r.Rewards[:0], r.Terminated[:0], r.Truncated[:0], r.FinalObs[:0]
	clear(r.Infos)
	if err := v.be.conn().Invoke(ctx, fullMethod(methodStep), &v.req, r,
		grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(v.lim.recv)); err != nil {
		return v.callError(methodStep, err)
	}
	return nil
}

var stepStreamDesc = grpc.StreamDesc{StreamName: methodStepStream, ServerStreams: true, ClientStreams: true}

// callStepStream sends the Step request on the open StepStream (opening
// one if none is) and reads its reply into v.reply. The reply is decoded
// with the same bounds as a unary reply (the codec and
// MaxCallRecvMsgSize are the stream's call options). CallTimeout bounds
// each step: a timer cancels the stream, and the step fails with
// DeadlineExceeded as a unary call would. After any failure the stream is
// dropped; the next step opens a new one.
func (v *VectorEnv) callStepStream(ctx context.Context) error {
	st := v.stream
	if st == nil {
		sctx, cancel := context.WithCancel(context.Background())
		cs, err := v.be.conn().NewStream(sctx, &stepStreamDesc, fullMethod(methodStepStream),
			grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(v.lim.recv))
		if err != nil {
			cancel()
			return v.callError(methodStep, err)
		}
		st = &stepStream{cs: cs, cancel: cancel}
		st.timer = time.AfterFunc(v.opts.CallTimeout, func() {
			st.timedOut.Store(true)
			cancel()
		})
		v.stream = st
	} else {
		st.timer.Reset(v.opts.CallTimeout)
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, st.cancel)
		defer func() {
			if !stop() && v.stream == st {
				// ctx ended as the step did: the stream may be cancelled
				// under the next step, so drop it now.
				v.dropStream()
			}
		}()
	}
	r := &v.reply
	r.Obs, r.Rewards, r.Terminated, r.Truncated, r.FinalObs = r.Obs[:0], r.Rewards[:0], r.Terminated[:0], r.Truncated[:0], r.FinalObs[:0]
	clear(r.Infos)
	err := st.cs.SendMsg(&v.req)
	if err == nil || errors.Is(err, io.EOF) {
		// On io.EOF the stream has ended; RecvMsg returns its status.
		if rerr := st.cs.RecvMsg(r); rerr != nil {
			err = rerr
		}
	}
	if !st.timer.Stop() && err == nil {
		// The deadline fired as the reply arrived: the reply is whole, but
		// the stream is cancelled.
		v.dropStream()
		return nil
	}
	if err != nil {
		timedOut := st.timedOut.Load()
		v.dropStream()
		switch {
		case errors.Is(err, io.EOF):
			err = status.Error(codes.Internal, "the server ended StepStream without replying")
		case timedOut && ctx.Err() == nil:
			err = status.Errorf(codes.DeadlineExceeded, "no Step reply within %v", v.opts.CallTimeout)
		}
		return v.callError(methodStep, err)
	}
	return nil
}

// dropStream cancels the open StepStream, if any.
func (v *VectorEnv) dropStream() {
	if st := v.stream; st != nil {
		st.timer.Stop()
		st.cancel()
		v.stream = nil
	}
}

// checkObs rejects non-finite observation values (as envs.VectorEnv
// does: NaN lies in no Box). env >= 0 names the env of a final_obs field;
// otherwise the env is found from the value's index.
func (v *VectorEnv) checkObs(method, field string, b []byte, env int) error {
	for j := 0; j+4 <= len(b); j += 4 {
		x := math.Float32frombits(uint32(b[j]) | uint32(b[j+1])<<8 | uint32(b[j+2])<<16 | uint32(b[j+3])<<24)
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			k := j / 4
			i := env
			if i < 0 {
				i = k / v.dim
			}
			return &envs.EnvError{EnvIndex: i, Step: v.steps, Err: v.malformed(method, "field %s: env %d observation[%d] = %v: %w", field, i, k%v.dim, x, envs.ErrNonFinite)}
		}
	}
	return nil
}

// applyStep checks the Step reply and, only if it is whole, copies it into
// the VectorEnv's state and VectorStep.
func (v *VectorEnv) applyStep() (*envs.VectorStep, error) {
	r := &v.reply
	n, d := v.n, v.dim
	sizes := [...]struct {
		field string
		got   []byte
		want  int
		what  string // format of the wanted size's meaning, of n ([1]) and d ([2])
	}{
		{"obs", r.Obs, 4 * n * d, "%[1]d envs × %[2]d float32"},
		{"rewards", r.Rewards, 8 * n, "%[1]d float64"},
		{"terminated", r.Terminated, n, "%[1]d bytes"},
		{"truncated", r.Truncated, n, "%[1]d bytes"},
	}
	for _, s := range sizes {
		if len(s.got) != s.want {
			// Explicit argument indexes: fmt reports no unused d.
			return nil, v.malformed(methodStep, "field %s: %d bytes, want %d (%s)", s.field, len(s.got), s.want, fmt.Sprintf(s.what, n, d))
		}
	}
	ended := 0
	for i := range n {
		t, u := r.Terminated[i], r.Truncated[i]
		if t > 1 || u > 1 {
			return nil, v.malformed(methodStep, "env %d: terminated = %d, truncated = %d: want 0 or 1", i, t, u)
		}
		if t|u == 1 {
			ended++
		}
		rew := math.Float64frombits(leU64(r.Rewards[8*i:]))
		if math.IsNaN(rew) || math.IsInf(rew, 0) {
			return nil, &envs.EnvError{EnvIndex: i, Step: v.steps, Err: v.malformed(methodStep, "field rewards: env %d reward = %v: %w", i, rew, envs.ErrNonFinite)}
		}
	}
	if len(r.FinalObs) != 4*ended*d {
		return nil, v.malformed(methodStep, "field final_obs: %d bytes, want %d (%d ended envs × %d float32)", len(r.FinalObs), 4*ended*d, ended, d)
	}
	if len(r.Infos) > MaxInfoKeys {
		return nil, v.malformed(methodStep, "field infos: %d names, more than %d", len(r.Infos), MaxInfoKeys)
	}
	for name, vals := range r.Infos {
		if len(vals) != n {
			return nil, v.malformed(methodStep, "field infos[%q]: %d values, want %d (one per env, nil where absent)", name, len(vals), n)
		}
	}
	if err := v.checkObs(methodStep, "obs", r.Obs, -1); err != nil {
		return nil, err
	}
	k := 0
	for i := range n {
		if r.Terminated[i]|r.Truncated[i] == 1 {
			if err := v.checkObs(methodStep, "final_obs", r.FinalObs[4*k*d:4*(k+1)*d], i); err != nil {
				return nil, err
			}
			k++
		}
	}

	s := &v.step
	s.Episodes = s.Episodes[:0]
	getF32(v.obs, r.Obs)
	k = 0
	for i := range n {
		s.Rewards[i] = math.Float64frombits(leU64(r.Rewards[8*i:]))
		s.Terminated[i], s.Truncated[i] = r.Terminated[i] == 1, r.Truncated[i] == 1
		s.Infos[i] = nil
		for name, vals := range r.Infos {
			if vals[i] == nil {
				continue
			}
			if s.Infos[i] == nil {
				s.Infos[i] = make(envs.Info, len(r.Infos))
			}
			s.Infos[i][name] = *vals[i]
		}
		v.ret[i] += s.Rewards[i]
		v.length[i]++
		if !s.Terminated[i] && !s.Truncated[i] {
			s.FinalObs[i] = nil
			continue
		}
		getF32(v.final[i], r.FinalObs[4*k*d:])
		k++
		s.FinalObs[i] = v.final[i]
		ep := envs.Episode{EnvIndex: i, Return: v.ret[i], Length: v.length[i], Terminated: s.Terminated[i], Truncated: s.Truncated[i]}
		if st, ok := episodeFromInfo(s.Infos[i]); ok {
			ep.Return, ep.Length = st.Return, st.Length
		}
		s.Episodes = append(s.Episodes, ep)
		v.ret[i], v.length[i] = 0, 0
	}
	return s, nil
}

// Info names under which a server reports an episode statistics record
// of its own (Gymnasium's RecordEpisodeStatistics info["episode"], or
// envs.EpisodeStatistics), flattened: the env's own return and length,
// which the VectorEnv reports instead of the sums it sees.
const (
	InfoEpisodeReturn = envs.EpisodeInfoKey + ".r"
	InfoEpisodeLength = envs.EpisodeInfoKey + ".l"
	InfoEpisodeTime   = envs.EpisodeInfoKey + ".t"
)

func episodeFromInfo(info envs.Info) (envs.EpisodeStats, bool) {
	r, ok1 := info[InfoEpisodeReturn].(float64)
	l, ok2 := info[InfoEpisodeLength].(float64)
	if !ok1 || !ok2 || l < 0 || l > math.MaxInt32 {
		return envs.EpisodeStats{}, false
	}
	return envs.EpisodeStats{Return: r, Length: int(l)}, true
}

func leU64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// cut restarts the server after err and returns the step on which every
// env's episode ends truncated (see Step).
func (v *VectorEnv) cut(ctx context.Context, cause error) (*envs.VectorStep, error) {
	s := &v.step
	s.Episodes = s.Episodes[:0]
	for i := range v.n {
		copy(v.final[i], v.obs[i*v.dim:(i+1)*v.dim])
		s.FinalObs[i] = v.final[i]
		s.Rewards[i], s.Terminated[i], s.Truncated[i] = 0, false, true
		s.Infos[i] = envs.Info{RestartInfoKey: 1.0}
		s.Episodes = append(s.Episodes, envs.Episode{EnvIndex: i, Return: v.ret[i], Length: v.length[i] + 1, Truncated: true})
	}
	for {
		err := v.recover(ctx, cause)
		if err == nil {
			err = v.resetSeeds(ctx, restartSeed(v.resetSeed, v.restarts.Load()))
			if err == nil {
				return s, nil
			}
		}
		if !v.canRecover(ctx, err) {
			v.didReset = false
			return nil, err
		}
		cause = err
	}
}

// Close asks the server to close its envs and, for a supervised process,
// stops it. It is safe to call more than once.
func (v *VectorEnv) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	v.dropStream()
	v.dropSocket()
	var first error
	if v.be.alive() {
		ctx, cancel := context.WithTimeout(context.Background(), min(v.opts.CallTimeout, 5*time.Second))
		err := v.be.conn().Invoke(ctx, fullMethod(methodClose), &closeRequest{}, &closeReply{}, grpc.ForceCodec(codec{}))
		cancel()
		if err != nil {
			first = v.callError(methodClose, err)
		}
	}
	if err := v.be.close(); err != nil && first == nil {
		first = err
	}
	return first
}
