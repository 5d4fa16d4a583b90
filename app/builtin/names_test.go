package builtin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// nameCases are files whose names are not UTF-8 (Linux allows any bytes but "/" and NUL),
// next to UTF-8 names that look like their ids, each with text of its own.
var nameCases = []struct {
	path  string // on disk, slash-separated
	id    string // as the tools give it
	title string // as the tools show it
	text  string
}{
	{"caf\xe9.txt", "caf%E9.txt", "caf\uFFFD.txt", "latin one"},
	{"caf%E9.txt", "caf%25E9.txt", "caf%E9.txt", "percent name"},
	{"café.txt", "café.txt", "café.txt", "utf eight"},
	{"\xe9\xe9", "%E9%E9", "\uFFFD", "two bytes"},
	{"Report%20final.md", "Report%20final.md", "Report%20final.md", "report"},
	{"100%.txt", "100%.txt", "100%.txt", "hundred"},
	{"d\xff\xfe/inner\x80.md", "d%FF%FE/inner%80.md", "inner\uFFFD.md", "inner"},
}

// namesFixture writes nameCases into a new folder, or skips the test on a file system
// that refuses names that are not UTF-8 (macOS, Windows).
func namesFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, c := range nameCases {
		p := filepath.Join(root, filepath.FromSlash(c.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Skipf("this file system refuses the name %q: %v", c.path, err)
		}
		if err := os.WriteFile(p, []byte(c.text+" marker"), 0o600); err != nil {
			t.Skipf("this file system refuses the name %q: %v", c.path, err)
		}
	}
	return root
}

func TestNamesThatAreNotUTF8(t *testing.T) {
	root := namesFixture(t)
	f := open(t, root)
	top, err := f.list("")
	if err != nil {
		t.Fatal(err)
	}
	inTop := map[string]ListEntry{}
	for _, e := range top.Entries {
		inTop[e.ID] = e
	}
	for _, c := range nameCases {
		t.Run(c.id, func(t *testing.T) {
			// list gives the id, in the top folder or in the subfolder list gives the id of.
			listed, ok := inTop[c.id]
			if dir, _, nested := strings.Cut(c.id, "/"); nested {
				sub, err := f.list(inTop[dir].ID)
				if err != nil {
					t.Fatalf("list(%q): %v", inTop[dir].ID, err)
				}
				for _, e := range sub.Entries {
					if e.ID == c.id {
						listed, ok = e, true
					}
				}
				if sub.Path != dir {
					t.Errorf("list(%q).Path = %q", dir, sub.Path)
				}
			}
			if !ok || listed.ID != c.id || listed.Name != c.title || listed.Type != "file" {
				t.Fatalf("list entry = %+v, want id %q, name %q; top: %v", listed, c.id, c.title, top.Entries)
			}
			// fetch(id) reads exactly that file.
			out, err := f.fetch(c.id)
			if err != nil {
				t.Fatalf("fetch(%q): %v", c.id, err)
			}
			if out.Text != c.text+" marker" || out.ID != c.id || out.Metadata.Path != c.id || out.Title != c.title {
				t.Errorf("fetch(%q) = %+v, want the text %q under id %q, title %q", c.id, out, c.text, c.id, c.title)
			}
			// search finds it by its text, under the same id.
			hits, _, err := f.search(context.Background(), c.text)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 || hits[0].ID != c.id || hits[0].Title != c.title {
				t.Errorf("search(%q) = %+v, want first %q titled %q", c.text, hits, c.id, c.title)
			}
		})
	}
}

// Through the MCP server the ids survive JSON both ways: the id list returns, passed to
// fetch as the model would, reads the file it names.
func TestServerNamesThatAreNotUTF8(t *testing.T) {
	root := namesFixture(t)
	ctx := context.Background()
	cs := connect(t, root)
	call := func(name string, args map[string]any, out any) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil || res.IsError {
			t.Fatalf("%s %v: %v %+v", name, args, err, res)
		}
		if err := json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), out); err != nil {
			t.Fatal(err)
		}
	}
	var top ListOutput
	call("list", map[string]any{}, &top)
	texts := map[string]string{}
	for i := 0; i < len(top.Entries); i++ { // subfolders' entries are appended as it goes
		e := top.Entries[i]
		if e.Type == "dir" {
			var sub ListOutput
			call("list", map[string]any{"path": e.ID}, &sub)
			top.Entries = append(top.Entries, sub.Entries...)
			continue
		}
		var doc FetchOutput
		call("fetch", map[string]any{"id": e.ID}, &doc)
		texts[e.ID] = doc.Text
	}
	for _, c := range nameCases {
		if texts[c.id] != c.text+" marker" {
			t.Errorf("fetch of the listed id %q = %q, want %q (all: %q)", c.id, texts[c.id], c.text, texts)
		}
	}
}
