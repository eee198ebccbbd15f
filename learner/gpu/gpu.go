// Package gpu discovers NVIDIA GPUs and samples their utilisation and
// memory through NVML (github.com/NVIDIA/go-nvml), for `rltrain devices`
// and for the learner's per-iteration GPU metrics.
//
// go-nvml loads libnvidia-ml.so.1 with dlopen at run time, so a binary
// built here runs on machines without an NVIDIA driver: there every entry
// point returns an error that matches ErrNoDriver (errors.Is) and nothing
// panics. go-nvml itself needs cgo; a binary built with CGO_ENABLED=0, or
// with the build tag nonvml, has no NVML at all and reports ErrNoDriver
// likewise.
//
// Safety rules this package keeps, because a wrong call into NVML kills
// the process in the dynamic linker where no recover can catch it
// ("symbol lookup error: undefined symbol", exit 127):
//   - no NVML function is called unless nvmlInit succeeded;
//   - every NVML symbol used is looked up first, so a driver too old to
//     have one gives an error, not a dead process;
//   - nvmlShutdown is called exactly once per successful nvmlInit, and no
//     call follows it (Monitor.Sample after Close is an error).
//
// Panics inside go-nvml (its Init panicked when the library was missing
// before go-nvml PR #47) are recovered and returned as errors.
package gpu

import (
	"errors"
	"fmt"
	"sync"
)

// ErrNoDriver is matched (errors.Is) by the error every function here
// returns when NVML cannot be used: the NVIDIA driver library is not
// installed, the kernel driver is not loaded, or the binary was built
// without NVML. The error's text says which, as one clause fit for
// "no NVIDIA GPU: <text>".
var ErrNoDriver = errors.New("no NVIDIA driver")

// ErrClosed is returned by Monitor.Sample after Close.
var ErrClosed = errors.New("gpu: monitor closed")

// noDriverError is an ErrNoDriver with its reason as the whole text.
type noDriverError struct{ reason string }

func (e *noDriverError) Error() string { return e.reason }
func (e *noDriverError) Unwrap() error { return ErrNoDriver }

// Info describes one GPU as NVML reports it.
type Info struct {
	// Index is NVML's device index; it is the N of learner.device cuda:N
	// unless CUDA_VISIBLE_DEVICES renumbers the devices CUDA sees.
	Index int    `json:"index"`
	Name  string `json:"name"`
	UUID  string `json:"uuid"`
	// MemoryTotal and MemoryUsed are bytes (nvmlDeviceGetMemoryInfo; used
	// includes the driver's reserved memory).
	MemoryTotal uint64 `json:"memory_total_bytes"`
	MemoryUsed  uint64 `json:"memory_used_bytes"`
	// UtilizationGPU and UtilizationMemory are percentages over NVML's last
	// sample period; 0 where the device does not report them (NVML's
	// ERROR_NOT_SUPPORTED, e.g. a MIG-enabled GPU).
	UtilizationGPU    uint32 `json:"utilization_gpu_percent"`
	UtilizationMemory uint32 `json:"utilization_memory_percent"`
	// DriverVersion is the NVIDIA driver's version, e.g. "550.54.15".
	DriverVersion string `json:"driver_version"`
	// CUDAVersion is the newest CUDA version the driver supports, e.g. "12.4".
	CUDAVersion string `json:"cuda_version"`
}

// Telemetry is one sample of a GPU's load, for per-iteration metrics.
type Telemetry struct {
	// UtilizationGPU and UtilizationMemory are percentages, as in Info.
	UtilizationGPU    uint32
	UtilizationMemory uint32
	// MemoryUsed and MemoryTotal are bytes.
	MemoryUsed  uint64
	MemoryTotal uint64
}

// session is NVML initialised once: opened by openSession (the NVML build
// or the stub), closed exactly once.
type session interface {
	discover() ([]Info, error)
	sample(index int) (Telemetry, error)
	close() error
}

// Discover lists the GPUs NVML sees, in index order. Without a usable
// driver the error matches ErrNoDriver; a machine with a driver and no
// GPU gives an empty list and no error. It initialises and shuts down
// NVML itself; use a Monitor to sample repeatedly.
func Discover() (infos []Info, err error) {
	s, err := openSession()
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := s.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return s.discover()
}

// Sample reads GPU index's utilisation and memory once. It initialises
// and shuts down NVML around the read (tens of milliseconds); for a
// sample per iteration keep a Monitor open instead.
func Sample(index int) (t Telemetry, err error) {
	s, err := openSession()
	if err != nil {
		return Telemetry{}, err
	}
	defer func() {
		if cerr := s.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return s.sample(index)
}

// Monitor keeps NVML initialised between samples. It is safe for
// concurrent use.
type Monitor struct {
	mu sync.Mutex
	s  session // nil once closed
}

// NewMonitor initialises NVML; Close shuts it down. Without a usable
// driver the error matches ErrNoDriver.
func NewMonitor() (*Monitor, error) {
	s, err := openSession()
	if err != nil {
		return nil, err
	}
	return &Monitor{s: s}, nil
}

// Sample reads GPU index's utilisation and memory.
func (m *Monitor) Sample(index int) (Telemetry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s == nil {
		return Telemetry{}, ErrClosed
	}
	return m.s.sample(index)
}

// Close shuts NVML down. Later calls do nothing and return nil.
func (m *Monitor) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s == nil {
		return nil
	}
	s := m.s
	m.s = nil
	return s.close()
}

// formatCUDAVersion turns NVML's CUDA driver version (1000*major +
// 10*minor, nvml.h's NVML_CUDA_DRIVER_VERSION_MAJOR/MINOR) into "12.4".
func formatCUDAVersion(v int) string {
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}

// recoverInto turns a panic inside go-nvml into an error in *err.
// Deferred directly by each function that calls go-nvml.
func recoverInto(err *error, op string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("gpu: %s: go-nvml panicked: %v", op, r)
	}
}
