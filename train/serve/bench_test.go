package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/rlgo/rlgo/policy"
)

// benchPolicy is a CartPole actor-critic (4 observations, 2 actions)
// with the given hidden layers.
func benchPolicy(b *testing.B, hidden []int) *policy.Exported {
	e := testPolicy(b, "actor_critic", 1, 1)
	e.Model.Hidden = hidden
	w := policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: e.Model}.Init(rand.New(rand.NewPCG(1, 1)))
	w.ObsNorm, w.Version = e.Weights.ObsNorm, 1
	e.Weights = w
	return e
}

// actBody is a request with rows observations (an observation when rows
// is 0).
func actBody(rng *rand.Rand, rows int) []byte {
	obs := func(b []byte) []byte {
		b = append(b, '[')
		for j := range 4 {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, rng.Float64()*2-1, 'g', 6, 32)
		}
		return append(b, ']')
	}
	if rows == 0 {
		return append(obs([]byte(`{"observation":`)), '}')
	}
	b := []byte(`{"observations":[`)
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = obs(b)
	}
	return append(b, "]}"...)
}

// benchNets are the benchmarks' networks: CartPole's (64, 64) and a
// (256, 256) MLP.
var benchNets = []struct {
	name   string
	hidden []int
}{{"cartpole64x64", []int{64, 64}}, {"mlp256x256", []int{256, 256}}}

// benchLoads are the benchmarks' clients: one observation per request or
// 64, from 1 or more concurrent connections.
var benchLoads = []struct {
	name          string
	rows, clients int
}{{"single/clients=1", 0, 1}, {"single/clients=32", 0, 32}, {"batch64/clients=1", 64, 1}, {"batch64/clients=8", 64, 8}}

// BenchmarkServe measures requests/s, actions/s and client-side p50/p99
// latency over HTTP on loopback, for the CartPole network (64, 64) and a
// (256, 256) MLP; clients send one observation per request or 64, from
// 1 or 32 concurrent connections.
//
//	go test -run '^$' -bench 'BenchmarkServe$' -benchtime 3s ./train/serve
func BenchmarkServe(b *testing.B) {
	for _, net := range benchNets {
		for _, load := range benchLoads {
			b.Run(net.name+"/"+load.name, func(b *testing.B) {
				s := serveTest(b, Config{}, benchPolicy(b, net.hidden))
				benchHTTP(b, s, load.rows, load.clients, 0)
			})
		}
	}
}

// BenchmarkServeGRPC is BenchmarkServe over gRPC (msgpack), each client
// with its own connection.
//
//	go test -run '^$' -bench 'BenchmarkServeGRPC$' -benchtime 3s ./train/serve
func BenchmarkServeGRPC(b *testing.B) {
	for _, net := range benchNets {
		for _, load := range benchLoads {
			b.Run(net.name+"/"+load.name, func(b *testing.B) {
				s := serveTest(b, Config{}, benchPolicy(b, net.hidden))
				benchGRPC(b, s, load.rows, load.clients, 0)
			})
		}
	}
}

// BenchmarkServePaced measures latency at a fixed rate: one client sends
// one observation per request, one request every millisecond (1k
// requests/s), the unbatched target, over HTTP and gRPC, with
// the default max_wait (0) and with 500 µs (a request alone must not
// wait for it). The
// "floor" servers answer a fixed reply without decoding, batching or a
// network: the cost of the HTTP (net/http) or gRPC stack and the
// wake-ups alone, on the same client code.
//
//	go test -run '^$' -bench BenchmarkServePaced -benchtime 5000x ./train/serve
func BenchmarkServePaced(b *testing.B) {
	for _, proto := range []string{"http", "grpc"} {
		for _, net := range benchNets {
			b.Run(proto+"/"+net.name, func(b *testing.B) {
				s := serveTest(b, Config{}, benchPolicy(b, net.hidden))
				if proto == "http" {
					benchHTTP(b, s, 0, 1, time.Millisecond)
				} else {
					benchGRPC(b, s, 0, 1, time.Millisecond)
				}
			})
		}
		b.Run(proto+"/cartpole64x64/max-wait=500µs", func(b *testing.B) {
			s := serveTest(b, Config{MaxWait: 500 * time.Microsecond}, benchPolicy(b, []int{64, 64}))
			if proto == "http" {
				benchHTTP(b, s, 0, 1, time.Millisecond)
			} else {
				benchGRPC(b, s, 0, 1, time.Millisecond)
			}
		})
		b.Run(proto+"/floor", func(b *testing.B) {
			s := floorServer(b)
			if proto == "http" {
				benchHTTP(b, s, 0, 1, time.Millisecond)
			} else {
				benchGRPC(b, s, 0, 1, time.Millisecond)
			}
		})
	}
}

// floorServer serves HTTP and gRPC on loopback with the server's
// settings and a fixed answer ({"action":1,"version":1}) to every act
// request: its body is read (HTTP) or its message decoded (gRPC), nothing
// else.
func floorServer(b *testing.B) *served {
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	reply := []byte(`{"action":1,"version":1}`)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header()["Content-Type"] = jsonContentType
		w.Write(reply)
	}), ReadHeaderTimeout: 10 * time.Second}
	g := grpc.NewServer(grpc.ForceServerCodec(Codec{}))
	g.RegisterService(&floorDesc, floorPolicy{})
	go hs.Serve(hl)
	go g.Serve(gl)
	b.Cleanup(func() {
		g.Stop()
		hs.Close()
	})
	return &served{url: "http://" + hl.Addr().String(), grpcAddr: gl.Addr().String()}
}

