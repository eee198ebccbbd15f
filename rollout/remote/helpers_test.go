package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// TestMain runs the test binary as a worker process when the integration
// tests re-execute it (workerProcessEnv set); otherwise it runs the tests
// and then checks that no goroutine outlives them.
func TestMain(m *testing.M) {
	if os.Getenv(workerProcessEnv) != "" {
		os.Exit(workerProcessMain())
	}
	if os.Getenv(amplifyLearnerEnv) != "" {
		os.Exit(amplifyLearnerMain())
	}
	goleak.VerifyTestMain(m)
}

func init() {
	// SlowCartPole-v0 is CartPole with a sleep per step, so a test can
	// kill a worker in the middle of a fragment.
	envs.Register(envs.Spec{
		ID:              "rlgo-test/SlowCartPole-v0",
		MaxEpisodeSteps: 500,
		New: func(opts envs.Options) (envs.Env, error) {
			d, err := envs.FloatOption(opts, "sleep_ms", 1)
			if err != nil {
				return nil, err
			}
			c, err := classic.NewCartPole(nil)
			if err != nil {
				return nil, err
			}
			return &slowEnv{Env: c, sleep: time.Duration(d * float64(time.Millisecond))}, nil
		},
	})
	// SlowStartCartPole-v0 is CartPole that takes build_ms to build, as
	// an env server that imports a simulator does.
	envs.Register(envs.Spec{
		ID:              "rlgo-test/SlowStartCartPole-v0",
		MaxEpisodeSteps: 500,
		New: func(opts envs.Options) (envs.Env, error) {
			d, err := envs.FloatOption(opts, "build_ms", 0)
			if err != nil {
				return nil, err
			}
			time.Sleep(time.Duration(d * float64(time.Millisecond)))
			return classic.NewCartPole(nil)
		},
	})
	// FlakyCartPole-v0 is CartPole whose env 0 panics at its panic_at-th
	// step, counted over the whole process (so a recreated env survives).
	envs.Register(envs.Spec{
		ID:              "rlgo-test/FlakyCartPole-v0",
		MaxEpisodeSteps: 500,
		New: func(opts envs.Options) (envs.Env, error) {
			at, err := envs.FloatOption(opts, "panic_at", 10)
			if err != nil {
				return nil, err
			}
			c, err := classic.NewCartPole(nil)
			if err != nil {
				return nil, err
			}
			return &flakyEnv{Env: c, at: int64(at)}, nil
		},
	})
}

type slowEnv struct {
	envs.Env
	sleep time.Duration
}

func (e *slowEnv) Step(a envs.Action) (envs.StepResult, error) {
	time.Sleep(e.sleep)
	return e.Env.Step(a)
}

var flakySteps struct {
	sync.Mutex
	n int64
}

type flakyEnv struct {
	envs.Env
	at int64
}

func (e *flakyEnv) Step(a envs.Action) (envs.StepResult, error) {
	flakySteps.Lock()
	flakySteps.n++
	n := flakySteps.n
	flakySteps.Unlock()
	if n == e.at {
		panic(fmt.Sprintf("flaky env: step %d", n))
	}
	return e.Env.Step(a)
}

// cartPoleRun is a small CartPole run: 2 fragments of 2 envs × 32 steps.
func cartPoleRun() Run {
	return Run{EnvID: "CartPole-v1", Rollout: rollout.Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 32}, Seed: 7}
}

func cartPoleSpec() policy.ActorCriticSpec {
	return policy.ActorCriticSpec{ObsDim: 4, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{8}, Activation: policy.Tanh}}
}

func initWeights(spec policy.ActorCriticSpec, version uint64) *policy.Weights {
	w := spec.Init(envs.NewRand(1, 2))
	w.Version = version
	return w
}

// fastConfig has short timeouts, so failures show within a test's time.
func fastConfig() Config {
	return Config{
		Listen:            "127.0.0.1:0",
		HeartbeatInterval: 100 * time.Millisecond,
		WorkerTimeout:     500 * time.Millisecond,
		PollTimeout:       500 * time.Millisecond,
		SampleTimeout:     10 * time.Second,
		StartTimeout:      10 * time.Second,
		ShutdownTimeout:   2 * time.Second,
	}
}

