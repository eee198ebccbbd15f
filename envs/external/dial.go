package external

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// TokenEnv is the environment variable that holds the bearer token when
// Config.TokenFile is empty (the rollout service's variable).
const TokenEnv = "RLGO_TOKEN"

// Config is what a user writes under env.external: either a command the
// worker starts (one server per worker) or the address of a server
// someone else runs.
type Config struct {
	// Command starts the server, e.g. [python3, -m, rlgo_env, serve,
	// --env, CartPole-v1]. It listens on $RLGO_ENV_SOCKET and serves
	// $RLGO_ENV_NUM_ENVS envs.
	Command []string `yaml:"command,omitempty"`
	// Env adds KEY=VALUE variables to the command's environment.
	Env []string `yaml:"env,omitempty"`
	// Dir is the command's working directory.
	Dir string `yaml:"dir,omitempty"`
	// Address is a running server: unix:///path.sock or host:port.
	Address string `yaml:"address,omitempty"`
	// TokenFile holds the bearer token for Address (default: $RLGO_TOKEN).
	TokenFile string `yaml:"token_file,omitempty"`
	// TLSCA is a PEM file of the CA that signed Address's certificate;
	// setting it turns TLS on.
	TLSCA string `yaml:"tls_ca,omitempty"`
	// TLSServerName overrides the name checked in the certificate.
	TLSServerName string `yaml:"tls_server_name,omitempty"`
	// AllowPlaintext permits plaintext to a non-loopback Address.
	AllowPlaintext bool `yaml:"allow_plaintext,omitempty"`
	// CallTimeout is each Reset and Step call's deadline (default 60s).
	CallTimeout time.Duration `yaml:"call_timeout,omitempty"`
	// StartTimeout bounds a server's start (default 60s).
	StartTimeout time.Duration `yaml:"start_timeout,omitempty"`
	// MaxRestarts is how many restarts in a row are tried (default 3;
	// -1: none).
	MaxRestarts int `yaml:"max_restarts,omitempty"`
}

// Validate checks c; its errors name the YAML key under env.external.
func (c Config) Validate() error {
	switch {
	case len(c.Command) == 0 && c.Address == "":
		return errors.New("env.external: set command (a server per worker) or address (a running server)")
	case len(c.Command) > 0 && c.Address != "":
		return errors.New("env.external: command and address exclude each other")
	case len(c.Command) > 0 && c.Command[0] == "":
		return errors.New("env.external.command[0]: empty program")
	case c.CallTimeout < 0:
		return fmt.Errorf("env.external.call_timeout: %v: want positive", c.CallTimeout)
	case c.StartTimeout < 0:
		return fmt.Errorf("env.external.start_timeout: %v: want positive", c.StartTimeout)
	case c.MaxRestarts < -1:
		return fmt.Errorf("env.external.max_restarts: %d: want -1 (none) or more", c.MaxRestarts)
	}
	for i, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("env.external.env[%d]: %q: want KEY=VALUE", i, kv)
		}
	}
	if len(c.Command) > 0 && (c.TokenFile != "" || c.TLSCA != "" || c.TLSServerName != "" || c.AllowPlaintext) {
		return errors.New("env.external: token_file, tls_ca, tls_server_name and allow_plaintext apply to address only")
	}
	if c.Address != "" {
		if err := checkDialSecurity(c.Address, c.TLSCA != "", c.AllowPlaintext); err != nil {
			return fmt.Errorf("env.external.address: %w", err)
		}
	}
	return nil
}

