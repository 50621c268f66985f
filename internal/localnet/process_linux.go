package localnet

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the child when the process that
// started it dies. A test binary killed by its timeout, or a demo killed
// with -9, runs no cleanup; without this its nodes would keep the fixed
// ports and the next run would talk to them instead of its own.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