// floorDesc is the service on the floor server: each request decoded by
// Codec into a new ActRequest, each reply a new ActReply (what the
// server did before it decoded into recycled calls).
var floorDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*policyServer)(nil),
	Methods:     []grpc.MethodDesc{unary("Act", policyServer.Act), unary("Spec", policyServer.Spec)},
	Metadata:    "train/serve/bench_test.go",
}

// policyServer is what floorDesc dispatches to.
type policyServer interface {
	Act(context.Context, *ActRequest) (*ActReply, error)
	Spec(context.Context, *SpecRequest) (*Spec, error)
}

func unary[Req, Resp any](name string, call func(policyServer, context.Context, *Req) (*Resp, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(Req)
			if err := dec(in); err != nil {
				return nil, err
			}
			return call(srv.(policyServer), ctx, in)
		},
	}
}

// floorPolicy answers every act call with action 1.
type floorPolicy struct{}

func (floorPolicy) Act(context.Context, *ActRequest) (*ActReply, error) {
	return &ActReply{Version: 1, Actions: []int{1}}, nil
}

func (floorPolicy) Spec(context.Context, *SpecRequest) (*Spec, error) { return &Spec{}, nil }

func benchHTTP(b *testing.B, s *served, rows, clients int, every time.Duration) {
	bodies := make([][]byte, 64)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range bodies {
		bodies[i] = actBody(rng, rows)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	post := func(body []byte, buf *bytes.Buffer) error {
		resp, err := client.Post(s.url+"/v1/act", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		buf.Reset()
		io.Copy(buf, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%d %s", resp.StatusCode, buf.Bytes())
		}
		return nil
	}
	var warm bytes.Buffer
	for i := range 100 {
		if err := post(bodies[i%len(bodies)], &warm); err != nil {
			b.Fatal(err)
		}
	}
	benchClients(b, rows, clients, every, func(c int) func(i int) error {
		var buf bytes.Buffer
		return func(i int) error { return post(bodies[(i+c)%len(bodies)], &buf) }
	})
}

// actRequest is actBody's request for gRPC.
func actRequest(rng *rand.Rand, rows int) *ActRequest {
	obs := func() []float32 {
		o := make([]float32, 4)
		for j := range o {
			o[j] = float32(rng.Float64()*2 - 1)
		}
		return o
	}
	if rows == 0 {
		return &ActRequest{Observation: obs()}
	}
	r := &ActRequest{Observations: make([][]float32, rows)}
	for i := range rows {
		r.Observations[i] = obs()
	}
	return r
}

func benchGRPC(b *testing.B, s *served, rows, clients int, every time.Duration) {
	reqs := make([]*ActRequest, 64)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range reqs {
		reqs[i] = actRequest(rng, rows)
	}
	conns := make([]*grpc.ClientConn, clients)
	for c := range conns {
		conns[c] = s.dial(b)
		var rep ActReply
		for i := range 100/clients + 1 {
			if err := conns[c].Invoke(context.Background(), MethodAct, reqs[i%len(reqs)], &rep); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchClients(b, rows, clients, every, func(c int) func(i int) error {
		var rep ActReply
		return func(i int) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return conns[c].Invoke(ctx, MethodAct, reqs[(i+c)%len(reqs)], &rep)
		}
	})
}

// benchClients runs b.N requests from clients goroutines (each request
// one call of the function client(c) returns, one every every if it is
// not 0) and reports requests/s, actions/s and the p50 and p99 of their
// latencies.
func benchClients(b *testing.B, rows, clients int, every time.Duration, client func(c int) func(i int) error) {
	lat := make([][]time.Duration, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		n := b.N / clients
		if c < b.N%clients {
			n++
		}
		lat[c] = make([]time.Duration, 0, n)
		do := client(c)
		wg.Go(func() {
			next := time.Now()
			for i := range n {
				if every > 0 {
					next = next.Add(every)
					time.Sleep(time.Until(next))
				}
				t0 := time.Now()
				if err := do(i); err != nil {
					errs <- err
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) }
	perReq := max(rows, 1)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(b.N*perReq)/elapsed.Seconds(), "actions/s")
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

// BenchmarkBatchPath is the server's own cost per request, without HTTP:
// decode, queue, forward pass (batch of 1), encode.
func BenchmarkBatchPath(b *testing.B) {
	for _, hidden := range [][]int{{64, 64}, {256, 256}} {
		b.Run(fmt.Sprint(hidden), func(b *testing.B) {
			srv, err := New(Config{}, benchPolicy(b, hidden))
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			body := actBody(rand.New(rand.NewPCG(1, 1)), 0)
			c := srv.free.get()
			out := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				c.reset()
				if err := decodeAct(body, c, 4, 4, 1024); err != nil {
					b.Fatal(err)
				}
				if err := srv.act(c); err != nil {
					b.Fatal(err)
				}
				out = appendReply(out[:0], c)
			}
		})
	}
}
