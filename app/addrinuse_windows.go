package app

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// addrInUse reports whether a listen failed because the port is taken:
// Windows says so with its own WSAEADDRINUSE, not the POSIX errno.
func addrInUse(err error) bool {
	return errors.Is(err, windows.WSAEADDRINUSE) || errors.Is(err, syscall.EADDRINUSE)
}
