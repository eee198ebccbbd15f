package gpu

import (
	"errors"
	"strings"
	"testing"
)

func TestFormatCUDAVersion(t *testing.T) {
	// Encoding from nvml.h: NVML_CUDA_DRIVER_VERSION_MAJOR(v) = v/1000,
	// NVML_CUDA_DRIVER_VERSION_MINOR(v) = (v%1000)/10.
	for _, tc := range []struct {
		v    int
		want string
	}{{12040, "12.4"}, {11080, "11.8"}, {12000, "12.0"}, {10010, "10.1"}, {13000, "13.0"}} {
		if got := formatCUDAVersion(tc.v); got != tc.want {
			t.Errorf("formatCUDAVersion(%d) = %q; want %q", tc.v, got, tc.want)
		}
	}
}

func TestNoDriverErrorIs(t *testing.T) {
	err := error(&noDriverError{"reason"})
	if !errors.Is(err, ErrNoDriver) || err.Error() != "reason" {
		t.Errorf("noDriverError = %q, Is(ErrNoDriver) %v; want \"reason\", true", err, errors.Is(err, ErrNoDriver))
	}
}

// On the machine running the tests, whatever it has, nothing panics and
// the answer is consistent: GPUs and no error, or an error (ErrNoDriver
// where there is no driver).
func TestDiscoverHere(t *testing.T) {
	infos, err := Discover()
	switch {
	case errors.Is(err, ErrNoDriver):
		t.Logf("no NVIDIA GPU: %v", err)
		if infos != nil {
			t.Errorf("Discover() = %v with ErrNoDriver; want nil", infos)
		}
		if _, err := Sample(0); !errors.Is(err, ErrNoDriver) {
			t.Errorf("Sample(0) error %v; want ErrNoDriver", err)
		}
	case err != nil:
		// A driver is there (the error is not ErrNoDriver) and discovery
		// still failed: that is a failure to report, not a way to pass.
		t.Errorf("Discover() error with a driver present: %v; want the GPUs", err)
	default:
		for i, in := range infos {
			t.Logf("GPU %d: %s %s, %d/%d MiB, driver %s, CUDA %s", in.Index, in.Name, in.UUID, in.MemoryUsed>>20, in.MemoryTotal>>20, in.DriverVersion, in.CUDAVersion)
			if in.Index != i || in.Name == "" || !strings.HasPrefix(in.UUID, "GPU-") || in.MemoryTotal == 0 || in.MemoryUsed > in.MemoryTotal || in.DriverVersion == "" {
				t.Errorf("GPU %d: %+v; want index %d, a name, a GPU- UUID, used ≤ total memory > 0 and a driver version", i, in, i)
			}
		}
	}
}
