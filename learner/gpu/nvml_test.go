//go:build cgo && !nonvml

package gpu

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// fakeNVML is a GPU machine for tests: it implements nvmlAPI and counts
// Init and Shutdown so tests can check they pair.
type fakeNVML struct {
	mu        sync.Mutex
	initRet   nvml.Return
	inits     int // successful Inits
	shutdowns int
	calls     int // calls other than Init, Shutdown and lookups made while not initialised
	driver    string
	cuda      int
	devices   []*mock.Device
	missing   string // a symbol LookupSymbol does not find
	panicOn   string // a method that panics
}

func (f *fakeNVML) enter(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inits == f.shutdowns {
		f.calls++
	}
	if method == f.panicOn {
		panic("fake " + method + " panicked")
	}
}

func (f *fakeNVML) Init() nvml.Return {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panicOn == "Init" {
		panic("fake Init panicked")
	}
	if f.initRet == nvml.SUCCESS {
		f.inits++
	}
	return f.initRet
}

func (f *fakeNVML) Shutdown() nvml.Return {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.shutdowns >= f.inits {
		return nvml.ERROR_UNINITIALIZED
	}
	f.shutdowns++
	return nvml.SUCCESS
}

func (f *fakeNVML) SystemGetDriverVersion() (string, nvml.Return) {
	f.enter("SystemGetDriverVersion")
	return f.driver, nvml.SUCCESS
}

func (f *fakeNVML) SystemGetCudaDriverVersion() (int, nvml.Return) {
	f.enter("SystemGetCudaDriverVersion")
	return f.cuda, nvml.SUCCESS
}

func (f *fakeNVML) DeviceGetCount() (int, nvml.Return) {
	f.enter("DeviceGetCount")
	return len(f.devices), nvml.SUCCESS
}

func (f *fakeNVML) DeviceGetHandleByIndex(i int) (nvml.Device, nvml.Return) {
	f.enter("DeviceGetHandleByIndex")
	if i < 0 || i >= len(f.devices) {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	return f.devices[i], nvml.SUCCESS
}

func (f *fakeNVML) Extensions() nvml.ExtendedInterface { return f }

func (f *fakeNVML) LookupSymbol(name string) error {
	if name == f.missing {
		return fmt.Errorf("symbol %q not found", name)
	}
	return nil
}

func fakeDevice(name, uuid string, total, used uint64, gpu, mem uint32) *mock.Device {
	return &mock.Device{
		GetNameFunc: func() (string, nvml.Return) { return name, nvml.SUCCESS },
		GetUUIDFunc: func() (string, nvml.Return) { return uuid, nvml.SUCCESS },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: total, Used: used, Free: total - used}, nvml.SUCCESS
		},
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: gpu, Memory: mem}, nvml.SUCCESS
		},
	}
}

// twoGPUs is a fake machine with two GPUs; the numbers are arbitrary.
func twoGPUs() *fakeNVML {
	return &fakeNVML{
		driver: "550.54.15",
		cuda:   12040,
		devices: []*mock.Device{
			fakeDevice("NVIDIA H100 80GB HBM3", "GPU-aaaa", 80<<30, 1<<30, 37, 12),
			fakeDevice("NVIDIA A100-SXM4-40GB", "GPU-bbbb", 40<<30, 0, 0, 0),
		},
	}
}

// withFake makes openSession use f for the length of the test.
func withFake(t *testing.T, f *fakeNVML) {
	t.Helper()
	old := newAPI
	newAPI = func() nvmlAPI { return f }
	t.Cleanup(func() { newAPI = old })
}

// checkPaired fails unless every successful Init was shut down and no
// NVML call was made outside an Init–Shutdown pair.
func checkPaired(t *testing.T, f *fakeNVML) {
	t.Helper()
	if f.inits != f.shutdowns {
		t.Errorf("%d successful Inits, %d Shutdowns; want them paired", f.inits, f.shutdowns)
	}
	if f.calls != 0 {
		t.Errorf("%d NVML calls made while NVML was not initialised; want 0", f.calls)
	}
}

