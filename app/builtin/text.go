package builtin

import (
	"bytes"
	"io"
	"slices"
	"unicode/utf8"
)

const (
	// sniffLen is how much of a file is looked at for NUL bytes to call it binary.
	sniffLen = 8 << 10
	// maxSearchSize bounds the files whose content search reads; larger ones match by name only.
	maxSearchSize = 2 << 20
	// maxFetchSize bounds what fetch returns of one file; the rest is cut with a note.
	maxFetchSize = 1 << 20
)

// readText reads up to limit bytes of the open regular file r, whose size was size when
// it was opened. It reports whether the text was cut at limit, and whether it looks binary
// (a NUL byte in its first 8 KiB, or bytes that are not UTF-8); a binary file is read no
// further than its first 8 KiB. A cut never splits a UTF-8 sequence.
func readText(r io.Reader, size, limit int64) (text []byte, truncated, binary bool, err error) {
	// One byte more than limit says whether there is more; size sets the buffer's capacity
	// (a file that grows while read only makes it grow).
	buf := make([]byte, 0, min(max(size, 0), limit)+1)
	buf, eof, err := readUpTo(r, buf, min(limit+1, sniffLen))
	if err != nil {
		return nil, false, false, err
	}
	if bytes.IndexByte(buf, 0) >= 0 {
		return nil, false, true, nil
	}
	if !eof {
		if buf, _, err = readUpTo(r, buf, limit+1); err != nil {
			return nil, false, false, err
		}
	}
	if int64(len(buf)) > limit {
		buf, truncated = buf[:limit], true
		// Drop a rune split by the cut, so that the cut does not look like bad UTF-8.
		for i := 1; i <= utf8.UTFMax && i <= len(buf); i++ {
			if utf8.RuneStart(buf[len(buf)-i]) {
				if !utf8.FullRune(buf[len(buf)-i:]) {
					buf = buf[:len(buf)-i]
				}
				break
			}
		}
	}
	if !utf8.Valid(buf) {
		return nil, false, true, nil
	}
	return buf, truncated, false, nil
}

// readUpTo reads from r into buf until buf holds n bytes or r ends, and reports which.
func readUpTo(r io.Reader, buf []byte, n int64) (_ []byte, eof bool, err error) {
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(n-int64(len(buf)), max(int64(cap(buf)), 512))))
		}
		m, err := r.Read(buf[len(buf):min(int64(cap(buf)), n)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}
