package cli

import (
	"fmt"
	"os"
	"runtime"
)

// withProcs sets GOMAXPROCS for a command that runs in this process and
// returns the function that restores it (tests run commands in-process).
// n > 0 is used as given (--procs N); n == 0 means def, unless
// $GOMAXPROCS is set, which then wins; def 0 keeps Go's default (one per
// core, or the container's CPU limit). Commands that step envs on one
// goroutine (worker, serve-env) default to 1: more Ps than they use only
// spin idle and compete with the learner on the host
// (docs/remote-bench.md).
func withProcs(n, def int) (restore func(), err error) {
	if n < 0 {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("--procs %d: want 0 (the default) or more", n)}
	}
	if n == 0 {
		if def == 0 || os.Getenv("GOMAXPROCS") != "" {
			return func() {}, nil
		}
		n = def
	}
	prev := runtime.GOMAXPROCS(n)
	return func() { runtime.GOMAXPROCS(prev) }, nil
}
