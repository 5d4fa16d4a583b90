//go:build unix && !linux

package bridge

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in its own process group, so that ending it
// also ends whatever it started. Outside Linux there is no Pdeathsig: a crash
// of the app leaves the child to notice the closed stdin.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
