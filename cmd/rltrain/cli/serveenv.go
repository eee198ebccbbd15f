package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rlgo/rlgo/envs/external"
)

// newServeEnv is `rltrain serve-env ID`: serve a registered Go env over
// the env protocol (docs/external-envs.md), so that workers on other
// hosts step it as env.external, and the protocol has two
// implementations (this one and python/rlgo_env) that test each other.
func newServeEnv(stdout, stderr io.Writer) *cobra.Command {
	var (
		sec        secFlags
		address    string
		numEnvs    int
		options    []string
		tlsCert    string
		tlsKey     string
		maxEpSteps int
		procs      int
	)
	c := &cobra.Command{
		Use:   "serve-env ID",
		Short: "Serve a registered env over the env protocol (for env.external)",
		Long: `serve-env serves --num-envs envs of a registered env over the env protocol
(gRPC with msgpack; docs/external-envs.md) on --address (unix:///path.sock
or host:port). A worker started with env.external.command sets
$RLGO_ENV_SOCKET and $RLGO_ENV_NUM_ENVS itself:
  env: {id: CartPole-v1, external: {command: [rltrain, serve-env, CartPole-v1]}}
Beyond loopback a token (--token-file or $RLGO_TOKEN) and TLS (--tls-cert,
--tls-key) are required unless --allow-plaintext.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			restore, err := withProcs(procs, 1)
			if err != nil {
				return err
			}
			defer restore()
			opts, err := parseEnvOptions(options)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if maxEpSteps > 0 {
				if opts == nil {
					opts = map[string]any{}
				}
				opts["max_episode_steps"] = maxEpSteps
			}
			tok, err := sec.resolveToken()
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			n := numEnvs
			if n == 0 {
				if n, err = external.NumEnvsFromEnv(1); err != nil {
					return &exitError{code: ExitUsage, err: err}
				}
			}
			so := external.ServeOptions{Token: tok, AllowPlaintext: sec.allowPlaintext, Logger: newLogger(stderr).With("role", "env-server")}
			if (tlsCert == "") != (tlsKey == "") {
				return &exitError{code: ExitUsage, err: errors.New("give --tls-cert and --tls-key together")}
			}
			if tlsCert != "" {
				cert, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
				if err != nil {
					return &exitError{code: ExitUsage, err: fmt.Errorf("tls: %w", err)}
				}
				so.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			}
			lis, err := external.Listen(address)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			ctx, cancel := external.WatchParent(cmd.Context())
			defer cancel()
			fmt.Fprintf(stderr, "serving %d %s env(s) on %s\n", n, args[0], lis.Addr())
			if err := external.ServeRegistered(ctx, lis, args[0], opts, nil, n, so); err != nil && ctx.Err() == nil {
				return &exitError{code: ExitError, err: err}
			}
			return nil
		},
	}
	sec.register(c)
	c.Flags().StringVar(&address, "address", "", "unix:///path.sock or host:port (default $"+external.SocketEnv+")")
	c.Flags().IntVar(&numEnvs, "num-envs", 0, "envs to serve (default $"+external.NumEnvsEnv+", else 1)")
	c.Flags().StringArrayVar(&options, "option", nil, "env option key=value, as in a config's env.options (repeatable)")
	c.Flags().IntVar(&maxEpSteps, "max-episode-steps", 0, "time limit (default: the env's registered one)")
	c.Flags().StringVar(&tlsCert, "tls-cert", "", "TLS certificate (PEM)")
	c.Flags().StringVar(&tlsKey, "tls-key", "", "TLS private key (PEM)")
	c.Flags().IntVar(&procs, "procs", 0, "OS threads running Go code at once (GOMAXPROCS); 0 = 1, or $GOMAXPROCS when set: a call steps its envs on one goroutine")
	return c
}
