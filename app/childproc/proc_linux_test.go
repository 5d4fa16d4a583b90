package childproc

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"testing"
)

// running reports whether pid is a live process (a zombie has ended).
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || len(stat) < i+3 || stat[i+2] != 'Z'
}

// selfFDDir is where a process lists its own open fds.
func selfFDDir(t *testing.T) string { return "/proc/self/fd" }
