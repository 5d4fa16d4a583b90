package childproc

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// running reports whether pid is a live process (a zombie has ended).
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	p, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	return err == nil && p.Proc.P_stat != sZomb
}

// selfFDDir is where a process lists its own open fds.
func selfFDDir(t *testing.T) string { return "/dev/fd" }
