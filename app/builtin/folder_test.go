package builtin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureFolder(t *testing.T) {
	root := filepath.Join(t.TempDir(), "home", "MCP Share")
	if err := EnsureFolder(root); err != nil {
		t.Fatalf("EnsureFolder: %v", err)
	}
	fi, err := os.Stat(root)
	if err != nil || !fi.IsDir() {
		t.Fatalf("folder not created: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("folder mode = %04o, want 0700", perm)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatalf("README: %v", err)
	}
	if !strings.Contains(string(data), "ChatGPT") || !strings.Contains(string(data), "MCP Share") {
		t.Errorf("README does not say what the folder is for:\n%s", data)
	}

	// The user's own README is never overwritten, and a removed one is not written again.
	readme := filepath.Join(root, "README.md")
	if err := os.WriteFile(readme, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := EnsureFolder(root); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(readme); string(data) != "mine" {
		t.Errorf("README overwritten: %q", data)
	}
	os.Remove(readme)
	if err := EnsureFolder(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(readme); !os.IsNotExist(err) {
		t.Errorf("README written again into an existing folder (stat: %v)", err)
	}
}

func TestEnsureFolderOnFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := EnsureFolder(p); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("EnsureFolder on a file: err = %v", err)
	}
}
