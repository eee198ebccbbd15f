package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/learner/gpu"
)

// execDevices runs `rltrain devices args` with discover, or with the real
// gpu.Discover where discover is nil.
func execDevices(t *testing.T, discover func() ([]gpu.Info, error), args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	c := newDevices(&out, &errb)
	if discover != nil {
		c = newDevicesWith(&out, &errb, discover)
	}
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SilenceUsage = true
	err = c.Execute()
	return out.String(), errb.String(), err
}

// On a machine without the NVIDIA driver (this package's usual test
// machine) the real command prints one line and succeeds.
func TestDevicesWithoutDriver(t *testing.T) {
	if _, err := gpu.Discover(); !errors.Is(err, gpu.ErrNoDriver) {
		t.Skipf("this machine has an NVIDIA driver (Discover error %v)", err)
	}
	out, errOut, err := execDevices(t, nil)
	if err != nil {
		t.Fatalf("rltrain devices: error %v; want nil (exit 0)", err)
	}
	t.Logf("rltrain devices: %s", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "no NVIDIA GPU: ") || !strings.HasSuffix(lines[0], "; the learner runs on the CPU") || errOut != "" {
		t.Errorf("rltrain devices printed %q (stderr %q); want one line \"no NVIDIA GPU: …; the learner runs on the CPU\"", out, errOut)
	}

	out, errOut, err = execDevices(t, nil, "--json")
	if err != nil || strings.TrimSpace(out) != "[]" || !strings.HasPrefix(errOut, "no NVIDIA GPU: ") {
		t.Errorf("rltrain devices --json = %q, stderr %q, %v; want [] on stdout, the reason on stderr, nil", out, errOut, err)
	}
}

func TestDevicesNoDriverLine(t *testing.T) {
	noLib := func() ([]gpu.Info, error) {
		return nil, noDriver("the NVIDIA driver library (libnvidia-ml.so.1) is not installed")
	}
	out, _, err := execDevices(t, noLib)
	want := "no NVIDIA GPU: the NVIDIA driver library (libnvidia-ml.so.1) is not installed; the learner runs on the CPU\n"
	if err != nil || out != want {
		t.Errorf("rltrain devices = %q, %v; want %q, nil", out, err, want)
	}
}

// noDriver is an error matching gpu.ErrNoDriver with text reason.
type noDriver string

func (e noDriver) Error() string { return string(e) }
func (e noDriver) Unwrap() error { return gpu.ErrNoDriver }

func TestDevicesNoDevices(t *testing.T) {
	out, _, err := execDevices(t, func() ([]gpu.Info, error) { return []gpu.Info{}, nil })
	if err != nil || !strings.HasPrefix(out, "no NVIDIA GPU: the NVIDIA driver reports no devices") || strings.Count(out, "\n") != 1 {
		t.Errorf("rltrain devices with no devices = %q, %v; want one no-device line, nil", out, err)
	}
}

// twoGPUs is a made-up machine.
var twoGPUs = []gpu.Info{
	{Index: 0, Name: "NVIDIA H100 80GB HBM3", UUID: "GPU-aaaa", MemoryTotal: 80 << 30, MemoryUsed: 512 << 20,
		UtilizationGPU: 37, UtilizationMemory: 12, DriverVersion: "550.54.15", CUDAVersion: "12.4"},
	{Index: 1, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-bbbb", MemoryTotal: 40 << 30,
		DriverVersion: "550.54.15", CUDAVersion: "12.4"},
}

func TestDevicesTable(t *testing.T) {
	out, _, err := execDevices(t, func() ([]gpu.Info, error) { return twoGPUs, nil })
	if err != nil {
		t.Fatal(err)
	}
	want := `INDEX  NAME                   UUID      MEMORY USED/TOTAL (MiB)  GPU UTIL  MEMORY UTIL  DRIVER     CUDA
0      NVIDIA H100 80GB HBM3  GPU-aaaa  512/81920                37%       12%          550.54.15  12.4
1      NVIDIA A100-SXM4-40GB  GPU-bbbb  0/40960                  0%        0%           550.54.15  12.4
`
	if out != want {
		t.Errorf("rltrain devices printed\n%s\nwant\n%s", out, want)
	}
}

func TestDevicesJSON(t *testing.T) {
	out, _, err := execDevices(t, func() ([]gpu.Info, error) { return twoGPUs, nil }, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got []gpu.Info
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if !reflect.DeepEqual(got, twoGPUs) {
		t.Errorf("--json decodes to %+v; want %+v", got, twoGPUs)
	}
	for _, key := range []string{`"memory_total_bytes": 85899345920`, `"cuda_version": "12.4"`, `"uuid": "GPU-aaaa"`} {
		if !strings.Contains(out, key) {
			t.Errorf("--json output lacks %s:\n%s", key, out)
		}
	}
}

// Any other NVML failure is a runtime error: exit 1.
func TestDevicesNVMLError(t *testing.T) {
	boom := errors.New("gpu: nvmlInit: Insufficient Permissions")
	_, _, err := execDevices(t, func() ([]gpu.Info, error) { return nil, boom })
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != ExitError || !errors.Is(err, boom) {
		t.Errorf("rltrain devices on an NVML error: %v; want an exitError with code %d wrapping it", err, ExitError)
	}
}
