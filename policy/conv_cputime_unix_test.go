//go:build unix

package policy

import "syscall"

// processCPUSeconds returns the CPU time (user + system) the process has
// used: on this shared 2-core machine, benchmarks report their cost in it
// as well as in wall time, which other jobs' load inflates.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
