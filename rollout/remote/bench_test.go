package remote

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/test/bufconn"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// benchSpec is configs/cartpole-ppo.yaml's policy (64-64 tanh).
func benchSpec() policy.ActorCriticSpec {
	return policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{64, 64}, Activation: policy.Tanh}}
}

// benchRun is configs/cartpole-ppo.yaml's fragment (2 envs × 128 steps),
// one fragment per worker.
func benchRun(workers int) Run {
	return Run{EnvID: "CartPole-v1", Rollout: rollout.Config{Workers: workers, EnvsPerWorker: 2, FragmentLength: 128}, Seed: 1}
}

// benchServer serves a learner on transport "bufconn" (in memory) or
// "tcp" (127.0.0.1) and returns a WorkerConfig that reaches it.
func benchServer(b *testing.B, transport string, run Run) (*Server, WorkerConfig) {
	b.Helper()
	cfg := Config{Listen: "127.0.0.1:0", PollTimeout: 5 * time.Second, SampleTimeout: 30 * time.Second, StartTimeout: 30 * time.Second, ShutdownTimeout: 2 * time.Second}
	wc := WorkerConfig{PollTimeout: 5 * time.Second}
	var s *Server
	var err error
	switch transport {
	case "bufconn":
		if s, err = NewServer(cfg, run); err != nil {
			b.Fatal(err)
		}
		lis := bufconn.Listen(1 << 20)
		s.Serve(lis)
		wc.Learner = "passthrough:///bufnet"
		wc.Dialer = func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }
	case "tcp":
		if s, err = Listen(cfg, run); err != nil {
			b.Fatal(err)
		}
		wc.Learner = s.Addr().String()
	default:
		b.Fatalf("transport %q", transport)
	}
	b.Cleanup(func() { s.Close() })
	return s, wc
}

// pollsInFlight reports whether every one of n members has a WaitWork
// call open on the server.
func (f *Fleet) pollsInFlight(n int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.members) != n {
		return false
	}
	for _, m := range f.members {
		if m.polls == 0 {
			return false
		}
	}
	return true
}

// BenchmarkWeightBroadcast is the latency of a weights broadcast: from
// the learner's SetWeights(vN) to the moment the last of the workers
// has vN in its policy (poll answered, weights decoded, SetWeights on
// the worker's ActorCritic) and would act with it. Each worker has its
// long poll open when SetWeights is called, as real workers do while
// the learner learns; then it samples and uploads the fragment it was
// given, outside the timer. The workers use the real client (dial) on
// an in-memory connection (bufconn) or loopback TCP. ns/op is the latency
// to the last worker; the weights are configs/cartpole-ppo.yaml's
// 64-64 policy.
func BenchmarkWeightBroadcast(b *testing.B) {
	for _, transport := range []string{"bufconn", "tcp"} {
		for _, n := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", transport, n), func(b *testing.B) { benchBroadcast(b, transport, n) })
		}
	}
}

