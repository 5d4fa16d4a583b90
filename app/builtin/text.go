package builtin

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
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

// readText reads up to limit bytes of the file rel. It reports the file's size, whether
// it was cut at limit, and whether it looks binary (a NUL byte in its first 8 KiB, or
// bytes that are not UTF-8). A cut never splits a UTF-8 sequence.
func readText(fsys fs.FS, rel string, limit int64) (text []byte, fi fs.FileInfo, truncated, binary bool, err error) {
	f, err := fsys.Open(rel)
	if err != nil {
		return nil, nil, false, false, err
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return nil, nil, false, false, err
	}
	if fi.IsDir() {
		return nil, fi, false, false, errIsDir
	}
	if !fi.Mode().IsRegular() {
		return nil, fi, false, false, errNotRegular
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fi, false, false, err
	}
	if int64(len(data)) > limit {
		data, truncated = data[:limit], true
		// Drop a rune split by the cut, so that the cut does not look like bad UTF-8.
		for i := 1; i <= utf8.UTFMax && i <= len(data); i++ {
			if utf8.RuneStart(data[len(data)-i]) {
				if !utf8.FullRune(data[len(data)-i:]) {
					data = data[:len(data)-i]
				}
				break
			}
		}
	}
	return data, fi, truncated, isBinary(data), nil
}

func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), sniffLen)], 0) >= 0 || !utf8.Valid(data)
}

var (
	errIsDir      = errors.New("is a folder")
	errNotRegular = errors.New("is not a regular file")
)
