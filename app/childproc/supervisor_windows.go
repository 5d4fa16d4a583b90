package childproc

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/windows"
)

// supervise puts this process in the app's job and in one of its own, then runs cfg's command,
// born in both, and exits with its status. Its own job's handle closes when it exits, which
// kills whatever the command left behind.
func supervise(cfg supervisorConfig) int {
	appJob, err := strconv.ParseUint(cfg.lifeline, 10, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mcpshare: %s=%q is not the app's job; unset it and start again\n", envLifeline, cfg.lifeline)
		return 2
	}
	if _, err := enterJobs(winJobs{}, uintptr(appJob)); err != nil {
		// Without its jobs the command could outlive the app: do not start it.
		fmt.Fprintf(os.Stderr, "mcpshare: did not start %s: %v\n", cfg.args[0], err)
		return exitCannotExec
	}
	child := &exec.Cmd{
		Path: cfg.path, Args: cfg.args, Env: cfg.env,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{CreationFlags: windows.CREATE_NO_WINDOW},
	}
	if err := child.Start(); err != nil {
		return startFailed(cfg.args[0], err)
	}
	if err := child.Wait(); child.ProcessState == nil {
		fmt.Fprintf(os.Stderr, "mcpshare: waiting for %s: %v\n", cfg.args[0], err)
		return 1
	}
	return child.ProcessState.ExitCode()
}
