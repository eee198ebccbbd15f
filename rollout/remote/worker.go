package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// On-env-error policies of a worker.
const (
	// OnEnvErrorRecreate logs the failure and recreates the worker's envs.
	OnEnvErrorRecreate = "recreate"
	// OnEnvErrorFail ends the worker with the error.
	OnEnvErrorFail = "fail"
)

// WorkerConfig configures one worker process.
type WorkerConfig struct {
	// Learner is the learner's host:port (or a gRPC target).
	Learner string
	// Token is the shared bearer token ("" if the learner needs none).
	Token string
	// TLSCAFile verifies the learner's certificate (PEM); "" = plaintext.
	TLSCAFile string
	// TLSServerName overrides the name checked in the certificate.
	TLSServerName string
	// AllowPlaintext permits sending the token without TLS to a
	// non-loopback learner (a private cluster network).
	AllowPlaintext bool
	// OnEnvError is OnEnvErrorRecreate (default) or OnEnvErrorFail.
	OnEnvError string
	// StayAfterDone keeps the worker waiting for the next learner when
	// the run ends, instead of returning (Kubernetes Deployments).
	StayAfterDone bool
	// AllowEnvCommand lets the learner make this worker start an env
	// server command (env.external.command): a learner that can name a
	// command to run is trusted with this host, so it is off by default.
	AllowEnvCommand bool
	// MaxMessageBytes bounds messages both ways. Default 64 MiB.
	MaxMessageBytes int
	// RPCTimeout is the deadline of Register, UploadBatch and Heartbeat.
	// Default 10 s. WaitWork's is PollTimeout plus this.
	RPCTimeout time.Duration
	// PollTimeout is how long one WaitWork may wait. Default 5 s.
	PollTimeout time.Duration
	// MaxBackoff caps the exponential backoff of retries. Default 5 s.
	MaxBackoff time.Duration
	// ConnectTimeout bounds how long Register keeps failing before
	// RunWorker gives up with the cause (a learner that is not there, a
	// TLS/plaintext mismatch), and how long a registered worker keeps
	// retrying a learner that stopped answering without ending the run
	// (killed, or gone before this worker's next poll): a restarted
	// learner is back well within it. 0: retry forever (Kubernetes, where
	// the learner may start later). rltrain worker's --connect-timeout.
	ConnectTimeout time.Duration
	// Logger receives the worker's messages; nil discards them.
	Logger *slog.Logger
	// Dialer replaces the TCP dialer (tests use bufconn).
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
	// Metrics receives the worker's counts (metrics.go); nil: none.
	Metrics WorkerMetrics
}

// Validate checks the options and the token rule.
func (c WorkerConfig) Validate() error {
	if c.Learner == "" {
		return errors.New("the learner's address is required (--learner)")
	}
	switch c.OnEnvError {
	case "", OnEnvErrorRecreate, OnEnvErrorFail:
	default:
		return fmt.Errorf("on-env-error: want %s or %s, got %q", OnEnvErrorRecreate, OnEnvErrorFail, c.OnEnvError)
	}
	return checkDialSecurity(c.Learner, c.Token, c.TLSCAFile != "", c.AllowPlaintext)
}

func (c WorkerConfig) withDefaults() WorkerConfig {
	if c.OnEnvError == "" {
		c.OnEnvError = OnEnvErrorRecreate
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = wire.DefaultLimits.MaxBytes
	}
	if c.RPCTimeout <= 0 {
		c.RPCTimeout = 10 * time.Second
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = 5 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ErrEnv is wrapped by the error RunWorker returns when an env fails and
// OnEnvError is fail.
var ErrEnv = errors.New("env failed")

// dial returns the client connection (grpc connects lazily and redials
// with its own backoff).
func dial(cfg WorkerConfig) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithDefaultCallOptions(
			grpc.CallContentSubtype(CodecName),
			grpc.MaxCallRecvMsgSize(cfg.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(cfg.MaxMessageBytes),
		),
		// 10 s is grpc-go's floor for client pings; the learner's own
		// pings (every 2 s) are what notice a hung worker.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: cfg.MaxBackoff},
			MinConnectTimeout: 5 * time.Second,
		}),
	}
	tls := cfg.TLSCAFile != ""
	if tls {
		creds, err := credentials.NewClientTLSFromFile(cfg.TLSCAFile, cfg.TLSServerName)
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		opts = append(opts, grpc.WithTransportCredentials(creds))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if cfg.Token != "" {
		// With requireTLS grpc itself refuses to send the token in clear.
		opts = append(opts, grpc.WithPerRPCCredentials(tokenCreds{token: cfg.Token, requireTLS: !tls && !cfg.AllowPlaintext && !IsLoopback(cfg.Learner)}))
	}
	if cfg.Dialer != nil {
		opts = append(opts, grpc.WithContextDialer(cfg.Dialer))
	}
	return grpc.NewClient(cfg.Learner, opts...)
}

