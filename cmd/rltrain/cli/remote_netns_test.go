package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netnsHosts is a star of network namespaces made for one test: the
// learner's namespace and one per worker, each worker joined to the
// learner by its own veth pair in its own /30. Nothing is added to the
// namespace the test runs in, so all traffic stays inside namespaces the
// test made; t.Cleanup deletes them (and with them the veths).
type netnsHosts struct {
	learner     string   // the learner's namespace
	workers     []string // one namespace per worker
	learnerAddr []string // the learner's address on worker i's link
}

// ipCmd runs `ip ARGS...` and returns its combined output.
func ipCmd(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// newNetnsHosts makes the namespaces, or skips the test saying why it
// cannot run here.
func newNetnsHosts(t *testing.T, workers int) *netnsHosts {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("multi-host test needs root for `ip netns add` (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("multi-host test needs the ip binary (Debian: apt-get install -y iproute2)")
	}
	var rnd [3]byte
	rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:]) // unique per run: names and subnets
	h := &netnsHosts{learner: "rlgo-" + tag + "-l"}
	if _, err := ipCmd("netns", "add", h.learner); err != nil {
		t.Skipf("multi-host test: network namespaces are not permitted here: %v", err)
	}
	t.Cleanup(func() { h.delete(t) })
	// 10.<rnd>.<rnd>.(4i)/30 for worker i: .4i+1 the learner, .4i+2 the worker.
	sub := fmt.Sprintf("10.%d.%d.", rnd[1], rnd[2])
	h.must(t, "-n", h.learner, "link", "set", "lo", "up")
	for i := range workers {
		ns := fmt.Sprintf("rlgo-%s-w%d", tag, i)
		if _, err := ipCmd("netns", "add", ns); err != nil {
			t.Fatal(err)
		}
		h.workers = append(h.workers, ns)
		// Interface names are at most 15 bytes.
		lv, wv := fmt.Sprintf("rl%s%dl", tag, i), fmt.Sprintf("rl%s%dw", tag, i)
		la, wa := fmt.Sprintf("%s%d", sub, 4*i+1), fmt.Sprintf("%s%d", sub, 4*i+2)
		// Made inside the learner's namespace with its peer moved
		// straight into the worker's: never in ours.
		h.must(t, "-n", h.learner, "link", "add", lv, "type", "veth", "peer", "name", wv, "netns", ns)
		h.must(t, "-n", h.learner, "addr", "add", la+"/30", "dev", lv)
		h.must(t, "-n", h.learner, "link", "set", lv, "up")
		h.must(t, "-n", ns, "addr", "add", wa+"/30", "dev", wv)
		h.must(t, "-n", ns, "link", "set", wv, "up")
		h.must(t, "-n", ns, "link", "set", "lo", "up")
		h.learnerAddr = append(h.learnerAddr, la)
	}
	return h
}

func (h *netnsHosts) must(t *testing.T, args ...string) {
	t.Helper()
	if _, err := ipCmd(args...); err != nil {
		t.Fatal(err)
	}
}

func (h *netnsHosts) delete(t *testing.T) {
	for _, ns := range append([]string{h.learner}, h.workers...) {
		if _, err := ipCmd("netns", "del", ns); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// start runs `rltrain ARGS...` (this test binary) inside namespace ns.
// `ip netns exec` execs the binary in place, so the pid is rltrain's.
func (h *netnsHosts) start(t *testing.T, ns string, args ...string) *proc {
	t.Helper()
	return startRltrainCmd(t, exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^$"), args...)
}

// learnerCert writes a self-signed certificate (its own CA) for the
// learner's addresses and its key, and returns their paths.
func learnerCert(t *testing.T, dir string, ips []string) (cert, key string) {
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
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestRemoteAcrossNetworkNamespaces runs the learner and two workers as
// three hosts: the learner in its own network namespace, listening on
// 0.0.0.0, each worker in another, reaching the learner over a veth pair
// (10.x.y.z/30). It trains PPO on CartPole for a few iterations twice:
// with a token over TLS (a certificate made here), and with a token over
// --allow-plaintext. Each time a worker with the wrong token is refused,
// the two workers join from their namespaces, every iteration has both,
// and the workers exit 0 when the run ends.
// It skips, saying why, where namespaces cannot be made (not root, no
// `ip`, namespaces not permitted).
func TestRemoteAcrossNetworkNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes in network namespaces")
	}
	h := newNetnsHosts(t, 2)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("netns-test-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongFile, []byte("not-the-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key := learnerCert(t, dir, h.learnerAddr)
	for i, tc := range []struct {
		name            string
		learner, worker []string
	}{
		{"tls", []string{"--tls-cert", cert, "--tls-key", key}, []string{"--tls-ca", cert}},
		{"plaintext", []string{"--allow-plaintext"}, []string{"--allow-plaintext"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := 17100 + i // a namespace of its own: nobody else listens there
			out := filepath.Join(t.TempDir(), "run")
			args := append([]string{"learner", shipped, "--listen", fmt.Sprintf("0.0.0.0:%d", port), "--min-workers", "2",
				"--token-file", tokenFile, "--set", "stop.iterations=5", "--out", out}, tc.learner...)
			learner := h.start(t, h.learner, args...)
			// A worker with the wrong token is refused from its host, at
			// once. It goes first, while the learner waits for its two
			// workers: started after them, it could find a five-iteration
			// run already over and retry a learner that is gone.
			bad := h.start(t, h.workers[0], append([]string{"worker", "--learner", fmt.Sprintf("%s:%d", h.learnerAddr[0], port), "--token-file", wrongFile}, tc.worker...)...)
			if c := bad.wait(30 * time.Second); c != ExitError || !strings.Contains(bad.stderr.String(), "PermissionDenied") {
				t.Errorf("worker with a wrong token: exit %d; want %d and PermissionDenied\nstderr:\n%s", c, ExitError, bad.stderr.String())
			}
			var ws []*proc
			for w, ns := range h.workers {
				args := append([]string{"worker", "--learner", fmt.Sprintf("%s:%d", h.learnerAddr[w], port), "--token-file", tokenFile}, tc.worker...)
				ws = append(ws, h.start(t, ns, args...))
			}
			if code := learner.wait(60 * time.Second); code != ExitOK {
				t.Fatalf("rltrain learner in %s = %d; want 0\nstderr:\n%s", h.learner, code, learner.stderr.String())
			}
			r := readResult(t, out)
			if r.Status != "finished" || r.Iterations != 5 || r.EnvSteps != 5*512 {
				t.Errorf("result.json = %+v; want finished after 5 iterations and 2560 steps", r)
			}
			for it, n := range progressColumn(t, out, "fleet/workers") {
				if n != 2 {
					t.Errorf("iteration %d: fleet/workers = %v; want 2", it+1, n)
				}
			}
			if n := strings.Count(learner.stderr.String(), "worker joined"); n != 2 {
				t.Errorf("learner logged %d joins; want 2\n%s", n, learner.stderr.String())
			}
			for w, p := range ws {
				if c := p.wait(15 * time.Second); c != 0 {
					t.Errorf("worker in %s: exit %d; want 0 when the run ends\nstderr:\n%s", h.workers[w], c, p.stderr.String())
				}
			}
		})
	}
}
