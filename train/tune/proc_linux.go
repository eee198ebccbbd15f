package tune

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel send the child SIGTERM when the tune
// process dies, however it dies (SIGKILL included): the trial then
// checkpoints and exits as on Ctrl-C, and --resume continues it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
