package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// files lists the log's files in dir, oldest first, those that exist.
func files(dir string) []string {
	base := filepath.Join(dir, FileName)
	var out []string
	for i := 64; i >= 1; i-- { // more than any Keep in use
		if _, err := os.Stat(rotated(base, i)); err == nil {
			out = append(out, rotated(base, i))
		}
	}
	if _, err := os.Stat(base); err == nil {
		out = append(out, base)
	}
	return out
}

// Read returns the entries of the audit log in dir that match f, oldest
// first; with limit > 0 only the newest limit of them. A line that is not
// an entry (damaged by hand, or still being written) is skipped. A
// directory without a log has no entries.
func Read(dir string, f Filter, limit int) ([]Entry, error) {
	var out []Entry
	for _, path := range files(dir) {
		fh, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // rotated away meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read the audit log: %w", err)
		}
		r := &lineReader{f: fh}
		err = r.each(func(e Entry) {
			if !f.Match(e) {
				return
			}
			out = append(out, e)
			if limit > 0 && len(out) > 2*limit {
				out = append(out[:0], out[len(out)-limit:]...)
			}
		})
		fh.Close()
		if err != nil {
			return nil, err
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// lineReader reads whole lines of a file as it grows: a line without its
// newline yet waits for the next call.
type lineReader struct {
	f       *os.File
	partial []byte
}

// maxLine bounds one line; a longer one is dropped, not held.
const maxLine = 4 << 20

// each reads to the current end of the file and calls fn for each entry.
func (r *lineReader) each(fn func(Entry)) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.f.Read(buf)
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				r.partial = append(r.partial, data...)
				if len(r.partial) > maxLine {
					r.partial = nil
				}
				break
			}
			line := data[:i]
			if len(r.partial) > 0 {
				line = append(r.partial, line...)
				r.partial = nil
			}
			var e Entry
			if json.Unmarshal(line, &e) == nil && e.Event != "" {
				fn(e)
			}
			data = data[i+1:]
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the audit log: %w", err)
		}
	}
}

// Follow calls fn with the newest last entries that match f (none with
// last = 0), then with each matching entry written after, across
// rotations, until ctx ends. It looks for new lines every poll. A log that
// does not exist yet is waited for.
func Follow(ctx context.Context, dir string, f Filter, last int, poll time.Duration, fn func(Entry)) error {
	path := filepath.Join(dir, FileName)
	var cur *os.File
	for cur == nil {
		fh, err := os.Open(path)
		switch {
		case err == nil:
			cur = fh
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("read the audit log: %w", err)
		default:
			if err := wait(ctx, poll); err != nil {
				return nil
			}
		}
	}
	defer func() { cur.Close() }()
	match := func(e Entry) {
		if f.Match(e) {
			fn(e)
		}
	}
	// The history: the rotated files, then the open file up to its end.
	var history []Entry
	keep := func(e Entry) {
		if f.Match(e) {
			history = append(history, e)
		}
	}
	curInfo, err := cur.Stat()
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	for _, p := range files(dir) {
		if p == path {
			continue
		}
		if st, err := os.Stat(p); err != nil || os.SameFile(st, curInfo) {
			continue
		}
		if fh, err := os.Open(p); err == nil {
			(&lineReader{f: fh}).each(keep)
			fh.Close()
		}
	}
	r := &lineReader{f: cur}
	if err := r.each(keep); err != nil {
		return err
	}
	if last >= 0 && len(history) > last {
		history = history[len(history)-last:]
	}
	for _, e := range history {
		fn(e)
	}
	for {
		if err := wait(ctx, poll); err != nil {
			return nil
		}
		if err := r.each(match); err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			continue // between the rename and the new file
		}
		if info, err := cur.Stat(); err == nil && os.SameFile(st, info) {
			continue
		}
		// Rotated: the rest of the old file, then the files after it in turn
		// (a busy log may rotate more than once between two looks), up to
		// the new one, which is followed from its start.
		if err := r.each(match); err != nil {
			return err
		}
		next, err := catchUp(dir, cur, match)
		if err != nil {
			return err
		}
		cur.Close()
		cur = next
		r = &lineReader{f: cur}
		if err := r.each(match); err != nil {
			return err
		}
	}
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// catchUp reads, after the rotated file last, each file written after it,
// oldest first, and returns the current file opened. Each step looks again
// where last is now, so renames meanwhile neither skip nor repeat a file.
func catchUp(dir string, last *os.File, fn func(Entry)) (*os.File, error) {
	lastInfo, err := last.Stat()
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	base := filepath.Join(dir, FileName)
	for {
		names := files(dir)
		at := -1
		for i, p := range names {
			if st, err := os.Stat(p); err == nil && os.SameFile(st, lastInfo) {
				at = i
			}
		}
		if at == len(names)-1 && names[at] == base {
			// last is the current file again (nothing was rotated after all).
			fh, err := os.Open(base)
			if err != nil {
				return nil, fmt.Errorf("read the audit log: %w", err)
			}
			return fh, nil
		}
		if at+1 >= len(names) {
			time.Sleep(time.Millisecond) // between a rename and the new file
			continue
		}
		name := names[at+1]
		fh, err := os.Open(name)
		if err != nil {
			time.Sleep(time.Millisecond)
			continue
		}
		info, err1 := fh.Stat()
		now, err2 := os.Stat(name)
		still := at < 0 || func() bool { st, err := os.Stat(names[at]); return err == nil && os.SameFile(st, lastInfo) }()
		if err1 != nil || err2 != nil || !os.SameFile(info, now) || !still {
			fh.Close()
			continue // renamed while we looked: look again
		}
		if name == base {
			return fh, nil
		}
		(&lineReader{f: fh}).each(fn)
		fh.Close()
		lastInfo = info
	}
}
