package external

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rlgo/rlgo/envs"
)

// trivialEnv costs almost nothing to step: Box(4) of zeros, Discrete(2),
// reward 1, episodes of 100 steps. It measures the bridge's own cost.
type trivialEnv struct {
	obs [4]float32
	t   int
}

func (e *trivialEnv) ObservationSpace() envs.Space { return envs.UniformBox(4, -1, 1) }
func (e *trivialEnv) ActionSpace() envs.Space      { return envs.Discrete{N: 2} }
func (e *trivialEnv) Reset(*uint64) ([]float32, envs.Info, error) {
	e.t = 0
	return e.obs[:], nil, nil
}
func (e *trivialEnv) Step(envs.Action) (envs.StepResult, error) {
	e.t++
	return envs.StepResult{Obs: e.obs[:], Reward: 1, Terminated: e.t >= 100}, nil
}
func (e *trivialEnv) Close() error { return nil }

func init() {
	envs.MustRegister(envs.Spec{ID: "Trivial-v0", New: func(envs.Options) (envs.Env, error) { return &trivialEnv{}, nil }, Description: "benchmark env"})
}

// BenchmarkStep measures one vector Step of N trivial envs: natively
// (envs.VectorEnv), and through the bridge over each Step transport
// (socket, stream, unary) to the Go server and to the Python server
// (python/tests/trivial.py), over a Unix socket. go-inprocess serves from
// a goroutine of the benchmark's own process (no cross-process wake-up);
// go runs the server as a separate process (RLGO_TEST_SERVER_PROCS sets
// its GOMAXPROCS). ns/op is the time of one Step call of N envs.
func BenchmarkStep(b *testing.B) {
	transports := []Transport{TransportSocket, TransportStream, TransportUnary}
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("native/envs=%d", n), func(b *testing.B) {
			v := nativeVector(b, "Trivial-v0", n)
			benchStep(b, v, n, v.Reset)
		})
		for _, tr := range transports {
			b.Run(fmt.Sprintf("go-inprocess/%v/envs=%d", tr, n), func(b *testing.B) {
				v, err := Dial(context.Background(), serveGo(b, "Trivial-v0", n, ServeOptions{}), Options{NumEnvs: n, Transport: tr})
				if err != nil {
					b.Fatal(err)
				}
				defer v.Close()
				benchStep(b, v, n, v.Reset)
			})
		}
		for _, tr := range transports {
			b.Run(fmt.Sprintf("go/%v/envs=%d", tr, n), func(b *testing.B) {
				cmd, env := goHelperCommand(b, "Trivial-v0")
				v, err := Start(context.Background(), cmd, Options{NumEnvs: n, Env: env, StartTimeout: 30 * time.Second, Transport: tr})
				if err != nil {
					b.Fatal(err)
				}
				defer v.Close()
				benchStep(b, v, n, v.Reset)
			})
		}
		for _, tr := range transports {
			b.Run(fmt.Sprintf("python/%v/envs=%d", tr, n), func(b *testing.B) {
				py := findPython(b)
				root := repoRoot(b)
				cmd := []string{py, "-m", "rlgo_env", "serve", "--entry", "trivial:Trivial"}
				env := []string{"PYTHONPATH=" + filepath.Join(root, "python") + string(os.PathListSeparator) + filepath.Join(root, "python", "tests")}
				v, err := Start(context.Background(), cmd, Options{NumEnvs: n, Env: env, StartTimeout: 60 * time.Second, Transport: tr})
				if err != nil {
					b.Fatal(err)
				}
				defer v.Close()
				benchStep(b, v, n, v.Reset)
			})
		}
	}
}

func benchStep(b *testing.B, v vectorStepper, n int, reset func(uint64) error) {
	if err := reset(1); err != nil {
		b.Fatal(err)
	}
	acts := make([]envs.Action, n)
	for range 100 { // warm up: connections, lazy initialisation
		if _, err := v.Step(acts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := v.Step(acts); err != nil {
			b.Fatal(err)
		}
	}
}
