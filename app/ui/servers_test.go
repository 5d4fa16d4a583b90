package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app"
)

// The test binary doubles as the stdio server that Test starts.
const helperEnv = "MCPSHARE_UI_HELPER"

func TestHelperMCPServer(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		t.Skip("helper process for TestAddServerTestButton")
	case "fail":
		fmt.Fprintln(os.Stderr, "helper: cannot find /data/notes")
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "helper: serving")
	s := mcp.NewServer(&mcp.Implementation{Name: "notes", Version: "2.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "read_note"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
	s.Run(context.Background(), &mcp.StdioTransport{})
	os.Exit(0)
}

func TestAddServerTestButton(t *testing.T) {
	h := newHarness(t)
	f := h.u.servers.edit(nil)
	f.name.SetText("notes")
	f.command.SetText("'" + os.Args[0] + "' -test.run=^TestHelperMCPServer$")
	f.addEnv(helperEnv, "serve", false, false)
	test.Tap(f.test)
	h.drain()
	if got := f.testResult.Text; !strings.Contains(got, "It works: notes 2.0 offers 1 tool: read_note") || !strings.Contains(got, "helper: serving") {
		t.Errorf("Test of a working server:\n%s", got)
	}
	if list, _ := h.core.Servers(); len(list) != 1 {
		t.Error("Test saved the server")
	}

	f.env[0].value.SetText("fail")
	test.Tap(f.test)
	h.drain()
	if got := f.testResult.Text; !strings.Contains(got, "did not work") || !strings.Contains(got, "cannot find /data/notes") {
		t.Errorf("Test of a failing server:\n%s", got)
	}

	f.command.SetText(`node "/path/with space/index.js`)
	test.Tap(f.test)
	if got := f.testResult.Text; !strings.Contains(got, "quote") {
		t.Errorf("an unclosed quote: %q", got)
	}
}

func TestServerCardShowsWhyItFailed(t *testing.T) {
	h := newHarness(t)
	at := time.Date(2026, 12, 3, 11, 17, 5, 0, time.Local)
	st := app.ServerStatus{
		Config:  app.ServerConfig{Name: "notes", Kind: app.KindStdio, Enabled: true, Command: "node", Args: []string{"/srv/my notes/index.js"}},
		Running: true, Problem: "exited with status 1: Cannot find module '/srv/my notes/index.js'", ProblemAt: at,
	}
	m := test.RenderObjectToMarkup(h.u.servers.card(st))
	for _, want := range []string{"Failed at 11:17:05: Exited with status 1", "not running", `Command: node '/srv/my notes/index.js'`} {
		if !strings.Contains(m, want) {
			t.Errorf("the card does not show %q:\n%s", want, m)
		}
	}
	st.Problem, st.Backends, st.Sessions = "", 2, 3
	m = test.RenderObjectToMarkup(h.u.servers.card(st))
	if !strings.Contains(m, "Shared · 2 instances running · 3 live sessions") || strings.Contains(m, "Failed") {
		t.Errorf("a running server's card:\n%s", m)
	}
}

func TestSignInsTabMakesRoomForANewRequest(t *testing.T) {
	h := newHarness(t)
	h.u.SelectTab(TabSignIns)
	h.drain()
	b := newBrowser(t, h.core.Status().LocalOrigin)
	b.register()
	b.signIn(h.user, h.password)
	h.drain()
	tab := h.u.signIns
	d := h.fa.Driver()
	pendingBottom := d.AbsolutePositionForObject(tab.pending).Y + tab.pending.Size().Height
	recentTop := d.AbsolutePositionForObject(tab.recent).Y
	if tab.pending.Size().Height < tab.pending.MinSize().Height || recentTop < pendingBottom {
		t.Errorf("the pending request (to y=%v, %v high, needs %v) overlaps the recent sign-ins (from y=%v)",
			pendingBottom, tab.pending.Size().Height, tab.pending.MinSize().Height, recentTop)
	}
}

func TestEditFilesSetsTheSharedFolder(t *testing.T) {
	h := newHarness(t)
	list, _ := h.core.Servers()
	files := list[0].Config
	f := h.u.servers.edit(&files)
	want := filepath.Join(t.TempDir(), "notes")
	f.root.SetText(want)
	f.submit(func() { t.Error("the form reopened: saving failed") })
	h.drain()
	list, _ = h.core.Servers()
	if got := list[0].Config.Root; got != want {
		t.Errorf("the built-in server shares %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(want, "README.md")); err != nil {
		t.Errorf("the new folder was not prepared: %v", err)
	}
}
