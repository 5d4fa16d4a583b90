package builtin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// kind is what a tool reads: a regular file (fetch, search) or a folder (list, search).
type kind int

const (
	regularFile kind = iota
	folderKind
)

// kindError says that a path names something other than the kind a tool reads, such as a
// named pipe, a socket or a device: opening or reading those can block forever.
type kindError struct {
	mode fs.FileMode // of what the path names
	want kind
}

func (e *kindError) Error() string {
	return fmt.Sprintf("is %s, not %s", describeMode(e.mode), describeKind(e.want))
}

// describeMode names the type of a file the way people read it.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

func describeKind(k kind) string {
	if k == folderKind {
		return "a folder"
	}
	return "a regular file"
}

func checkKind(fi fs.FileInfo, want kind) error {
	if (want == regularFile && fi.Mode().IsRegular()) || (want == folderKind && fi.IsDir()) {
		return nil
	}
	return &kindError{mode: fi.Mode(), want: want}
}

// open opens rel for reading if, and only if, it is of kind want. It looks at what rel is
// before opening it, so that a pipe or a device is not even opened, and then opens it
// with openSeen, which cannot block and checks the opened file again.
func (f *folder) open(rel string, want kind) (*os.File, fs.FileInfo, error) {
	fi, err := f.root.Stat(rel)
	if err != nil {
		return nil, nil, err
	}
	if err := checkKind(fi, want); err != nil {
		return nil, fi, err
	}
	return f.openSeen(rel, want)
}

// openSeen opens rel, which was seen to be of kind want, through the folder's os.Root
// (so it cannot leave the folder). A path can be replaced between being seen and being
// opened, so the open is non-blocking where the platform has that (open(2) of a FIFO
// waits for a writer otherwise), and the opened file is checked again with fstat and
// closed unread when it is not of kind want.
func (f *folder) openSeen(rel string, want kind) (*os.File, fs.FileInfo, error) {
	file, err := f.root.OpenFile(rel, openFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := file.Stat()
	if err == nil {
		err = checkKind(fi, want)
	}
	if err == nil {
		err = setBlocking(file)
	}
	if err != nil {
		file.Close()
		return nil, fi, err
	}
	return file, fi, nil
}

// isKindError reports whether err says that a path is of the wrong kind.
func isKindError(err error) (*kindError, bool) {
	var ke *kindError
	ok := errors.As(err, &ke)
	return ke, ok
}
