package childproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/windows"
)

// lifeline is the app's job object, made on first use and never closed: Windows closes the
// handle when the app ends, however it ends, and then kills every supervisor and its tree.
// The handle is inheritable, but Go passes a child only the handles listed for it, so only
// supervisors get it (through AdditionalInheritedHandles), and they close it at once.
var lifeline = sync.OnceValues(func() (uintptr, error) { return newAppJob(winJobs{}) })

func selfPath() (string, error) { return os.Executable() }

// attachLifeline lends the app's job to the supervisor of cmd. CREATE_NO_WINDOW: the app is
// a GUI program, and a console program started from one would get a console window of its own.
func attachLifeline(cmd *exec.Cmd) error {
	job, err := lifeline()
	if err != nil {
		return err
	}
	cmd.Env = append(cmd.Env, envLifeline+"="+strconv.FormatUint(uint64(job), 10))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		AdditionalInheritedHandles: []syscall.Handle{syscall.Handle(job)},
		CreationFlags:              windows.CREATE_NO_WINDOW,
	}
	return nil
}

// KillTree ends the whole process tree of a started cmd at once: it terminates the supervisor,
// whose job then kills the command and everything the command started. A tree that is already
// gone is not an error.
func KillTree(cmd *exec.Cmd) error {
	if cmd == nil || cmd.Process == nil {
		return errors.New("childproc: KillTree of a command that was not started")
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("childproc: terminating the supervisor (pid %d): %w", cmd.Process.Pid, err)
	}
	return nil
}
