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
			[]string{"(Sharing at https://x.ngrok.app)", "---", "Open MCP Share", "Stop sharing", "Copy MCP URL", "---",
				"Approve alice - ChatGPT", "Approve bob - Claude", "---", "Quit"}},
		{"error", app.Status{State: app.StateError, Err: fmt.Errorf("%w: 127.0.0.1:8765 (choose another port in Settings or with --addr)", app.ErrPortInUse)}, nil,
			[]string{"(Error: the port is in use by another program: 127.0.0.1:8765)", "---", "Open MCP Share", "Start sharing", "(Copy MCP URL)", "---", "Quit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := TrayMenu(tc.st, tc.pending, TrayActions{})
			if got := strings.Join(labels(m), " | "); got != strings.Join(tc.want, " | ") {
				t.Errorf("menu:\n got %s\nwant %s", got, strings.Join(tc.want, " | "))
			}
			if last := m.Items[len(m.Items)-1]; !last.IsQuit {
				t.Error("the last item is not marked IsQuit")
			}
		})
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
		if it.ChildMenu != nil {
			if sub := labels(it.ChildMenu); len(sub) != 3 || sub[1] != "Approve" || sub[2] != "Deny" || !strings.Contains(sub[0], "files from 127.0.0.1") {
				t.Errorf("sign-in submenu: %q", sub)
			}
			for _, c := range it.ChildMenu.Items {
				if c.Action != nil {
					c.Action()
				}
			}
		}
	}
	want := "open stop copy s1=true s1=false quit"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("actions: %s, want %s", g, want)
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
