package ui

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mcpshare/mcpshare/oauthserver"
)

// The freedesktop Desktop Notifications service.
const (
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	notifyIface = "org.freedesktop.Notifications"
)

// notifyTimeout bounds each call to the notification service, which runs
// on the UI goroutine.
const notifyTimeout = 5 * time.Second

// call calls method of the notification service within notifyTimeout.
func (n *notifications) call(method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	return n.conn.Object(notifyName, notifyPath).CallWithContext(ctx, notifyIface+"."+method, 0, args...)
}

// Action keys of a sign-in notification: its buttons, and "default", a
// click on the notification itself.
const (
	actionApprove = "approve"
	actionDeny    = "deny"
	actionOpen    = "default"
)

// notifications shows each pending sign-in as a desktop notification with
// Approve and Deny buttons (freedesktop Desktop Notifications over D-Bus,
// as on Linux and the BSDs) and withdraws it once the sign-in is decided or
// has expired. It holds a private bus connection of its own.
type notifications struct {
	conn     *dbus.Conn
	buttons  bool // the server shows action buttons
	onAction func(signInID, action string)

	mu    sync.Mutex
	shown map[string]uint32 // notification ID by sign-in ID
	// early holds a button pressed before Notify's answer was stored (the
	// signal and the reply travel apart), by notification ID.
	early map[uint32]string
}

// newNotifications connects to the notification service on conn (which it
// then owns) and calls onAction, on a goroutine of its own, for each button
// pressed or notification clicked.
func newNotifications(conn *dbus.Conn, onAction func(signInID, action string)) (*notifications, error) {
	n := &notifications{conn: conn, onAction: onAction, shown: map[string]uint32{}, early: map[uint32]string{}}
	var caps []string
	if err := n.call("GetCapabilities").Store(&caps); err != nil {
		return nil, fmt.Errorf("no desktop notification service: %w", err)
	}
	n.buttons = slices.Contains(caps, "actions")
	for _, member := range []string{"ActionInvoked", "NotificationClosed"} {
		if err := conn.AddMatchSignal(dbus.WithMatchInterface(notifyIface), dbus.WithMatchMember(member), dbus.WithMatchObjectPath(notifyPath)); err != nil {
			return nil, fmt.Errorf("listen to desktop notifications: %w", err)
		}
	}
	signals := make(chan *dbus.Signal, 16)
	conn.Signal(signals)
	go n.listen(signals)
	return n, nil
}

func (n *notifications) listen(signals <-chan *dbus.Signal) {
	for sig := range signals {
		if len(sig.Body) < 2 {
			continue
		}
		id, _ := sig.Body[0].(uint32)
		n.mu.Lock()
		signIn := ""
		for si, nid := range n.shown {
			if nid == id {
				signIn = si
			}
		}
		if sig.Name == notifyIface+".NotificationClosed" && signIn != "" {
			delete(n.shown, signIn)
		}
		action, pressed := sig.Body[1].(string)
		pressed = pressed && sig.Name == notifyIface+".ActionInvoked"
		if pressed && signIn == "" && len(n.early) < 16 {
			n.early[id] = action
		}
		n.mu.Unlock()
		if pressed && signIn != "" {
			n.onAction(signIn, action)
		}
	}
}

// show announces a pending sign-in, labelled as in the tray menu.
func (n *notifications) show(si oauthserver.SignIn, label string) error {
	var actions []string
	body := fmt.Sprintf("%s wants to use %s through %s (from %s). Approve only a sign-in you started yourself.",
		si.User, si.ServerLabel(), si.ClientName, si.RemoteAddr)
	if n.buttons {
		actions = []string{actionOpen, "Open MCP Share", actionApprove, "Approve", actionDeny, "Deny"}
	} else {
		body += " Approve or deny it in MCP Share's tray menu or window."
	}
	hints := map[string]dbus.Variant{
		"urgency":       dbus.MakeVariant(byte(1)),
		"desktop-entry": dbus.MakeVariant(appID),
	}
	var id uint32
	// Timeout 0: it stays until answered; the sign-in itself expires after 5 minutes.
	err := n.call("Notify", "MCP Share", uint32(0), "dialog-password", "Sign-in waiting: "+label, body, actions, hints, int32(0)).Store(&id)
	if err != nil {
		return fmt.Errorf("show the sign-in notification: %w", err)
	}
	n.mu.Lock()
	n.shown[si.ID] = id
	action, early := n.early[id]
	clear(n.early) // the rest were for other programs' notifications
	n.mu.Unlock()
	if early {
		go n.onAction(si.ID, action)
	}
	return nil
}

// withdraw closes the notifications of sign-ins that no longer wait.
func (n *notifications) withdraw(pending map[string]bool) {
	n.mu.Lock()
	var gone []uint32
	for si, id := range n.shown {
		if !pending[si] {
			gone = append(gone, id)
			delete(n.shown, si)
		}
	}
	n.mu.Unlock()
	for _, id := range gone {
		n.call("CloseNotification", id)
	}
}

// close withdraws every notification and ends the bus connection.
func (n *notifications) close() {
	n.withdraw(nil)
	n.conn.Close()
}

// appID is the desktop entry the notifications belong to (as FyneApp.toml).
const appID = "io.mcpshare.app"
