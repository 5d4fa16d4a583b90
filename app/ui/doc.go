// Package ui is the desktop face of MCP Share: the window and the system
// tray menu, built with Fyne.
//
// The window has one tab per task: Servers (what is shared, with its state,
// MCP URL, sessions and log; add, edit, remove, import), Connect (the MCP URL
// and the OAuth client credentials to paste into ChatGPT or Claude, with the
// steps to follow), Sign-ins (approve or deny pending sign-ins; recent ones),
// Users, Clients and Settings. The tray menu ([TrayMenu]) shows the state,
// starts and stops sharing, copies the MCP URL and approves sign-ins.
//
// The package drives an [app.App] only through its methods and observes it
// through [app.App.Subscribe]; it holds no OAuth or MCP logic. It never
// imports fyne.io/fyne/v2/app and never starts a Fyne driver itself: the
// caller passes a fyne.App (the real one from cmd/mcpshare, or the headless
// one from fyne.io/fyne/v2/test), so the tests run without a display or cgo.
// Whether a system tray can exist is the caller's decision ([TrayAvailable]).
package ui
