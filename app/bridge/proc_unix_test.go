//go:build unix

package bridge

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS != "linux"
	}
	// The state follows the command name; a zombie is a grandchild waiting
	// for init (or a container's pid 1) to reap it.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && len(stat) > i+2 {
		return stat[i+2] != 'Z'
	}
	return true
}

func killPID(pid int) { syscall.Kill(pid, syscall.SIGKILL) }
