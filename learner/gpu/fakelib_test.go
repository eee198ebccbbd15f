//go:build cgo && !nonvml && linux

package gpu

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// These tests run the real go-nvml path against testdata/fakenvml.c, built
// as libnvidia-ml.so.1 and found through LD_LIBRARY_PATH by a child copy
// of this test binary (the dynamic loader reads LD_LIBRARY_PATH at start).

const helperEnv = "RLGO_GPU_FAKE_NVML_HELPER"

// buildFakeNVML compiles the fake library into a fresh directory and
// returns that directory.
func buildFakeNVML(t *testing.T, cflags ...string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler to build the fake libnvidia-ml.so.1")
	}
	dir := t.TempDir()
	args := append([]string{"-shared", "-fPIC", "-o", filepath.Join(dir, "libnvidia-ml.so.1")}, cflags...)
	args = append(args, filepath.Join("testdata", "fakenvml.c"))
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("cc %v: %v\n%s", args, err, out)
	}
	return dir
}

// helperResult is what the child reports.
type helperResult struct {
	First, Second []Info
	Err           string
	NoDriver      bool
	Samples       []Telemetry
}

// runHelper runs TestFakeNVMLHelper in a child with the fake library on
// the loader's path and returns its report.
func runHelper(t *testing.T, libDir string, env ...string) helperResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeNVMLHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "LD_LIBRARY_PATH="+libDir)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("helper: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	line := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "RESULT ") {
			line = strings.TrimPrefix(l, "RESULT ")
		}
	}
	var r helperResult
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	return r
}

// TestFakeNVMLHelper is the child: it is skipped unless helperEnv is set.
// It discovers twice (so the library is loaded, closed and loaded again),
// then samples through a Monitor and after its Close.
func TestFakeNVMLHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process for the fake-library tests")
	}
	var r helperResult
	var err error
	r.First, err = Discover()
	if err == nil {
		r.Second, err = Discover()
	}
	if err == nil {
		var m *Monitor
		m, err = NewMonitor()
		if err == nil {
			for i := 0; i < 2; i++ {
				var s Telemetry
				if s, err = m.Sample(i); err != nil {
					break
				}
				r.Samples = append(r.Samples, s)
			}
			if cerr := m.Close(); err == nil {
				err = cerr
			}
			if _, serr := m.Sample(0); err == nil && !errors.Is(serr, ErrClosed) {
				err = fmt.Errorf("Sample after Close: %v; want ErrClosed", serr)
			}
		}
	}
	if err != nil {
		r.Err = err.Error()
		r.NoDriver = errors.Is(err, ErrNoDriver)
	}
	b, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", b)
}

func TestFakeNVMLLibrary(t *testing.T) {
	r := runHelper(t, buildFakeNVML(t))
	if r.Err != "" {
		t.Fatalf("helper error %s", r.Err)
	}
	// Values from testdata/fakenvml.c.
	want := []Info{
		{Index: 0, Name: "Fake GPU 0", UUID: "GPU-fake-0", MemoryTotal: 1 << 30, MemoryUsed: 1 << 20,
			UtilizationGPU: 10, UtilizationMemory: 20, DriverVersion: "999.1.2", CUDAVersion: "12.4"},
		{Index: 1, Name: "Fake GPU 1", UUID: "GPU-fake-1", MemoryTotal: 2 << 30, MemoryUsed: 2 << 20,
			UtilizationGPU: 11, UtilizationMemory: 21, DriverVersion: "999.1.2", CUDAVersion: "12.4"},
	}
	if !reflect.DeepEqual(r.First, want) || !reflect.DeepEqual(r.Second, want) {
		t.Errorf("Discover() twice = %+v, %+v; want %+v both times", r.First, r.Second, want)
	}
	wantSamples := []Telemetry{
		{UtilizationGPU: 10, UtilizationMemory: 20, MemoryUsed: 1 << 20, MemoryTotal: 1 << 30},
		{UtilizationGPU: 11, UtilizationMemory: 21, MemoryUsed: 2 << 20, MemoryTotal: 2 << 30},
	}
	if !reflect.DeepEqual(r.Samples, wantSamples) {
		t.Errorf("Monitor samples %+v; want %+v", r.Samples, wantSamples)
	}
}

// A driver without one of the symbols used is an error, not a process
// killed by the dynamic loader.
func TestFakeNVMLOldDriver(t *testing.T) {
	r := runHelper(t, buildFakeNVML(t, "-DNO_UTIL"))
	if !strings.Contains(r.Err, "too old") || !strings.Contains(r.Err, "nvmlDeviceGetUtilizationRates") || r.NoDriver {
		t.Errorf("helper error %q (ErrNoDriver %v); want a too-old-driver error naming nvmlDeviceGetUtilizationRates", r.Err, r.NoDriver)
	}
}

// The library is installed but nvmlInit finds no kernel driver.
func TestFakeNVMLDriverNotLoaded(t *testing.T) {
	r := runHelper(t, buildFakeNVML(t), "FAKE_NVML_INIT=9") // NVML_ERROR_DRIVER_NOT_LOADED
	if !r.NoDriver || !strings.Contains(r.Err, "kernel driver is not loaded") {
		t.Errorf("helper error %q (ErrNoDriver %v); want ErrNoDriver saying the kernel driver is not loaded", r.Err, r.NoDriver)
	}
}

// Another nvmlInit failure is an error carrying NVML's own text.
func TestFakeNVMLInitError(t *testing.T) {
	r := runHelper(t, buildFakeNVML(t), "FAKE_NVML_INIT=4") // NVML_ERROR_NO_PERMISSION
	if r.NoDriver || r.Err != "gpu: nvmlInit: fake NVML error 4" {
		t.Errorf("helper error %q (ErrNoDriver %v); want %q", r.Err, r.NoDriver, "gpu: nvmlInit: fake NVML error 4")
	}
}
