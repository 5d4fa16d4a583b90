//go:build !unix

package builtin

import "os"

// openFlags are plain: outside Unix, a folder holds no FIFOs whose open(2) could block
// (Windows' named pipes live in \\.\pipe\, and os.Root refuses its reserved device names
// such as NUL); the type of the opened file is still checked.
const openFlags = os.O_RDONLY

func setBlocking(*os.File) error { return nil }
