package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 (it is its
// own CA) and its key, and returns their paths.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rlgo-learner"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"rlgo-learner"},
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
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}

// TestTLSWithToken runs a worker against a learner over real TLS on
// loopback with a token: it trains; a worker with the wrong token is
// refused with PermissionDenied and RunWorker returns at once.
func TestTLSWithToken(t *testing.T) {
	cert, key := selfSigned(t)
	cfg := fastConfig()
	cfg.Token, cfg.TLSCertFile, cfg.TLSKeyFile = "tls-token", cert, key
	run := cartPoleRun()
	s, err := Listen(cfg, run)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	spec := cartPoleSpec()
	f, _ := s.Fleet(spec, initWeights(spec, 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunWorker(ctx, WorkerConfig{Learner: s.Addr().String(), Token: "tls-token", TLSCAFile: cert, PollTimeout: time.Second})
	}()
	for v := uint64(1); v <= 2; v++ {
		iterate(t, f, run, spec, v)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunWorker = %v; want nil after cancel", err)
	}

	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	err = RunWorker(wctx, WorkerConfig{Learner: s.Addr().String(), Token: "wrong", TLSCAFile: cert})
	if err == nil || wctx.Err() != nil {
		t.Errorf("RunWorker(wrong token) = %v (ctx %v); want a prompt PermissionDenied error", err, wctx.Err())
	}
}
