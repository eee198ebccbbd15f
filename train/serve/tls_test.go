package serve

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and
// rlgo-serve (it is its own CA) and its key, and returns their paths and
// a pool that trusts the certificate.
func selfSigned(t *testing.T) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rlgo-serve"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"rlgo-serve"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, pool
}

// httpsPost posts body to url+/v1/act with the bearer token over client.
func httpsPost(client *http.Client, url, token, body string) (int, map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/act", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	json.Unmarshal(raw, &out) // a refusal need not be JSON
	return resp.StatusCode, out, nil
}

// TestTLS serves HTTP and gRPC over real TLS on loopback with a token: a
// client that trusts the certificate gets the answers policy.Load gives
// (also through the name in the certificate); one that does not trust it,
// or speaks plaintext, is refused.
func TestTLS(t *testing.T) {
	cert, key, pool := selfSigned(t)
	e := testPolicy(t, "actor_critic", 3, 4)
	p := loaded(t, e)
	s := serveTest(t, Config{Token: "tls-token", TLSCertFile: cert, TLSKeyFile: key}, e)
	obs := []float32{0.3, -0.1, 0.05, 0.2}
	wantAct := want(t, p, obs)
	body := `{"observation":[0.3,-0.1,0.05,0.2]}`

	trusting := func(serverName string) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}}}
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		url    string
		ok     bool
		errHas string // the client's error, or "" for an HTTP answer
	}{
		{"https trusting", trusting(""), s.url, true, ""},
		{"https trusting, by name", trusting("rlgo-serve"), s.url, true, ""},
		{"https trusting, wrong name", trusting("other.example"), s.url, false, "certificate"},
		{"https not trusting", &http.Client{Timeout: 10 * time.Second}, s.url, false, "certificate"},
		{"plaintext http", &http.Client{Timeout: 10 * time.Second}, strings.Replace(s.url, "https://", "http://", 1), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, rep, err := httpsPost(tc.client, tc.url, "tls-token", body)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("POST: %v", err)
			case tc.ok:
				if code != http.StatusOK || jsonAction(rep["action"]) != wantAct || rep["version"] != float64(4) {
					t.Errorf("POST over TLS: %d %v; want 200, action %v, version 4", code, rep, wantAct)
				}
			case tc.errHas != "":
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("POST = %d %v, %v; want an error about the %s", code, rep, err, tc.errHas)
				}
			default:
				// Go's TLS server answers an HTTP request in clear with 400.
				if err == nil && (code != http.StatusBadRequest || rep["action"] != nil) {
					t.Errorf("plaintext POST to the TLS port: %d %v; want 400 and no action", code, rep)
				}
			}
		})
	}

	withToken := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tls-token")
	for _, tc := range []struct {
		name  string
		creds credentials.TransportCredentials
		ok    bool
	}{
		{"grpc trusting", credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), true},
		{"grpc trusting, by name", credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "rlgo-serve", MinVersion: tls.VersionTLS12}), true},
		{"grpc not trusting", credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12}), false},
		{"grpc plaintext", insecure.NewCredentials(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(tc.creds), grpc.WithDefaultCallOptions(grpc.ForceCodec(Codec{})))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			rep, err := s.grpcAct(withToken, cc, &ActRequest{Observation: obs})
			if !tc.ok {
				if status.Code(err) != codes.Unavailable {
					t.Errorf("Act = %v, %v; want Unavailable (the handshake fails)", rep, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Act over TLS: %v", err)
			}
			if len(rep.Actions) != 1 || rep.Actions[0] != wantAct || rep.Version != 4 {
				t.Errorf("Act over TLS = %+v; want action %v, version 4", rep, wantAct)
			}
			if _, err := s.grpcAct(context.Background(), cc, &ActRequest{Observation: obs}); status.Code(err) != codes.Unauthenticated {
				t.Errorf("Act over TLS without the token: %v; want Unauthenticated", err)
			}
		})
	}
	s.settled(t)
}

// TestListenBeyondLoopback: Serve checks the listeners it is given on
// their own addresses, as Validate checks Config.Addr: off loopback
// (every interface here) it refuses plaintext, and a server without a
// token, before accepting anything; with a token and TLS it serves.
func TestListenBeyondLoopback(t *testing.T) {
	cert, key, pool := selfSigned(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // Serve's error, "" to serve
	}{
		{"no token", Config{}, "needs a token"},
		{"token in plaintext", Config{Token: "x"}, "needs TLS"},
		{"token and TLS", Config{Token: "x", TLSCertFile: cert, TLSKeyFile: key}, ""},
		{"plaintext allowed", Config{Token: "x", AllowPlaintext: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := New(tc.cfg, testPolicy(t, "actor_critic", 1, 1))
			if err != nil {
				t.Fatal(err)
			}
			hl, err := net.Listen("tcp", "0.0.0.0:0") // every interface: not loopback
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, hl, nil) }()
			port := hl.Addr().(*net.TCPAddr).Port
			if tc.want != "" {
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("Serve(%s) = %v; want an error containing %q", hl.Addr(), err, tc.want)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("Serve(%s) serves; want it refused", hl.Addr())
				}
				if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
					c.Close()
					t.Errorf("the refused listener %s still accepts connections", hl.Addr())
				}
				return
			}
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
			scheme := "http://"
			if tc.cfg.TLSCertFile != "" {
				scheme = "https://"
			}
			code, rep, err := httpsPost(client, scheme+net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "x", `{"observation":[0,0,0,0]}`)
			if err != nil || code != http.StatusOK {
				t.Errorf("POST: %d %v %v; want 200", code, rep, err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}
