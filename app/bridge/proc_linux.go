package bridge

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in its own process group, so that ending it
// also ends whatever it started (npx starts node), and asks the kernel to
// kill it when the app dies without a chance to clean up.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