// Open starts or connects to the server c describes, serving numEnvs
// envs (opts.NumEnvs is set to it). c's timeouts, restarts, token and TLS
// override opts'; opts supplies EnvID, Log and LogPrefix.
func Open(ctx context.Context, c Config, numEnvs int, opts Options) (*VectorEnv, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts.NumEnvs = numEnvs
	if c.CallTimeout > 0 {
		opts.CallTimeout = c.CallTimeout
	}
	if c.StartTimeout > 0 {
		opts.StartTimeout = c.StartTimeout
	}
	if c.MaxRestarts != 0 {
		opts.MaxRestarts = c.MaxRestarts
	}
	if len(c.Command) > 0 {
		opts.Env = append(append([]string(nil), opts.Env...), c.Env...)
		if c.Dir != "" {
			opts.Dir = c.Dir
		}
		return Start(ctx, c.Command, opts)
	}
	opts.AllowPlaintext = opts.AllowPlaintext || c.AllowPlaintext
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("env.external.token_file: %w", err)
		}
		opts.Token = strings.TrimSpace(string(b))
	} else if opts.Token == "" {
		opts.Token = os.Getenv(TokenEnv)
	}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("env.external.tls_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("env.external.tls_ca: %s holds no PEM certificate", c.TLSCA)
		}
		opts.TLS = &tls.Config{RootCAs: pool, ServerName: c.TLSServerName, MinVersion: tls.VersionTLS12}
	}
	return Dial(ctx, c.Address, opts)
}

// isLocal reports whether addr is a Unix socket or a loopback host:port:
// bytes sent there never leave the host.
func isLocal(addr string) bool {
	if strings.HasPrefix(addr, "unix:") || strings.HasPrefix(addr, "unix-abstract:") {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkDialSecurity is design.md's rule: plaintext (and so a token in
// plaintext) only to Unix sockets and loopback, unless explicitly allowed.
func checkDialSecurity(addr string, tls, allowPlaintext bool) error {
	if !tls && !allowPlaintext && !isLocal(addr) {
		return fmt.Errorf("refusing plaintext to %s (neither loopback nor a Unix socket): give a TLS CA (tls_ca), or allow_plaintext on a private network", addr)
	}
	return nil
}

// dialed is the backend of a server someone else runs.
type dialed struct {
	addr string
	cc   *grpc.ClientConn
}

func (d *dialed) conn() *grpc.ClientConn { return d.cc }

// recover waits for the server: grpc reconnects by itself, and the next
// Spec call (WaitForReady, StartTimeout) finds out whether it is back.
func (d *dialed) recover(context.Context, error) error { return nil }
func (d *dialed) alive() bool                          { return true }
func (d *dialed) describe() string                     { return d.addr }
func (d *dialed) unixSocket() bool {
	return strings.HasPrefix(d.addr, "unix:") && !strings.HasPrefix(d.addr, "unix-abstract:")
}
func (d *dialed) close() error { return d.cc.Close() }

// Dial connects to the env server at address (unix:///path.sock or
// host:port) serving opts.NumEnvs envs. Plaintext is refused beyond
// loopback and Unix sockets unless opts.AllowPlaintext; opts.Token is sent
// as a bearer token.
func Dial(ctx context.Context, address string, opts Options) (*VectorEnv, error) {
	if opts.NumEnvs <= 0 {
		return nil, fmt.Errorf("external env: NumEnvs = %d: want at least 1", opts.NumEnvs)
	}
	opts = opts.withDefaults()
	if err := checkDialSecurity(address, opts.TLS != nil, opts.AllowPlaintext); err != nil {
		return nil, fmt.Errorf("external env: %w", err)
	}
	dopts := []grpc.DialOption{
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
	}
	if opts.TLS != nil {
		dopts = append(dopts, grpc.WithTransportCredentials(credentials.NewTLS(opts.TLS)))
	} else {
		dopts = append(dopts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if opts.Token != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(tokenCreds{token: opts.Token, requireTLS: opts.TLS != nil}))
	}
	cc, err := grpc.NewClient(address, dopts...)
	if err != nil {
		return nil, fmt.Errorf("external env: connect to %s: %w", address, err)
	}
	v, err := newVectorEnv(ctx, &dialed{addr: address, cc: cc}, opts)
	if err != nil {
		cc.Close()
		return nil, err
	}
	return v, nil
}

// tokenCreds sends the bearer token with every call.
type tokenCreds struct {
	token      string
	requireTLS bool
}

func (c tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{authHeader: "Bearer " + c.token}, nil
}

func (c tokenCreds) RequireTransportSecurity() bool { return c.requireTLS }

const authHeader = "authorization"