func benchBroadcast(b *testing.B, transport string, n int) {
	spec := benchSpec()
	s, wc := benchServer(b, transport, benchRun(n))
	w := spec.Init(envs.NewRand(1, 2))
	w.Version = 1
	f, err := s.Fleet(spec, w)
	if err != nil {
		b.Fatal(err)
	}
	wc = wc.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan time.Time, n)
	errs := make(chan error, n)
	done := make(chan struct{})
	for range n {
		cc, err := dial(wc)
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		reg, err := invoke[RegisterReply](ctx, cc, methodRegister, &RegisterRequest{Protocol: ProtocolVersion, Hostname: "bench", PID: 1}, 5*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		rw, err := policy.UnmarshalWeights(reg.Weights)
		if err != nil {
			b.Fatal(err)
		}
		pol, err := policy.NewActorCritic(reg.Spec.ActorCritic, rw)
		if err != nil {
			b.Fatal(err)
		}
		rwk, err := rolloutWorker(reg, pol, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer rwk.Close()
		go func() {
			defer func() { done <- struct{}{} }()
			for ctx.Err() == nil {
				rep, err := invoke[WaitWorkReply](ctx, cc, methodWaitWork, &WaitWorkRequest{WorkerID: reg.WorkerID, HaveVersion: pol.Version()}, 10*time.Second)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				if len(rep.Weights) > 0 {
					nw, err := policy.UnmarshalWeights(rep.Weights)
					if err == nil {
						err = pol.SetWeights(nw)
					}
					if err != nil {
						errs <- err
						return
					}
					got <- time.Now()
				}
				if rep.TaskID == "" || rep.Version != pol.Version() {
					continue
				}
				// Do the task as a worker does, so the round completes
				// and the next poll waits instead of getting a task.
				bt, err := rwk.Sample(ctx)
				if err == nil {
					_, err = invoke[UploadReply](ctx, cc, methodUpload, &UploadRequest{WorkerID: reg.WorkerID, TaskID: rep.TaskID, Batch: bt}, 10*time.Second)
				}
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
			}
		}()
	}
	defer func() {
		cancel()
		for range n {
			<-done
		}
	}()
	enc, _ := w.Encode()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if i > 0 {
			// The workers' fragments of the last version: the round ends.
			if _, err := f.Sample(ctx); err != nil {
				b.Fatal(err)
			}
		}
		for !f.pollsInFlight(n) {
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
			time.Sleep(50 * time.Microsecond)
		}
		w.Version++
		b.StartTimer()
		start := time.Now()
		if err := f.SetWeights(ctx, w); err != nil {
			b.Fatal(err)
		}
		var last time.Time
		for range n {
			select {
			case at := <-got:
				if at.After(last) {
					last = at
				}
			case err := <-errs:
				b.Fatal(err)
			}
		}
		lat = append(lat, last.Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(len(enc)), "weights-B")
}

// BenchmarkFleetIteration is one iteration's fleet work as PPO sees it,
// SetWeights then Sample of one CartPole fragment (2 × 128 steps) per
// worker, for the local fleet (goroutines) and the remote fleet with
// RunWorker goroutines over bufconn and loopback TCP (the real worker
// loop: poll, weights, sample, encode, upload, decode, validate). The
// remote rows minus the local row are the remote fleet's overhead at
// equal worker count, without process start or learning.
func BenchmarkFleetIteration(b *testing.B) {
	for _, n := range []int{1, 2} {
		for _, kind := range []string{"local", "bufconn", "tcp"} {
			b.Run(fmt.Sprintf("%s/workers=%d", kind, n), func(b *testing.B) { benchIteration(b, kind, n) })
		}
	}
}

func benchIteration(b *testing.B, kind string, n int) {
	spec := benchSpec()
	run := benchRun(n)
	w := spec.Init(envs.NewRand(1, 2))
	w.Version = 1
	var fl rollout.Fleet
	if kind == "local" {
		lf, err := rollout.NewLocalFleet(run.Rollout, rollout.WorkerSpec{EnvID: run.EnvID, Seed: run.Seed}, func() (rollout.Policy, error) {
			return policy.NewActorCritic(spec, w)
		})
		if err != nil {
			b.Fatal(err)
		}
		defer lf.Close()
		fl = lf
	} else {
		s, wc := benchServer(b, kind, run)
		f, err := s.Fleet(spec, w)
		if err != nil {
			b.Fatal(err)
		}
		fl = f
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, n)
		for range n {
			go func() { done <- RunWorker(ctx, wc) }()
		}
		defer func() {
			cancel()
			for range n {
				<-done
			}
		}()
	}
	ctx := context.Background()
	sample := func() {
		w.Version++
		if err := fl.SetWeights(ctx, w); err != nil {
			b.Fatal(err)
		}
		bs, err := fl.Sample(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(bs) != n || bs[0].WeightsVersion != w.Version {
			b.Fatalf("Sample: %d batches, v%d; want %d with v%d", len(bs), bs[0].WeightsVersion, n, w.Version)
		}
	}
	sample() // the remote workers join; the first fragment builds the envs
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sample()
	}
	b.ReportMetric(float64(b.N*n*run.Rollout.EnvsPerWorker*run.Rollout.FragmentLength)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkWeightsCodec is the msgpack part of a broadcast: the learner
// encoding configs/cartpole-ppo.yaml's weights in SetWeights, and a
// worker decoding them (policy.UnmarshalWeights: header walk and
// msgpack).
func BenchmarkWeightsCodec(b *testing.B) {
	w := benchSpec().Init(envs.NewRand(1, 2))
	data, err := w.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := w.Encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := policy.UnmarshalWeights(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
