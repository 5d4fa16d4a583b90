package app

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFormatArgumentsShowsWhatACallDoes(t *testing.T) {
	for _, tc := range []struct {
		name, raw  string
		want, lack []string
	}{
		{"pretty", `{"path":"/tmp/x","force":true}`, []string{"{\n  \"path\": \"/tmp/x\",\n  \"force\": true\n}"}, nil},
		{"none", ``, []string{"(none)"}, nil},
		{"empty object", `{}`, []string{"(none)"}, nil},
		// A right-to-left override would show "rm -rf /" reversed, reading harmless.
		{"bidi", "{\"cmd\":\"echo \u202e/ fr- mr\"}", []string{`\u{202E}`}, []string{"\u202e"}},
		{"zero width", "{\"a\":\"x\u200by\"}", []string{`\u{200B}`}, []string{"\u200b"}},
		{"escaped control stays escaped", `{"a":"line\u0007bell"}`, []string{`line\u0007bell`}, nil},
		{"not JSON", "rm -rf /\x1b[2J", []string{`\u{001B}[2J`}, []string{"\x1b"}},
		{"long", `{"a":"` + strings.Repeat("x", 5000) + `"}`, []string{"… (cut: 5008 bytes in all)"}, nil},
		{"many lines", `[` + strings.Repeat(`1,`, 100) + `1]`, []string{"(cut:"}, nil},
	} {
		got := FormatArguments(json.RawMessage(tc.raw))
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
		for _, l := range tc.lack {
			if strings.Contains(got, l) {
				t.Errorf("%s: %q still holds %q", tc.name, got, l)
			}
		}
		if len(got) > maxShownArgBytes+100 || strings.Count(got, "\n") > maxShownArgLines+1 {
			t.Errorf("%s: %d bytes, %d lines shown", tc.name, len(got), strings.Count(got, "\n"))
		}
	}
}

func TestPrintableKeepsOneLine(t *testing.T) {
	if got := Printable("Chat\nGPT\u2028\xff é"); got != `Chat\u{000A}GPT\u{2028}\x{FF} é` {
		t.Errorf("Printable = %q", got)
	}
}
