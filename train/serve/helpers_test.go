package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/rlgo/rlgo/policy"
)

// kinds are the policies the tests serve: CartPole's shapes for the
// discrete ones, Pendulum's for the Gaussian.
var kinds = []string{"actor_critic", "q", "dueling_q", "gaussian"}

// testPolicy returns an exported policy of kind with random weights
// drawn from seed, observation statistics, and the given version.
func testPolicy(t testing.TB, kind string, seed, version uint64) *policy.Exported {
	t.Helper()
	return testPolicyFrames(t, kind, seed, version, 1)
}

// testPolicyFrames is testPolicy for a policy that sees frames stacked
// observations (4 values each).
func testPolicyFrames(t testing.TB, kind string, seed, version uint64, frames int) *policy.Exported {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	dim := 4 * frames
	e := &policy.Exported{EnvID: "CartPole-v1", NumActions: 2, Model: policy.ModelConfig{Hidden: []int{16, 16}, Activation: policy.Tanh}}
	for range dim {
		e.ObsLow = append(e.ObsLow, -5)
		e.ObsHigh = append(e.ObsHigh, 5)
	}
	var w *policy.Weights
	switch kind {
	case "actor_critic":
		e.Kind = "actor_critic"
		w = policy.ActorCriticSpec{ObsDim: dim, NumActions: 2, Model: e.Model}.Init(rng)
	case "q", "dueling_q":
		e.Kind, e.Dueling = "q", kind == "dueling_q"
		e.NumActions = 3
		w = policy.QSpec{ObsDim: dim, NumActions: 3, Model: e.Model, Dueling: e.Dueling}.Init(rng)
		w.Explore.Epsilon = 0.5
	case "gaussian":
		e.Kind, e.NumActions = "actor_critic", 0
		e.ActionLow, e.ActionHigh = []float32{-2}, []float32{2}
		e.Model.LogStdInit = -0.5
		w = policy.ActorCriticSpec{ObsDim: dim, ActionDim: 1, Model: e.Model}.Init(rng)
	default:
		t.Fatalf("unknown kind %s", kind)
	}
	// Larger output weights than the orthogonal init's 0.01 gain, so that
	// the actions depend on the observation.
	for i := range w.Tensors {
		for j := range w.Tensors[i].Data {
			w.Tensors[i].Data[j] += float32(rng.NormFloat64() * 0.3)
		}
	}
	w.ObsNorm = policy.NewObsNorm(dim, 5)
	for i := range dim {
		w.ObsNorm.Mean[i] = rng.NormFloat64() * 0.1
		w.ObsNorm.Var[i] = 0.5 + rng.Float64()
	}
	w.ObsNorm.Count = 1000
	w.Version = version
	e.Weights = w
	return e
}

// loaded is what policy.Load gives for e (the reference the server must equal).
func loaded(t testing.TB, e *policy.Exported) *policy.Policy {
	t.Helper()
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// randomObs returns n observations of dim values in [-3, 3].
func randomObs(rng *rand.Rand, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, dim)
		for j := range out[i] {
			out[i][j] = float32(rng.Float64()*6 - 3)
		}
	}
	return out
}

// served is a server on loopback ports, stopped with the test.
type served struct {
	srv      *Server
	url      string
	grpcAddr string
	cancel   context.CancelFunc
	done     chan error
	client   *http.Client
}

func serveTest(t testing.TB, cfg Config, e *policy.Exported) *served {
	t.Helper()
	srv, err := New(cfg, e)
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	scheme := "http://"
	if cfg.TLSCertFile != "" {
		scheme = "https://"
	}
	s := &served{srv: srv, url: scheme + hl.Addr().String(), grpcAddr: gl.Addr().String(), cancel: cancel, done: make(chan error, 1),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	go func() { s.done <- srv.Serve(ctx, hl, gl) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *served) stop(t testing.TB) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Serve did not return 10 s after its context was cancelled")
	}
}

// post sends body to /v1/act and returns the status and decoded reply.
func (s *served) post(t testing.TB, body any, header ...string) (int, map[string]any) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, s.url+"/v1/act", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("reply %q: %v", raw, err)
	}
	return resp.StatusCode, out
}

// settled checks that no request counts as on its way once every
// client has its answer (a request that did count would make every batch
// with max_wait wait for it).
func (s *served) settled(t testing.TB) {
	t.Helper()
	// gRPC's end of a call is handled just after the client has its status.
	deadline := time.Now().Add(5 * time.Second)
	for s.srv.batch.arriving.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := s.srv.batch.arriving.Load(); n != 0 {
		t.Errorf("%d requests count as on their way after all were answered; want 0", n)
	}
}

func (s *served) dial(t testing.TB) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(Codec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func (s *served) grpcAct(ctx context.Context, cc *grpc.ClientConn, req *ActRequest) (*ActReply, error) {
	var rep ActReply
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := cc.Invoke(ctx, MethodAct, req, &rep)
	return &rep, err
}

// want returns policy.Load's action for obs: an int or []float32.
func want(t testing.TB, p *policy.Policy, obs []float32) any {
	t.Helper()
	if p.Continuous() {
		a, err := p.ActContinuous(obs)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), a...)
	}
	a, err := p.Act(obs)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// jsonAction converts a decoded JSON action to an int or []float32.
func jsonAction(v any) any {
	switch a := v.(type) {
	case float64:
		return int(a)
	case []any:
		out := make([]float32, len(a))
		for i, x := range a {
			out[i] = float32(x.(float64))
		}
		return out
	}
	return fmt.Sprintf("%T %v", v, v)
}
