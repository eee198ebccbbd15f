package learner

import (
	"fmt"
	"strconv"
	"strings"
)

// Device is where a learner's graph runs.
type Device struct {
	// Kind is "cpu" or "cuda".
	Kind string
	// Index is the CUDA device index (0 for the CPU).
	Index int
}

// String returns "cpu" or "cuda:N".
func (d Device) String() string {
	if d.Kind == "cuda" {
		return "cuda:" + strconv.Itoa(d.Index)
	}
	return d.Kind
}

// ParseDevice parses "auto", "cpu" or "cuda:N" ("" means auto). It checks
// only the syntax; SelectDevice decides what can be honoured.
func ParseDevice(s string) (auto bool, d Device, err error) {
	switch {
	case s == "" || s == "auto":
		return true, Device{Kind: "cpu"}, nil
	case s == "cpu":
		return false, Device{Kind: "cpu"}, nil
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "cuda:"))
		if err != nil || n < 0 {
			return false, Device{}, fmt.Errorf("device %q: want cuda:N with N a GPU index", s)
		}
		return false, Device{Kind: "cuda", Index: n}, nil
	}
	return false, Device{}, fmt.Errorf("device %q: want auto, cpu or cuda:N", s)
}

// SelectDevice resolves a configured device. This build of the learner
// runs gorgonia's CPU backend only, so auto resolves to the CPU and an
// explicit cuda:N is an error rather than a silent CPU run.
func SelectDevice(s string) (Device, error) {
	auto, d, err := ParseDevice(s)
	if err != nil {
		return Device{}, err
	}
	if auto || d.Kind == "cpu" {
		return Device{Kind: "cpu"}, nil
	}
	return Device{}, fmt.Errorf("device %s requested, but this learner is built without GPU support (gorgonia's CUDA backend is not compiled in); use device: cpu or auto", d)
}
