//go:build unix

package builtin

import (
	"fmt"
	"os"
	"syscall"
)

// openFlags never block in open(2), whatever the path turns out to be (O_NONBLOCK), and
// never make a terminal the app's controlling terminal (O_NOCTTY).
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// setBlocking clears O_NONBLOCK on a file that was checked to be regular or a folder, so
// that reading it behaves as usual on every file system (a FUSE file system may honour
// O_NONBLOCK on regular files).
func setBlocking(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("clearing O_NONBLOCK: %w", serr)
	}
	return nil
}
