package ui

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/audit"
	"github.com/mcpshare/mcpshare/app/ui/notifytest"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// askingHarness is a harness whose built-in server's search asks, with an
// MCP session of the first user through a client the browser registers.
func askingHarness(t *testing.T, opts Options) (*harness, *mcp.ClientSession) {
	t.Helper()
	h := newFirstRunHarness(t, opts)
	h.u.showMain(TabServers)
	h.drain()
	list, _ := h.core.Servers()
	r := list[0].Config.Rules()
	r.Tools = map[string]string{"search": app.AccessAsk}
	if err := h.core.SetServerRules(app.BuiltinName, r); err != nil {
		t.Fatal(err)
	}
	origin := h.core.Status().LocalOrigin
	tok := passwordToken(t, h, origin, origin+"/mcp/files")
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok)}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "ui-test", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: origin + "/mcp/files", HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return h, cs
}

// passwordToken signs the first user in through a new client, the password
// alone deciding (the sign-in approvals have tests of their own), and
// exchanges the code.
func passwordToken(t *testing.T, h *harness, origin, resource string) *oauth2.Token {
	t.Helper()
	h.core.Auth().SetPolicy(oauthserver.PolicyPassword)
	defer h.core.Auth().SetPolicy(oauthserver.PolicyAsk)
	b := newBrowser(t, origin)
	b.register()
	cfg := oauth2.Config{ClientID: b.clientID, RedirectURL: b.redirect, Scopes: []string{"mcp"},
		Endpoint: oauth2.Endpoint{AuthURL: origin + "/authorize", TokenURL: origin + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	req, _ := http.NewRequest("GET", cfg.AuthCodeURL(b.state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", resource)), nil)
	_, page := b.do(req)
	form := url.Values{}
	for _, in := range inputRE.FindAllString(page, -1) {
		attrs := map[string]string{}
		for _, m := range attrRE.FindAllStringSubmatch(in, -1) {
			attrs[m[1]] = m[2]
		}
		if attrs["name"] != "" {
			form.Set(attrs["name"], strings.ReplaceAll(attrs["value"], "&#43;", "+"))
		}
	}
	form.Set("username", h.user)
	form.Set("password", h.password)
	req, _ = http.NewRequest("POST", origin+"/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ := b.do(req)
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || to.Query().Get("code") == "" {
		t.Fatalf("sign-in with the password only: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := cfg.Exchange(context.Background(), to.Query().Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", resource))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type callAnswer struct {
	res *mcp.CallToolResult
	err error
}

// searchWaits starts a search that waits for approval and returns it once
// the UI shows it.
func searchWaits(t *testing.T, h *harness, cs *mcp.ClientSession, query string) (app.PendingCall, chan callAnswer) {
	t.Helper()
	done := make(chan callAnswer, 1)
	go func() {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": query}})
		done <- callAnswer{res, err}
	}()
	h.awaitUntil("a call waiting in the UI", func() bool { return len(h.u.calls) == 1 })
	return h.u.calls[0], done
}

func (a callAnswer) ok() bool { return a.err == nil && !a.res.IsError }

func TestCallApprovalsFromTrayAndWindow(t *testing.T) {
	h, cs := askingHarness(t, Options{})
	h.u.SelectTab(TabActivity)

	pc, done := searchWaits(t, h, cs, "fox \u202e/ fr- mr")
	label := CallLabel(pc)
	client := pc.ClientName
	if client == "" || !strings.HasPrefix(label, h.user+" · "+client+" · files/search · ") {
		t.Errorf("call label %q", label)
	}
	if got := h.u.tabs.Items[activityTabIndex].Text; got != "Activity (1)" {
		t.Errorf("the sidebar says %q", got)
	}
	m := h.markup()
	if !strings.Contains(m, "Approve "+label) || !strings.Contains(m, `\u{202E}`) || strings.Contains(m, "\u202e") {
		t.Errorf("the Activity tab does not show the call with its arguments escaped:\n%s", m)
	}
	for _, verb := range []string{"Approve ", "Deny ", "Always allow "} {
		if it := trayItem(h, verb+label); it == nil || it.ChildMenu != nil {
			t.Fatalf("no top-level tray item %q:\n%q", verb+label, labels(h.u.trayMenu()))
		}
	}
	// The tray's Approve.
	trayItem(h, "Approve "+label).Action()
	h.drain()
	if a := <-done; !a.ok() {
		t.Fatalf("after Approve in the tray: %v %+v", a.err, a.res)
	}
	h.awaitUntil("the call gone from the UI", func() bool { return len(h.u.calls) == 0 && trayItem(h, "Approve "+label) == nil })

	// The window's Deny.
	pc, done = searchWaits(t, h, cs, "second")
	test.Tap(h.u.activity.deny[pc.ID])
	h.drain()
	if a := <-done; a.err != nil || !a.res.IsError {
		t.Fatalf("after Deny in the window: %v %+v", a.err, a.res)
	}
	// The window's Always allow: the next search does not wait.
	pc, done = searchWaits(t, h, cs, "third")
	test.Tap(h.u.activity.always[pc.ID])
	h.drain()
	if a := <-done; !a.ok() {
		t.Fatalf("after Always allow: %v %+v", a.err, a.res)
	}
	if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": "fourth"}}); err != nil || res.IsError {
		t.Fatalf("the always allowed search: %v %+v", err, res)
	}
	approvals, _ := h.core.Audit(audit.Filter{Event: audit.EventApproval}, 0)
	var got []string
	for _, e := range approvals {
		got = append(got, e.Outcome+" "+e.Detail)
	}
	if strings.Join(got, ",") != "approved tray,denied window,always window,remembered always allowed for this client" {
		t.Errorf("approvals in the audit log: %q", got)
	}
	h.u.activity.refresh()
	h.drain()
	if m := h.markup(); !strings.Contains(m, "files: 4 calls · 3 ok · 0 error · 1 denied · 0 hidden") || !strings.Contains(m, "files/search for "+h.user+" through "+client) {
		t.Errorf("the Activity tab lacks the counters or the tool always allowed:\n%s", m)
	}
}

func TestCallNotificationButtons(t *testing.T) {
	bus := notifytest.Bus(t, os.Environ())
	notes := notifytest.Start(t, bus)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	h, cs := askingHarness(t, Options{DesktopNotifications: true})
	if h.u.desktop == nil {
		t.Fatal("no desktop notifications although a service answers")
	}
	pc, done := searchWaits(t, h, cs, "<b>bold</b> fox")
	var n notifytest.Notice
	h.awaitUntil("the call's notification", func() bool {
		for _, x := range notes.Notices() {
			if strings.HasPrefix(x.Summary, "Call waiting: ") {
				n = x
				return true
			}
		}
		return false
	})
	if strings.Join(n.Actions, ",") != "default,Open MCP Share,approve,Approve,deny,Deny,always,Always allow this tool for this client" ||
		n.Summary != "Call waiting: "+CallLabel(pc) || strings.Contains(n.Body, "<b>") || !strings.Contains(n.Body, "&lt;b&gt;") {
		t.Errorf("notification %+v: want the buttons, the label and the arguments as text", n)
	}
	notes.Press(t, n.ID, "default")
	h.awaitUntil("the Activity tab after a click on the notification", func() bool { return h.u.tabs.SelectedIndex() == activityTabIndex })
	notes.Press(t, n.ID, "always")
	h.awaitUntil("the call answered from its notification", func() bool { return len(h.core.PendingCalls()) == 0 })
	if a := <-done; !a.ok() {
		t.Fatalf("after Always allow in the notification: %v %+v", a.err, a.res)
	}
	h.awaitUntil("the notification withdrawn", func() bool { h.drain(); return notes.Closed(n.ID) })
	if rem, _ := h.core.RememberedCalls(); len(rem) != 1 || rem[0].Tool != "search" {
		t.Errorf("remembered: %+v", rem)
	}
}

func TestServerCardEditsWhoAndWhat(t *testing.T) {
	h := newHarness(t)
	if err := h.core.Auth().AddUser("bob", "bob-password-1"); err != nil {
		t.Fatal(err)
	}
	list, _ := h.core.Servers()
	f := h.u.servers.editRules(list[0].Config)
	h.awaitUntil("the built-in server's tools in the dialog", func() bool { return f.states["tool\x00search"] != nil })
	if got := f.states["tool\x00search"].Selected; got != stateDefault {
		t.Errorf("search starts at %q, want default", got)
	}
	f.states["tool\x00search"].SetSelected(app.AccessHidden)
	f.states["tool\x00fetch"].SetSelected(app.AccessAsk)
	f.allUsers.SetChecked(false)
	f.users["bob"].SetChecked(true)
	f.askAll.SetChecked(true)
	f.save()
	h.drain()
	list, _ = h.core.Servers()
	c := list[0].Config
	if c.Tools["search"] != app.AccessHidden || c.Tools["fetch"] != app.AccessAsk || len(c.Users) != 1 || c.Users[0] != "bob" || !c.AskBeforeChanges {
		t.Fatalf("saved rules: %+v", c.Rules())
	}
	if got := RulesLine(c); got != "Only bob may use it; 1 hidden, 1 ask, asks before changes." {
		t.Errorf("the card says %q", got)
	}
	h.u.servers.shown = ""
	h.u.servers.refresh()
	if m := h.markup(); !strings.Contains(m, "Only bob may use it") || !strings.Contains(m, "Who and what…") {
		t.Errorf("the card does not show the rules and their button:\n%s", m)
	}
}
