package external

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// findPython returns a python3 that imports grpc, msgpack and numpy:
// $RLGO_PYTHON, python3 on PATH, then /usr/bin/python3 (Debian's, where
// python3-grpcio installs). It skips the test naming what is missing.
func findPython(t testing.TB) string {
	t.Helper()
	var tried []string
	for _, py := range []string{os.Getenv("RLGO_PYTHON"), "python3", "/usr/bin/python3"} {
		if py == "" {
			continue
		}
		path, err := exec.LookPath(py)
		if err != nil {
			tried = append(tried, py+": not found")
			continue
		}
		var missing []string
		for _, mod := range []struct{ name, pkg string }{{"grpc", "python3-grpcio"}, {"msgpack", "python3-msgpack"}, {"numpy", "python3-numpy"}} {
			if exec.Command(path, "-c", "import "+mod.name).Run() != nil {
				missing = append(missing, fmt.Sprintf("module %s (Debian %s)", mod.name, mod.pkg))
			}
		}
		if len(missing) == 0 {
			return path
		}
		tried = append(tried, path+" lacks "+strings.Join(missing, ", "))
	}
	if len(tried) == 0 {
		tried = append(tried, "no python3")
	}
	t.Skipf("no python3 able to run python/rlgo_env: %s (apt-get install python3-grpcio python3-msgpack python3-numpy)", strings.Join(tried, "; "))
	return ""
}

// repoRoot is the repository's root, two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// pythonCartPole is the command serving python/tests/cartpole.py with
// Go's RNG and trigonometry and CartPole-v1's time limit.
func pythonCartPole(t testing.TB) (cmd, env []string) {
	py := findPython(t)
	root := repoRoot(t)
	cmd = []string{py, "-m", "rlgo_env", "serve", "--entry", "cartpole:CartPole", "--kwargs", `{"rng": "go"}`,
		"--max-episode-steps", "500", "--reward-threshold", "475", "--id", "CartPole-v1"}
	env = []string{"PYTHONPATH=" + filepath.Join(root, "python") + string(os.PathListSeparator) + filepath.Join(root, "python", "tests")}
	return cmd, env
}

// logWriter collects a server's log lines for the test's log.
type logWriter struct {
	mu    sync.Mutex
	lines []string
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (w *logWriter) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

// TestPythonCartPoleMatchesNative: python/tests/cartpole.py served by
// python3 -m rlgo_env and stepped through the supervisor gives exactly the
// transitions of the native CartPole-v1 from the same seeds, over many
// episodes, auto-resets and time limits included.
func TestPythonCartPoleMatchesNative(t *testing.T) {
	for _, tr := range []Transport{TransportSocket, TransportStream, TransportUnary} {
		t.Run(tr.String(), func(t *testing.T) { testPythonCartPole(t, tr) })
	}
}

func testPythonCartPole(t *testing.T, transport Transport) {
	cmd, env := pythonCartPole(t)
	const n = 8
	log := &logWriter{}
	ctx := context.Background()
	got, err := Start(ctx, cmd, Options{NumEnvs: n, Env: env, Log: log, CallTimeout: 20 * time.Second, StartTimeout: 30 * time.Second, Transport: transport})
	if err != nil {
		t.Fatal(err)
	}
	if got.StepTransport() != transport {
		t.Errorf("StepTransport() = %v; want %v", got.StepTransport(), transport)
	}
	defer func() {
		if err := got.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		t.Logf("server log:\n%s", log.text())
	}()
	spec := got.Spec()
	if spec.ID != "CartPole-v1" || spec.MaxEpisodeSteps != 500 || spec.RewardThreshold != 475 || got.ObsDim() != 4 {
		t.Errorf("Spec() = %+v", spec)
	}
	want := nativeVector(t, "CartPole-v1", n)
	if got.ObservationSpace().String() != want.Env(0).ObservationSpace().String() {
		t.Errorf("ObservationSpace() = %v; want %v", got.ObservationSpace(), want.Env(0).ObservationSpace())
	}
	for _, seed := range []uint64{1, 12345} {
		if err := want.Reset(seed); err != nil {
			t.Fatal(err)
		}
		if err := got.Reset(seed); err != nil {
			t.Fatal(err)
		}
		eps, trunc := compareVectors(t, want, got, n, 2500, seed)
		t.Logf("seed %d: 2500 steps of %d envs, %d episodes, %d truncated by the time limit", seed, n, eps, trunc)
		if eps < 200 || trunc == 0 {
			t.Errorf("seed %d: %d episodes, %d truncated: want 200 or more, some truncated", seed, eps, trunc)
		}
	}
}
