package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

// Wrong passwords show in the Users tab by user and address, and Unblock
// there lets the next attempt through.
func TestFailedSignInsAreShownAndUnblocked(t *testing.T) {
	h := newHarness(t)
	b := newBrowser(t, h.core.Status().LocalOrigin)
	b.register()
	for range 4 {
		b.submitLogin(h.user, "not-the-password")
	}
	h.u.SelectTab(TabUsers)
	h.u.users.refresh()
	key := h.user + " 127.0.0.1"
	if m := h.markup(); !strings.Contains(m, "wrong password(s) from 127.0.0.1") || h.u.users.unblock[key] == nil {
		t.Fatalf("the Users tab does not list the failed sign-ins of %s from 127.0.0.1:\n%s", h.user, m)
	}
	test.Tap(h.u.users.unblock[key])
	if list, _ := h.core.Auth().FailedSignIns(); len(list) > 0 && list[0].Address == "127.0.0.1" {
		t.Fatalf("after Unblock of 127.0.0.1: %+v", list)
	}
	// The per-user count (wrong passwords from addresses where the user never
	// signed in) has a row of its own; its Unblock clears everything.
	if b := h.u.users.unblock[h.user+" "]; b != nil {
		test.Tap(b)
	}
	if list, err := h.core.Auth().FailedSignIns(); err != nil || len(list) != 0 {
		t.Fatalf("after Unblock: %+v %v, want none", list, err)
	}
	if !strings.Contains(h.markup(), "None.") {
		t.Errorf("the Users tab still lists failed sign-ins after Unblock:\n%s", h.markup())
	}
}

// A sign-in through a client that claims a name its host does not back up
// carries the warning to the owner before they decide.
func TestSignInWarningsAreShown(t *testing.T) {
	h := newHarness(t)
	b := newBrowser(t, h.core.Status().LocalOrigin)
	b.registerNamed("ChatGPT")
	h.u.SelectTab(TabSignIns)
	b.signIn(h.user, h.password)
	h.drain()
	h.u.signIns.refresh()
	pending := h.core.Auth().PendingSignIns()
	if len(pending) != 1 || len(pending[0].Warnings) == 0 {
		t.Fatalf("pending %+v, want one sign-in with a warning", pending)
	}
	if m := h.markup(); !strings.Contains(m, "Careful: ") {
		t.Errorf("the Sign-ins tab does not show the warning %q:\n%s", pending[0].Warnings[0], m)
	}
}
