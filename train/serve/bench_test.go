package serve

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

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

// BenchmarkServe measures requests/s, actions/s and client-side p50/p99
// latency over HTTP on loopback, for the CartPole network (64, 64) and a
// (256, 256) MLP; clients send one observation per request or 64, from
// 1 or 32 concurrent connections.
//
//	go test -run '^$' -bench BenchmarkServe -benchtime 3s ./train/serve
func BenchmarkServe(b *testing.B) {
	for _, net := range []struct {
		name   string
		hidden []int
	}{{"cartpole64x64", []int{64, 64}}, {"mlp256x256", []int{256, 256}}} {
		for _, load := range []struct {
			name          string
			rows, clients int
		}{{"single/clients=1", 0, 1}, {"single/clients=32", 0, 32}, {"batch64/clients=1", 64, 1}, {"batch64/clients=8", 64, 8}} {
			b.Run(net.name+"/"+load.name, func(b *testing.B) {
				s := serveTest(b, Config{}, benchPolicy(b, net.hidden))
				benchHTTP(b, s, load.rows, load.clients, 0)
			})
		}
	}
}

// BenchmarkServePaced measures latency at a fixed rate: one client sends
// one observation per request, one request every millisecond (1k
// requests/s), the unbatched target.
//
//	go test -run '^$' -bench BenchmarkServePaced -benchtime 5000x ./train/serve
func BenchmarkServePaced(b *testing.B) {
	for _, net := range []struct {
		name   string
		hidden []int
	}{{"cartpole64x64", []int{64, 64}}, {"mlp256x256", []int{256, 256}}} {
		b.Run(net.name, func(b *testing.B) {
			s := serveTest(b, Config{}, benchPolicy(b, net.hidden))
			benchHTTP(b, s, 0, 1, time.Millisecond)
		})
	}
}

func benchHTTP(b *testing.B, s *served, rows, clients int, every time.Duration) {
	bodies := make([][]byte, 64)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range bodies {
		bodies[i] = actBody(rng, rows)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	post := func(body []byte, buf *bytes.Buffer) {
		resp, err := client.Post(s.url+"/v1/act", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		io.Copy(buf, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%d %s", resp.StatusCode, buf.Bytes())
		}
	}
	var warm bytes.Buffer
	for i := range 100 {
		post(bodies[i%len(bodies)], &warm)
	}
	lat := make([][]time.Duration, clients)
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
		wg.Go(func() {
			var buf bytes.Buffer
			next := time.Now()
			for i := range n {
				if every > 0 {
					next = next.Add(every)
					time.Sleep(time.Until(next))
				}
				t0 := time.Now()
				post(bodies[(i+c)%len(bodies)], &buf)
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
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
