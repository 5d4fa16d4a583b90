package ui

import (
	"fmt"
	"html"

	"github.com/godbus/dbus/v5"

	"github.com/mcpshare/mcpshare/app"
)

// actionAlways is the button of a call's notification that approves the
// call and remembers it for that user, client, server and tool.
const actionAlways = "always"

// showCall announces a waiting call with Approve, Deny and (where it
// applies) Always allow buttons, in the same notifications as sign-ins:
// onAction gets the call's ID.
func (n *notifications) showCall(pc app.PendingCall, label string) error {
	// Servers may render markup in the body: what the model chose stays text.
	body := html.EscapeString(fmt.Sprintf("%s wants to call %s %q of %s through %s with:\n%s",
		app.Printable(pc.User), pc.Kind, app.Printable(pc.Name), pc.Server, app.Printable(pc.ClientName), pc.Arguments))
	var actions []string
	if n.buttons {
		actions = []string{actionOpen, "Open MCP Share", actionApprove, "Approve", actionDeny, "Deny"}
		if pc.CanRemember {
			actions = append(actions, actionAlways, "Always allow this tool for this client")
		}
	} else {
		body += "\nApprove or deny it in MCP Share's tray menu or window."
	}
	hints := map[string]dbus.Variant{
		"urgency":       dbus.MakeVariant(byte(1)),
		"desktop-entry": dbus.MakeVariant(appID),
	}
	var id uint32
	// Timeout 0: it stays until answered; the call itself fails after its bound.
	err := n.call("Notify", "MCP Share", uint32(0), "dialog-question", "Call waiting: "+label, body, actions, hints, int32(0)).Store(&id)
	if err != nil {
		return fmt.Errorf("show the call's notification: %w", err)
	}
	n.mu.Lock()
	n.shown[pc.ID] = id
	action, early := n.early[id]
	clear(n.early)
	n.mu.Unlock()
	if early {
		go n.onAction(pc.ID, action)
	}
	return nil
}
