package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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
// pretty-printed, cut after about 2000 bytes or 30 lines (saying how much
// was left out), with control, format and bidirectional characters
// escaped (Printable) so that nothing hides or reorders what the owner
// reads. No arguments read "(none)".
func FormatArguments(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" || string(bytes.TrimSpace(raw)) == "{}" {
		return "(none)"
	}
	var b bytes.Buffer
	text := string(raw)
	if json.Indent(&b, raw, "", "  ") == nil {
		text = b.String()
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = Printable(l)
	}
	omitted := 0
	if len(lines) > maxShownArgLines {
		omitted = len(lines) - maxShownArgLines
		lines = lines[:maxShownArgLines]
	}
	out := strings.Join(lines, "\n")
	if len(out) > maxShownArgBytes {
		out = truncate(out, maxShownArgBytes)
		omitted = max(omitted, 1)
	}
	if omitted > 0 {
		out += fmt.Sprintf("\n… (cut: %d bytes in all)", len(raw))
	}
	return out
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
