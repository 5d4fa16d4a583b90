package builtin

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestIDEncoding(t *testing.T) {
	tests := []struct {
		name, id string
	}{
		// Ordinary names are their own ids, "%" included where it reads as no escape.
		{"notes/todo.md", "notes/todo.md"},
		{"café/naïve €.txt", "café/naïve €.txt"},
		{"100%.txt", "100%.txt"},
		{"Report%20final.pdf", "Report%20final.pdf"},
		{"%", "%"},
		{"a%e9", "a%e9"}, // lower-case hex is no escape
		{"\uFFFD.txt", "\uFFFD.txt"},
		// Bytes that are not UTF-8 are escaped, one escape a byte.
		{"caf\xe9.txt", "caf%E9.txt"},
		{"\xff\xfe/x", "%FF%FE/x"},
		{"d\xc3/\xa9", "d%C3/%A9"},    // a sequence split by "/" is no sequence
		{"\xe2\x82", "%E2%82"},        // a cut sequence
		{"\xed\xa0\x80", "%ED%A0%80"}, // a UTF-16 surrogate, not valid in UTF-8
		{"\xc0\xaf", "%C0%AF"},        // an overlong "/"
		// A "%" that would read as an escape is itself escaped.
		{"caf%E9.txt", "caf%25E9.txt"},
		{"a%25b", "a%2525b"},
		{"%E9\xe9", "%25E9%E9"},
		{"%\xe9", "%%E9"},
		{"%E\xe9", "%E%E9"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		id := encodeID(tt.name)
		if id != tt.id {
			t.Errorf("encodeID(%q) = %q, want %q", tt.name, id, tt.id)
		}
		if !utf8.ValidString(id) {
			t.Errorf("encodeID(%q) = %q is not UTF-8", tt.name, id)
		}
		if back, err := decodeID(id); err != nil || back != tt.name {
			t.Errorf("decodeID(%q) = %q, %v; want %q", id, back, err, tt.name)
		}
		if other, ok := seen[id]; ok {
			t.Errorf("%q and %q have the same id %q", other, tt.name, id)
		}
		seen[id] = tt.name
	}
}

func TestDecodeIDRefusesWhatEncodeIDNeverReturns(t *testing.T) {
	for _, tt := range []struct {
		id, want string
	}{
		{"caf%C3%A9.txt", "is not an id that search or list return"}, // bytes that are UTF-8
		{"%41", ""}, // no escape: ASCII is never escaped, so this is the name "%41"
		{"%25", "is not an id that search or list return"}, // a "%" before no escape is not escaped
		{"%25%", "is not an id that search or list return"},
		{strings.Repeat("a/", maxIDLen), "ids of files in the shared folder are at most 4096 bytes"},
	} {
		name, err := decodeID(tt.id)
		if tt.want == "" {
			if err != nil || name != tt.id {
				t.Errorf("decodeID(%q) = %q, %v; want the name itself", tt.id, name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("decodeID(%q) = %q, %v; want an error containing %q", tt.id[:min(len(tt.id), 40)], name, err, tt.want)
		}
	}
}

// FuzzID checks that any byte string is served: its id is UTF-8, decodes to exactly it, and
// equals it when it is UTF-8 without "%".
func FuzzID(f *testing.F) {
	for _, s := range []string{"", "a/b", "caf\xe9", "caf%E9", "%25E9", "%%E9\xe9", "\xf0\x9f\x98", "€%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id := encodeID(name)
		if !utf8.ValidString(id) {
			t.Fatalf("encodeID(%q) = %q is not UTF-8", name, id)
		}
		if utf8.ValidString(name) && !strings.Contains(name, "%") && id != name {
			t.Fatalf("encodeID(%q) = %q changed an ordinary name", name, id)
		}
		if len(id) > maxIDLen {
			return
		}
		if back, err := decodeID(id); err != nil || back != name {
			t.Fatalf("decodeID(encodeID(%q)) = %q, %v", name, back, err)
		}
		if back, err := decodeID(name); err == nil && encodeID(back) != name {
			t.Fatalf("decodeID(%q) = %q, which encodes to another id %q", name, back, encodeID(back))
		}
	})
}
