//go:build !linux

package tune

import "os/exec"

// dieWithParent does nothing outside Linux: a child outlives a killed
// tune process there, and --resume waits for its run directory's lock.
func dieWithParent(*exec.Cmd) {}
