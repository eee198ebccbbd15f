package serve

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/policy"
)

// TestActEqualsPolicyLoad: over real HTTP and gRPC on loopback, the
// server's deterministic actions equal policy.Load + Act (ActContinuous)
// for the same observations, one at a time and in a batch, for every
// kind of policy.
func TestActEqualsPolicyLoad(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			e := testPolicy(t, kind, 1, 3)
			ref := loaded(t, e)
			s := serveTest(t, Config{}, e)
			cc := s.dial(t)
			obs := randomObs(rand.New(rand.NewPCG(2, 2)), 64, 4)
			wantAll := make([]any, len(obs))
			distinct := map[string]bool{}
			for i, o := range obs {
				wantAll[i] = want(t, ref, o)
				distinct[fmt.Sprint(wantAll[i])] = true
			}
			if len(distinct) < 2 && kind != "gaussian" {
				t.Fatalf("the test policy answers %v to every observation; the comparison would prove little", distinct)
			}
			for i, o := range obs {
				code, rep := s.post(t, map[string]any{"observation": o})
				if code != http.StatusOK {
					t.Fatalf("POST observation %d: %d %v", i, code, rep)
				}
				if got := jsonAction(rep["action"]); !reflect.DeepEqual(got, wantAll[i]) {
					t.Errorf("HTTP action(%v) = %v; want %v (policy.Load)", o, got, wantAll[i])
				}
				if rep["version"] != float64(3) {
					t.Errorf("version = %v; want 3", rep["version"])
				}
				g, err := s.grpcAct(context.Background(), cc, &ActRequest{Observation: o})
				if err != nil {
					t.Fatalf("gRPC Act: %v", err)
				}
				var got any
				if g.Continuous != nil {
					got = g.Continuous[0]
				} else {
					got = g.Actions[0]
				}
				if !reflect.DeepEqual(got, wantAll[i]) || g.Version != 3 || g.Batch {
					t.Errorf("gRPC action(%v) = %v (version %d, batch %v); want %v, 3", o, got, g.Version, g.Batch, wantAll[i])
				}
			}
			code, rep := s.post(t, map[string]any{"observations": obs})
			if code != http.StatusOK {
				t.Fatalf("POST observations: %d %v", code, rep)
			}
			acts := rep["actions"].([]any)
			g, err := s.grpcAct(context.Background(), cc, &ActRequest{Observations: obs})
			if err != nil {
				t.Fatalf("gRPC Act batch: %v", err)
			}
			for i := range obs {
				if got := jsonAction(acts[i]); !reflect.DeepEqual(got, wantAll[i]) {
					t.Errorf("HTTP batch action %d = %v; want %v", i, got, wantAll[i])
				}
				var got any
				if g.Continuous != nil {
					got = g.Continuous[i]
				} else {
					got = g.Actions[i]
				}
				if !reflect.DeepEqual(got, wantAll[i]) {
					t.Errorf("gRPC batch action %d = %v; want %v", i, got, wantAll[i])
				}
			}
		})
	}
}

