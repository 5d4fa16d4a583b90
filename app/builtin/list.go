package builtin

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ListInput is the argument of the list tool.
type ListInput struct {
	Path string `json:"path,omitempty" jsonschema:"a subfolder, relative to the shared folder (as search and list return ids); empty for the top"`
}

// ListOutput is the content of one folder.
type ListOutput struct {
	Path      string      `json:"path" jsonschema:"the folder listed, relative to the shared folder (\".\" for the top)"`
	Entries   []ListEntry `json:"entries"`
	Truncated bool        `json:"truncated,omitempty" jsonschema:"true when the folder holds more entries than were returned (list reads at most 4000 of one folder and returns at most 1000); use search to find files in it"`
}

// ListEntry is one file or subfolder.
type ListEntry struct {
	Name string `json:"name"`
	ID   string `json:"id" jsonschema:"the entry's path relative to the shared folder: pass it to fetch (files) or list (folders)"`
	Type string `json:"type" jsonschema:"\"file\" or \"dir\""`
	Size int64  `json:"size" jsonschema:"size in bytes (0 for folders)"`
}

func (t *tools) list(ctx context.Context, _ *mcp.CallToolRequest, in ListInput) (*mcp.CallToolResult, ListOutput, error) {
	f, err := t.open()
	if err != nil {
		return nil, ListOutput{}, err
	}
	defer f.Close()
	out, err := f.list(in.Path)
	return nil, out, err
}

func (f *folder) list(p string) (ListOutput, error) {
	if p == "/" { // "the top of the share", as models often write it
		p = ""
	}
	rel, err := cleanID(p)
	if err != nil {
		return ListOutput{}, err
	}
	if err := f.check(p, rel); err != nil {
		return ListOutput{}, err
	}
	dir, _, err := f.open(rel, folderKind)
	if err != nil {
		return ListOutput{}, explain(p, err)
	}
	defer dir.Close()
	entries, more, err := readDir(dir, f.lim.listScan)
	if err != nil && len(entries) == 0 {
		return ListOutput{}, explain(p, err)
	}
	out := ListOutput{Path: encodeID(rel), Entries: []ListEntry{}, Truncated: more}
	for _, d := range entries {
		if len(out.Entries) == f.lim.listEntries {
			out.Truncated = true
			break
		}
		child := path.Join(rel, d.Name())
		id := encodeID(child)
		e := ListEntry{Name: displayName(d.Name()), ID: id}
		var fi fs.FileInfo
		if d.Type()&fs.ModeSymlink != 0 {
			// A link is shown as what it points to, and only when that is inside the folder.
			if f.check(id, child) != nil {
				continue
			}
			fi, err = f.root.Stat(child)
		} else {
			fi, err = d.Info()
		}
		switch {
		case err != nil:
			continue // removed while listing, or unreadable
		case fi.IsDir():
			e.Type = "dir"
		case fi.Mode().IsRegular():
			e.Type, e.Size = "file", fi.Size()
		default:
			continue // pipes, sockets and devices cannot be read
		}
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}

// readDir reads at most n entries of the open folder dir, sorted by name, and reports
// whether it holds more. Reading stops at n, so a folder with a million entries costs no
// more than one with n; which n entries are read then depends on the file system.
func readDir(dir *os.File, n int) ([]fs.DirEntry, bool, error) {
	var entries []fs.DirEntry
	var err error
	for len(entries) < n && err == nil {
		var batch []fs.DirEntry
		batch, err = dir.ReadDir(min(n-len(entries), 1024))
		entries = append(entries, batch...)
	}
	more := false
	if err == nil {
		next, _ := dir.ReadDir(1)
		more = len(next) > 0
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, more, err
}