// RunWorker runs one worker until ctx is done (returns nil), the run ends
// (nil, unless StayAfterDone), or a failure retrying cannot fix: a refused
// token, another protocol version, or an env failure with OnEnvError fail.
// It registers, then samples the fragments the learner asks for and
// uploads them; it re-registers when the learner restarts or forgets it.
func RunWorker(ctx context.Context, cfg WorkerConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	cc, err := dial(cfg)
	if err != nil {
		return err
	}
	defer cc.Close()
	w := &remoteWorker{cfg: cfg, cc: cc, log: cfg.Logger}
	prev := ""
	for {
		reg, err := w.register(ctx, prev)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		prev = reg.WorkerID
		err = w.session(ctx, reg)
		switch {
		case ctx.Err() != nil:
			w.deregister(ctx, reg.WorkerID)
			return nil
		case errors.Is(err, errDone):
			w.log.Info("the run has ended", "worker", reg.WorkerID)
			if !cfg.StayAfterDone {
				return nil
			}
			prev = ""
			if !w.sleep(ctx, 0) {
				return nil
			}
		case errors.Is(err, errReregister):
			w.log.Info("registering again", "worker", reg.WorkerID, "why", err)
		default:
			return err
		}
	}
}

var (
	errDone       = errors.New("run ended")
	errReregister = errors.New("learner lost this worker")
)

type remoteWorker struct {
	cfg       WorkerConfig
	cc        *grpc.ClientConn
	log       *slog.Logger
	failures  int       // consecutive failed calls, for backoff
	failing   time.Time // when the first of them failed
	envErrors int64     // env failures recovered from
}

// sleep waits the backoff for the current failure count (jittered,
// exponential from 100 ms to MaxBackoff); false if ctx ended.
func (w *remoteWorker) sleep(ctx context.Context, extra int) bool {
	n := min(w.failures+extra, 16)
	d := min(100*time.Millisecond<<n, w.cfg.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryable reports whether a call that failed with err may succeed later.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Canceled, codes.Internal, codes.Unknown:
		return true
	}
	return false
}

func fatal(what string, err error) error {
	return fmt.Errorf("%s: %s: %w", what, status.Convert(err).Message(), errors.Join(errFatal, err))
}

