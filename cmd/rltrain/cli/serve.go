package cli

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/train/checkpoint"
	"github.com/rlgo/rlgo/train/config"
	"github.com/rlgo/rlgo/train/serve"
)

// serveFlags are rltrain serve's flags.
type serveFlags struct {
	sec        secFlags
	cfg        serve.Config
	tlsCert    string
	tlsKey     string
	watchEvery time.Duration
	frameStack int
	padding    string
	seed       uint64
	procs      int
}

func newServe(stdout, stderr io.Writer) *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve RUN_DIR|CHECKPOINT|POLICY_FILE",
		Short: "Serve a trained policy over HTTP/JSON and gRPC",
		Long: `Serve answers observations with the policy's actions: POST /v1/act with
{"observation": [...]} (or {"observations": [[...], ...]}) on --addr, and the
same calls over gRPC (msgpack) on --grpc-addr; GET /v1/spec describes the
policy, /healthz and /readyz are probes, /metrics is Prometheus.

RUN_DIR (local or s3://bucket/prefix) serves the run's latest valid
checkpoint and swaps in each newer one as training writes it (every
--watch-every); CHECKPOINT (RUN_DIR/checkpoints/iter-NNNNNN) and
POLICY_FILE (rltrain export) serve one policy. Frame stacking is read from
the run's config (env.wrappers); give --frame-stack for a policy file.

Listening beyond loopback needs a token (--token-file or $RLGO_TOKEN) and
TLS (--tls-cert, --tls-key) unless --allow-plaintext. SIGTERM stops
accepting, answers the requests in flight, and exits 0. See docs/serve.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), cmd, args[0], &f, stdout, stderr)
		},
	}
	fl := c.Flags()
	f.sec.register(c)
	fl.StringVar(&f.cfg.Addr, "addr", "127.0.0.1:8600", "HTTP listen address")
	fl.StringVar(&f.cfg.GRPCAddr, "grpc-addr", "127.0.0.1:8601", "gRPC listen address (\"\" for none)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM), for both endpoints")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fl.IntVar(&f.cfg.MaxBatch, "max-batch", 256, "most observations in one forward pass")
	fl.DurationVar(&f.cfg.MaxWait, "max-wait", 0, "longest a batch waits for more requests while others are on their way (0: it takes what is queued; a request alone never waits)")
	fl.IntVar(&f.cfg.Workers, "workers", 1, "batch goroutines, each with its own copy of the network")
	fl.IntVar(&f.cfg.QueueSize, "queue", 4096, "requests that may wait for a batch; more are refused with 503")
	fl.IntVar(&f.cfg.MaxRequestRows, "max-request-rows", 1024, "most observations in one request")
	fl.IntVar(&f.cfg.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body or gRPC message")
	fl.IntVar(&f.frameStack, "frame-stack", 0, "frames the policy stacks (a POLICY_FILE trained with frame_stack; runs read their config)")
	fl.StringVar(&f.padding, "frame-padding", "reset", "older frames of a new episode: reset (repeat the first) or zero")
	fl.IntVar(&f.cfg.MaxSessions, "max-sessions", 10000, "most open frame-stack sessions")
	fl.DurationVar(&f.cfg.SessionIdle, "session-idle", 10*time.Minute, "a session unused this long is forgotten")
	fl.DurationVar(&f.watchEvery, "watch-every", 10*time.Second, "how often a RUN_DIR is checked for a new checkpoint (0: never)")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the sampling of explore requests without seed or session (default: random)")
	fl.IntVar(&f.procs, "procs", 0, "OS threads running Go code at once (GOMAXPROCS; 0: Go's default, one per core or the container's CPU limit); 1 gives the lowest latency at low request rates (docs/serve.md)")
	fl.DurationVar(&f.cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "longest wait for requests in flight on SIGTERM")
	return c
}

// servedSource is what the argument names: a policy, and for a run the
// store to watch and the iteration served.
type servedSource struct {
	exp       *policy.Exported
	frames    serve.FrameStack
	name      string
	file      bool             // a policy file (no config: frame stacking from the flags)
	store     checkpoint.Store // nil: nothing to watch
	iteration int
}

func runServe(ctx context.Context, cmd *cobra.Command, arg string, f *serveFlags, stdout, stderr io.Writer) error {
	usage := func(err error) error { return &exitError{code: ExitUsage, err: fmt.Errorf("serve: %w", err)} }
	tok, err := f.sec.resolveToken()
	if err != nil {
		return usage(err)
	}
	cfg := f.cfg
	cfg.Token, cfg.TLSCertFile, cfg.TLSKeyFile, cfg.AllowPlaintext = tok, f.tlsCert, f.tlsKey, f.sec.allowPlaintext
	if err := cfg.Validate(); err != nil {
		return usage(err)
	}
	restore, err := withProcs(f.procs, 0)
	if err != nil {
		return err
	}
	defer restore()
	src, err := openServed(ctx, arg)
	if err != nil {
		return err
	}
	switch {
	case src.file:
		src.frames.N = f.frameStack
		switch f.padding {
		case "reset":
		case "zero":
			src.frames.ZeroPadding = true
		default:
			return usage(fmt.Errorf("--frame-padding: want reset or zero, got %q", f.padding))
		}
	case cmd.Flags().Changed("frame-stack") && max(f.frameStack, 1) != max(src.frames.N, 1):
		return usage(fmt.Errorf("--frame-stack %d: the run's config (env.wrappers) stacks %d frames", f.frameStack, max(src.frames.N, 1)))
	}
	cfg.FrameStack = src.frames
	cfg.Seed = f.seed
	if !cmd.Flags().Changed("seed") {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return &exitError{code: ExitError, err: err}
		}
		cfg.Seed = binary.LittleEndian.Uint64(b[:])
	}
	log := newLogger(stderr).With("role", "serve")
	cfg.Logger = log
	srv, err := serve.New(cfg, src.exp)
	if err != nil {
		return usage(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if src.store != nil && f.watchEvery > 0 {
		go srv.Watch(sctx, src.store, src.iteration, f.watchEvery, func(c *checkpoint.Checkpoint) (*policy.Exported, error) {
			e, _, err := exportedOf(c, c.Key)
			return e, err
		})
	}
	err = srv.ListenAndServe(sctx, func(h, g net.Addr) {
		grpcAddr := "none"
		if g != nil {
			grpcAddr = g.String()
		}
		scheme := "http"
		if cfg.TLSCertFile != "" {
			scheme = "https"
		}
		fmt.Fprintf(stdout, "serving %s (%s, %s, version %d) at %s://%s (gRPC %s)\n", src.name, src.exp.Kind, src.exp.EnvID,
			src.exp.Weights.Version, scheme, h, grpcAddr)
		log.Info("serving", "policy", src.name, "http", h.String(), "grpc", grpcAddr, "tls", cfg.TLSCertFile != "",
			"token", cfg.Token != "", "frame_stack", cfg.FrameStack.N, "watch", src.store != nil && f.watchEvery > 0)
	})
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	log.Info("stopped", "version", srv.Version())
	return nil
}

// openServed reads what arg names: a policy file, one checkpoint, or a
// run (its newest valid checkpoint, read without moving anything aside).
func openServed(ctx context.Context, arg string) (*servedSource, error) {
	loc := strings.TrimSuffix(arg, "/")
	if !isS3(loc) {
		st, err := os.Stat(loc)
		if err != nil {
			return nil, &exitError{code: ExitUsage, err: fmt.Errorf("serve: %w", err)}
		}
		if !st.IsDir() {
			b, err := os.ReadFile(loc)
			if err != nil {
				return nil, &exitError{code: ExitUsage, err: fmt.Errorf("serve: %w", err)}
			}
			e, err := policy.DecodeExported(b)
			if err != nil {
				return nil, &exitError{code: ExitUsage, err: fmt.Errorf("serve %s: %w", loc, err)}
			}
			return &servedSource{exp: e, name: loc, file: true}, nil
		}
	}
	if base := path.Base(filepath.ToSlash(loc)); strings.HasPrefix(base, "iter-") {
		ck, name, err := loadCheckpoint(ctx, loc, io.Discard)
		if err != nil {
			return nil, err
		}
		e, frames, err := exportedOf(ck, name)
		if err != nil {
			return nil, &exitError{code: ExitError, err: err}
		}
		return &servedSource{exp: e, frames: frames, name: name}, nil
	}
	store, err := checkpoint.OpenStore(loc)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("serve: %w", err)}
	}
	ck, it, err := serve.LatestCheckpoint(ctx, store, -1, nil)
	if errors.Is(err, checkpoint.ErrNone) {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("serve: %s holds no valid checkpoint: %w", loc, err)}
	}
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("serve: %w", err)}
	}
	e, frames, err := exportedOf(ck, loc+"/"+ck.Key)
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	return &servedSource{exp: e, frames: frames, name: loc + "/" + ck.Key, store: store, iteration: it}, nil
}

// exportedOf is what `rltrain export` writes for a checkpoint (the
// registry's policy spec over the run's spaces), with the observation
// shape, and the frame stacking of the run's env.wrappers.
func exportedOf(ck *checkpoint.Checkpoint, name string) (*policy.Exported, serve.FrameStack, error) {
	var fs serve.FrameStack
	cfg, err := config.Parse(name+" (config)", []byte(ck.Meta.Config), nil)
	if err != nil {
		return nil, fs, err
	}
	raw, err := ck.File("weights.msgpack")
	if err != nil {
		return nil, fs, err
	}
	w, err := policy.UnmarshalWeights(raw)
	if err != nil {
		return nil, fs, err
	}
	spec, spaces, err := policySpec(&cfg.Config)
	if err != nil {
		return nil, fs, fmt.Errorf("serve: %w", err)
	}
	exp := &policy.Exported{
		EnvID: cfg.Env.ID, ObsLow: spaces.Obs.Low, ObsHigh: spaces.Obs.High, ObsShape: spaces.Obs.Dims, NumActions: spaces.NumActions,
		Model: cfg.Model, Weights: w, Kind: spec.Kind, Dueling: spec.Q.Dueling,
	}
	if spaces.Actions != nil {
		exp.ActionLow, exp.ActionHigh = spaces.Actions.Low, spaces.Actions.High
	}
	for _, ws := range cfg.Env.WrapperSpecs() {
		if ws.Name != envs.WrapFrameStack {
			continue
		}
		if fs.N > 1 {
			return nil, fs, fmt.Errorf("serve: env.wrappers stacks frames twice; serve supports one frame_stack")
		}
		n, err := envs.FloatOption(ws.Options, "n", 4)
		if err != nil {
			return nil, fs, err
		}
		fs.N = int(n)
		fs.ZeroPadding = ws.Options["padding"] == "zero"
	}
	return exp, fs, nil
}
