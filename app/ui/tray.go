package ui

import (
	"fmt"
	"runtime"
	"strings"

	"fyne.io/fyne/v2"
	"github.com/godbus/dbus/v5"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// TrayActions are what the tray menu's items do.
type TrayActions struct {
	Open, Start, Stop, CopyURL, Quit func()
	// Decide approves or denies the pending sign-in with the given ID.
	Decide func(id string, approve bool)
	// DecideCall answers the waiting call with the given ID.
	DecideCall func(id string, d app.CallDecision)
}

// TrayMenu is the tray menu for a state and the pending sign-ins: the state
// line; each pending sign-in as two top-level items, "Approve LABEL" and
// "Deny LABEL" (no submenus: tray hosts render submenus that change empty,
// fyne-io/systray#12); Open, Start or Stop sharing, Copy MCP URL; Quit. The
// caller sets the whole menu again on every change.
func TrayMenu(st app.Status, pending []oauthserver.SignIn, act TrayActions) *fyne.Menu {
	return TrayMenuWithCalls(st, pending, nil, act)
}

// TrayMenuWithCalls is TrayMenu with the calls waiting for approval after
// the state line: each as top-level Approve, Deny and Always allow items
// (callItems).
func TrayMenuWithCalls(st app.Status, pending []oauthserver.SignIn, calls []app.PendingCall, act TrayActions) *fyne.Menu {
	state := fyne.NewMenuItem(StateLine(st), nil)
	state.Disabled = true
	items := []*fyne.MenuItem{state, fyne.NewMenuItemSeparator()}
	items = append(items, callItems(calls, act.DecideCall)...)
	if len(pending) > 0 {
		waiting := fyne.NewMenuItem(waitingLine(len(pending)), nil)
		waiting.Disabled = true
		items = append(items, waiting)
		labels := SignInLabels(pending)
		for _, si := range pending {
			id := si.ID
			items = append(items,
				fyne.NewMenuItem("Approve "+labels[id], func() { act.Decide(id, true) }),
				fyne.NewMenuItem("Deny "+labels[id], func() { act.Decide(id, false) }))
		}
		items = append(items, fyne.NewMenuItemSeparator())
	}
	items = append(items, fyne.NewMenuItem("Open MCP Share", act.Open))
	sharing := st.State == app.StateSharing || st.State == app.StateStarting
	if sharing {
		items = append(items, fyne.NewMenuItem("Stop sharing", act.Stop))
	} else {
		items = append(items, fyne.NewMenuItem("Start sharing", act.Start))
	}
	copyURL := fyne.NewMenuItem("Copy MCP URL", act.CopyURL)
	copyURL.Disabled = st.State != app.StateSharing
	items = append(items, copyURL)
	quit := fyne.NewMenuItem("Quit", act.Quit)
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), quit)
	return fyne.NewMenu("MCP Share", items...)
}

// waitingLine says how many sign-ins wait: "1 sign-in waits for you".
func waitingLine(n int) string {
	if n == 1 {
		return "1 sign-in waits for your approval"
	}
	return fmt.Sprintf("%d sign-ins wait for your approval", n)
}

// SignInLabel names a pending sign-in: who, through what, from where and
// when ("admin · ChatGPT · 203.0.113.7 · 11:17").
func SignInLabel(si oauthserver.SignIn) string {
	return signInLabel(si, "15:04")
}

func signInLabel(si oauthserver.SignIn, clock string) string {
	return fmt.Sprintf("%s · %s · %s · %s", si.User, si.ClientName, si.RemoteAddr, si.Time.Local().Format(clock))
}

// SignInLabels labels each pending sign-in by ID so that no two read the
// same: with the seconds where the minute is shared, then with a number.
func SignInLabels(pending []oauthserver.SignIn) map[string]string {
	count := func(label func(oauthserver.SignIn) string) map[string]int {
		n := map[string]int{}
		for _, si := range pending {
			n[label(si)]++
		}
		return n
	}
	short, long := count(SignInLabel), count(func(si oauthserver.SignIn) string { return signInLabel(si, "15:04:05") })
	out := make(map[string]string, len(pending))
	seen := map[string]int{}
	for _, si := range pending {
		l := SignInLabel(si)
		if short[l] > 1 {
			l = signInLabel(si, "15:04:05")
			if long[l] > 1 {
				seen[l]++
				l = fmt.Sprintf("%s · #%d", l, seen[l])
			}
		}
		out[si.ID] = l
	}
	return out
}

// StateLine is the one-line state of sharing: Sharing, Stopped, or Error
// with a short reason.
func StateLine(st app.Status) string {
	switch st.State {
	case app.StateSharing:
		if st.PublicOrigin != "" {
			return "Sharing at " + st.PublicOrigin
		}
		return "Sharing (this computer only)"
	case app.StateStarting:
		return "Starting…"
	case app.StateError:
		return "Error: " + shortReason(st.Err)
	default:
		return "Stopped"
	}
}

// shortReason is the first clause of err, short enough for a menu.
func shortReason(err error) string {
	if err == nil {
		return "unknown"
	}
	s := err.Error()
	if i := strings.Index(s, " ("); i > 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}

// TrayAvailable tells whether a system tray can be used: on Linux and the
// BSDs only when a D-Bus session bus connects (Fyne's tray panics on quit
// without one); elsewhere always. The error says why not.
func TrayAvailable() (bool, error) {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
	default:
		return true, nil
	}
	if _, err := dbus.SessionBus(); err != nil {
		return false, fmt.Errorf("no D-Bus session bus: %w", err)
	}
	return true, nil
}

// TrayHostRunning tells whether something shows tray icons: on Linux and
// the BSDs, a StatusNotifierWatcher owns its name on the session bus (GNOME
// without an AppIndicator extension has none); elsewhere always. Without a
// host a hidden window could not be brought back, so closing it must quit.
func TrayHostRunning() bool {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
	default:
		return true
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		return false
	}
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}
