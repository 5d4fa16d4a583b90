package app

import (
	"path/filepath"
	"testing"
)

// The audit log's key is the installation's: the same after a restart (so
// equal calls keep equal digests), another in another installation.
func TestAuditKeyIsKeptPerInstallation(t *testing.T) {
	key := func(dir string) string {
		t.Helper()
		a, err := Open(Options{ConfigDir: dir, Secrets: SecretsFile, FilesRoot: filepath.Join(dir, "files")})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		return string(a.gov.key())
	}
	dir := t.TempDir()
	first := key(dir)
	if len(first) < 32 {
		t.Fatalf("a key of %d bytes", len(first))
	}
	if again := key(dir); again != first {
		t.Error("the key changed across a restart")
	}
	if key(t.TempDir()) == first {
		t.Error("two installations have the same key")
	}
}
