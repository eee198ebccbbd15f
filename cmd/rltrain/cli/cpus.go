package cli

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// parseCPUs parses a CPU list as taskset(1) and cpusets write it: CPU
// numbers and inclusive ranges separated by commas ("0", "0,2", "0-3,6").
// It returns the CPUs sorted, without duplicates.
func parseCPUs(list string) ([]int, error) {
	seen := map[int]bool{}
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("--cpus %q: %q is not a CPU number or range (want a list like 0 or 0,2 or 0-3)", list, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("--cpus %q: %q is not a range lo-hi with lo <= hi", list, part)
			}
		}
		if b >= 1<<16 {
			return nil, fmt.Errorf("--cpus %q: CPU %d is out of range", list, b)
		}
		for c := a; c <= b; c++ {
			seen[c] = true
		}
	}
	cpus := make([]int, 0, len(seen))
	for c := range seen {
		cpus = append(cpus, c)
	}
	sort.Ints(cpus)
	return cpus, nil
}

// withCPUs pins this process to the CPUs in list (--cpus; "" leaves it
// alone) and sets GOMAXPROCS to their number, as taskset -c LIST would
// before Go starts, and returns the function that undoes both (tests run
// commands in-process). A CPU the process may not use is a usage error.
//
// Why: gorgonia's TapeMachine hands every graph run to another OS thread
// and back, and on a VM a hand-off to an idle vCPU waits for the
// hypervisor to wake it. A run whose work is one learner step after
// another (DQN with in-process workers) is faster pinned to one core
// than spread over two (docs/benchmarks.md, "CartPole DQN").
func withCPUs(list string) (restore func(), err error) {
	if list == "" {
		return func() {}, nil
	}
	cpus, err := parseCPUs(list)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	undo, err := setAffinity(cpus)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("--cpus %s: %w", list, err)}
	}
	prev := runtime.GOMAXPROCS(len(cpus))
	return func() {
		runtime.GOMAXPROCS(prev)
		undo()
	}, nil
}
