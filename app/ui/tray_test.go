package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/secrets"
	"github.com/mcpshare/mcpshare/oauthserver"
	"github.com/mcpshare/mcpshare/tunnel"
)

func labels(m *fyne.Menu) []string {
	var out []string
	for _, it := range m.Items {
		switch {
		case it.IsSeparator:
			out = append(out, "---")
		case it.Disabled:
			out = append(out, "("+it.Label+")")
		default:
			out = append(out, it.Label)
		}
	}
	return out
}

func TestTrayMenu(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 0, 0, time.Local)
	alice := oauthserver.SignIn{ID: "s1", User: "alice", ClientName: "ChatGPT", Resource: "https://x.ngrok.app/mcp/files", RemoteAddr: "203.0.113.7", Time: at}
	bob := oauthserver.SignIn{ID: "s2", User: "bob", ClientName: "Claude", Resource: "https://x.ngrok.app/mcp/github", RemoteAddr: "198.51.100.1", Time: at}
	tests := []struct {
		name    string
		st      app.Status
		pending []oauthserver.SignIn
		want    []string
	}{
		{"stopped", app.Status{State: app.StateStopped}, nil,
			[]string{"(Stopped)", "---", "Open MCP Share", "Start sharing", "(Copy MCP URL)", "---", "Quit"}},
		{"sharing locally", app.Status{State: app.StateSharing, LocalOrigin: "http://127.0.0.1:8765"}, nil,
			[]string{"(Sharing (this computer only))", "---", "Open MCP Share", "Stop sharing", "Copy MCP URL", "---", "Quit"}},
		{"sharing publicly with two sign-ins", app.Status{State: app.StateSharing, PublicOrigin: "https://x.ngrok.app"}, []oauthserver.SignIn{alice, bob},
			[]string{"(Sharing at https://x.ngrok.app)", "---", "(2 sign-ins wait for your approval)",
				"Approve alice · ChatGPT · 203.0.113.7 · 15:04", "Deny alice · ChatGPT · 203.0.113.7 · 15:04",
				"Approve bob · Claude · 198.51.100.1 · 15:04", "Deny bob · Claude · 198.51.100.1 · 15:04", "---",
				"Open MCP Share", "Stop sharing", "Copy MCP URL", "---", "Quit"}},
		{"error", app.Status{State: app.StateError, Err: fmt.Errorf("%w: 127.0.0.1:8765 (choose another port in Settings or with --addr)", app.ErrPortInUse)}, nil,
			[]string{"(Error: the port is in use by another program: 127.0.0.1:8765)", "---", "Open MCP Share", "Start sharing", "(Copy MCP URL)", "---", "Quit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := TrayMenu(tc.st, tc.pending, TrayActions{})
			if got := strings.Join(labels(m), " | "); got != strings.Join(tc.want, " | ") {
				t.Errorf("menu:\n got %s\nwant %s", got, strings.Join(tc.want, " | "))
			}
			for _, it := range m.Items {
				if it.ChildMenu != nil {
					t.Errorf("%q has a submenu: tray hosts may render it empty", it.Label)
				}
			}
			if last := m.Items[len(m.Items)-1]; !last.IsQuit {
				t.Error("the last item is not marked IsQuit")
			}
		})
	}
}

func TestSignInLabelsNeverRepeat(t *testing.T) {
	at := time.Date(2026, 1, 2, 11, 17, 5, 0, time.Local)
	si := func(id string, t time.Time) oauthserver.SignIn {
		return oauthserver.SignIn{ID: id, User: "admin", ClientName: "ChatGPT", RemoteAddr: "1.2.3.4", Time: t}
	}
	got := SignInLabels([]oauthserver.SignIn{si("a", at), si("b", at.Add(20*time.Second)), si("c", at.Add(20*time.Second)), si("d", at.Add(time.Hour))})
	want := map[string]string{
		"a": "admin · ChatGPT · 1.2.3.4 · 11:17:05",
		"b": "admin · ChatGPT · 1.2.3.4 · 11:17:25 · #1",
		"c": "admin · ChatGPT · 1.2.3.4 · 11:17:25 · #2",
		"d": "admin · ChatGPT · 1.2.3.4 · 12:17",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("label of %s: %q, want %q", id, got[id], w)
		}
	}
}

func TestTrayMenuActions(t *testing.T) {
	var got []string
	rec := func(s string) func() { return func() { got = append(got, s) } }
	act := TrayActions{Open: rec("open"), Start: rec("start"), Stop: rec("stop"), CopyURL: rec("copy"), Quit: rec("quit"),
		Decide: func(id string, ok bool) { got = append(got, fmt.Sprintf("%s=%v", id, ok)) }}
	si := oauthserver.SignIn{ID: "s1", User: "alice", ClientName: "ChatGPT", Resource: "http://127.0.0.1:1/mcp/files", RemoteAddr: "127.0.0.1", Time: time.Now()}
	m := TrayMenu(app.Status{State: app.StateSharing}, []oauthserver.SignIn{si}, act)
	for _, it := range m.Items {
		if it.Action != nil {
			it.Action()
		}
	}
	want := "s1=true s1=false open stop copy quit"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("actions: %s, want %s", g, want)
	}
}

