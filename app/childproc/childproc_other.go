//go:build !linux && !darwin && !windows

package childproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

func selfPath() (string, error) { return os.Executable() }

func attachLifeline(*exec.Cmd) error {
	return fmt.Errorf("no supervisor on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func supervise(supervisorConfig) int {
	fmt.Fprintf(os.Stderr, "mcpshare: no supervisor on %s\n", runtime.GOOS)
	return 2
}

// KillTree is not supported here: Command never returns a command to start.
func KillTree(*exec.Cmd) error {
	return fmt.Errorf("childproc: %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
