package ui

import (
	"context"
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
)

// hiddenSecret stands for the client secret until Reveal is tapped.
const hiddenSecret = "••••••••••••••••••••••••"

// connectSteps is what to do in ChatGPT and in Claude with the card's values.
const connectSteps = `**In ChatGPT**

1. Open **Settings → Apps & Connectors → Advanced settings** and turn on **Developer mode**.
2. Back in **Apps & Connectors**, choose **Create** to add a connector.
3. Give it a name and paste the **MCP URL** (the one for all servers, or one server's).
4. For authentication choose **OAuth**, then under the advanced OAuth settings choose a user-defined client and paste the **Client ID** and **Client Secret**.
5. Create it and connect: the MCP Share sign-in page opens. Sign in with your MCP Share user: **admin** at first, with the password from the welcome page (set a new one in **Users**), then approve the sign-in here (tray menu, notification or **Sign-ins**).

**In Claude**

1. Open **Settings → Connectors → Add custom connector**.
2. Paste the **MCP URL** as the server URL.
3. Open **Advanced settings** and paste the **Client ID** and **Client Secret**.
4. Add it and connect; sign in, then approve the sign-in here.`

// connectTab is the "Connect ChatGPT" card: MCP URL and client credentials.
type connectTab struct {
	u       *UI
	content fyne.CanvasObject

	notice     *fyne.Container // what to do while there is no public URL
	noticeText *widget.Label
	toSettings *widget.Button
	publicURL  *publicURLLine
	urlLabel   *widget.Label
	idLabel    *widget.Label
	secret     *widget.Label
	reveal     *widget.Button
	copyURL    *widget.Button
	copyID     *widget.Button
	copySecret *widget.Button
	others     *fyne.Container // MCP URLs of the other shared servers
	errLabel   *widget.Label
	check      *connectCheck // Check connection (connectcheck.go)

	info     app.ConnectInfo
	revealed bool
}

func newConnectTab(u *UI) *connectTab {
	t := &connectTab{u: u}
	t.noticeText = widget.NewLabel("")
	t.noticeText.Wrapping = fyne.TextWrapWord
	t.noticeText.Importance = widget.WarningImportance
	t.toSettings = widget.NewButtonWithIcon("Open Settings", theme.SettingsIcon(), func() { u.SelectTab(TabSettings) })
	t.notice = container.NewBorder(nil, nil, nil, container.NewVBox(t.toSettings), t.noticeText)
	t.notice.Hide()
	t.publicURL = newPublicURLLine()

	t.urlLabel = selectable("")
	t.idLabel = selectable("")
	t.secret = selectable(hiddenSecret)
	t.copyURL = u.copyButton("MCP URL", func() string { return t.info.AllServersURL })
	t.copyID = u.copyButton("Client ID", func() string { return t.info.ClientID })
	t.copySecret = u.copyButton("Client Secret", func() string { return t.info.ClientSecret })
	t.reveal = widget.NewButtonWithIcon("Reveal", theme.VisibilityIcon(), t.toggleReveal)
	t.errLabel = errorLabel("")
	t.errLabel.Hide()
	t.others = container.NewVBox()

	row := func(name string, value fyne.CanvasObject, buttons ...fyne.CanvasObject) fyne.CanvasObject {
		l := widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		return container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(120, l.MinSize().Height), l),
			container.NewHBox(buttons...), value)
	}
	rotate := widget.NewButtonWithIcon("New client secret…", theme.ViewRefreshIcon(), t.rotate)
	t.check = newConnectCheck(u)
	card := widget.NewCard("Connect ChatGPT or Claude", "Paste these values into the connector settings.",
		container.NewVBox(
			t.publicURL.content,
			t.notice,
			row("MCP URL", t.urlLabel, t.copyURL),
			row("Client ID", t.idLabel, t.copyID),
			row("Client Secret", t.secret, t.reveal, t.copySecret),
			t.others,
			t.errLabel,
			container.NewHBox(rotate, t.check.button),
			t.check.box,
		))
	steps := widget.NewRichTextFromMarkdown(connectSteps)
	steps.Wrapping = fyne.TextWrapWord
	t.content = container.NewVScroll(container.NewVBox(card, widget.NewCard("Steps", "", steps)))
	return t
}

// refresh reloads the URLs and credentials (the secret store may be slow).
func (t *connectTab) refresh() {
	load(t.u, t.u.core.ConnectInfo, t.show)
}

func (t *connectTab) show(info app.ConnectInfo, err error) {
	if err != nil {
		t.errLabel.SetText(Explain(err))
		t.errLabel.Show()
		return
	}
	t.errLabel.Hide()
	t.info = info
	t.urlLabel.SetText(info.AllServersURL + "   (every shared server)")
	if len(info.Servers) == 0 {
		t.urlLabel.SetText("No server is shared: enable one in Servers.")
	}
	t.idLabel.SetText(info.ClientID)
	t.showSecret()
	view := t.u.publicURLView()
	t.publicURL.show(view)
	if note := connectNotice(t.u.core.Settings().Tunnel, info.Public, view); note != "" {
		t.noticeText.SetText(note)
		t.notice.Show()
	} else {
		t.notice.Hide()
	}
	names := make([]string, 0, len(info.Servers))
	for n := range info.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	t.others.RemoveAll()
	for _, n := range names {
		url := info.Servers[n]
		l := widget.NewLabel("Only " + n)
		t.others.Add(container.NewBorder(nil, nil, l, t.u.copyButton("MCP URL of "+n, func() string { return url }), selectable(url)))
	}
}

// connectNotice says what to do before ChatGPT and claude.ai can use the
// URLs, following the saved tunnel; empty when nothing is to be done.
func connectNotice(kind string, public bool, view PublicURLView) string {
	switch {
	case public || view.Busy:
		return ""
	case kind == app.TunnelNone:
		return "These URLs work on this computer only. For ChatGPT and claude.ai, paste your ngrok authtoken (free at dashboard.ngrok.com) " +
			"and your ngrok domain in Settings and choose ngrok: MCP Share then gets a public URL."
	case kind == app.TunnelNgrok:
		return "The public URL is not up, so these URLs work on this computer only. Your ngrok settings are saved; see above for what went wrong."
	default:
		return "The public URL of your own proxy is not up: check it in Settings."
	}
}

func (t *connectTab) showSecret() {
	if t.revealed {
		t.secret.SetText(t.info.ClientSecret)
		t.reveal.SetText("Hide")
		t.reveal.SetIcon(theme.VisibilityOffIcon())
	} else {
		t.secret.SetText(hiddenSecret)
		t.reveal.SetText("Reveal")
		t.reveal.SetIcon(theme.VisibilityIcon())
	}
}

func (t *connectTab) toggleReveal() {
	t.revealed = !t.revealed
	t.showSecret()
}

func (t *connectTab) rotate() {
	dialog.ShowConfirm("Make a new client secret?",
		"ChatGPT and Claude connectors set up with the current secret stop working until you paste the new one.",
		func(ok bool) {
			if !ok {
				return
			}
			load(t.u, func(ctx context.Context) (app.Credentials, error) { return t.u.core.RotateClientSecret(ctx) },
				func(_ app.Credentials, err error) {
					if err != nil {
						t.u.showError("No new secret", err)
						return
					}
					t.refresh()
				})
		}, t.u.win)
}