// TestProbsAndQValues: probabilities are the softmax of the actor's
// logits (they sum to 1 and their argmax is the action), Q-values' argmax
// is the action, a Gaussian's mean clipped is the action; asking for the
// other kind's output is a 400 naming the field.
func TestProbsAndQValues(t *testing.T) {
	obs := randomObs(rand.New(rand.NewPCG(3, 3)), 8, 4)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			s := serveTest(t, Config{}, testPolicy(t, kind, 1, 1))
			key, other := "probs", "q_values"
			if kind == "q" || kind == "dueling_q" {
				key, other = "q_values", "probs"
			}
			code, rep := s.post(t, map[string]any{"observations": obs, key: true})
			if code != http.StatusOK {
				t.Fatalf("%d %v", code, rep)
			}
			for i := range obs {
				act := jsonAction(rep["actions"].([]any)[i])
				if kind == "gaussian" {
					mean := rep["mean"].([]any)[i].([]any)[0].(float64)
					std := rep["std"].([]any)[i].([]any)[0].(float64)
					if a := act.([]float32)[0]; float64(a) != math.Min(math.Max(mean, -2), 2) && math.Abs(float64(a)-math.Min(math.Max(mean, -2), 2)) > 1e-6 {
						t.Errorf("action %v is not the clipped mean %v", a, mean)
					}
					if math.Abs(std-math.Exp(-0.5)) > 0.2 {
						t.Errorf("std %v; want about exp(-0.5) (log_std_init plus the test's noise)", std)
					}
					continue
				}
				row := rep[key].([]any)[i].([]any)
				best, sum := 0, 0.0
				for j, v := range row {
					sum += v.(float64)
					if v.(float64) > row[best].(float64) {
						best = j
					}
				}
				if best != act.(int) {
					t.Errorf("%s %v: argmax %d; action %d", key, row, best, act)
				}
				if key == "probs" && math.Abs(sum-1) > 1e-5 {
					t.Errorf("probs %v sum to %v", row, sum)
				}
			}
			if kind == "gaussian" {
				return
			}
			code, rep = s.post(t, map[string]any{"observation": obs[0], other: true})
			if code != http.StatusBadRequest || rep["field"] != other {
				t.Errorf("asking a %s policy for %s: %d %v; want 400 naming %s", kind, other, code, rep, other)
			}
		})
	}
}

// TestExploreSeeded: explore samples with an injected stream: the same
// seed gives the same actions, and sampling covers more than the greedy
// action; without explore the answer never changes.
func TestExploreSeeded(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			s := serveTest(t, Config{Seed: 1}, testPolicy(t, kind, 1, 1))
			obs := randomObs(rand.New(rand.NewPCG(4, 4)), 32, 4)
			_, a := s.post(t, map[string]any{"observations": obs, "explore": true, "seed": 42})
			_, b := s.post(t, map[string]any{"observations": obs, "explore": true, "seed": 42})
			_, g := s.post(t, map[string]any{"observations": obs})
			if !reflect.DeepEqual(a["actions"], b["actions"]) {
				t.Errorf("seed 42 twice: %v then %v", a["actions"], b["actions"])
			}
			if reflect.DeepEqual(a["actions"], g["actions"]) {
				t.Errorf("explore answered the greedy actions for all 32 observations: %v", a["actions"])
			}
			_, c := s.post(t, map[string]any{"observations": obs, "explore": true, "seed": 43})
			if reflect.DeepEqual(a["actions"], c["actions"]) {
				t.Errorf("seeds 42 and 43 gave the same 32 samples")
			}
		})
	}
}

