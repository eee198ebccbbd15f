//go:build !cgo || nonvml

package gpu

// Without cgo go-nvml does not compile, so this build has no NVML.

func openSession() (session, error) {
	return nil, &noDriverError{"this binary was built without NVML (CGO_ENABLED=0 or -tags nonvml), so it cannot load the NVIDIA driver library (libnvidia-ml.so.1)"}
}
