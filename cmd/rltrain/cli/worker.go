package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/rlgo/rlgo/rollout/remote"
	"github.com/rlgo/rlgo/train/metrics"
)

func newWorker(_, stderr io.Writer) *cobra.Command {
	var sec secFlags
	var metricsAddr string
	var procs int
	cfg := remote.WorkerConfig{}
	c := &cobra.Command{
		Use:   "worker --learner ADDR",
		Short: "Run one rollout worker for an rltrain learner",
		Long: `Connect to the learner at --learner, receive the run's env and policy, and
sample the fragments it asks for until the run ends or SIGINT/SIGTERM.
The worker reconnects with backoff when the learner restarts. A token
(--token-file or $RLGO_TOKEN) is only sent over TLS (--tls-ca) unless the
learner is on loopback or --allow-plaintext is given. See docs/remote.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := sec.resolveToken()
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			cfg.Token, cfg.AllowPlaintext = tok, sec.allowPlaintext
			cfg.Logger = newLogger(stderr).With("role", "worker")
			if err := cfg.Validate(); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			restore, err := withProcs(procs, 1)
			if err != nil {
				return err
			}
			defer restore()
			if metricsAddr != "" {
				reg := metrics.NewRegistry()
				cfg.Metrics = metrics.NewWorker(reg)
				srv, err := metrics.Serve(metricsAddr, reg)
				if err != nil {
					return &exitError{code: ExitError, err: fmt.Errorf("--metrics-addr: %w", err)}
				}
				defer srv.Close()
				cfg.Logger.Info("serving metrics", "url", srv.URL())
			}
			if err := remote.RunWorker(cmd.Context(), cfg); err != nil {
				return &exitError{code: ExitError, err: err}
			}
			return nil
		},
	}
	sec.register(c)
	fl := c.Flags()
	fl.StringVar(&cfg.Learner, "learner", "", "the learner's host:port (required)")
	fl.StringVar(&cfg.TLSCAFile, "tls-ca", "", "CA certificate (PEM) that signed the learner's certificate; enables TLS")
	fl.StringVar(&cfg.TLSServerName, "tls-server-name", "", "name to verify in the learner's certificate (default: the host of --learner)")
	fl.StringVar(&cfg.OnEnvError, "on-env-error", remote.OnEnvErrorRecreate, "when an env panics or returns NaN: recreate (log and go on) or fail (exit 1)")
	fl.StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://`ADDR`/metrics (e.g. :9091)")
	fl.IntVar(&procs, "procs", 0, "OS threads running Go code at once (GOMAXPROCS); 0 = 1, or $GOMAXPROCS when set: the worker samples on one goroutine")
	fl.BoolVar(&cfg.AllowEnvCommand, "allow-env-command", false, "let the learner make this worker start its env server command (env.external.command): it runs that command on this host")
	fl.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 3*time.Minute, "give up (exit 1, with the cause) when the learner cannot be reached for this long; 0 = retry forever (Kubernetes)")
	fl.BoolVar(&cfg.StayAfterDone, "stay", false, "when the run ends, wait for the next learner instead of exiting (Kubernetes)")
	c.MarkFlagRequired("learner")
	return c
}