func (w *remoteWorker) register(ctx context.Context, prev string) (*RegisterReply, error) {
	req := &RegisterRequest{Protocol: ProtocolVersion, Hostname: hostname(), PID: os.Getpid(), PreviousID: prev}
	start := time.Now()
	for tries := 0; ; tries++ {
		rep, err := invoke[RegisterReply](ctx, w.cc, methodRegister, req, w.cfg.RPCTimeout)
		if err == nil {
			w.failures = 0
			return rep, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryable(err) {
			return nil, fatal("register with "+w.cfg.Learner, err)
		}
		cause := status.Convert(err).Message()
		if t := w.cfg.ConnectTimeout; t > 0 && time.Since(start) >= t {
			return nil, fmt.Errorf("could not register with the learner at %s for %s (%d tries): %s: %w", w.cfg.Learner, t, tries+1, cause, errors.Join(errFatal, err))
		}
		// The cause once, then every 10th try: a learner that is not
		// there, or TLS on one side only, says so.
		if tries%10 == 0 {
			w.log.Warn("cannot reach the learner; retrying", "learner", w.cfg.Learner, "err", cause, "tries", tries+1, "tls", w.cfg.TLSCAFile != "")
		}
		w.failures++
		if !w.sleep(ctx, 0) {
			return nil, ctx.Err()
		}
	}
}

// rolloutWorker builds the rollout.Worker the learner described; build
// is the number of times it was built before (an env recreation), which
// moves the env seeds so a deterministic crash is not replayed.
func rolloutWorker(reg *RegisterReply, pol rollout.Policy, build int) (*rollout.Worker, error) {
	var opts envs.Options
	if len(reg.EnvOptionsYAML) > 0 {
		if err := yaml.Unmarshal(reg.EnvOptionsYAML, &opts); err != nil {
			return nil, fmt.Errorf("env options: %w", err)
		}
	}
	var wrappers []envs.WrapperSpec
	if len(reg.WrappersYAML) > 0 {
		if err := yaml.Unmarshal(reg.WrappersYAML, &wrappers); err != nil {
			return nil, fmt.Errorf("env wrappers: %w", err)
		}
	}
	if err := rollout.ValidateMetrics(reg.Metrics); err != nil {
		return nil, fmt.Errorf("custom metrics: %w", err)
	}
	cfg := rollout.Config{Workers: 1, EnvsPerWorker: reg.EnvsPerWorker, FragmentLength: reg.FragmentLength}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	spec := rollout.WorkerSpec{EnvID: reg.EnvID, EnvOptions: opts, Wrappers: wrappers, Metrics: reg.Metrics, Columns: reg.Columns, External: reg.External}
	// Check the learner's spec against the env before acting with it.
	sp, err := rollout.EnvSpaces(spec)
	if err != nil {
		return nil, err
	}
	actionDim := 0
	if sp.Actions != nil {
		actionDim = sp.Actions.Size()
	}
	if sp.Obs.Size() != reg.Spec.ObsDim() || sp.NumActions != reg.Spec.NumActions() || actionDim != reg.Spec.ActionDim() {
		return nil, fmt.Errorf("env %s has %d observations, %d discrete actions and %d continuous ones; the learner's policy expects %d, %d and %d",
			reg.EnvID, sp.Obs.Size(), sp.NumActions, actionDim, reg.Spec.ObsDim(), reg.Spec.NumActions(), reg.Spec.ActionDim())
	}
	spec.Seed = reg.Seed + uint64(build)*0x9e3779b97f4a7c15
	return rollout.NewWorker(reg.Index, cfg, spec, pol)
}

// session runs one registration: heartbeats in the background, and the
// poll → sample → upload loop.
func (w *remoteWorker) session(ctx context.Context, reg *RegisterReply) error {
	log := w.log.With("worker", reg.WorkerID, "index", reg.Index)
	if reg.External != nil && len(reg.External.Command) > 0 && !w.cfg.AllowEnvCommand {
		return fmt.Errorf("the learner asks this worker to start the env server %q: run the worker with --allow-env-command to let it (it runs that command on this host): %w", reg.External.Command, errFatal)
	}
	if err := reg.Spec.Validate(); err != nil {
		return fmt.Errorf("learner sent an invalid policy spec %+v: %w", reg.Spec, errors.Join(errFatal, err))
	}
	weights, err := policy.UnmarshalWeights(reg.Weights)
	if err != nil {
		return fmt.Errorf("weights from the learner: %w", err)
	}
	pol, err := rollout.NewPolicy(reg.Spec, weights)
	if err != nil {
		return fmt.Errorf("policy from the learner: %w", errors.Join(errFatal, err))
	}
	// Heartbeats start before the envs are built: building them may take
	// longer than the learner's worker timeout (an external env server
	// importing its simulator), and a worker silent that long is dropped.
	hbCtx, stopHB := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopHB()
	wg.Go(func() { w.heartbeats(hbCtx, reg) })

	builds := 0
	rw, err := rolloutWorker(reg, pol, builds)
	if err != nil {
		return fmt.Errorf("worker %s: %w", reg.WorkerID, errors.Join(errFatal, err))
	}
	defer func() { rw.Close() }()
	log.Info("registered", "learner", reg.Learner, "env", reg.EnvID, "envs", reg.EnvsPerWorker, "fragment_length", reg.FragmentLength, "version", weights.Version)

	b := new(rollout.SampleBatch)
	for {
		if ctx.Err() != nil {
			return nil
		}
		req := &WaitWorkRequest{WorkerID: reg.WorkerID, HaveVersion: pol.Version(), EnvErrors: w.envErrors}
		rep, err := invoke[WaitWorkReply](ctx, w.cc, methodWaitWork, req, w.cfg.PollTimeout+w.cfg.RPCTimeout)
		if err != nil {
			if err := w.callFailed(ctx, log, "wait for work", err); err != nil {
				return err
			}
			continue
		}
		w.failures = 0
		if rep.Done {
			return errDone
		}
		if len(rep.Weights) > 0 {
			nw, err := policy.UnmarshalWeights(rep.Weights)
			if err == nil {
				err = pol.SetWeights(nw)
			}
			if err != nil {
				return fmt.Errorf("weights v%d from the learner: %w", rep.Version, errors.Join(errFatal, err))
			}
		}
		if rep.TaskID == "" || pol.Version() != rep.Version {
			continue // no task, or weights to fetch first: poll again
		}
		// One batch is refilled every fragment: it is encoded and sent
		// before the next one is sampled.
		err = rw.SampleInto(ctx, b)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ee *envs.EnvError
			if !errors.As(err, &ee) {
				return fmt.Errorf("worker %s: %w", reg.WorkerID, err)
			}
			w.cfg.metrics().EnvError()
			log.Error("env failed", "env_id", reg.EnvID, "env", ee.EnvIndex, "step", ee.Step, "panicked", ee.Panicked, "err", ee.Err, "action", w.cfg.OnEnvError)
			if w.cfg.OnEnvError == OnEnvErrorFail {
				return fmt.Errorf("worker %s: %s %w", reg.WorkerID, reg.EnvID, errors.Join(ErrEnv, errFatal, err))
			}
			// rollout.Worker owns its vector env, so the whole worker is
			// rebuilt (its policy kept); the next poll gives the fragment up.
			w.envErrors++
			builds++
			rw.Close()
			if rw, err = rolloutWorker(reg, pol, builds); err != nil {
				return fmt.Errorf("worker %s: recreate envs: %w", reg.WorkerID, errors.Join(errFatal, err))
			}
			continue
		}
		w.cfg.metrics().Sampled(b.Len())
		b.ID = rep.TaskID
		if err := w.upload(ctx, log, &UploadRequest{WorkerID: reg.WorkerID, TaskID: rep.TaskID, Batch: b}); err != nil {
			return err
		}
	}
}

