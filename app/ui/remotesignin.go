package ui

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/egress"
)

// Remote servers that sign in with OAuth: the sign-in row of their card,
// the tray's "Sign in to NAME" items, and the sign-in itself, which opens
// the owner's browser and waits until it comes back to MCP Share.

// remoteRows are the sign-in lines of a server's card: nothing for a server
// that does not sign in.
func (t *serversTab) remoteRows(c app.ServerConfig) []fyne.CanvasObject {
	if c.Kind != app.KindRemote || !c.OAuth {
		return nil
	}
	why, known := t.u.core.SignInState(c.Name)
	label := widget.NewLabel("Signed in with OAuth: MCP Share keeps its tokens in the secret store and renews them.")
	verb := "Sign in again"
	switch {
	case !known:
		label = widget.NewLabel("Looking up its sign-in…")
		t.loadSignIns()
	case why != "":
		label = errorLabel("Needs you to sign in: " + sentence(why))
		verb = "Sign in"
	}
	label.Wrapping = fyne.TextWrapWord
	btn := widget.NewButtonWithIcon(verb, theme.LoginIcon(), func() { t.u.signInRemote(c.Name) })
	return []fyne.CanvasObject{label, btn}
}

// loadSignIns reads the sign-ins of the remote servers from the secret
// store in the background, then shows them.
func (t *serversTab) loadSignIns() {
	if t.signInsLoading {
		return
	}
	t.signInsLoading = true
	load(t.u, t.u.core.RemoteSignIns, func(_ []app.RemoteSignIn, err error) {
		t.signInsLoading = false
		if err != nil {
			t.u.log.Warn("could not read the sign-ins of remote servers", "err", err)
			return
		}
		t.shown = ""
		t.refresh()
		t.u.updateTray()
	})
}

// signInRemote signs in to the remote server name: the browser opens on the
// authorization server's page, and the header's progress waits until it
// comes back.
func (u *UI) signInRemote(name string) {
	var res app.TryResult
	u.work("Signing in to "+name+": finish it in the browser that opened…", func() error {
		var err error
		res, err = u.core.SignIn(context.Background(), name, func(authURL string) error {
			parsed, err := url.Parse(authURL)
			if err != nil {
				return err
			}
			return u.fa.OpenURL(parsed) // starts the browser; safe off the UI goroutine
		})
		return err
	}, func(err error) {
		u.servers.refresh()
		u.updateTray()
		if err != nil {
			u.showError("The sign-in to "+name+" did not work", err)
			return
		}
		u.info("Signed in to "+name, SignInSummary(name, res))
	})
}

// SignInSummary says what a sign-in found.
func SignInSummary(name string, res app.TryResult) string {
	s := fmt.Sprintf("Signed in to %s: it offers %s", name, plural(len(res.Tools), "tool", "tools"))
	if len(res.Tools) > 0 {
		s += ": " + strings.Join(res.Tools, ", ")
	}
	return s + "."
}

// WithSignIns puts "Sign in to NAME" items for the remote servers that wait
// for the owner right under the state line of a tray menu (top-level
// items: tray hosts render submenus that change empty).
func WithSignIns(m *fyne.Menu, needed []string, signIn func(name string)) *fyne.Menu {
	if len(needed) == 0 || len(m.Items) < 2 {
		return m
	}
	note := fyne.NewMenuItem(plural(len(needed), "server waits for you to sign in", "servers wait for you to sign in"), nil)
	note.Disabled = true
	items := []*fyne.MenuItem{m.Items[0], m.Items[1], note}
	for _, name := range needed {
		items = append(items, fyne.NewMenuItem("Sign in to "+name, func() { signIn(name) }))
	}
	items = append(items, fyne.NewMenuItemSeparator())
	items = append(items, m.Items[2:]...)
	return fyne.NewMenu(m.Label, items...)
}

// describeRemote is the card's subtitle of a remote server.
func describeRemote(c app.ServerConfig) string {
	where := "Remote MCP server at "
	if u, err := url.Parse(c.URL); err == nil && egress.IsLoopback(u.Hostname()) {
		where = "MCP server on this computer at "
	}
	if c.OAuth {
		return where + c.URL + " (signs in with OAuth)"
	}
	return where + c.URL
}

// urlServer sets the kind of a server the form gives by URL: a remote
// server it was stays one (with its sign-in) while the URL is the same;
// otherwise a URL on this computer is a local HTTP server and any other a
// remote one, until settleURL asks the server.
func urlServer(c *app.ServerConfig, orig *app.ServerConfig) {
	if orig != nil && orig.Kind == app.KindRemote && orig.URL == c.URL {
		c.Kind, c.OAuth, c.OAuthClientID = app.KindRemote, orig.OAuth, orig.OAuthClientID
		return
	}
	c.OAuth, c.OAuthClientID = false, ""
	c.Kind = app.KindRemote
	if u, err := url.Parse(c.URL); err == nil && egress.IsLoopback(u.Hostname()) {
		c.Kind = app.KindHTTP
	}
}

// settleURL asks a server given by a new URL whether it signs in (off the
// UI goroutine): one that does becomes a remote server with OAuth. A local
// one that does not answer now stays a local HTTP server.
func settleURL(ctx context.Context, core *app.App, c *app.ServerConfig, orig *app.ServerConfig) error {
	if (c.Kind != app.KindHTTP && c.Kind != app.KindRemote) || (orig != nil && orig.URL == c.URL && orig.Kind == c.Kind) {
		return nil
	}
	p, err := core.ProbeRemote(ctx, c.URL)
	switch {
	case err != nil && c.Kind == app.KindHTTP:
		return nil
	case err != nil:
		return err
	case p.NeedsOAuth:
		c.Kind, c.OAuth = app.KindRemote, true
	}
	return nil
}
