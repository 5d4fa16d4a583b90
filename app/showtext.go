package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mcpshare/mcpshare/app/audit"
)

// Text that comes from clients and servers (tool names, client names,
// arguments), as it may be shown to the owner: a remote model chooses the
// arguments, so they must not be able to disguise what a call does.

// Bounds of FormatArguments.
const (
	maxShownArgBytes = 2000
	maxShownArgLines = 30
)

// FormatArguments shows a call's arguments to the owner: JSON
// pretty-printed, cut after about 2000 bytes or 30 lines (saying so on its
// first line, and how much was left out on its last), with control, format
// and bidirectional characters escaped (Printable) so that nothing hides or
// reorders what the owner reads. Arguments that repeat a key (see
// repeatedKey) are shown as a server reads them, the last value of each
// key, under a first line that says so. No arguments read "(none)".
func FormatArguments(raw json.RawMessage) string {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" || string(trimmed) == "{}" {
		return "(none)"
	}
	var head []string
	shown := []byte(raw)
	if dup, err := repeatedKey(raw); dup != "" && err == nil {
		head = append(head, "(!) "+dup+": shown as a server reads it, with the last value of each key")
		shown = audit.Canonical(raw) // as parsers read it: the last value of a repeated key
	}
	var b bytes.Buffer
	text := string(shown)
	if json.Indent(&b, shown, "", "  ") == nil {
		text = b.String()
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = Printable(l)
	}
	room := maxShownArgLines - len(head) - 1 // the first line may say it is cut
	cut := false
	if len(lines) > room+1 {
		lines, cut = lines[:room], true
	}
	out := strings.Join(lines, "\n")
	if len(out) > maxShownArgBytes {
		out, cut = truncate(out, maxShownArgBytes), true
	}
	if cut {
		head = append(head, fmt.Sprintf("(cut: only the start of these %d bytes is shown)", len(raw)))
		out += fmt.Sprintf("\n… (cut: %d bytes in all)", len(raw))
	}
	if len(head) > 0 {
		out = strings.Join(head, "\n") + "\n" + out
	}
	return out
}

// repeatedKey says which key appears twice in one object of raw, at any
// depth ("" when none does; an error when raw is not JSON). Keys are
// compared as encoding/json matches them to a struct's fields, without
// regard to case, since a Go server reads the last of "command" and
// "Command" into its one field, as every JSON parser keeps the last of a
// repeated key: the owner would approve one value and the server use
// another.
func repeatedKey(raw []byte) (string, error) {
	type object struct {
		keys    map[string]string // folded key → as spelled
		wantKey bool
	}
	var stack []*object // nil for an array
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF && len(stack) == 0 {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("the arguments are not JSON: %w", err)
		}
		var top *object
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.wantKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				continue
			}
			key, _ := tok.(string)
			folded := foldKey(key)
			if prev, ok := top.keys[folded]; ok {
				if prev == key {
					return fmt.Sprintf("the key %q appears twice", key), nil
				}
				return fmt.Sprintf("the key %q appears twice (also as %q)", key, prev), nil
			}
			top.keys[folded] = key
			top.wantKey = false
			continue
		}
		if top != nil {
			top.wantKey = true // after this value, the next key
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{keys: map[string]string{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, nil)
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// foldKey maps each letter of s to the smallest of its case variants, so
// that two keys encoding/json would take for the same field fold alike.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}

// Printable escapes in s what would not show as itself on one line:
// control characters (newlines too), Unicode format characters (the
// bidirectional overrides and isolates, zero-width characters), line and
// paragraph separators and invalid UTF-8, as \u{XXXX} (\x{XX} for a bad
// byte). Everything else is left as it is.
func Printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x{%02X}`, s[i])
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u{%04X}`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// truncate cuts s to at most n bytes on a character boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