// bufServer serves a server on an in-memory listener; conn dials it.
type bufServer struct {
	*Server
	lis *bufconn.Listener
}

func startBuf(t *testing.T, cfg Config, run Run) *bufServer {
	t.Helper()
	s, err := NewServer(cfg, run)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	s.Serve(lis)
	t.Cleanup(func() { s.Close() })
	return &bufServer{Server: s, lis: lis}
}

func (b *bufServer) dialer() func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) { return b.lis.DialContext(ctx) }
}

// conn is a raw client connection with opts added.
func (b *bufServer) conn(t *testing.T, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{
		grpc.WithContextDialer(b.dialer()),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts...)
	cc, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// fakeWorker drives the protocol by hand, sampling with a real
// rollout.Worker so its batches are well formed.
type fakeWorker struct {
	t   *testing.T
	cc  *grpc.ClientConn
	reg *RegisterReply
	pol *policy.ActorCritic
	rw  *rollout.Worker
}

func newFakeWorker(t *testing.T, cc *grpc.ClientConn) *fakeWorker {
	t.Helper()
	reg, err := invoke[RegisterReply](context.Background(), cc, methodRegister, &RegisterRequest{Protocol: ProtocolVersion, Hostname: "test", PID: 1}, 5*time.Second)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	w, err := policy.UnmarshalWeights(reg.Weights)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.NewActorCritic(reg.Spec.ActorCritic, w)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := rolloutWorker(reg, pol, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rw.Close() })
	return &fakeWorker{t: t, cc: cc, reg: reg, pol: pol, rw: rw}
}

func (f *fakeWorker) poll() (*WaitWorkReply, error) {
	rep, err := invoke[WaitWorkReply](context.Background(), f.cc, methodWaitWork, &WaitWorkRequest{WorkerID: f.reg.WorkerID, HaveVersion: f.pol.Version()}, 5*time.Second)
	if err == nil && len(rep.Weights) > 0 {
		w, err := policy.UnmarshalWeights(rep.Weights)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := f.pol.SetWeights(w); err != nil {
			f.t.Fatal(err)
		}
	}
	return rep, err
}

// task polls until it gets a task.
func (f *fakeWorker) task() string {
	f.t.Helper()
	for range 50 {
		rep, err := f.poll()
		if err != nil {
			f.t.Fatalf("WaitWork: %v", err)
		}
		if rep.TaskID != "" && rep.Version == f.pol.Version() {
			return rep.TaskID
		}
	}
	f.t.Fatal("no task after 50 polls")
	return ""
}

func (f *fakeWorker) sample() *rollout.SampleBatch {
	f.t.Helper()
	b, err := f.rw.Sample(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fakeWorker) upload(task string, b *rollout.SampleBatch) (UploadStatus, error) {
	rep, err := invoke[UploadReply](context.Background(), f.cc, methodUpload, &UploadRequest{WorkerID: f.reg.WorkerID, TaskID: task, Batch: b}, 5*time.Second)
	if err != nil {
		return "", err
	}
	return rep.Status, nil
}

// eventually retries cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var errTimeout = errors.New("timeout")

// sampleWithin runs fleet.Sample with a bound.
func sampleWithin(f rollout.Fleet, d time.Duration) ([]*rollout.SampleBatch, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	b, err := f.Sample(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = errTimeout
	}
	return b, time.Since(start), err
}

const workerProcessEnv = "RLGO_REMOTE_TEST_WORKER"

// workerProcessMain is main() of a worker process: RunWorker with the
// learner address from the environment.
func workerProcessMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := RunWorker(ctx, WorkerConfig{
		Learner:     os.Getenv(workerProcessEnv),
		Token:       os.Getenv(TokenEnv),
		PollTimeout: time.Second,
		MaxBackoff:  300 * time.Millisecond,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	return 0
}
