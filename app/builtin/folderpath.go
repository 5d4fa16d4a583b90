package builtin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// folder is the shared folder as one tool call sees it. It is opened per call, so a folder
// that is replaced or created while the server runs is picked up.
type folder struct {
	dir      string // as configured
	resolved string // dir with symlinks resolved, for containment checks
	root     *os.Root
	lim      limits
}

func openFolder(dir string) (*folder, error) {
	resolved, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the shared folder %s does not exist; create it or choose another folder in MCP Share", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("the shared folder %s cannot be opened: %w", dir, err)
	}
	// os.OpenRoot opens without O_NONBLOCK: make sure it is given a folder, not a pipe.
	if fi, err := os.Stat(resolved); err != nil {
		return nil, fmt.Errorf("the shared folder %s cannot be opened: %w", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("the shared folder %s is %s, not a folder; choose another folder in MCP Share", dir, describeMode(fi.Mode()))
	}
	root, err := os.OpenRoot(resolved)
	if err != nil {
		return nil, fmt.Errorf("the shared folder %s cannot be opened: %w", dir, err)
	}
	return &folder{dir: dir, resolved: resolved, root: root, lim: defaultLimits()}, nil
}

func (f *folder) Close() error { return f.root.Close() }

// cleanID turns a tool's id argument into a slash-separated path relative to the folder
// ("." for the folder itself), refusing anything that could name a place outside it.
func cleanID(id string) (string, error) {
	raw, err := decodeID(id)
	if err != nil {
		return "", err
	}
	p := strings.TrimSpace(raw)
	if p == "" || p == "." || p == "./" {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return "", fmt.Errorf("%q is an absolute path; use a path relative to the shared folder, as search and list return them", id)
	}
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == filepath.Separator }) {
		if seg == ".." {
			return "", fmt.Errorf("%q contains \"..\"; only paths inside the shared folder can be read", id)
		}
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%q contains a NUL byte, which no file name can hold", id)
	}
	return path.Clean(filepath.ToSlash(p)), nil
}

// check refuses a path whose symlinks resolve outside the folder, with a message that
// says so. The os.Root every file is opened through refuses such paths too; this check
// only makes the refusal clear. It never opens rel (EvalSymlinks only lstats and reads links).
func (f *folder) check(id, rel string) error {
	full, err := filepath.EvalSymlinks(filepath.Join(f.resolved, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%q does not exist in the shared folder (use search or list to find ids)", id)
	}
	if err != nil {
		return explain(id, err)
	}
	if !within(f.resolved, full) {
		return fmt.Errorf("%q is a link to a place outside the shared folder; only files inside it can be read", id)
	}
	return nil
}

// within reports whether path p is dir or inside it (both cleaned, symlinks resolved).
func within(dir, p string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && (r == "." || filepath.IsLocal(r))
}

// explain rewrites an error from opening id into one for the tool's caller.
func explain(id string, err error) error {
	if ke, ok := isKindError(err); ok {
		switch {
		case ke.want == regularFile && ke.mode.IsDir():
			return fmt.Errorf("%q is a folder; use list with this path to see what it holds", id)
		case ke.want == folderKind && ke.mode.IsRegular():
			return fmt.Errorf("%q is a file, not a folder; use fetch to read it", id)
		}
		return fmt.Errorf("%q %v; only regular files and folders are read, because opening or reading a pipe, socket or device can wait forever", id, ke)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%q does not exist in the shared folder (use search or list to find ids)", id)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%q cannot be read: permission denied", id)
	case strings.Contains(err.Error(), "escapes"):
		return fmt.Errorf("%q leads outside the shared folder; only files inside it can be read", id)
	}
	// The path in a PathError is the folder's place on this computer: keep it local.
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%q cannot be read: %w", id, err)
}
