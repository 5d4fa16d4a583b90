package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// fileStore keeps every secret in one JSON object in a file only its owner may read.
// Each call reads the file again, so two stores on the same path see each other's writes;
// writes go to a temporary file that is renamed over the old one, so a crash leaves
// either the old or the new content, never half of it.
type fileStore struct {
	path string
	mu   sync.Mutex
	// rename is os.Rename; tests make it fail to prove that a failed write loses nothing.
	rename func(oldpath, newpath string) error
}

var _ Store = (*fileStore)(nil)

// File returns the Store that keeps secrets in the JSON file at path (mode 0600; its
// directory is created with mode 0700 on the first Set). It is meant for machines with no
// OS keychain, and only when the user asks for it. File fails when an existing file cannot
// be read, is not a JSON object of strings, or can be read by other users.
func File(path string) (Store, error) {
	s := &fileStore{path: path, rename: os.Rename}
	if _, err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *fileStore) Get(ctx context.Context, key string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return "", err
	}
	v, ok := m[key]
	if !ok {
		return "", fmt.Errorf("secrets file %s: no secret %q: %w", s.path, key, ErrNotFound)
	}
	return v, nil
}

func (s *fileStore) Set(ctx context.Context, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return err
	}
	m[key] = value
	return s.save(m)
}

func (s *fileStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := m[key]; !ok {
		return nil
	}
	delete(m, key)
	return s.save(m)
}

// load reads the file; a missing file is an empty store.
func (s *fileStore) load() (map[string]string, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secrets file %s is not a regular file", s.path)
	}
	// Windows has no permission bits to check; the user profile directory protects it.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("refusing to read secrets file %s: its mode %04o lets other users read it; run chmod 600 %q (and consider the secrets in it exposed)",
			s.path, fi.Mode().Perm(), s.path)
	}
	m := map[string]string{}
	dec := json.NewDecoder(f)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("secrets file %s is not a JSON object of strings: %w", s.path, err)
	}
	if m == nil { // the file said "null"
		m = map[string]string{}
	}
	return m, nil
}

// save writes m to a temporary file in the same directory and renames it over the old file.
func (s *fileStore) save(m map[string]string) (err error) {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secrets file: %w", err)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("secrets file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".*.tmp") // created with mode 0600
	if err != nil {
		return fmt.Errorf("secrets file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("secrets file: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("secrets file: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("secrets file: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secrets file: writing %s: %w", tmp.Name(), err)
	}
	if err := s.rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("secrets file: replacing %s: %w", s.path, err)
	}
	return nil
}
