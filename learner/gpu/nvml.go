//go:build cgo && !nonvml

package gpu

import (
	"errors"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// go-nvml leaves every NVML symbol unresolved at link time and relies on
// lazy binding to resolve them once it has dlopened libnvidia-ml.so.1. A
// binary linked with -z now (some hardened toolchains' default) or run
// with LD_BIND_NOW=1 therefore dies at start-up where the library is
// missing. go-nvml leaves the fix to the application (go-nvml PR #131,
// k8s-device-plugin issue #326): build with
// -ldflags=-extldflags=-Wl,-z,lazy there. (cgo refuses -Wl,-z,lazy in a
// #cgo LDFLAGS line, so this package cannot ask for it itself.)

// nvmlAPI is the part of go-nvml this package calls; nvml.Interface
// implements it and tests fake it.
type nvmlAPI interface {
	Init() nvml.Return
	Shutdown() nvml.Return
	SystemGetDriverVersion() (string, nvml.Return)
	SystemGetCudaDriverVersion() (int, nvml.Return)
	DeviceGetCount() (int, nvml.Return)
	DeviceGetHandleByIndex(int) (nvml.Device, nvml.Return)
	Extensions() nvml.ExtendedInterface
}

// requiredSymbols are the NVML entry points called after nvmlInit besides
// nvmlDeviceGetCount and nvmlDeviceGetHandleByIndex, whose versioned
// variants go-nvml already looks up. Each is checked before use because
// calling a symbol the installed driver lacks aborts the process.
var requiredSymbols = []string{
	"nvmlSystemGetDriverVersion",
	"nvmlSystemGetCudaDriverVersion",
	"nvmlDeviceGetName",
	"nvmlDeviceGetUUID",
	"nvmlDeviceGetMemoryInfo",
	"nvmlDeviceGetUtilizationRates",
	"nvmlShutdown",
}

// newAPI returns the go-nvml library that openSession uses. Each session
// gets its own instance, so each holds its own reference to the loaded
// library and NVML's own init count.
var newAPI = func() nvmlAPI { return nvml.New() }

func openSession() (session, error) { return openNVML(newAPI()) }

// nvmlError is an NVML return code from op. Its text is captured when it
// is made, while the library that formats it is still loaded; Unwrap
// gives the nvml.Return, so errors.Is(err, nvml.ERROR_NO_PERMISSION) works.
type nvmlError struct {
	op   string
	ret  nvml.Return
	text string
}

func newNVMLError(op string, ret nvml.Return) *nvmlError {
	return &nvmlError{op: op, ret: ret, text: ret.Error()}
}

func (e *nvmlError) Error() string { return fmt.Sprintf("gpu: %s: %s", e.op, e.text) }
func (e *nvmlError) Unwrap() error { return e.ret }

// nvmlSession is NVML after a successful nvmlInit.
type nvmlSession struct {
	api nvmlAPI
}

// openNVML initialises NVML through api and checks the symbols the
// session will call. On any error NVML is left shut down (or was never
// initialised), so the caller has nothing to close.
func openNVML(api nvmlAPI) (s session, err error) {
	defer recoverInto(&err, "nvmlInit")
	switch ret := api.Init(); ret {
	case nvml.SUCCESS:
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		// go-nvml's dlopen of libnvidia-ml.so.1 failed (init.go: l.load()).
		return nil, &noDriverError{"the NVIDIA driver library (libnvidia-ml.so.1) is not installed"}
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return nil, &noDriverError{"the NVIDIA kernel driver is not loaded (libnvidia-ml.so.1 is installed but nvmlInit found no driver)"}
	default:
		// No nvmlShutdown: NVML pairs it with a successful nvmlInit only.
		return nil, newNVMLError("nvmlInit", ret)
	}
	ns := &nvmlSession{api: api}
	if err := checkSymbols(api); err != nil {
		return nil, errors.Join(err, ns.close())
	}
	return ns, nil
}

// checkSymbols looks up requiredSymbols in the loaded library.
func checkSymbols(api nvmlAPI) (err error) {
	defer recoverInto(&err, "lookup")
	ext := api.Extensions()
	for _, sym := range requiredSymbols {
		if err := ext.LookupSymbol(sym); err != nil {
			return fmt.Errorf("gpu: the NVIDIA driver is too old: libnvidia-ml.so.1 lacks %s: %w", sym, err)
		}
	}
	return nil
}

func (s *nvmlSession) close() (err error) {
	defer recoverInto(&err, "nvmlShutdown")
	if ret := s.api.Shutdown(); ret != nvml.SUCCESS {
		return newNVMLError("nvmlShutdown", ret)
	}
	return nil
}

func (s *nvmlSession) discover() (infos []Info, err error) {
	defer recoverInto(&err, "discover")
	driver, ret := s.api.SystemGetDriverVersion()
	if ret != nvml.SUCCESS {
		return nil, newNVMLError("nvmlSystemGetDriverVersion", ret)
	}
	cuda, ret := s.api.SystemGetCudaDriverVersion()
	if ret != nvml.SUCCESS {
		return nil, newNVMLError("nvmlSystemGetCudaDriverVersion", ret)
	}
	n, ret := s.api.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, newNVMLError("nvmlDeviceGetCount", ret)
	}
	infos = make([]Info, 0, n)
	for i := 0; i < n; i++ {
		d, err := s.device(i)
		if err != nil {
			return nil, err
		}
		name, ret := d.GetName()
		if ret != nvml.SUCCESS {
			return nil, newNVMLError(fmt.Sprintf("nvmlDeviceGetName(%d)", i), ret)
		}
		uuid, ret := d.GetUUID()
		if ret != nvml.SUCCESS {
			return nil, newNVMLError(fmt.Sprintf("nvmlDeviceGetUUID(%d)", i), ret)
		}
		t, err := readTelemetry(d, i)
		if err != nil {
			return nil, err
		}
		infos = append(infos, Info{
			Index:             i,
			Name:              name,
			UUID:              uuid,
			MemoryTotal:       t.MemoryTotal,
			MemoryUsed:        t.MemoryUsed,
			UtilizationGPU:    t.UtilizationGPU,
			UtilizationMemory: t.UtilizationMemory,
			DriverVersion:     driver,
			CUDAVersion:       formatCUDAVersion(cuda),
		})
	}
	return infos, nil
}

