//go:build unix

package gateway

import (
	"io"
	"os/exec"
	"syscall"
)

// newCommand returns the unstarted process of a stdio server in its own
// process group. (Replaced by app/childproc's supervised command.)
func newCommand(path string, args, env []string, dir string, stderr io.Writer) (*exec.Cmd, error) {
	cmd := exec.Command(path, args...)
	cmd.Env, cmd.Dir, cmd.Stderr = env, dir, stderr
	cmd.WaitDelay = stopGrace
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr)
	return cmd, nil
}

// killTree kills the process group of a started command.
func killTree(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
