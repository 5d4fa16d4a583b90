package builtin

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxIDLen bounds the ids the tools accept: no file system takes longer paths (Linux's
// PATH_MAX is 4096 bytes), and a longer one is only a way to make a call expensive.
const maxIDLen = 4096

// encodeID returns the id of the slash-separated path name relative to the folder: name
// itself when it is valid UTF-8 and holds no "%" that reads as an escape, which is every
// ordinary name. Otherwise each byte that is not part of valid UTF-8 is written "%XX" (two
// upper-case hex digits, 80 to FF), and a "%" that would read as such an escape, or as
// "%25", is written "%25". ASCII bytes are always valid UTF-8, so an escape never stands
// for "/", "." or NUL: ids stay paths, and containment rules apply to them unchanged.
func encodeID(name string) string {
	if utf8.ValidString(name) && !strings.Contains(name, "%") {
		return name
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(name) + 8)
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteByte('%')
			b.WriteByte(hex[name[i]>>4])
			b.WriteByte(hex[name[i]&0xF])
		case name[i] == '%' && isEscape(name[i:]):
			b.WriteString("%25")
		default:
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	return b.String()
}

// decodeID returns the path an id names: the inverse of encodeID. An id that encodeID
// cannot have returned (such as "caf%C3%A9.txt", an escape of bytes that are valid UTF-8)
// is refused, so that each file has exactly one id and each id names exactly one file.
func decodeID(id string) (string, error) {
	if len(id) > maxIDLen {
		return "", fmt.Errorf("the id is %d bytes long; ids of files in the shared folder are at most %d bytes", len(id), maxIDLen)
	}
	if !utf8.ValidString(id) {
		return "", fmt.Errorf("%q is not UTF-8; ids are UTF-8, with %%XX for the bytes of a name that are not", id)
	}
	if !strings.Contains(id, "%") {
		return id, nil
	}
	b := make([]byte, 0, len(id))
	for i := 0; i < len(id); {
		if isEscape(id[i:]) {
			b = append(b, unhex(id[i+1])<<4|unhex(id[i+2]))
			i += 3
			continue
		}
		b = append(b, id[i])
		i++
	}
	name := string(b)
	if encodeID(name) != id {
		return "", fmt.Errorf("%q is not an id that search or list return: in ids, %%XX stands only for a byte that is not UTF-8 (%%80 to %%FF) and %%25 for a %% before such an escape; use list or search to get the ids of files", id)
	}
	return name, nil
}

// isEscape reports whether s starts with an escape of an id: "%" and two upper-case hex
// digits that stand for 0x25 ("%") or a byte from 0x80 on.
func isEscape(s string) bool {
	if len(s) < 3 || s[0] != '%' || !isHex(s[1]) || !isHex(s[2]) {
		return false
	}
	c := unhex(s[1])<<4 | unhex(s[2])
	return c == '%' || c >= 0x80
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

// displayName is name as a title: valid UTF-8, with U+FFFD for bytes that are not.
func displayName(name string) string { return strings.ToValidUTF8(name, "\uFFFD") }
