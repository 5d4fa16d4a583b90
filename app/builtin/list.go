package builtin

import (
	"context"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxEntries bounds what list returns of one folder.
const maxEntries = 1000

// ListInput is the argument of the list tool.
type ListInput struct {
	Path string `json:"path,omitempty" jsonschema:"a subfolder, relative to the shared folder (as search and list return ids); empty for the top"`
}

// ListOutput is the content of one folder.
type ListOutput struct {
	Path      string      `json:"path" jsonschema:"the folder listed, relative to the shared folder (\".\" for the top)"`
	Entries   []ListEntry `json:"entries"`
	Truncated bool        `json:"truncated,omitempty" jsonschema:"true when the folder holds more entries than were returned"`
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
	entries, err := readDir(dir)
	if err != nil && len(entries) == 0 {
		return ListOutput{}, explain(p, err)
	}
	out := ListOutput{Path: encodeID(rel), Entries: []ListEntry{}}
	for _, d := range entries {
		if len(out.Entries) == maxEntries {
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

// readDir reads the entries of the open folder dir, sorted by name.
func readDir(dir *os.File) ([]fs.DirEntry, error) {
	entries, err := dir.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}
