package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func newFile(t *testing.T) (Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config", "secrets.json")
	s, err := File(path)
	if err != nil {
		t.Fatalf("File(%s): %v", path, err)
	}
	return s, path
}

func TestFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, path := newFile(t)

	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("File created %s before the first Set (stat: %v)", path, err)
	}
	if _, err := s.Get(ctx, KeyNgrokAuthtoken); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on an empty store: err = %v, want ErrNotFound", err)
	}

	kinds := map[string]string{
		KeyNgrokAuthtoken:          "2abc_ngrok",
		KeyClientSecret:            "s3cr3t",
		EnvKey("notes", "API_KEY"): "sk-123 \"quoted\" ünïcode\n",
	}
	for k, v := range kinds {
		if err := s.Set(ctx, k, v); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	for k, v := range kinds {
		got, err := s.Get(ctx, k)
		if err != nil || got != v {
			t.Fatalf("Get(%q) = %q, %v; want %q", k, got, err, v)
		}
	}
	if err := s.Set(ctx, KeyClientSecret, "rotated"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, KeyClientSecret); got != "rotated" {
		t.Fatalf("after overwrite Get = %q, want rotated", got)
	}

	// A second store on the same file sees the same secrets.
	s2, err := File(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Get(ctx, KeyNgrokAuthtoken); err != nil || got != "2abc_ngrok" {
		t.Fatalf("second store Get = %q, %v", got, err)
	}

	if err := s.Delete(ctx, KeyNgrokAuthtoken); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, KeyNgrokAuthtoken); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, KeyNgrokAuthtoken); err != nil {
		t.Fatalf("Delete of an absent key: %v, want nil", err)
	}
	if err := Check(ctx, s); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if _, err := s.Get(ctx, probeKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Check left its probe key behind: %v", err)
	}
}

func TestFileDeleteAbsentOnMissingFile(t *testing.T) {
	s, path := newFile(t)
	if err := s.Delete(context.Background(), "nothing"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Delete of an absent key created the file (stat: %v)", err)
	}
}

func TestFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits on Windows")
	}
	ctx := context.Background()
	s, path := newFile(t)
	if err := s.Set(ctx, KeyClientSecret, "x"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode = %04o, want 0600", perm)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode = %04o, want 0700", perm)
	}

	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o644, 0o666} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(path, 0o600) })
			_, err := File(path)
			if err == nil || !strings.Contains(err.Error(), "chmod 600") {
				t.Fatalf("File with mode %04o: err = %v, want a refusal naming chmod 600", mode, err)
			}
			if _, err := s.Get(ctx, KeyClientSecret); err == nil || !strings.Contains(err.Error(), "other users") {
				t.Fatalf("Get with mode %04o: err = %v, want a refusal", mode, err)
			}
			if err := s.Set(ctx, KeyClientSecret, "y"); err == nil {
				t.Fatalf("Set with mode %04o succeeded", mode)
			}
		})
	}
}

func TestFileBadContent(t *testing.T) {
	for name, content := range map[string]string{
		"not json":    "ngrok=abc",
		"array":       `["a"]`,
		"non-strings": `{"a": 1}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secrets.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := File(path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("File: err = %v, want an error naming %s", err, path)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		if _, err := File(t.TempDir()); err == nil {
			t.Fatal("File on a directory succeeded")
		}
	})
}

// A write that fails before the rename leaves the old content and no temporary file.
func TestFileAtomicWrite(t *testing.T) {
	ctx := context.Background()
	s, path := newFile(t)
	if err := s.Set(ctx, KeyClientSecret, "old"); err != nil {
		t.Fatal(err)
	}
	fsStore := s.(*fileStore)
	fsStore.rename = func(oldpath, newpath string) error { return errors.New("disk unplugged") }
	if err := s.Set(ctx, KeyClientSecret, "new"); err == nil || !strings.Contains(err.Error(), "disk unplugged") {
		t.Fatalf("Set with a failing rename: err = %v", err)
	}
	fsStore.rename = os.Rename
	if got, err := s.Get(ctx, KeyClientSecret); err != nil || got != "old" {
		t.Fatalf("after a failed write Get = %q, %v; want old", got, err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(path) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want only %s", names, filepath.Base(path))
	}
}

func TestFileConcurrent(t *testing.T) {
	ctx := context.Background()
	s, path := newFile(t)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := EnvKey("srv", fmt.Sprint("K", i))
			if err := s.Set(ctx, k, fmt.Sprint("v", i)); err != nil {
				t.Errorf("Set(%s): %v", k, err)
			}
			if _, err := s.Get(ctx, k); err != nil {
				t.Errorf("Get(%s): %v", k, err)
			}
			if i%2 == 0 {
				if err := s.Delete(ctx, k); err != nil {
					t.Errorf("Delete(%s): %v", k, err)
				}
			}
		})
	}
	wg.Wait()
	s2, err := File(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		k := EnvKey("srv", fmt.Sprint("K", i))
		got, err := s2.Get(ctx, k)
		if i%2 == 0 {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%s) = %q, %v; want ErrNotFound", k, got, err)
			}
		} else if err != nil || got != fmt.Sprint("v", i) {
			t.Errorf("Get(%s) = %q, %v; want v%d", k, got, err, i)
		}
	}
}

func TestEnvKey(t *testing.T) {
	if got := EnvKey("files", "API_KEY"); got != "env/files/API_KEY" {
		t.Fatalf("EnvKey = %q", got)
	}
}
