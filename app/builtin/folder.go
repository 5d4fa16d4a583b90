package builtin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// readme is written into the shared folder when EnsureFolder creates it.
const readme = `# MCP Share

Files you put in this folder are what ChatGPT, Claude and other assistants can search
and read through MCP Share's built-in "files" server, while sharing is on.

- They can only read: nothing here is changed, moved or deleted by MCP Share.
- Only this folder and its subfolders are visible; links that point outside it are not followed.
- Text files work best (notes, Markdown, code, CSV, JSON). Binary files such as images
  or PDFs are listed but their contents cannot be read.

Remove this README if you like; MCP Share will not write it again.
`

// EnsureFolder makes sure the shared folder root exists. When it has to create it (mode
// 0700), it also writes a short README.md saying what the folder is for; an existing
// folder is left exactly as it is.
func EnsureFolder(root string) error {
	fi, err := os.Stat(root)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("shared folder %s exists but is not a folder", root)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("shared folder: %w", err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("creating shared folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(root, "README.md"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("writing the shared folder's README: %w", err)
	}
	if _, err := f.WriteString(readme); err != nil {
		f.Close()
		return fmt.Errorf("writing the shared folder's README: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the shared folder's README: %w", err)
	}
	return nil
}
