//go:build linux || darwin

package childproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// lifelineFD is the supervisor's fd of the app's pipe: the first of cmd.ExtraFiles.
const lifelineFD = 3

// appPipe is the pipe that ties every supervisor to the app. Supervisors get its read end;
// the app holds the write end, writes nothing and never closes it, so that the kernel closes
// it when the app ends, however it ends, and every supervisor then reads end of file.
type appPipe struct{ r, w *os.File }

// lifeline is the app's one pipe, made on first use; the closure's result keeps both ends
// referenced (an unreferenced *os.File would be closed by its finalizer). Both ends are
// close-on-exec in the app: only a supervisor gets the read end, through ExtraFiles.
var lifeline = sync.OnceValues(func() (appPipe, error) {
	r, w, err := os.Pipe()
	return appPipe{r, w}, err
})

// attachLifeline passes the app's pipe to the supervisor of cmd and makes the supervisor the
// leader of a new process group, in which the command and its descendants will run: the
// group exists from the fork on, so KillTree reaches it even before the command starts.
func attachLifeline(cmd *exec.Cmd) error {
	p, err := lifeline()
	if err != nil {
		return err
	}
	cmd.ExtraFiles = []*os.File{p.r}
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", envLifeline, lifelineFD))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return nil
}

// KillTree ends the whole process tree of a started cmd at once: it sends SIGKILL to the
// supervisor's process group, which holds the supervisor (if it still runs), the command
// and everything the command started. A tree that is already gone is not an error.
//
// After the graceful close the supervisor has been reaped; its pid cannot have been reused
// while anything of the group is left, since a group's id stays taken as long as it has
// members.
func KillTree(cmd *exec.Cmd) error {
	if cmd == nil || cmd.Process == nil {
		return errors.New("childproc: KillTree of a command that was not started")
	}
	pgid := cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("childproc: killing process group %d: %w", pgid, err)
	}
	return nil
}
