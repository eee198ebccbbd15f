//go:build !linux

package cli

import "errors"

// setAffinity is Linux-only; elsewhere --cpus is an error (use the
// platform's own tool, or GOMAXPROCS alone).
func setAffinity([]int) (func(), error) {
	return nil, errors.New("CPU pinning is supported on Linux only")
}
