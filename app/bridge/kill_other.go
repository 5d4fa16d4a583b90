//go:build !unix

package bridge

import "os/exec"

// setProcAttr has nothing to set where process groups do not exist.
func setProcAttr(cmd *exec.Cmd) {}

// killGroup kills the child itself; its own children are not reached.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
