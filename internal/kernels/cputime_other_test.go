//go:build !unix

package kernels

// processCPUSeconds is unknown here: benchmarks report wall time only.
func processCPUSeconds() float64 { return -1 }