func TestDiscoverTwoGPUs(t *testing.T) {
	f := twoGPUs()
	withFake(t, f)
	got, err := Discover()
	if err != nil {
		t.Fatalf("Discover() error %v; want nil", err)
	}
	want := []Info{
		{Index: 0, Name: "NVIDIA H100 80GB HBM3", UUID: "GPU-aaaa", MemoryTotal: 80 << 30, MemoryUsed: 1 << 30,
			UtilizationGPU: 37, UtilizationMemory: 12, DriverVersion: "550.54.15", CUDAVersion: "12.4"},
		{Index: 1, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-bbbb", MemoryTotal: 40 << 30,
			DriverVersion: "550.54.15", CUDAVersion: "12.4"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Discover() = %+v; want %+v", got, want)
	}
	checkPaired(t, f)
}

func TestDiscoverNoDevices(t *testing.T) {
	f := twoGPUs()
	f.devices = nil
	withFake(t, f)
	got, err := Discover()
	if err != nil || len(got) != 0 {
		t.Errorf("Discover() = %v, %v; want an empty list and nil", got, err)
	}
	checkPaired(t, f)
}

func TestDiscoverNoDriver(t *testing.T) {
	for _, tc := range []struct {
		ret  nvml.Return
		want string
	}{
		{nvml.ERROR_LIBRARY_NOT_FOUND, "the NVIDIA driver library (libnvidia-ml.so.1) is not installed"},
		{nvml.ERROR_DRIVER_NOT_LOADED, "the NVIDIA kernel driver is not loaded"},
	} {
		f := twoGPUs()
		f.initRet = tc.ret
		withFake(t, f)
		got, err := Discover()
		if !errors.Is(err, ErrNoDriver) || !strings.HasPrefix(fmt.Sprint(err), tc.want) || got != nil {
			t.Errorf("Init %v: Discover() = %v, %v; want nil and an ErrNoDriver starting %q", tc.ret, got, err, tc.want)
		}
		if _, err := Sample(0); !errors.Is(err, ErrNoDriver) {
			t.Errorf("Init %v: Sample(0) error %v; want ErrNoDriver", tc.ret, err)
		}
		if m, err := NewMonitor(); !errors.Is(err, ErrNoDriver) || m != nil {
			t.Errorf("Init %v: NewMonitor() = %v, %v; want nil and ErrNoDriver", tc.ret, m, err)
		}
		checkPaired(t, f)
	}
}

func TestDiscoverInitError(t *testing.T) {
	f := twoGPUs()
	f.initRet = nvml.ERROR_NO_PERMISSION
	withFake(t, f)
	_, err := Discover()
	if err == nil || errors.Is(err, ErrNoDriver) || !errors.Is(err, nvml.ERROR_NO_PERMISSION) {
		t.Fatalf("Discover() error %v; want an nvml.ERROR_NO_PERMISSION that is not ErrNoDriver", err)
	}
	if want := "gpu: nvmlInit: ERROR_NO_PERMISSION"; err.Error() != want {
		t.Errorf("Discover() error %q; want %q", err, want)
	}
	checkPaired(t, f)
}

func TestDiscoverMissingSymbol(t *testing.T) {
	f := twoGPUs()
	f.missing = "nvmlDeviceGetUtilizationRates"
	withFake(t, f)
	_, err := Discover()
	if err == nil || !strings.Contains(err.Error(), "too old") || !strings.Contains(err.Error(), f.missing) {
		t.Errorf("Discover() error %v; want one saying the driver is too old and naming %s", err, f.missing)
	}
	checkPaired(t, f)
}

func TestDiscoverRecoversPanic(t *testing.T) {
	for _, method := range []string{"Init", "DeviceGetCount"} {
		f := twoGPUs()
		f.panicOn = method
		withFake(t, f)
		_, err := Discover()
		if err == nil || !strings.Contains(err.Error(), "panicked") {
			t.Errorf("%s panics: Discover() error %v; want one saying go-nvml panicked", method, err)
		}
		checkPaired(t, f)
	}
}

func TestDiscoverUtilizationNotSupported(t *testing.T) {
	f := twoGPUs()
	f.devices[0].GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
		return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED
	}
	withFake(t, f)
	got, err := Discover()
	if err != nil || got[0].UtilizationGPU != 0 || got[0].MemoryUsed != 1<<30 {
		t.Errorf("Discover() = %+v, %v; want device 0 at 0 %% utilisation with its memory", got, err)
	}
}

func TestMonitor(t *testing.T) {
	f := twoGPUs()
	withFake(t, f)
	m, err := NewMonitor()
	if err != nil {
		t.Fatalf("NewMonitor() error %v", err)
	}
	for i := 0; i < 3; i++ {
		got, err := m.Sample(0)
		want := Telemetry{UtilizationGPU: 37, UtilizationMemory: 12, MemoryUsed: 1 << 30, MemoryTotal: 80 << 30}
		if err != nil || got != want {
			t.Errorf("Sample(0) = %+v, %v; want %+v, nil", got, err, want)
		}
	}
	if f.inits != 1 {
		t.Errorf("%d Inits for three samples; want 1", f.inits)
	}
	for _, i := range []int{-1, 2} {
		if _, err := m.Sample(i); err == nil {
			t.Errorf("Sample(%d) on a 2-GPU machine: nil error; want one", i)
		}
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
	if _, err := m.Sample(0); !errors.Is(err, ErrClosed) {
		t.Errorf("Sample after Close: error %v; want ErrClosed", err)
	}
	checkPaired(t, f)
}

func TestSampleOnce(t *testing.T) {
	f := twoGPUs()
	withFake(t, f)
	got, err := Sample(1)
	if err != nil || got.MemoryTotal != 40<<30 {
		t.Errorf("Sample(1) = %+v, %v; want device 1's 40 GiB", got, err)
	}
	checkPaired(t, f)
}

// The fake's return codes are go-nvml's; check the ones this package
// branches on carry nvml.h's values (NVML_ERROR_LIBRARY_NOT_FOUND = 12,
// NVML_ERROR_DRIVER_NOT_LOADED = 9).
func TestReturnCodes(t *testing.T) {
	if nvml.ERROR_LIBRARY_NOT_FOUND != 12 || nvml.ERROR_DRIVER_NOT_LOADED != 9 || nvml.ERROR_NOT_SUPPORTED != 3 {
		t.Errorf("go-nvml return codes differ from nvml.h")
	}
}
