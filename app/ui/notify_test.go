package ui

import (
	"os"
	"strings"
	"testing"

	"github.com/mcpshare/mcpshare/app/ui/notifytest"
)

func TestNotificationButtonsAnswerTheSignIn(t *testing.T) {
	bus := notifytest.Bus(t, os.Environ())
	notes := notifytest.Start(t, bus)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	h := newFirstRunHarness(t, Options{DesktopNotifications: true})
	h.u.showMain(TabServers)
	h.drain()
	if h.u.desktop == nil {
		t.Fatal("no desktop notifications although a service answers")
	}

	b := newBrowser(t, h.core.Status().LocalOrigin)
	b.register()
	b.signIn(h.user, h.password)
	h.drain()
	shown := notes.Notices()
	if len(shown) != 1 {
		t.Fatalf("notifications: %+v, want one", shown)
	}
	n := shown[0]
	if strings.Join(n.Actions, ",") != "default,Open MCP Share,approve,Approve,deny,Deny" ||
		!strings.Contains(n.Summary, h.user+" · Notes app · 127.0.0.1") || !strings.Contains(n.Body, "wants to use files through Notes app") {
		t.Errorf("notification %+v: want Approve and Deny and who, through what, from where, to which server", n)
	}

	// A click on the notification opens the Sign-ins tab.
	h.u.SelectTab(TabSettings)
	notes.Press(t, n.ID, "default")
	h.awaitUntil("Sign-ins tab after a click on the notification", func() bool { return h.u.tabs.SelectedIndex() == 2 })
	if b.status() != "pending" {
		t.Fatal("opening the window decided the sign-in")
	}
	notes.Press(t, n.ID, "deny")
	h.awaitUntil("decision after Deny in the notification", func() bool { return len(h.core.Auth().PendingSignIns()) == 0 })
	if got := b.status(); got != "denied" {
		t.Fatalf("after Deny in the notification: %q", got)
	}
	if to := b.finish(); to.Query().Get("error") != "access_denied" {
		t.Errorf("redirect after Deny: %s", to)
	}
	if !notes.Closed(n.ID) {
		t.Error("the notification of a decided sign-in stays on screen")
	}
}
