package builtin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// fixture builds a shared folder next to a folder "outside" it, and returns both.
//
//	root/README.md          "welcome"
//	root/notes/todo.md      "buy milk\nalpha alpha"
//	root/notes/alpha.txt    "nothing here"           (name matches "alpha")
//	root/docs/guide.md      "alpha" five times
//	root/huge-alpha.log     3 MiB, matches by name only
//	root/big.txt            3 MiB with "alpha": too big to search
//	root/bin.dat            "alpha" and NUL bytes: binary
//	root/latin1.txt         "alpha caf\xe9": not UTF-8
//	root/.hidden/secret.md  "alpha": hidden, not searched
//	root/inlink.md   -> notes/todo.md         (link inside: fine)
//	root/indir       -> notes                 (link to a folder inside: fine)
//	root/outlink.md  -> ../outside/secret.txt (link out: refused)
//	root/outdir      -> ../outside            (link out: refused)
func fixture(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "share"), filepath.Join(base, "outside")
	big := strings.Repeat("x\n", 3<<19) + "alpha"
	files := map[string]string{
		"README.md":         "welcome",
		"notes/todo.md":     "buy milk\nalpha alpha",
		"notes/alpha.txt":   "nothing here",
		"docs/guide.md":     strings.Repeat("alpha ", 5),
		"huge-alpha.log":    big[:len(big)-5],
		"big.txt":           big,
		"bin.dat":           "alpha\x00\x01\x02alpha",
		"latin1.txt":        "alpha caf\xe9",
		".hidden/secret.md": "alpha",
	}
	for name, content := range files {
		write(t, filepath.Join(root, name), content)
	}
	write(t, filepath.Join(outside, "secret.txt"), "alpha TOPSECRET")
	for link, target := range map[string]string{
		"inlink.md":  filepath.Join("notes", "todo.md"),
		"indir":      "notes",
		"outlink.md": filepath.Join("..", "outside", "secret.txt"),
		"outdir":     filepath.Join("..", "outside"),
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Skipf("symlinks not available: %v", err)
		}
	}
	return root, outside
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, root string) *folder {
	t.Helper()
	f, err := openFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFetchPaths(t *testing.T) {
	root, outside := fixture(t)
	f := open(t, root)
	tests := []struct {
		id       string
		wantText string // on success
		wantErr  string // substring of the error
	}{
		{id: "notes/todo.md", wantText: "buy milk\nalpha alpha"},
		{id: "./notes/./todo.md", wantText: "buy milk\nalpha alpha"},
		{id: "notes//todo.md", wantText: "buy milk\nalpha alpha"},
		{id: "inlink.md", wantText: "buy milk\nalpha alpha"},
		{id: "indir/todo.md", wantText: "buy milk\nalpha alpha"},
		{id: "../outside/secret.txt", wantErr: `contains ".."`},
		{id: "notes/../../outside/secret.txt", wantErr: `contains ".."`},
		{id: "notes/../README.md", wantErr: `contains ".."`},
		{id: "..", wantErr: `contains ".."`},
		{id: "/etc/passwd", wantErr: "absolute path"},
		{id: filepath.Join(root, "README.md"), wantErr: "absolute path"},
		{id: filepath.Join(outside, "secret.txt"), wantErr: "absolute path"},
		{id: `\etc\passwd`, wantErr: "absolute path"},
		{id: "outlink.md", wantErr: "outside the shared folder"},
		{id: "outdir/secret.txt", wantErr: "outside the shared folder"},
		{id: "missing.md", wantErr: "does not exist"},
		{id: "notes", wantErr: "is a folder"},
		{id: "", wantErr: "needs the id of a file"},
		{id: "bin.dat", wantErr: "binary file"},
		{id: "latin1.txt", wantErr: "binary file"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			out, err := f.fetch(tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("fetch(%q): err = %v, want one containing %q", tt.id, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "TOPSECRET") {
					t.Fatalf("error leaks the outside file: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("fetch(%q): %v", tt.id, err)
			}
			if out.Text != tt.wantText || out.Metadata.Truncated {
				t.Fatalf("fetch(%q) = %+v, want text %q", tt.id, out, tt.wantText)
			}
		})
	}
}

// The os.Root every file is opened through refuses escapes by itself, whatever the
// EvalSymlinks check says (for example when a link is swapped between check and open).
func TestRootRefusesEscapes(t *testing.T) {
	root, _ := fixture(t)
	f := open(t, root)
	for _, name := range []string{"outlink.md", "outdir/secret.txt"} {
		if file, _, err := f.open(name, regularFile); err == nil {
			file.Close()
			t.Errorf("os.Root opened %s", name)
		} else if got := explain(name, err).Error(); !strings.Contains(got, "outside the shared folder") {
			t.Errorf("explain(%s) = %q", name, got)
		}
	}
	for _, name := range []string{"../outside/secret.txt", "/etc/passwd"} {
		if _, err := f.root.Open(name); err == nil {
			t.Errorf("os.Root opened %s", name)
		}
		if _, _, err := f.openSeen(name, regularFile); err == nil {
			t.Errorf("openSeen opened %s", name)
		}
	}
	if _, _, err := f.open("inlink.md", regularFile); err != nil {
		t.Errorf("os.Root refused a link inside the folder: %v", err)
	}
}

func TestFetchLarge(t *testing.T) {
	root := t.TempDir()
	// One ASCII byte then two-byte runes: the 1 MiB cut falls inside a rune.
	content := "a" + strings.Repeat("é", maxFetchSize/2+1000)
	write(t, filepath.Join(root, "large.txt"), content)
	out, err := open(t, root).fetch("large.txt")
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if !out.Metadata.Truncated || out.Metadata.Size != int64(len(content)) {
		t.Errorf("metadata = %+v, want truncated and size %d", out.Metadata, len(content))
	}
	if !utf8.ValidString(out.Text) {
		t.Error("the cut split a rune")
	}
	body, note, ok := strings.Cut(out.Text, "\n\n[MCP Share:")
	if !ok || !strings.Contains(note, "only its first") {
		t.Fatalf("no truncation note at the end: %q", out.Text[len(out.Text)-200:])
	}
	if len(body) > maxFetchSize || !strings.HasPrefix(content, body) || len(body) < maxFetchSize-4 {
		t.Errorf("body is %d bytes, want the first ~%d bytes of the file", len(body), maxFetchSize)
	}
}

func TestSearchRanking(t *testing.T) {
	root, _ := fixture(t)
	f := open(t, root)
	ids := func(hits []hit) []string {
		var out []string
		for _, h := range hits {
			out = append(out, h.ID)
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		// Name matches (10 each) before content (5 hits, then 2); ties by path. Not found:
		// big.txt (too big), bin.dat and latin1.txt (binary), .hidden, and the links out.
		{"alpha", []string{"huge-alpha.log", "notes/alpha.txt", "docs/guide.md", "inlink.md", "notes/todo.md"}},
		{"ALPHA", []string{"huge-alpha.log", "notes/alpha.txt", "docs/guide.md", "inlink.md", "notes/todo.md"}},
		// Both words, in two files; a folder name counts less than a file name.
		{"buy milk", []string{"inlink.md", "notes/todo.md"}},
		{"notes", []string{"notes/alpha.txt", "notes/todo.md"}},
		{"topsecret", nil},
		{"welcome zzz", []string{"README.md"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			hits, _, err := f.search(context.Background(), tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(hits); !slices.Equal(got, tt.want) {
				t.Fatalf("search(%q) = %v, want %v", tt.query, got, tt.want)
			}
		})
	}

	hits, _, _ := f.search(context.Background(), "milk")
	if len(hits) == 0 || hits[0].Text != "buy milk alpha alpha" || hits[0].Title != "inlink.md" {
		t.Errorf("snippet/title = %+v", hits)
	}
	// An empty query lists files in path order.
	hits, _, _ = f.search(context.Background(), "  ")
	if got := ids(hits); len(got) == 0 || got[0] != "README.md" || !slices.IsSorted(got) {
		t.Errorf("empty query = %v", got)
	}
}

func TestSearchBounds(t *testing.T) {
	const walkFiles = 100 // lowered from maxFilesWalked, so that the test writes a few hundred files
	root := t.TempDir()
	for i := range walkFiles + 5 {
		content := "hay"
		if i == 0 || i == walkFiles+4 {
			content = "needle"
		}
		write(t, filepath.Join(root, fmt.Sprintf("f%05d.txt", i)), content)
	}
	for i := range maxResults + 5 {
		write(t, filepath.Join(root, "a", fmt.Sprintf("many%02d.txt", i)), "many")
	}
	f := open(t, root)
	f.lim.walkFiles = walkFiles
	hits, truncated, err := f.search(context.Background(), "needle")
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].ID != "f00000.txt" || !truncated {
		t.Errorf("search past the walk limit = %v, truncated %v; want only f00000.txt, truncated", hits, truncated)
	}
	hits, _, _ = f.search(context.Background(), "many")
	if len(hits) != maxResults {
		t.Errorf("got %d results, want the cap %d", len(hits), maxResults)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := f.search(ctx, "many"); !errors.Is(err, context.Canceled) {
		t.Errorf("search with a cancelled context: %v", err)
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("lorem ipsum ", 50) + "NEEDLE in  the\nhay " + strings.Repeat("dolor sit ", 50)
	at := strings.Index(long, "NEEDLE")
	s := snippet(long, at)
	if !strings.HasPrefix(s, "…") || !strings.HasSuffix(s, "…") || !strings.Contains(s, "NEEDLE in the hay") {
		t.Errorf("snippet = %q", s)
	}
	if s := snippet("ééé", 1); s != "ééé" {
		t.Errorf("snippet of a short text = %q", s)
	}
}

func TestList(t *testing.T) {
	root, _ := fixture(t)
	f := open(t, root)

	out, err := f.list("")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ListEntry{}
	for _, e := range out.Entries {
		got[e.Name] = e
	}
	want := map[string]string{
		".hidden": "dir", "README.md": "file", "big.txt": "file", "bin.dat": "file", "docs": "dir",
		"huge-alpha.log": "file", "indir": "dir", "inlink.md": "file", "latin1.txt": "file", "notes": "dir",
	}
	if len(got) != len(want) {
		t.Errorf("list = %v, want the names of %v (no links out)", out.Entries, want)
	}
	for name, typ := range want {
		if got[name].Type != typ || got[name].ID != name {
			t.Errorf("entry %s = %+v, want type %s", name, got[name], typ)
		}
	}
	if got["README.md"].Size != int64(len("welcome")) || got["inlink.md"].Size != int64(len("buy milk\nalpha alpha")) {
		t.Errorf("sizes: %+v %+v", got["README.md"], got["inlink.md"])
	}
	if out2, err := f.list("/"); err != nil || len(out2.Entries) != len(out.Entries) || out2.Path != "." {
		t.Errorf(`list("/") = %+v, %v`, out2, err)
	}

	tests := []struct {
		path    string
		want    []string
		wantErr string
	}{
		{path: "notes", want: []string{"notes/alpha.txt", "notes/todo.md"}},
		{path: "indir", want: []string{"indir/alpha.txt", "indir/todo.md"}},
		{path: "README.md", wantErr: "not a folder"},
		{path: "..", wantErr: `contains ".."`},
		{path: "notes/../..", wantErr: `contains ".."`},
		{path: "/tmp", wantErr: "absolute path"},
		{path: "outdir", wantErr: "outside the shared folder"},
		{path: "missing", wantErr: "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			out, err := f.list(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("list(%q): err = %v, want %q", tt.path, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range out.Entries {
				ids = append(ids, e.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("list(%q) = %v, want %v", tt.path, ids, tt.want)
			}
		})
	}
}

// Errors go to a remote client: they name the id, never the folder's place on this computer.
func TestErrorsKeepTheFolderPathLocal(t *testing.T) {
	root, _ := fixture(t)
	f := open(t, root)
	long := strings.Repeat("x", 300) // longer than a file name may be
	for _, call := range []func() error{
		func() error { _, err := f.fetch(long); return err },
		func() error { _, err := f.fetch("README.md/" + long); return err },
		func() error { _, err := f.list(long); return err },
	} {
		err := call()
		if err == nil || strings.Contains(err.Error(), root) || strings.Contains(err.Error(), f.resolved) {
			t.Errorf("err = %v, want an error that does not name %s", err, root)
		}
	}
}

func TestMissingFolder(t *testing.T) {
	_, err := openFolder(filepath.Join(t.TempDir(), "gone"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("openFolder on a missing folder: %v", err)
	}
}

func TestCleanID(t *testing.T) {
	for in, want := range map[string]string{"": ".", ".": ".", "./": ".", "a/b": "a/b", "a/./b/": "a/b", " a ": "a"} {
		if got, err := cleanID(in); err != nil || got != want {
			t.Errorf("cleanID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"..", "a/..", "../a", "/", "/a", `\a`, "a/../../b"} {
		if got, err := cleanID(in); err == nil {
			t.Errorf("cleanID(%q) = %q, want an error", in, got)
		}
	}
}