// TestFrameStackSessions: with frame stacking, a session's frames are
// stacked as envs.FrameStack stacks them (reset padding, or zero
// padding), so the answer equals policy.Load on the stacked observation;
// reset starts a new episode; an idle session is forgotten; too many
// sessions get 429 naming session.
func TestFrameStackSessions(t *testing.T) {
	for _, zero := range []bool{false, true} {
		t.Run(fmt.Sprintf("zero_padding=%v", zero), func(t *testing.T) {
			e := testPolicyFrames(t, "actor_critic", 5, 1, 3)
			ref := loaded(t, e)
			var now atomic.Int64
			now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
			s := serveTest(t, Config{FrameStack: FrameStack{N: 3, ZeroPadding: zero}, MaxSessions: 2, SessionIdle: time.Minute,
				Now: func() time.Time { return time.Unix(0, now.Load()) }}, e)
			frames := randomObs(rand.New(rand.NewPCG(6, 6)), 6, 4)
			var stack []float32
			pad := func(f []float32) []float32 {
				if zero {
					return make([]float32, 4)
				}
				return f
			}
			check := func(body map[string]any, stack []float32) {
				t.Helper()
				code, rep := s.post(t, body)
				if code != http.StatusOK {
					t.Fatalf("%v: %d %v", body, code, rep)
				}
				if got, w := jsonAction(rep["action"]), want(t, ref, stack); got != w {
					t.Errorf("stack %v: action %v; want %v", stack, got, w)
				}
			}
			for i, f := range frames {
				if i == 0 {
					stack = append(append(append([]float32{}, pad(f)...), pad(f)...), f...)
				} else {
					stack = append(append([]float32{}, stack[4:]...), f...)
				}
				check(map[string]any{"observation": f, "session": "a"}, stack)
			}
			// reset: a new episode on the same session.
			stack = append(append(append([]float32{}, pad(frames[2])...), pad(frames[2])...), frames[2]...)
			check(map[string]any{"observation": frames[2], "session": "a", "reset": true}, stack)
			// Without a session the whole stacked observation is sent.
			check(map[string]any{"observation": stack}, stack)
			code, rep := s.post(t, map[string]any{"observation": frames[0]})
			if code != http.StatusBadRequest || rep["field"] != "observation" {
				t.Errorf("a frame without a session: %d %v; want 400 naming observation", code, rep)
			}
			// Two sessions fill the limit; a third waits until one is idle.
			check(map[string]any{"observation": frames[1], "session": "b"}, append(append(append([]float32{}, pad(frames[1])...), pad(frames[1])...), frames[1]...))
			code, rep = s.post(t, map[string]any{"observation": frames[1], "session": "c"})
			if code != http.StatusTooManyRequests || rep["field"] != "session" {
				t.Errorf("a third session over a limit of 2: %d %v; want 429 naming session", code, rep)
			}
			now.Add(int64(2 * time.Minute))
			fresh := append(append(append([]float32{}, pad(frames[4])...), pad(frames[4])...), frames[4]...)
			check(map[string]any{"observation": frames[4], "session": "c"}, fresh)
			check(map[string]any{"observation": frames[4], "session": "a"}, fresh) // idle: a new episode
			// Sessions in a batch, each its own stack.
			code, rep = s.post(t, map[string]any{"observations": [][]float32{frames[5], frames[5]}, "sessions": []string{"a", "c"}})
			if code != http.StatusOK {
				t.Fatalf("batch with sessions: %d %v", code, rep)
			}
			next := append(append([]float32{}, fresh[4:]...), frames[5]...)
			w := want(t, ref, next)
			for i, a := range rep["actions"].([]any) {
				if jsonAction(a) != w {
					t.Errorf("batch session %d: %v; want %v", i, a, w)
				}
			}
		})
	}
}