func TestPublicURLView(t *testing.T) {
	noNet := fmt.Errorf("public URL: %w", tunnel.ErrNoNetwork)
	tests := []struct {
		name string
		st   app.Status
		kind string
		want PublicURLView
	}{
		{"stopped, nothing set up", app.Status{State: app.StateStopped}, app.TunnelNone, PublicURLView{Sentence: "No public URL is set up"}},
		{"local only", app.Status{State: app.StateSharing}, app.TunnelNone, PublicURLView{Problem: true, Sentence: "Set up ngrok in Settings"}},
		{"connecting", app.Status{State: app.StateSharing, Tunnel: tunnel.StateConnecting}, app.TunnelNgrok, PublicURLView{Busy: true, Sentence: "Connecting to ngrok"}},
		{"before the first event", app.Status{State: app.StateSharing}, app.TunnelNgrok, PublicURLView{Busy: true, Sentence: "Connecting to ngrok"}},
		{"retrying", app.Status{State: app.StateSharing, Tunnel: tunnel.StateConnecting, Err: noNet}, app.TunnelNgrok, PublicURLView{Busy: true, Sentence: "again"}},
		{"online", app.Status{State: app.StateSharing, Tunnel: tunnel.StateOnline, PublicOrigin: "https://me.ngrok-free.app"}, app.TunnelNgrok, PublicURLView{Online: true, Sentence: "Online at https://me.ngrok-free.app"}},
		{"reconnecting", app.Status{State: app.StateSharing, Tunnel: tunnel.StateReconnecting, PublicOrigin: "https://me.ngrok-free.app"}, app.TunnelNgrok, PublicURLView{Busy: true, Problem: true, Sentence: "reconnecting"}},
		{"no network", app.Status{State: app.StateSharing, Tunnel: tunnel.StateFailed, Err: noNet}, app.TunnelNgrok, PublicURLView{Problem: true, Sentence: "could not reach ngrok", Details: "could not reach ngrok: check the network"}},
		{"token rejected", app.Status{State: app.StateSharing, Tunnel: tunnel.StateFailed, Err: fmt.Errorf("public URL: %w", tunnel.ErrAuthtokenRejected)}, app.TunnelNgrok, PublicURLView{Problem: true, Sentence: "ngrok rejected the authtoken"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PublicURL(tc.st, tc.kind, "")
			if got.Busy != tc.want.Busy || got.Online != tc.want.Online || got.Problem != tc.want.Problem ||
				!strings.Contains(got.Sentence, tc.want.Sentence) || !strings.Contains(got.Details, tc.want.Details) {
				t.Errorf("PublicURL = %+v, want %+v (sentence and details as parts)", got, tc.want)
			}
			if strings.Count(got.Sentence, "\n") > 0 {
				t.Errorf("the sentence spans lines: %q", got.Sentence)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		err  error
		want string // part of the advice
	}{
		{fmt.Errorf("open: %w", app.ErrAlreadyRunning), "already running"},
		{fmt.Errorf("%w: 127.0.0.1:8765", app.ErrPortInUse), "Choose another port in Settings"},
		{fmt.Errorf("keychain: %w", secrets.ErrUnavailable), "--secrets file"},
		{fmt.Errorf("keychain: set %q: %w", "server-env/big/TOKEN", secrets.ErrTooLong), "the file's path"},
		{app.ErrNgrokToken, "paste it in Settings"},
		{fmt.Errorf("public URL: %w", tunnel.ErrNoAuthtoken), "paste it in Settings"},
		{fmt.Errorf("public URL: %w", tunnel.ErrAuthtokenRejected), "ngrok rejected the authtoken"},
		{fmt.Errorf("public URL: %w", tunnel.ErrDomainNotReserved), "dashboard.ngrok.com/domains"},
		{fmt.Errorf("public URL: %w", tunnel.ErrNoNetwork), "internet connection"},
		{errors.New("something odd"), "Something odd."},
	}
	for _, tc := range tests {
		got := Explain(tc.err)
		if !strings.Contains(got, tc.want) || !strings.Contains(strings.ToLower(got), strings.ToLower(tc.err.Error()[:5])) {
			t.Errorf("Explain(%v) = %q, want it to contain %q and the error", tc.err, got, tc.want)
		}
	}
	if Explain(nil) != "" {
		t.Error("Explain(nil) is not empty")
	}
}

func TestImportSummary(t *testing.T) {
	got := ImportSummary(app.ImportReport{Imported: []string{"github", "everything"}, Skipped: []app.Skipped{{Name: "remote", Reason: "is a remote server already"}}})
	want := "Imported: github, everything.\nSkipped remote: is a remote server already"
	if got != want {
		t.Errorf("ImportSummary:\n got %q\nwant %q", got, want)
	}
	if got := ImportSummary(app.ImportReport{}); got != "Nothing was imported." {
		t.Errorf("empty ImportSummary: %q", got)
	}
}
