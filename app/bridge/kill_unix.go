//go:build unix

package bridge

import (
	"os/exec"
	"syscall"
)

// killGroup sends SIGKILL to the child's process group. The group id is the
// child's pid (Setpgid); an already empty group is not an error.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