// TestBadRequests: malformed or ill-shaped requests get 4xx over HTTP
// (InvalidArgument over gRPC) with a message naming the field.
func TestBadRequests(t *testing.T) {
	// max_wait: requests refused must not count as on their way, or later
	// batches would wait for them (settled, at the end).
	s := serveTest(t, Config{MaxRequestRows: 4, MaxBodyBytes: 4096, FrameStack: FrameStack{N: 1}, MaxWait: time.Second}, testPolicy(t, "actor_critic", 1, 1))
	for _, tc := range []struct {
		name, body string
		code       int
		field      string
	}{
		{"not json", `hello`, 400, ""},
		{"empty object", `{}`, 400, "observation"},
		{"short observation", `{"observation":[1,2,3]}`, 400, "observation"},
		{"long observation", `{"observation":[1,2,3,4,5]}`, 400, "observation"},
		{"string value", `{"observation":[1,"2",3,4]}`, 400, "observation[1]"},
		{"NaN", `{"observation":[1,2,NaN,4]}`, 400, "observation[2]"},
		{"Infinity", `{"observation":[1,2,3,-Infinity]}`, 400, "observation[3]"},
		{"overflow", `{"observation":[1e39,2,3,4]}`, 400, "observation[0]"},
		{"batch row short", `{"observations":[[1,2,3,4],[1,2]]}`, 400, "observations[1]"},
		{"batch NaN", `{"observations":[[1,2,3,4],[1,NaN,3,4]]}`, 400, "observations[1][1]"},
		{"too many rows", `{"observations":[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}`, 400, "observations"},
		{"empty batch", `{"observations":[]}`, 400, "observations"},
		{"both", `{"observation":[1,2,3,4],"observations":[[1,2,3,4]]}`, 400, "observations"},
		{"unknown field", `{"observation":[1,2,3,4],"temperature":1}`, 400, `"temperature"`},
		{"explore not bool", `{"observation":[1,2,3,4],"explore":1}`, 400, "explore"},
		{"seed negative", `{"observation":[1,2,3,4],"seed":-1}`, 400, "seed"},
		{"reset without session", `{"observation":[1,2,3,4],"reset":true}`, 400, "reset"},
		{"session too long", `{"observation":[1,2,3,4],"session":"` + strings.Repeat("x", 200) + `"}`, 400, "session"},
		{"sessions count", `{"observations":[[1,2,3,4]],"sessions":["a","b"]}`, 400, "sessions"},
		{"q_values of an actor-critic", `{"observation":[1,2,3,4],"q_values":true}`, 400, "q_values"},
		{"trailing data", `{"observation":[1,2,3,4]} x`, 400, ""},
		{"too large", `{"observation":[` + strings.Repeat("1,", 3000) + `1]}`, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, rep := s.post(t, tc.body)
			if code != tc.code {
				t.Errorf("POST %.60s: %d %v; want %d", tc.body, code, rep, tc.code)
			}
			if rep["field"] != nil && tc.field != "" && rep["field"] != tc.field || tc.field != "" && !strings.Contains(rep["error"].(string), tc.field) {
				t.Errorf("POST %.60s: %v; want the field %s named", tc.body, rep, tc.field)
			}
		})
	}
	resp, err := s.client.Get(s.url + "/v1/act")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/act: %d; want 405", resp.StatusCode)
	}

	cc := s.dial(t)
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name  string
		req   *ActRequest
		field string
	}{
		{"empty", &ActRequest{}, "observation"},
		{"short", &ActRequest{Observation: []float32{1, 2}}, "observation"},
		{"NaN", &ActRequest{Observation: []float32{1, nan, 3, 4}}, "observation[1]"},
		{"batch row", &ActRequest{Observations: [][]float32{{1, 2, 3, 4}, {1}}}, "observations[1]"},
		{"too many rows", &ActRequest{Observations: make([][]float32, 5)}, "observations"},
		{"q_values", &ActRequest{Observation: []float32{1, 2, 3, 4}, QValues: true}, "q_values"},
	} {
		t.Run("grpc/"+tc.name, func(t *testing.T) {
			_, err := s.grpcAct(context.Background(), cc, tc.req)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Act(%s): %v; want InvalidArgument naming %s", tc.name, err, tc.field)
			}
		})
	}
	// A message that is not msgpack at all.
	err = cc.Invoke(context.Background(), MethodAct, rawMsg{0xdd, 0xff, 0xff, 0xff, 0xff}, new(ActReply), grpc.ForceCodec(rawCodec{}))
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Act(array32 header of 4 billion elements): %v; want InvalidArgument", err)
	}
	// A message over max_body_bytes, refused before the handler.
	_, err = s.grpcAct(context.Background(), cc, &ActRequest{Observation: make([]float32, 2000)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("Act(8 kB message, limit 4 kB): %v; want ResourceExhausted", err)
	}
	s.settled(t)
}

// rawMsg is a message's bytes, sent as they are by rawCodec.
type rawMsg []byte

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return v.(rawMsg), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { return Codec{}.Unmarshal(data, v) }
func (rawCodec) Name() string                       { return "msgpack" }

