package ui

import (
	"fmt"
	"path"
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
}

// TrayMenu is the tray menu for a state and the pending sign-ins: the state
// line, Open, Start or Stop sharing, Copy MCP URL, one submenu per pending
// sign-in with Approve and Deny, and Quit.
func TrayMenu(st app.Status, pending []oauthserver.SignIn, act TrayActions) *fyne.Menu {
	state := fyne.NewMenuItem(StateLine(st), nil)
	state.Disabled = true
	items := []*fyne.MenuItem{state, fyne.NewMenuItemSeparator(), fyne.NewMenuItem("Open MCP Share", act.Open)}
	sharing := st.State == app.StateSharing || st.State == app.StateStarting
	if sharing {
		items = append(items, fyne.NewMenuItem("Stop sharing", act.Stop))
	} else {
		items = append(items, fyne.NewMenuItem("Start sharing", act.Start))
	}
	copyURL := fyne.NewMenuItem("Copy MCP URL", act.CopyURL)
	copyURL.Disabled = st.State != app.StateSharing
	items = append(items, copyURL)
	if len(pending) > 0 {
		items = append(items, fyne.NewMenuItemSeparator())
	}
	for _, si := range pending {
		id := si.ID
		about := fyne.NewMenuItem(fmt.Sprintf("to %s from %s at %s", serverName(si.Resource), si.RemoteAddr, si.Time.Local().Format("15:04")), nil)
		about.Disabled = true
		item := fyne.NewMenuItem(SignInLabel(si), nil)
		item.ChildMenu = fyne.NewMenu("",
			about,
			fyne.NewMenuItem("Approve", func() { act.Decide(id, true) }),
			fyne.NewMenuItem("Deny", func() { act.Decide(id, false) }),
		)
		items = append(items, item)
	}
	quit := fyne.NewMenuItem("Quit", act.Quit)
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), quit)
	return fyne.NewMenu("MCP Share", items...)
}

// SignInLabel names a pending sign-in in menus: "Approve alice - ChatGPT".
func SignInLabel(si oauthserver.SignIn) string {
	return fmt.Sprintf("Approve %s - %s", si.User, si.ClientName)
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

// serverName is the last path element of a resource URL (".../mcp/files" -> "files").
func serverName(resource string) string {
	if resource == "" {
		return "?"
	}
	return path.Base(resource)
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
