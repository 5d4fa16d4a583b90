package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// FileName is the audit log's file in the config directory; rotated files
// get ".1" (the newest) to ".Keep" appended.
const FileName = "audit.jsonl"

// Defaults of Options.
const (
	DefaultMaxBytes = 8 << 20
	DefaultKeep     = 3
)

// Options bound the log's size on disk: at most (Keep+1) × MaxBytes.
type Options struct {
	// MaxBytes is the size past which the file is rotated.
	MaxBytes int64
	// Keep is how many rotated files are kept.
	Keep int
}

// A Log appends entries to the audit log of one directory. It is safe for
// concurrent use.
type Log struct {
	dir  string
	opts Options

	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool
}

// Open opens (creating it if needed) the audit log in dir.
func Open(dir string, opts Options) (*Log, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	l := &Log{dir: dir, opts: opts}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// Path is the file being written.
func (l *Log) Path() string { return filepath.Join(l.dir, FileName) }

func (l *Log) open() error {
	f, err := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open the audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open the audit log: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

var errClosed = errors.New("the audit log is closed")

// Write appends e as one line, rotating the file first when the line would
// take it past MaxBytes.
func (l *Log) Write(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode an audit entry: %w", err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosed
	}
	if l.size > 0 && l.size+int64(len(line)) > l.opts.MaxBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("write the audit log: %w", err)
	}
	return nil
}

// rotate renames audit.jsonl to audit.jsonl.1 (and each older one a step
// further, the oldest dropped) and starts a new file. l.mu is held.
func (l *Log) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("rotate the audit log: %w", err)
	}
	base := l.Path()
	os.Remove(rotated(base, l.opts.Keep))
	for i := l.opts.Keep - 1; i >= 1; i-- {
		if err := os.Rename(rotated(base, i), rotated(base, i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate the audit log: %w", err)
		}
	}
	if err := os.Rename(base, rotated(base, 1)); err != nil {
		return fmt.Errorf("rotate the audit log: %w", err)
	}
	return l.open()
}

func rotated(base string, i int) string { return fmt.Sprintf("%s.%d", base, i) }

// Close closes the file; later writes fail.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}