// callFailed handles a failed call: nil to retry (after a backoff), or the
// error that ends the session.
func (w *remoteWorker) callFailed(ctx context.Context, log *slog.Logger, what string, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case status.Code(err) == codes.NotFound:
		return fmt.Errorf("%w: %s", errReregister, status.Convert(err).Message())
	case !retryable(err):
		return fatal(what, err)
	}
	if w.failures == 0 {
		w.failing = time.Now()
	}
	if t := w.cfg.ConnectTimeout; t > 0 && time.Since(w.failing) >= t {
		return fmt.Errorf("%s: the learner at %s has not answered for %s (%d tries): %s: %w", what, w.cfg.Learner, t, w.failures+1, status.Convert(err).Message(), errors.Join(errFatal, err))
	}
	if w.failures%10 == 0 {
		log.Warn(what+" failed; retrying", "err", status.Convert(err).Message())
	}
	w.failures++
	if !w.sleep(ctx, 0) {
		return ctx.Err()
	}
	return nil
}

// upload sends one batch, retrying with the same task id while the
// learner is unavailable: the learner counts a retried batch once.
func (w *remoteWorker) upload(ctx context.Context, log *slog.Logger, req *UploadRequest) error {
	give := time.Now().Add(30 * time.Second)
	for {
		rep, err := invoke[UploadReply](ctx, w.cc, methodUpload, req, w.cfg.RPCTimeout)
		if err == nil {
			w.failures = 0
			w.cfg.metrics().Uploaded()
			if rep.Status != Accepted {
				log.Info("batch not counted", "task", req.TaskID, "status", rep.Status)
			}
			return nil
		}
		if status.Code(err) == codes.InvalidArgument {
			log.Error("learner rejected the batch", "task", req.TaskID, "err", status.Convert(err).Message())
			return nil
		}
		if err := w.callFailed(ctx, log, "upload", err); err != nil {
			return err
		}
		if time.Now().After(give) {
			log.Warn("giving up on the batch", "task", req.TaskID)
			return nil
		}
	}
}

// deregister tells the learner this worker is leaving (its context was
// cancelled: SIGTERM, Ctrl-C), so its task goes to another worker now,
// not after the learner's WorkerTimeout. Best effort, bounded by 2 s: a
// learner that is gone or older (Unimplemented) reaps the worker itself.
func (w *remoteWorker) deregister(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if _, err := invoke[DeregisterReply](ctx, w.cc, methodDeregister, &DeregisterRequest{WorkerID: id}, 2*time.Second); err != nil {
		w.log.Info("could not tell the learner this worker is leaving", "worker", id, "err", status.Convert(err).Message())
		return
	}
	w.log.Info("left the learner", "worker", id)
}

// heartbeats calls Heartbeat every interval until ctx is done.
func (w *remoteWorker) heartbeats(ctx context.Context, reg *RegisterReply) {
	every := time.Duration(reg.HeartbeatMillis) * time.Millisecond
	if every <= 0 || every > time.Minute {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Errors are seen by the main loop's next call.
			_, _ = invoke[HeartbeatReply](ctx, w.cc, methodHeartbeat, &HeartbeatRequest{WorkerID: reg.WorkerID}, 2*every)
		}
	}
}
