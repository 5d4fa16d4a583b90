package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
)

// welcomePage walks a newcomer through the first run: the first user's
// password (copy it, or choose one), then ngrok's authtoken and domain with
// a check that they work, then the Connect card.
type welcomePage struct {
	u       *UI
	content *fyne.Container

	// Step 1: the password.
	user, password string
	copyPassword   *widget.Button
	ownPassword    *widget.Entry
	setPassword    *widget.Button
	passwordNote   *widget.Label
	next           *widget.Button

	// Step 2: the public URL.
	token, domain *widget.Entry
	check         *widget.Button
	checkSpinner  *widget.Activity
	checkNote     *widget.Label
	save, skip    *widget.Button
	checked       string // token+domain that passed the check
}

func newWelcomePage(u *UI) *welcomePage {
	p := &welcomePage{u: u, content: container.NewStack()}
	p.user, p.password = u.core.FirstRunCredentials()
	p.content.Objects = []fyne.CanvasObject{p.passwordStep()}
	return p
}

func heading(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func paragraph(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

func (p *welcomePage) passwordStep() fyne.CanvasObject {
	u := p.u
	p.copyPassword = u.copyButton("Password", func() string { return p.password })
	p.ownPassword = widget.NewPasswordEntry()
	p.ownPassword.SetPlaceHolder(fmt.Sprintf("or type your own, at least 8 characters"))
	p.passwordNote = paragraph("")
	p.setPassword = widget.NewButton("Use my password", func() {
		pw := p.ownPassword.Text
		load(u, func(ctx context.Context) (struct{}, error) { return struct{}{}, u.core.SetPassword(ctx, p.user, pw) },
			func(_ struct{}, err error) {
				if err != nil {
					p.passwordNote.SetText(Explain(err))
					return
				}
				p.password = pw
				p.ownPassword.SetText("")
				p.passwordNote.SetText("Your password is set. Next, the public URL.")
				p.toNgrok()
			})
	})
	p.next = widget.NewButtonWithIcon("I have saved it: next", theme.NavigateNextIcon(), func() {
		load(u, func(ctx context.Context) (struct{}, error) { return struct{}{}, u.core.FirstPasswordSeen(ctx) },
			func(_ struct{}, err error) {
				if err != nil {
					p.passwordNote.SetText(Explain(err))
					return
				}
				p.toNgrok()
			})
	})
	p.next.Importance = widget.HighImportance
	shown := selectable(p.password)
	shown.TextStyle.Monospace = true
	return container.NewVScroll(container.NewVBox(
		heading("Welcome to MCP Share"),
		paragraph("MCP Share lets ChatGPT and Claude use the MCP servers on this computer. Whoever connects signs in on MCP Share's own sign-in page, and you approve each sign-in here."),
		widget.NewCard("1. Your sign-in password", "",
			container.NewVBox(
				paragraph(fmt.Sprintf("MCP Share made the user %q with this password. You type both on the sign-in page when ChatGPT or Claude connects: keep the password in your password manager.", p.user)),
				container.NewBorder(nil, nil, widget.NewLabel("Password"), p.copyPassword, shown),
				container.NewBorder(nil, nil, nil, p.setPassword, p.ownPassword),
				p.passwordNote,
				container.NewHBox(p.next),
			)),
		paragraph("You can set a new password for any user at any time in Users."),
	))
}

func (p *welcomePage) toNgrok() {
	p.content.Objects = []fyne.CanvasObject{p.ngrokStep()}
	p.content.Refresh()
}

func (p *welcomePage) ngrokStep() fyne.CanvasObject {
	u := p.u
	p.token = widget.NewPasswordEntry()
	p.token.SetPlaceHolder("your ngrok authtoken")
	p.domain = widget.NewEntry()
	p.domain.SetPlaceHolder("your-name.ngrok-free.app (optional)")
	p.checkSpinner = widget.NewActivity()
	p.checkSpinner.Hide()
	p.checkNote = paragraph("")
	p.check = widget.NewButtonWithIcon("Check", theme.SearchIcon(), p.runCheck)
	p.save = widget.NewButtonWithIcon("Save and share", theme.DocumentSaveIcon(), p.saveNgrok)
	p.save.Importance = widget.HighImportance
	p.save.Disable()
	p.skip = widget.NewButton("Skip: this computer only", func() { u.showMain(TabConnect) })
	form := widget.NewForm(
		&widget.FormItem{Text: "Authtoken", Widget: p.token, HintText: "Free at dashboard.ngrok.com/get-started/your-authtoken."},
		&widget.FormItem{Text: "Domain", Widget: p.domain, HintText: "Your free static domain from dashboard.ngrok.com/domains keeps the URL the same across restarts."},
	)
	return container.NewVScroll(container.NewVBox(
		heading("Welcome to MCP Share"),
		widget.NewCard("2. A public URL", "",
			container.NewVBox(
				paragraph("ChatGPT and claude.ai reach only public HTTPS addresses. MCP Share gets one from ngrok: paste your ngrok authtoken and, for a URL that stays the same, your ngrok domain. Check tries them without saving."),
				form,
				container.NewBorder(nil, nil, p.checkSpinner, nil, p.checkNote),
				container.NewHBox(p.check, p.save, p.skip),
			)),
		paragraph("You can change this later in Settings. Then the Connect card shows what to paste into ChatGPT or Claude."),
	))
}

func (p *welcomePage) input() (token, domain string) {
	return strings.TrimSpace(p.token.Text), strings.TrimSpace(p.domain.Text)
}

// runCheck connects to ngrok once with the typed values.
func (p *welcomePage) runCheck() {
	token, domain := p.input()
	if token == "" {
		p.checkNote.SetText("Paste your ngrok authtoken first.")
		return
	}
	p.check.Disable()
	p.save.Disable()
	p.checkSpinner.Show()
	p.checkSpinner.Start()
	p.checkNote.SetText("Connecting to ngrok… this can take up to 30 seconds.")
	load(p.u, func(ctx context.Context) (string, error) { return p.u.core.CheckNgrok(ctx, token, domain) },
		func(origin string, err error) {
			p.check.Enable()
			p.checkSpinner.Stop()
			p.checkSpinner.Hide()
			if err != nil {
				p.checkNote.SetText("That did not work. " + Explain(err))
				return
			}
			p.checked = token + "\x00" + domain
			p.checkNote.SetText("It works: your public URL is " + origin + ". Save to use it.")
			p.save.Enable()
		})
}

// saveNgrok stores the checked token and domain, chooses ngrok, and
// restarts sharing so that the public URL comes up.
func (p *welcomePage) saveNgrok() {
	token, domain := p.input()
	if token+"\x00"+domain != p.checked {
		p.checkNote.SetText("The values changed since the check: check them again.")
		p.save.Disable()
		return
	}
	u := p.u
	st := u.core.StoredSettings()
	st.Tunnel, st.NgrokDomain = app.TunnelNgrok, domain
	u.work("Saving the ngrok settings…", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if err := u.core.SetNgrokToken(ctx, token); err != nil {
			return fmt.Errorf("save the ngrok authtoken: %w", err)
		}
		return u.core.SaveSettings(st)
	}, func(err error) {
		if err != nil {
			p.checkNote.SetText(Explain(err))
			return
		}
		u.showMain(TabConnect)
		if u.core.Status().State == app.StateSharing {
			u.StopSharing(func(error) { u.StartSharing(nil) })
		}
	})
}
