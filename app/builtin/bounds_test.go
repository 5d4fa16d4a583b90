package builtin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mkdirs makes n empty folders in dir: the cheapest entries to make many of.
func mkdirs(t testing.TB, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("d%06d", i)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// A folder with three times the entries list reads costs list no more than one just over
// that bound: list reads at most listScan entries, where it used to read them all. (The
// limits are lowered so that the folders hold hundreds of entries, not tens of thousands.)
func TestListCostDoesNotGrowWithTheFolder(t *testing.T) {
	lim := limits{listEntries: 50, listScan: 200}
	small, large := t.TempDir(), t.TempDir()
	mkdirs(t, small, lim.listScan+1)
	mkdirs(t, large, 3*lim.listScan)
	allocs := map[string]float64{}
	for name, root := range map[string]string{"small": small, "large": large} {
		f := open(t, root)
		f.lim = lim
		out, err := f.list("")
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Entries) != lim.listEntries || !out.Truncated {
			t.Errorf("list of %s: %d entries, truncated %v; want %d and truncated", name, len(out.Entries), out.Truncated, lim.listEntries)
		}
		allocs[name] = testing.AllocsPerRun(3, func() { f.list("") })
	}
	if allocs["large"] > 1.2*allocs["small"] {
		t.Errorf("list allocates %.0f times for %d entries and %.0f for %d: its cost grows with the folder",
			allocs["small"], lim.listScan+1, allocs["large"], 3*lim.listScan)
	}
}

func TestSearchWalkBounds(t *testing.T) {
	deep := func(t *testing.T, root string, depth int, text string) string {
		p := root
		for i := range depth {
			p = filepath.Join(p, fmt.Sprintf("l%02d", i+1))
		}
		write(t, filepath.Join(p, "deep.txt"), text)
		return p
	}
	tests := []struct {
		name          string
		walkEntries   int // lowered, so that the folder holds hundreds of entries, not thousands
		build         func(t *testing.T, root string)
		wantFound     bool
		wantTruncated bool
	}{
		{
			name:      "a file as deep as the walk goes",
			build:     func(t *testing.T, root string) { deep(t, root, maxWalkDepth, "needle") },
			wantFound: true,
		},
		{
			name:          "a file deeper than the walk goes",
			build:         func(t *testing.T, root string) { deep(t, root, maxWalkDepth+1, "needle") },
			wantTruncated: true,
		},
		{
			// Folders are not files, but reading them costs: the walk counts every entry.
			name:        "a file after more folders than the walk reads",
			walkEntries: 200,
			build: func(t *testing.T, root string) {
				mkdirs(t, filepath.Join(root, "a"), 200)
				write(t, filepath.Join(root, "b.txt"), "needle")
			},
			wantTruncated: true,
		},
		{
			// Sparse files: 8 KiB of text, then zero bytes (UTF-8, so read) up to the size.
			name: "a file after as much text as one search reads",
			build: func(t *testing.T, root string) {
				for i := range maxSearchText / maxSearchSize {
					p := filepath.Join(root, fmt.Sprintf("f%03d.txt", i))
					write(t, p, strings.Repeat("a", sniffLen))
					if err := os.Truncate(p, maxSearchSize); err != nil {
						t.Fatal(err)
					}
				}
				write(t, filepath.Join(root, "zz.txt"), "needle")
			},
			wantTruncated: true,
		},
		{
			name: "files within every bound",
			build: func(t *testing.T, root string) {
				mkdirs(t, filepath.Join(root, "a"), 100)
				write(t, filepath.Join(root, "b.txt"), "needle")
			},
			wantFound: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tt.build(t, root)
			f := open(t, root)
			if tt.walkEntries > 0 {
				f.lim.walkEntries = tt.walkEntries
			}
			hits, truncated, err := f.search(context.Background(), "needle")
			if err != nil {
				t.Fatal(err)
			}
			if found := len(hits) > 0; found != tt.wantFound || truncated != tt.wantTruncated {
				t.Errorf("search found %v (%v), truncated %v; want found %v, truncated %v", found, hits, truncated, tt.wantFound, tt.wantTruncated)
			}
		})
	}
}

func TestRefusalsOfExpensiveArguments(t *testing.T) {
	root, _ := fixture(t)
	f := open(t, root)
	longID := strings.Repeat("a/", maxIDLen/2) + "b"
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"a long query", func() error {
			_, _, err := f.search(context.Background(), strings.Repeat("word ", 205))
			return err
		}, "the query is 1025 bytes long; search takes queries of at most 1024 bytes"},
		{"a long id to fetch", func() error { _, err := f.fetch(longID); return err }, "the id is 4097 bytes long; ids of files in the shared folder are at most 4096 bytes"},
		{"a long path to list", func() error { _, err := f.list(longID); return err }, "the id is 4097 bytes long"},
		{"an id that is not UTF-8", func() error { _, err := f.fetch("caf\xe9.txt"); return err }, "is not UTF-8; ids are UTF-8, with %XX for the bytes of a name that are not"},
		{"an id with a NUL byte", func() error { _, err := f.fetch("a\x00b"); return err }, "contains a NUL byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// A file of one 2 MiB line gives a snippet of a few hundred bytes around the match.
func TestSnippetOfAHugeLine(t *testing.T) {
	root := t.TempDir()
	line := strings.Repeat("x", maxSearchSize/2-10) + " needle " + strings.Repeat("y", maxSearchSize/2-10)
	write(t, filepath.Join(root, "line.txt"), line)
	hits, _, err := open(t, root).search(context.Background(), "needle")
	if err != nil || len(hits) != 1 {
		t.Fatalf("search = %v, %v", hits, err)
	}
	if n := len(hits[0].Text); n > snippetBefore+snippetAfter+len("……") || !strings.Contains(hits[0].Text, "needle") {
		t.Errorf("snippet is %d bytes: %.100q", n, hits[0].Text)
	}
}