func (s *nvmlSession) sample(index int) (t Telemetry, err error) {
	defer recoverInto(&err, "sample")
	d, err := s.device(index)
	if err != nil {
		return Telemetry{}, err
	}
	return readTelemetry(d, index)
}

func (s *nvmlSession) device(index int) (nvml.Device, error) {
	if index < 0 {
		return nil, fmt.Errorf("gpu: device index %d: want >= 0", index)
	}
	d, ret := s.api.DeviceGetHandleByIndex(index)
	if ret != nvml.SUCCESS {
		return nil, newNVMLError(fmt.Sprintf("nvmlDeviceGetHandleByIndex(%d)", index), ret)
	}
	return d, nil
}

// readTelemetry reads memory and utilisation; a device that does not
// report utilisation (ERROR_NOT_SUPPORTED) reads as 0 %.
func readTelemetry(d nvml.Device, index int) (Telemetry, error) {
	mem, ret := d.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return Telemetry{}, newNVMLError(fmt.Sprintf("nvmlDeviceGetMemoryInfo(%d)", index), ret)
	}
	t := Telemetry{MemoryUsed: mem.Used, MemoryTotal: mem.Total}
	switch u, ret := d.GetUtilizationRates(); ret {
	case nvml.SUCCESS:
		t.UtilizationGPU, t.UtilizationMemory = u.Gpu, u.Memory
	case nvml.ERROR_NOT_SUPPORTED:
	default:
		return Telemetry{}, newNVMLError(fmt.Sprintf("nvmlDeviceGetUtilizationRates(%d)", index), ret)
	}
	return t, nil
}
