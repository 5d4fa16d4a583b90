package oauthserver

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"ChatGPT":              "ChatGPT",
		"  Claude  ":           "Claude",
		"\u202eevil.com":       `\u202eevil.com`, // right-to-left override
		"a\nb\tc":              `a\u000ab\u0009c`,
		"\x1b[31mred":          `\u001b[31mred`, // terminal escape
		"zero\u200bwidth":      `zero\u200bwidth`,
		"bad\xffutf8":          "bad\uFFFDutf8",
		"Ünïcödé — fine":       "Ünïcödé — fine",
		strings.Repeat("x", 5): "xxx…",
	} {
		max := 100
		if in == strings.Repeat("x", 5) {
			max = 3
		}
		if got := safeText(in, max); got != want {
			t.Errorf("safeText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDisplayHost(t *testing.T) {
	for in, want := range map[string]struct {
		shown    string
		nonASCII bool
	}{
		"chatgpt.com":          {"chatgpt.com", false},
		"chatgрt.com":          {"xn--chatgt-frf.com", true}, // Cyrillic р
		"chatgрt.com:8443":     {"xn--chatgt-frf.com:8443", true},
		"127.0.0.1:9999":       {"127.0.0.1:9999", false},
		"[::1]:80":             {"[::1]:80", false},
		"bücher.example":       {"xn--bcher-kva.example", true},
		"evil\u202e.com":       {`xn--evil-yd7a.com`, true},
		"x\x1b]0;title\x07.io": {`x\u001b]0;title\u0007.io`, false},
	} {
		shown, non := displayHost(in)
		if shown != want.shown || non != want.nonASCII {
			t.Errorf("displayHost(%q) = %q, %v; want %q, %v", in, shown, non, want.shown, want.nonASCII)
		}
	}
}

// A name that claims a well-known client is shown as unverified unless the client's verified
// host is that vendor's; look-alike letters and fullwidth forms do not get around it.
func TestDescribeClientSpoofedNames(t *testing.T) {
	tests := []struct {
		name, host string
		document   bool
		want       string
		warned     bool
	}{
		{"ChatGPT", "evil.example", false, "ChatGPT (unverified)", true},
		{"ChatGPT", "chatgpt.com", false, "ChatGPT", false},
		{"ChatGPT", "chatgpt.com", true, "ChatGPT — chatgpt.com", false},
		{"ChatGPT", "evil.example", true, "ChatGPT — evil.example (unverified)", true},
		{"OpenAI connector", "evil.example", false, "OpenAI connector (unverified)", true},
		{"Сlaude", "evil.example", false, "Сlaude (unverified)", true}, // Cyrillic С
		{"Ｃｈａｔ GPT", "evil.example", false, "Ｃｈａｔ GPT (unverified)", true},
		{"claude", "claude.ai", false, "claude", false},
		{"Claude", "api.anthropic.com", true, "Claude — api.anthropic.com", false},
		{"Claude", "anthropic.com.evil.example", true, "Claude — anthropic.com.evil.example (unverified)", true},
		{"Cursor", "127.0.0.1:5555", false, "Cursor (unverified)", true},
		{"Visual Studio Code", "vscode.dev", true, "Visual Studio Code — vscode.dev", false},
		{"VSCode", "evil.example", false, "VSCode (unverified)", true},
		{"MCP Share", "127.0.0.1:1", false, "MCP Share (unverified)", true},
		{"My notes app", "evil.example", false, "My notes app", false},
		{"", "app.example", true, "Unnamed application — app.example", false},
		{"ChatGPT", "chatgрt.com", true, "ChatGPT — xn--chatgt-frf.com (unverified)", true},
	}
	for _, tt := range tests {
		d := describeClient(tt.name, tt.host, tt.document)
		if d.Name != tt.want || (len(d.Warnings) > 0) != tt.warned {
			t.Errorf("describeClient(%q, %q, %v) = %q %q; want %q, warned %v", tt.name, tt.host, tt.document, d.Name, d.Warnings, tt.want, tt.warned)
		}
	}
}

// A registered client called "ChatGPT" that returns to a Cyrillic look-alike of chatgpt.com
// is shown as unverified, with the host in its xn-- form and warnings, on the login page, on
// the waiting page and in the approval (before, the page said "ChatGPT" and "chatgрt.com").
func TestHomographAndSpoofShownSafely(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	const redirect = "https://chatgрt.com/connector/oauth/x1"
	body, _ := json.Marshal(map[string]any{"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none", "client_name": "ChatGPT"})
	st, reg := postRegister(t, e, "application/json", string(body))
	if st != 201 {
		t.Fatalf("register: %d %v", st, reg)
	}
	q := authParams(reg["client_id"].(string), oauth2.GenerateVerifier())
	q.Set("redirect_uri", redirect)
	resp, page, id, csrf := e.loginPage(t, q)
	if resp.StatusCode != 200 {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	for _, want := range []string{"ChatGPT (unverified)", "xn--chatgt-frf.com", `class="warn"`, "non-Latin letters"} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Contains(page, "chatgрt.com") {
		t.Error("login page shows the look-alike host as is")
	}
	resp, _ = e.postLogin(t, id, csrf, testUser, testPassword)
	wait, err := e.http.Get(e.origin + resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	waitPage, _ := io.ReadAll(wait.Body)
	wait.Body.Close()
	if wait.StatusCode != http.StatusOK || !strings.Contains(string(waitPage), "ChatGPT (unverified)") || !strings.Contains(string(waitPage), `class="warn"`) {
		t.Errorf("waiting page: %d %.500s", wait.StatusCode, waitPage)
	}
	p := e.s.PendingSignIns()
	if len(p) != 1 || p[0].ClientName != "ChatGPT (unverified)" || p[0].RedirectHost != "xn--chatgt-frf.com" || len(p[0].Warnings) < 2 {
		t.Fatalf("approval shows %+v", p)
	}
}
