package cli

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// setAffinity restricts every thread of the process to cpus and returns
// the function that restores each thread's previous set. Linux keeps an
// affinity per thread and a new thread inherits its creator's, so setting
// it on every existing thread (/proc/self/task) covers the threads the Go
// runtime starts later too. undo restores the threads that existed when
// the set was applied; a thread started in between keeps the pinned set
// (rltrain exits after the command; tests only check GOMAXPROCS and the
// calling thread).
func setAffinity(cpus []int) (undo func(), err error) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return nil, fmt.Errorf("read the CPU affinity: %w", err)
	}
	var want unix.CPUSet
	for _, c := range cpus {
		if !allowed.IsSet(c) {
			return nil, fmt.Errorf("CPU %d is not one this process may run on (%d allowed)", c, allowed.Count())
		}
		want.Set(c)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("list the threads: %w", err)
	}
	type saved struct {
		tid int
		set unix.CPUSet
	}
	var prev []saved
	undo = func() {
		for _, s := range prev {
			unix.SchedSetaffinity(s.tid, &s.set) // a thread that has exited is gone anyway
		}
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		var old unix.CPUSet
		if unix.SchedGetaffinity(tid, &old) != nil {
			continue // exited since the listing
		}
		if err := unix.SchedSetaffinity(tid, &want); err != nil {
			undo()
			return nil, fmt.Errorf("set the CPU affinity of thread %d: %w", tid, err)
		}
		prev = append(prev, saved{tid, old})
	}
	return undo, nil
}
