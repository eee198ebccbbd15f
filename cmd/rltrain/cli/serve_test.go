package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rlgo/rlgo/policy"
)

// startServe runs `rltrain serve args...` until the test ends and
// returns its HTTP base URL, read from its first stdout line.
func startServe(t *testing.T, args ...string) (url string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() { done <- Main(ctx, append([]string{"serve"}, args...), Options{Stdout: &out, Stderr: &errb}) }()
	re := regexp.MustCompile(`at (http://[0-9.:]+) `)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited %d: %s%s", code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start in 30 s: %s%s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := false
	stop = func() (int, string) {
		if stopped {
			return 0, ""
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code, errb.String()
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop 30 s after its context was cancelled")
			return 0, ""
		}
	}
	t.Cleanup(func() { stop() })
	return url, stop
}

// actHTTP posts observations to /v1/act and returns actions and version.
func actHTTP(t *testing.T, url string, obs [][]float32) ([]int, uint64) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"observations": obs})
	resp, err := http.Post(url+"/v1/act", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var rep struct {
		Actions []int  `json:"actions"`
		Version uint64 `json:"version"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &rep) != nil {
		t.Fatalf("POST /v1/act: %d %s", resp.StatusCode, raw)
	}
	return rep.Actions, rep.Version
}

// TestServeRunHotSwap trains CartPole briefly, serves the run, checks
// that the answers equal policy.Load of `rltrain export` for the same
// observations, resumes training and checks that the server swaps in
// the newer checkpoint (a higher version), and that the exported file
// served directly answers alike. Cancelling the context exits 0.
func TestServeRunHotSwap(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=2", "--set", "checkpoint.every=1", "--out", dir); code != 0 {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	file := filepath.Join(t.TempDir(), "policy.msgpack")
	if code, _, stderr := run(t, ctx, "export", dir, "--out", file); code != 0 {
		t.Fatalf("export = %d: %s", code, stderr)
	}
	ref, err := policy.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	obs := make([][]float32, 200)
	for i := range obs {
		obs[i] = []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64() * 0.2), float32(rng.NormFloat64())}
	}
	url, stop := startServe(t, dir, "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--watch-every", "50ms")
	got, v1 := actHTTP(t, url, obs)
	for i, o := range obs {
		if w, _ := ref.Act(o); got[i] != w {
			t.Errorf("serve(%v) = %d; policy.Load = %d", o, got[i], w)
		}
	}
	fileURL, _ := startServe(t, file, "--addr", "127.0.0.1:0", "--grpc-addr", "")
	if fromFile, vf := actHTTP(t, fileURL, obs); !slicesEqual(fromFile, got) || vf != v1 {
		t.Errorf("serving the exported file: version %d, actions differ from the run's (version %d)", vf, v1)
	}

	if code, _, stderr := run(t, ctx, "train", "--resume", dir, "--set", "stop.iterations=4"); code != 0 {
		t.Fatalf("train --resume = %d: %s", code, stderr)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, v := actHTTP(t, url, obs[:1])
		if v > v1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still version %d 20 s after training wrote newer checkpoints", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, stderr := stop(); code != ExitOK || !strings.Contains(stderr, "serving a new policy") {
		t.Errorf("serve after cancel = %d; want 0 and a logged swap: %s", code, stderr)
	}
	if code, _, _ := run(t, ctx, "serve", filepath.Join(dir, "nothing")); code != ExitUsage {
		t.Errorf("serve of a missing path = %d; want 2", code)
	}
	if code, _, stderr := run(t, ctx, "serve", dir, "--addr", "0.0.0.0:0"); code != ExitUsage || !strings.Contains(stderr, "needs a token") {
		t.Errorf("serve on 0.0.0.0 without a token = %d, %s; want 2 naming the token", code, stderr)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestServeManifest checks deploy/kubernetes/serve.yaml: a Deployment
// and a Service whose selector matches its pods, probes on the HTTP
// port, the token from the Secret and TLS, and args that parse with
// rltrain's own serve command.
func TestServeManifest(t *testing.T) {
	objs := loadManifests(t)
	d, ok := objs["Deployment/rlgo-serve"]
	if !ok {
		t.Fatalf("no Deployment/rlgo-serve in %s", manifests)
	}
	svc, ok := objs["Service/rlgo-serve"]
	if !ok {
		t.Fatalf("no Service/rlgo-serve in %s", manifests)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
		t.Errorf("replicas %v; want ≥ 1", d.Spec.Replicas)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod labels", k, v)
		}
	}
	ports := map[int]bool{}
	for _, p := range svc.Spec.Ports {
		ports[p.Port] = true
	}
	if !ports[8600] || !ports[8601] {
		t.Errorf("Service/rlgo-serve ports %+v; want 8600 (HTTP) and 8601 (gRPC)", svc.Spec.Ports)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers; want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		vols[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !vols[m.Name] {
			t.Errorf("mount %s has no volume", m.Name)
		}
	}
	root := newRoot(Options{Stdout: io.Discard, Stderr: io.Discard})
	cmd, rest, err := root.Find(c.Args)
	if err != nil || cmd.Name() != "serve" {
		t.Fatalf("args %v name no serve command: %v", c.Args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("args %v: %v", c.Args, err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		t.Errorf("args %v: %v", c.Args, err)
	}
	args := strings.Join(c.Args, " ")
	for _, flag := range []string{"--token-file", "--tls-cert", "--tls-key", "--addr=0.0.0.0:8600", "--grpc-addr=0.0.0.0:8601"} {
		if !strings.Contains(args, flag) {
			t.Errorf("args %v lack %s", c.Args, flag)
		}
	}
	if strings.Contains(args, "plaintext") {
		t.Errorf("args %v allow plaintext; the manifest shows the TLS way", c.Args)
	}
}
