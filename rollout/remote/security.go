package remote

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// TokenEnv is the environment variable that holds the shared token when
// no token file is given.
const TokenEnv = "RLGO_TOKEN"

const authHeader = "authorization"

// IsLoopback reports whether addr (host:port) names a loopback address.
// An empty host or 0.0.0.0 listens on every interface: not loopback.
func IsLoopback(addr string) bool {
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

// checkListenSecurity enforces the rule of design.md: listening beyond
// loopback needs a token, and TLS unless plaintext is explicitly allowed.
func checkListenSecurity(addr, token string, tls, allowPlaintext bool) error {
	if IsLoopback(addr) {
		return nil
	}
	if token == "" {
		return fmt.Errorf("listening on %s (not loopback) needs a token: set %s or --token-file", addr, TokenEnv)
	}
	if !tls && !allowPlaintext {
		return fmt.Errorf("listening on %s (not loopback) needs TLS (--tls-cert and --tls-key), or --allow-plaintext on a private network", addr)
	}
	return nil
}

// checkDialSecurity is the worker's side: a token is sent only over TLS,
// unless plaintext is explicitly allowed or the learner is on loopback
// (the bytes never leave the host).
func checkDialSecurity(addr, token string, tls, allowPlaintext bool) error {
	if token != "" && !tls && !allowPlaintext && !IsLoopback(addr) {
		return fmt.Errorf("refusing to send the token to %s without TLS: give --tls-ca, or --allow-plaintext on a private network", addr)
	}
	return nil
}

// authenticator checks the bearer token of every RPC except the standard
// health service (probes carry no token, and it reveals only whether the
// learner serves). An empty token disables the check.
type authenticator struct {
	sum [sha256.Size]byte // sha256 of the token: compared in constant time
	on  bool
}

func newAuthenticator(token string) *authenticator {
	return &authenticator{sum: sha256.Sum256([]byte(token)), on: token != ""}
}

var (
	errNoToken    = status.Error(codes.Unauthenticated, "missing bearer token")
	errWrongToken = status.Error(codes.PermissionDenied, "wrong token")
)

func exempt(fullMethod string) bool { return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") }

// check returns nil if md carries the token: missing is Unauthenticated,
// wrong is PermissionDenied. Both hashes have the same length, so
// subtle.ConstantTimeCompare leaks neither the token nor its length.
func (a *authenticator) check(md metadata.MD) error {
	if !a.on {
		return nil
	}
	vals := md.Get(authHeader)
	if len(vals) == 0 {
		return errNoToken
	}
	tok, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || tok == "" {
		return errNoToken
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], a.sum[:]) != 1 {
		return errWrongToken
	}
	return nil
}

// tap rejects an unauthenticated stream before its request is read or
// decoded at all.
func (a *authenticator) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if exempt(info.FullMethodName) {
		return ctx, nil
	}
	return ctx, a.check(info.Header)
}

// unary is the interceptor that checks every unary RPC (the tap handle
// already did; this is the check that stays if the tap is removed).
func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !exempt(info.FullMethod) {
		md, _ := metadata.FromIncomingContext(ctx)
		if err := a.check(md); err != nil {
			return nil, err
		}
	}
	return handler(ctx, req)
}

// stream checks streaming RPCs (the health service's Watch is exempt).
func (a *authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !exempt(info.FullMethod) {
		md, _ := metadata.FromIncomingContext(ss.Context())
		if err := a.check(md); err != nil {
			return err
		}
	}
	return handler(srv, ss)
}

// tokenCreds sends the bearer token with every RPC; grpc refuses to send
// it over a connection without transport security when requireTLS is set.
type tokenCreds struct {
	token      string
	requireTLS bool
}

func (c tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{authHeader: "Bearer " + c.token}, nil
}

func (c tokenCreds) RequireTransportSecurity() bool { return c.requireTLS }

// errFatal marks worker errors that retrying cannot fix.
var errFatal = errors.New("fatal")
