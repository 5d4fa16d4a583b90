package oauthserver

import (
	"fmt"
	"net"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// What a person sees of a client (on the login page, in approvals, on the terminal) comes from
// strangers: a registration body, a metadata document, a redirect URI. This file turns those
// into forms that cannot pass for something else: no control or bidi characters, host names
// in their ASCII (xn--) form, and names that claim a well-known client only when the client's
// verified host belongs to it.

// safeText returns s for display: trimmed, at most max runes, with every character that is not
// a visible letter, mark, number, punctuation, symbol or a plain space (controls, bidi
// overrides, zero-width characters, line breaks, invalid UTF-8) written as a \u escape.
func safeText(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD")) {
		if n == max {
			b.WriteString("…")
			break
		}
		n++
		if r == ' ' || (unicode.IsGraphic(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r)) {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// displayHost returns host (with its port, if any) as it is shown: labels with non-ASCII
// characters in their xn-- form. nonASCII reports that there were some: such a name may
// imitate another (a Cyrillic "р" in "chatgрt.com").
func displayHost(host string) (shown string, nonASCII bool) {
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		h, port = host, ""
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= utf8.RuneSelf {
			nonASCII = true
			break
		}
	}
	if nonASCII {
		a, err := idna.Punycode.ToASCII(h)
		if err != nil {
			a = safeText(h, 253)
		}
		h = a
	}
	h = safeText(h, 253)
	if port != "" {
		return net.JoinHostPort(h, safeText(port, 5)), nonASCII
	}
	return h, nonASCII
}

// vendor is a well-known client whose name a stranger might borrow, with the hosts that are
// really its own.
type vendor struct {
	Name  string
	Words []string // a name containing one of these (see skeleton) claims to be this vendor
	Hosts []string // registrable domains of the vendor; subdomains count
}

// knownVendors are the clients people connect MCP Share to, and names that suggest them.
var knownVendors = []vendor{
	{"ChatGPT", []string{"chatgpt", "openai", "gpt"}, []string{"chatgpt.com", "openai.com"}},
	{"Claude", []string{"claude", "anthropic"}, []string{"claude.ai", "claude.com", "anthropic.com"}},
	{"Cursor", []string{"cursor", "anysphere"}, []string{"cursor.com", "cursor.sh"}},
	{"VS Code", []string{"vscode", "visualstudio", "copilot"}, []string{"vscode.dev", "visualstudio.com", "github.com", "github.dev"}},
	{"Gemini", []string{"gemini", "google"}, []string{"google.com", "gemini.google.com"}},
	{"Microsoft", []string{"microsoft"}, []string{"microsoft.com"}},
	{"Windsurf", []string{"windsurf", "codeium"}, []string{"windsurf.com", "codeium.com"}},
	// MCP Share itself has no host: a client calling itself so is always someone else.
	{"MCP Share", []string{"mcpshare"}, nil},
}

// confusables maps letters that look like Latin ones (Cyrillic, Greek, digits) to them, for
// skeleton. It is not Unicode's whole table, only what imitates the vendor names above.
var confusables = strings.NewReplacer(
	"а", "a", "в", "b", "с", "c", "ԁ", "d", "е", "e", "ё", "e", "һ", "h", "і", "i", "ї", "i", "ј", "j",
	"к", "k", "ӏ", "l", "м", "m", "н", "h", "о", "o", "р", "p", "ԛ", "q", "ѕ", "s", "т", "t", "у", "y",
	"х", "x", "ԝ", "w", "ɡ", "g", "ι", "i", "ο", "o", "ρ", "p", "τ", "t", "υ", "u", "ν", "v", "χ", "x",
	"α", "a", "β", "b", "ε", "e", "κ", "k", "μ", "u", "η", "n", "0", "o", "1", "l", "3", "e", "5", "s",
)

// skeleton reduces a name to lower-case ASCII letters as it reads: compatibility forms folded
// (fullwidth letters), look-alike letters mapped, everything but letters dropped; "Chat GРT"
// and "chat-gpt" both become "chatgpt".
func skeleton(name string) string {
	s := confusables.Replace(strings.ToLower(norm.NFKD.String(name)))
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// claimedVendor returns the well-known client a name claims to be, or nil.
func claimedVendor(name string) *vendor {
	sk := skeleton(name)
	for i := range knownVendors {
		for _, w := range knownVendors[i].Words {
			if strings.Contains(sk, w) {
				return &knownVendors[i]
			}
		}
	}
	return nil
}

// owns reports whether host (a lower-case ASCII host name, no port) is one of v's.
func (v *vendor) owns(host string) bool {
	for _, h := range v.Hosts {
		if host == h || strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}

// clientDisplay is how a client is shown to the person who signs in or approves.
type clientDisplay struct {
	Name     string   // safe to print; says "(unverified)" when the name claims another's
	Warnings []string // sentences to show beside it
}

// describeClient names a client for a sign-in. name is what the client says it is (from its
// registration or metadata document); host is the host it is verified to control: the host of
// its metadata document URL for a client ID metadata document, else the host of the redirect
// URI (already checked against the client's registration). fromDocument says which.
func describeClient(name, host string, fromDocument bool) clientDisplay {
	shownHost, nonASCII := displayHost(host)
	hostname := strings.ToLower(shownHost)
	if h, _, err := net.SplitHostPort(hostname); err == nil {
		hostname = h
	}
	var d clientDisplay
	name = safeText(name, 100)
	if name == "" {
		name = "Unnamed application"
	}
	d.Name = name
	if fromDocument {
		d.Name = name + " — " + shownHost
	}
	if v := claimedVendor(name); v != nil && !v.owns(hostname) {
		d.Name += " (unverified)"
		d.Warnings = append(d.Warnings, fmt.Sprintf("This application calls itself %q, but it belongs to %s, which is not %s's.", name, shownHost, v.Name))
	}
	if nonASCII {
		d.Warnings = append(d.Warnings, fmt.Sprintf("The address %s contains non-Latin letters that can imitate another address.", shownHost))
	}
	return d
}

// redirectWarnings are the warnings about where a sign-in returns to.
func redirectWarnings(redirectHost string, clientFromDocument bool) []string {
	shown, nonASCII := displayHost(redirectHost)
	var w []string
	if nonASCII {
		w = append(w, fmt.Sprintf("The sign-in returns to %s, an address with non-Latin letters that can imitate another address.", shown))
	}
	h := shown
	if hh, _, err := net.SplitHostPort(shown); err == nil {
		h = hh
	}
	if clientFromDocument && isLoopbackHost(strings.Trim(h, "[]")) {
		// Any program on the computer with the browser can listen there (MCP 2026-07-28,
		// "Localhost Redirect URI Risks").
		w = append(w, "The sign-in returns to a program on the computer where this browser runs; continue only if you started it there.")
	}
	return w
}