// TestAuth: with a token, act and spec need it over HTTP and gRPC;
// health, readiness and metrics do not. Listening beyond loopback needs a
// token, and TLS unless plaintext is allowed.
func TestAuth(t *testing.T) {
	s := serveTest(t, Config{Token: "s3cret", MaxWait: time.Second}, testPolicy(t, "actor_critic", 1, 1))
	obs := map[string]any{"observation": []float32{0, 0, 0, 0}}
	if code, rep := s.post(t, obs); code != http.StatusUnauthorized {
		t.Errorf("no token: %d %v; want 401", code, rep)
	}
	if code, rep := s.post(t, obs, "Authorization", "Bearer wrong"); code != http.StatusUnauthorized || rep["error"] != "wrong token" {
		t.Errorf("wrong token: %d %v; want 401 wrong token", code, rep)
	}
	if code, rep := s.post(t, obs, "Authorization", "Bearer s3cret"); code != http.StatusOK {
		t.Errorf("token: %d %v; want 200", code, rep)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := s.client.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a token: %d; want 200", path, resp.StatusCode)
		}
	}
	resp, err := s.client.Get(s.url + "/v1/spec")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/spec without a token: %d; want 401", resp.StatusCode)
	}
	cc := s.dial(t)
	req := &ActRequest{Observation: []float32{0, 0, 0, 0}}
	if _, err := s.grpcAct(context.Background(), cc, req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC without a token: %v; want Unauthenticated", err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer wrong")
	if _, err := s.grpcAct(ctx, cc, req); status.Code(err) != codes.PermissionDenied {
		t.Errorf("gRPC with a wrong token: %v; want PermissionDenied", err)
	}
	ctx = metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer s3cret")
	if _, err := s.grpcAct(ctx, cc, req); err != nil {
		t.Errorf("gRPC with the token: %v", err)
	}
	s.settled(t)

	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Addr: "0.0.0.0:8600"}, "addr: listening on 0.0.0.0:8600 (not loopback) needs a token"},
		{Config{Addr: "127.0.0.1:8600", GRPCAddr: ":8601"}, "grpc_addr: listening on :8601 (not loopback) needs a token"},
		{Config{Addr: "0.0.0.0:8600", Token: "x"}, "needs TLS"},
		{Config{Addr: "0.0.0.0:8600", Token: "x", AllowPlaintext: true}, ""},
		{Config{Addr: "0.0.0.0:8600", Token: "x", TLSCertFile: "c.pem"}, "tls: give both"},
		{Config{MaxWait: 2 * time.Second}, "max_wait"},
		{Config{FrameStack: FrameStack{N: -1}}, "frame_stack"},
	} {
		err := tc.cfg.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v; want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestHotSwapUnderLoad: while clients send requests over HTTP and gRPC
// without pause, new versions are swapped in; every request is answered,
// each client sees versions only move forward, every answer is the one
// its version's policy gives, and the last version is served in the end.
func TestHotSwapUnderLoad(t *testing.T) {
	const versions = 12
	pols := make(map[uint64]*policy.Exported, versions)
	obs := randomObs(rand.New(rand.NewPCG(8, 8)), 16, 4)
	wantOf := map[uint64][]any{}
	for v := uint64(1); v <= versions; v++ {
		e := testPolicy(t, "actor_critic", v, v)
		pols[v] = e
		ref := loaded(t, e)
		for _, o := range obs {
			wantOf[v] = append(wantOf[v], want(t, ref, o))
		}
	}
	s := serveTest(t, Config{MaxWait: 100 * time.Microsecond}, testPolicy(t, "actor_critic", 1, 1))
	cc := s.dial(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var answered, failures atomic.Int64
	errs := make(chan error, 100)
	fail := func(err error) {
		failures.Add(1)
		select {
		case errs <- err:
		default:
		}
	}
	for cl := range 6 {
		wg.Go(func() {
			last := uint64(0)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := (i + cl) % len(obs)
				var version uint64
				var action any
				if cl%3 == 2 {
					rep, err := s.grpcAct(context.Background(), cc, &ActRequest{Observation: obs[k]})
					if err != nil {
						fail(fmt.Errorf("client %d gRPC: %v", cl, err))
						continue
					}
					version, action = rep.Version, rep.Actions[0]
				} else {
					code, rep := s.post(t, map[string]any{"observation": obs[k]})
					if code != http.StatusOK {
						fail(fmt.Errorf("client %d: %d %v", cl, code, rep))
						continue
					}
					version, action = uint64(rep["version"].(float64)), jsonAction(rep["action"])
				}
				answered.Add(1)
				if version < last {
					fail(fmt.Errorf("client %d: version %d after %d", cl, version, last))
				}
				last = version
				if w := wantOf[version][k]; action != w {
					fail(fmt.Errorf("client %d: version %d observation %d: action %v; want %v", cl, version, k, action, w))
				}
			}
		})
	}
	// Each swap comes after at least 20 more answers, so every version
	// is swapped in under load however slow the machine.
	waitAnswers := func(n int64) {
		deadline := time.Now().Add(30 * time.Second)
		for answered.Load()+failures.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d answers after 30 s; want %d", answered.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for v := uint64(2); v <= versions; v++ {
		waitAnswers(int64(v-1) * 20)
		if err := s.srv.Swap(pols[v]); err != nil {
			t.Fatalf("Swap(%d): %v", v, err)
		}
	}
	waitAnswers(versions * 20)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if failures.Load() != 0 {
		t.Errorf("%d answered, %d failed; want none failed", answered.Load(), failures.Load())
	}
	if err := s.srv.Swap(pols[5]); err == nil || !strings.Contains(err.Error(), ErrOlderVersion.Error()) {
		t.Errorf("Swap(older version 5): %v; want %v", err, ErrOlderVersion)
	}
	if code, rep := s.post(t, map[string]any{"observation": obs[0]}); code != 200 || rep["version"] != float64(versions) {
		t.Errorf("after the swaps: %d %v; want version %d", code, rep, versions)
	}
	t.Logf("%d requests answered during %d swaps", answered.Load(), versions-1)
}

// TestGracefulShutdown: requests in flight when Serve's context is
// cancelled are answered, both one waiting in a batch and those whose
// handlers still read their bodies, and Serve returns.
func TestGracefulShutdown(t *testing.T) {
	const n = 8
	s := serveTest(t, Config{MaxWait: time.Second, MaxBatch: 1000}, testPolicy(t, "actor_critic", 1, 1))
	send, codes := heldRequests(t, s, n)
	// One request reaches the batch, which waits (up to 1 s) for the
	// others on their way.
	send(0)
	waitFor(t, "a request in the batch", func() bool { return s.srv.batch.inflight.Load() == 1 })
	s.cancel()
	waitFor(t, "not ready", func() bool { return s.srv.draining.Load() })
	for i := 1; i < n; i++ {
		send(i)
	}
	for range n {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("a request in flight at shutdown: %d; want 200", c)
		}
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	s.cancel = nil
	if _, err := s.client.Get(s.url + "/healthz"); err == nil {
		t.Error("the server still accepts connections after Serve returned")
	}
}

// TestSpecAndMetrics: /v1/spec and gRPC Spec describe the policy;
// /metrics counts requests, batch sizes and latency.
func TestSpecAndMetrics(t *testing.T) {
	s := serveTest(t, Config{FrameStack: FrameStack{N: 2}}, testPolicyFrames(t, "dueling_q", 1, 9, 2))
	resp, err := s.client.Get(s.url + "/v1/spec")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, w := range []string{`"kind":"q"`, `"version":9`, `"obs_dim":8`, `"frame_stack":2`, `"frame_size":4`, `"num_actions":3`, `"hidden":[16,16]`, `"dueling":true`, `"normalized":true`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("spec %s lacks %s", b, w)
		}
	}
	var sp Spec
	if err := s.dial(t).Invoke(context.Background(), MethodSpec, &SpecRequest{}, &sp); err != nil || sp.Version != 9 || sp.FrameSize != 4 {
		t.Errorf("gRPC Spec = %+v, %v; want version 9, frame size 4", sp, err)
	}
	s.post(t, map[string]any{"observations": [][]float32{make([]float32, 8), make([]float32, 8)}})
	s.post(t, map[string]any{"observation": []float32{1}})
	resp, err = s.client.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, w := range []string{`rlgo_serve_requests_total{outcome="ok",protocol="http"} 1`, `rlgo_serve_requests_total{outcome="bad_request",protocol="http"} 1`,
		"rlgo_serve_actions_total 2", "rlgo_serve_batch_size_sum 2", `rlgo_serve_request_duration_seconds_count{protocol="http"} 1`, "rlgo_serve_policy_version 9"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}

// TestGRPCFromAnyEncoder: a request as Python's msgpack packs it
// (float64 and integer numbers, a plain map) is answered like the Go
// client's float32 one; a malformed one (an unknown or repeated key, a
// value of the wrong type, a non-finite number, a bad session) is
// InvalidArgument naming the field.
func TestGRPCFromAnyEncoder(t *testing.T) {
	e := testPolicy(t, "actor_critic", 1, 4)
	ref := loaded(t, e)
	s := serveTest(t, Config{}, e)
	cc := s.dial(t)
	for _, obs := range [][]any{{0.25, -1.5, 0.125, 2.0}, {0, 1, -2, 3}, {int64(-1), 0.5, uint8(2), float32(0.75)}} {
		b, err := msgpack.Marshal(map[string]any{"observations": [][]any{obs}, "probs": true})
		if err != nil {
			t.Fatal(err)
		}
		var rep ActReply
		if err := cc.Invoke(context.Background(), MethodAct, rawMsg(b), &rep, grpc.ForceCodec(rawCodec{})); err != nil {
			t.Fatalf("Act(%v): %v", obs, err)
		}
		f := make([]float32, len(obs))
		for i, v := range obs {
			f[i], _ = toFloat(v)
		}
		if w := want(t, ref, f); rep.Actions[0] != w || rep.Version != 4 || len(rep.Probs) != 1 {
			t.Errorf("Act(%v) = %+v; want action %v, version 4, probs", obs, rep, w)
		}
	}
	obs := []float64{0, 0, 0, 0}
	for _, tc := range []struct {
		name  string
		msg   []byte
		field string
	}{
		{"unknown key", msgpackMap(t, "observation", obs, "temperature", 1), "temperature"},
		{"key twice", msgpackMap(t, "observation", obs, "probs", true, "probs", false), "probs"},
		{"observation twice", msgpackMap(t, "observation", obs, "observation", obs), "observation"},
		{"both", msgpackMap(t, "observation", obs, "observations", [][]float64{obs}), "observations"},
		{"string number", msgpackMap(t, "observation", []any{0, "1", 2, 3}), "observation[1]"},
		{"nil number", msgpackMap(t, "observations", [][]any{{0, 1, 2, 3}, {0, nil, 2, 3}}), "observations[1][1]"},
		{"float64 overflow", msgpackMap(t, "observation", []float64{0, 1e300, 2, 3}), "observation[1]"},
		{"empty row", msgpackMap(t, "observations", [][]float64{obs, {}}), "observations[1]"},
		{"negative seed", msgpackMap(t, "observation", obs, "seed", -1), "seed"},
		{"float seed", msgpackMap(t, "observation", obs, "seed", 1.5), "seed"},
		{"explore not bool", msgpackMap(t, "observation", obs, "explore", 1), "explore"},
		{"session not string", msgpackMap(t, "observation", obs, "session", 3), "session"},
		{"empty session", msgpackMap(t, "observation", obs, "session", ""), "session"},
		{"sessions[1] too long", msgpackMap(t, "observations", [][]float64{obs, obs}, "sessions", []string{"a", strings.Repeat("x", 200)}), "sessions[1]"},
		{"session and sessions", msgpackMap(t, "observation", obs, "session", "a", "sessions", []string{"a"}), "sessions"},
		{"reset without session", msgpackMap(t, "observation", obs, "reset", true), "reset"},
		{"not a map", []byte{0x93, 1, 2, 3}, "map"},
		{"trailing bytes", append(msgpackMap(t, "observation", obs), 0xc0), "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := cc.Invoke(context.Background(), MethodAct, rawMsg(tc.msg), new(ActReply), grpc.ForceCodec(rawCodec{}))
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Act(%x): %v; want InvalidArgument naming %s", tc.msg, err, tc.field)
			}
		})
	}
}

// msgpackMap encodes the keys and values kv as one msgpack map, in
// order (a key may repeat, as no Go map can).
func msgpackMap(t *testing.T, kv ...any) []byte {
	b := []byte{0x80 | byte(len(kv)/2)}
	for _, v := range kv {
		e, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, e...)
	}
	return b
}
