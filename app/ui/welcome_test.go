package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/tunnel/ngroktest"
)

func TestWelcomePageShowsThePasswordUntilSaved(t *testing.T) {
	h := newFirstRunHarness(t, Options{})
	m := h.markup()
	if h.u.welcome == nil || !strings.Contains(m, "Welcome to MCP Share") || !strings.Contains(m, h.password) || !strings.Contains(m, `"admin"`) {
		t.Fatalf("a first run does not open on the welcome page with the password:\n%s", m)
	}
	test.Tap(h.u.welcome.copyPassword)
	if got := h.fa.Clipboard().Content(); got != h.password {
		t.Errorf("clipboard after Copy: %q", got)
	}
	test.Tap(h.u.welcome.next)
	h.drain()
	if _, pw := h.core.FirstRunCredentials(); pw != "" {
		t.Error("the password is still kept after \"I have saved it\"")
	}
	if m := h.markup(); !strings.Contains(m, "2. A public URL") || strings.Contains(m, h.password) {
		t.Fatalf("after the password: want the ngrok step, without the password:\n%s", m)
	}
	test.Tap(h.u.welcome.skip)
	h.drain()
	if h.u.welcome != nil || h.u.tabs.SelectedIndex() != 1 {
		t.Errorf("Skip should land on the Connect card (tab %d)", h.u.tabs.SelectedIndex())
	}
}

func TestWelcomePageLetsTheOwnerChooseAPassword(t *testing.T) {
	h := newFirstRunHarness(t, Options{})
	w := h.u.welcome
	w.ownPassword.SetText("short")
	test.Tap(w.setPassword)
	h.drain()
	if !strings.Contains(w.passwordNote.Text, "too short") {
		t.Errorf("a short password: %q", w.passwordNote.Text)
	}
	w.ownPassword.SetText("correct horse battery staple")
	test.Tap(w.setPassword)
	h.drain()
	if _, pw := h.core.FirstRunCredentials(); pw != "" {
		t.Error("the generated password is still offered after choosing one")
	}
	// The chosen password signs in.
	b := newBrowser(t, h.core.Status().LocalOrigin)
	b.register()
	b.signIn(h.user, "correct horse battery staple")
}

func TestWelcomeChecksNgrokBeforeSaving(t *testing.T) {
	svc := ngroktest.Start(t, ngroktest.WithAuthtoken("good-token"))
	h := newFirstRunHarness(t, Options{}, func(o *app.Options) {
		o.NgrokConnectURL, o.NgrokConnectCAs = svc.ConnectURL(), svc.CAs()
	})
	w := h.u.welcome
	test.Tap(w.next)
	h.drain()

	w.token.SetText("bad-token")
	test.Tap(w.check)
	h.drain()
	if !strings.Contains(w.checkNote.Text, "rejected") || !w.save.Disabled() {
		t.Errorf("a rejected token: %q, save enabled %v", w.checkNote.Text, !w.save.Disabled())
	}
	w.token.SetText("good-token")
	test.Tap(w.check)
	h.drain()
	if !strings.Contains(w.checkNote.Text, "It works") || w.save.Disabled() {
		t.Fatalf("a good token: %q", w.checkNote.Text)
	}
	if st := h.core.StoredSettings(); st.Tunnel != app.TunnelNone {
		t.Errorf("Check saved the settings: %+v", st)
	}
	test.Tap(w.save)
	h.drain()
	if st := h.core.StoredSettings(); st.Tunnel != app.TunnelNgrok {
		t.Errorf("after Save: %+v", st)
	}
	if has, _ := h.core.HasNgrokToken(context.Background()); !has {
		t.Error("the token was not saved")
	}
	if h.u.welcome != nil || h.u.tabs.SelectedIndex() != 1 {
		t.Error("Save should land on the Connect card")
	}
}

func TestNgrokCannotBeChosenWithoutAToken(t *testing.T) {
	h := newHarness(t)
	h.u.SelectTab(TabSettings)
	h.drain()
	s := h.u.settings
	s.tunnel.SetSelected(tunnelLabels[app.TunnelNgrok])
	if s.tunnel.Selected == tunnelLabels[app.TunnelNgrok] || !strings.Contains(s.status.Text, "authtoken first") {
		t.Errorf("ngrok chosen without a token: selected %q, status %q", s.tunnel.Selected, s.status.Text)
	}
	if err := h.core.SaveSettings(app.Settings{Addr: "127.0.0.1:0", Approval: app.ApprovalAsk, Tunnel: app.TunnelNgrok}); err == nil {
		t.Error("the core saved ngrok without a token")
	}
	s.token.SetText("a-token")
	s.tunnel.SetSelected(tunnelLabels[app.TunnelNgrok])
	if s.tunnel.Selected != tunnelLabels[app.TunnelNgrok] {
		t.Error("ngrok cannot be chosen with a token typed in")
	}
}

func TestSettingsSayWhereSecretsAreKept(t *testing.T) {
	h := newHarness(t) // --secrets file
	h.u.SelectTab(TabSettings)
	h.drain()
	m := h.markup()
	if strings.Contains(m, "system keychain") || !strings.Contains(m, "secrets file") {
		t.Errorf("with --secrets file the settings should not speak of the keychain")
	}
	if !strings.Contains(m, "ngrok-free.app") {
		t.Error("the domain placeholder does not match the README (ngrok-free.app)")
	}
}

func TestMouseWheelOverAnEntryScrollsTheSettings(t *testing.T) {
	h := newHarness(t)
	h.u.win.Resize(h.u.win.Canvas().Size().Subtract(fyneSize(0, 300)))
	h.u.SelectTab(TabSettings)
	h.drain()
	s := h.u.settings
	pos := h.fa.Driver().AbsolutePositionForObject(s.domain).AddXY(20, 10)
	test.Scroll(h.u.win.Canvas(), pos, 0, -120)
	if s.scroll.Offset.Y <= 0 {
		t.Errorf("the wheel over the domain entry did not scroll the settings (offset %v)", s.scroll.Offset)
	}
	// Typing still reaches the entry under the wheel layer.
	test.Tap(s.domain)
	test.Type(s.domain, "me.ngrok-free.app")
	if s.domain.Text != "me.ngrok-free.app" {
		t.Errorf("typing into the domain entry: %q", s.domain.Text)
	}
}

func fyneSize(w, h float32) fyne.Size { return fyne.NewSize(w, h) }

func TestSettingsKeepASavedNgrokChoice(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if err := h.core.SetNgrokToken(ctx, "a-token"); err != nil {
		t.Fatal(err)
	}
	st := h.core.StoredSettings()
	st.Tunnel = app.TunnelNgrok
	if err := h.core.SaveSettings(st); err != nil {
		t.Fatal(err)
	}
	h.u.SelectTab(TabSettings)
	h.drain()
	if s := h.u.settings; s.tunnel.Selected != tunnelLabels[app.TunnelNgrok] || strings.Contains(s.status.Text, "authtoken first") {
		t.Errorf("the saved ngrok choice shows as %q (%q)", s.tunnel.Selected, s.status.Text)
	}
}
