package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/rlgo/rlgo/algorithms"

	"github.com/spf13/cobra"

	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/rollout/remote"
	"github.com/rlgo/rlgo/train/config"
)

// secFlags are the token and TLS flags of rltrain learner and worker.
type secFlags struct {
	token          string
	tokenFile      string
	allowPlaintext bool
}

func (f *secFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.tokenFile, "token-file", "", "file holding the shared token (default: $"+remote.TokenEnv+")")
	c.Flags().StringVar(&f.token, "token", "", "the shared token (visible in ps: prefer --token-file or $"+remote.TokenEnv+")")
	c.Flags().BoolVar(&f.allowPlaintext, "allow-plaintext", false, "allow a non-loopback connection without TLS (private cluster network only)")
	c.Flags().BoolVar(&f.allowPlaintext, "insecure-plaintext", false, "same as --allow-plaintext")
	c.Flags().MarkHidden("insecure-plaintext")
}

// resolveToken returns the token from --token-file, --token or $RLGO_TOKEN.
// The file and the variable are trimmed of surrounding white space: one
// that holds only white space is no token (issue 13: "   " counted as one).
func (f *secFlags) resolveToken() (string, error) {
	if f.tokenFile != "" {
		if f.token != "" {
			return "", errors.New("give --token-file or --token, not both")
		}
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("token file %s is empty", f.tokenFile)
		}
		return tok, nil
	}
	if f.token != "" {
		return f.token, nil
	}
	return strings.TrimSpace(os.Getenv(remote.TokenEnv)), nil
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// learnerFlags are rltrain learner's own flags.
type learnerFlags struct {
	sec           secFlags
	listen        string
	minWorkers    int
	sampleTimeout time.Duration
	startTimeout  time.Duration
	workerTimeout time.Duration
	tlsCert       string
	tlsKey        string
}

func (f *learnerFlags) config(stderr io.Writer) (remote.Config, error) {
	tok, err := f.sec.resolveToken()
	if err != nil {
		return remote.Config{}, err
	}
	if f.minWorkers < 1 {
		return remote.Config{}, fmt.Errorf("--min-workers: want ≥ 1, got %d", f.minWorkers)
	}
	rc := remote.Config{
		Listen:         f.listen,
		Token:          tok,
		TLSCertFile:    f.tlsCert,
		TLSKeyFile:     f.tlsKey,
		AllowPlaintext: f.sec.allowPlaintext,
		MinWorkers:     f.minWorkers,
		SampleTimeout:  f.sampleTimeout,
		StartTimeout:   f.startTimeout,
		WorkerTimeout:  f.workerTimeout,
		Logger:         newLogger(stderr).With("role", "learner"),
	}
	return rc, rc.Validate()
}

func newLearner(stdout, stderr io.Writer, cb algorithms.Callbacks) *cobra.Command {
	var f runFlags
	var lf learnerFlags
	c := &cobra.Command{
		Use:   "learner CONFIG --listen ADDR",
		Short: "Train with remote workers (rltrain worker processes) that connect over gRPC",
		Long: `Train like 'rltrain train', sampling from rltrain worker processes that
connect to --listen. The first iteration waits for --min-workers; later
iterations use whichever workers are healthy. A non-loopback --listen needs
a token (--token-file or $RLGO_TOKEN) and TLS (--tls-cert, --tls-key)
unless --allow-plaintext. See docs/remote.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := f.configArg(args)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			rc, err := lf.config(stderr)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			var srv *remote.Server
			defer func() {
				if srv != nil {
					srv.Close()
				}
			}()
			factory := func(cfg *config.Loaded) (rollout.NewFleetFunc, error) {
				if !cmd.Flags().Changed("min-workers") && cfg.Rollout.MinWorkers > 0 {
					rc.MinWorkers = cfg.Rollout.MinWorkers // the config's rollout.min_workers, unless the flag says otherwise
				}
				var err error
				srv, err = remote.Listen(rc, remote.Run{EnvID: cfg.Env.ID, EnvOptions: cfg.Env.Options, Wrappers: cfg.Env.WrapperSpecs(), Metrics: cfg.Env.Metrics, Rollout: cfg.Rollout, Seed: cfg.Seed, External: cfg.Env.External})
				if err != nil {
					return nil, fmt.Errorf("learner: %w", err)
				}
				rc.Logger.Info("serving "+remote.ServiceName, "addr", srv.Addr().String(), "min_workers", rc.MinWorkers, "tls", rc.TLSCertFile != "", "token", rc.Token != "")
				return func(spec rollout.FleetSpec, w *policy.Weights) (rollout.Fleet, error) {
					fl, err := srv.FleetFor(spec, w)
					if err != nil {
						return nil, err
					}
					return &loggedFleet{Fleet: fl, log: rc.Logger}, nil
				}, nil
			}
			return runTrain(cmd.Context(), path, f, stdout, stderr, cb, factory)
		},
	}
	f.register(c)
	lf.sec.register(c)
	fl := c.Flags()
	fl.StringVar(&lf.listen, "listen", "127.0.0.1:7071", "host:port to serve workers on")
	fl.IntVar(&lf.minWorkers, "min-workers", 1, "workers to wait for before the first iteration (default: the config's rollout.min_workers)")
	fl.DurationVar(&lf.sampleTimeout, "sample-timeout", 60*time.Second, "longest an iteration may wait for its fragments")
	fl.DurationVar(&lf.startTimeout, "start-timeout", 10*time.Minute, "longest to wait for --min-workers")
	fl.DurationVar(&lf.workerTimeout, "worker-timeout", 4*time.Second, "silence after which a worker is dropped and its fragment given to another")
	fl.StringVar(&lf.tlsCert, "tls-cert", "", "TLS certificate (PEM)")
	fl.StringVar(&lf.tlsKey, "tls-key", "", "TLS private key (PEM)")
	return c
}

// loggedFleet logs the fleet's counters after an iteration in which
// something happened to it (a worker lost or back, a batch not counted).
type loggedFleet struct {
	*remote.Fleet
	log  *slog.Logger
	prev remote.Stats
}

func (f *loggedFleet) Sample(ctx context.Context) ([]*rollout.SampleBatch, error) {
	b, err := f.Fleet.Sample(ctx)
	if err != nil {
		return nil, err
	}
	s, l := f.Stats(), f.Stats().Last
	if s.Workers != f.prev.Workers || s.Restarts != f.prev.Restarts || l.Dropped+l.Stale+l.Duplicate+l.Rejected+l.EnvErrors > 0 {
		f.log.Info("fleet", "version", s.Version, "workers", s.Workers, "restarts", s.Restarts, "dropped", l.Dropped, "stale", l.Stale,
			"duplicate", l.Duplicate, "rejected", l.Rejected, "env_errors", l.EnvErrors, "bytes", l.BytesReceived, "transfer", l.TransferTime)
	}
	f.prev = s
	return b, nil
}
