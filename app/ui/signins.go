package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/oauthserver"
)

// maxRecentShown bounds the history list.
const maxRecentShown = 50

// signInsTab lists the pending sign-ins with Approve and Deny, and the recent ones.
type signInsTab struct {
	u       *UI
	content *container.Scroll
	pending *fyne.Container
	recent  *fyne.Container
	// approve and deny hold the buttons of each pending sign-in by ID (for tests).
	approve, deny map[string]*widget.Button
}

func newSignInsTab(u *UI) *signInsTab {
	t := &signInsTab{u: u, pending: container.NewVBox(), recent: container.NewVBox()}
	help := widget.NewLabel("Someone typed a correct password and waits for your answer. Approve only sign-ins you started yourself.")
	help.Wrapping = fyne.TextWrapWord
	t.content = container.NewVScroll(container.NewVBox(
		widget.NewLabelWithStyle("Waiting for approval", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		help, t.pending, widget.NewSeparator(),
		widget.NewLabelWithStyle("Recent sign-ins", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.recent))
	return t
}

func (t *signInsTab) refresh() {
	t.show(t.u.core.Auth().PendingSignIns(), t.u.core.Auth().RecentSignIns())
}

func (t *signInsTab) show(pending, recent []oauthserver.SignIn) {
	t.approve, t.deny = map[string]*widget.Button{}, map[string]*widget.Button{}
	labels := SignInLabels(pending)
	objs := []fyne.CanvasObject{}
	for _, si := range pending {
		id := si.ID
		approve := widget.NewButtonWithIcon("Approve", theme.ConfirmIcon(), func() { t.u.decide(id, true) })
		approve.Importance = widget.HighImportance
		deny := widget.NewButtonWithIcon("Deny", theme.CancelIcon(), func() { t.u.decide(id, false) })
		t.approve[id], t.deny[id] = approve, deny
		details := widget.NewLabel(fmt.Sprintf("User %s wants to use %s through %s (sends you back to %s).\nFrom %s at %s.",
			si.User, si.ServerLabel(), si.ClientName, si.RedirectHost, si.RemoteAddr, si.Time.Local().Format("15:04:05")))
		details.Wrapping = fyne.TextWrapWord
		body := []fyne.CanvasObject{details}
		for _, w := range si.Warnings {
			// An unverified name or a look-alike host: said before the owner decides.
			body = append(body, errorLabel("Careful: "+w))
		}
		objs = append(objs, widget.NewCard("Approve "+labels[si.ID]+"?", "", container.NewBorder(nil, nil, nil,
			container.NewHBox(approve, deny), container.NewVBox(body...))))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No sign-in is waiting."))
	}
	t.pending.Objects = objs
	t.pending.Refresh()

	objs = objs[:0:0]
	for i, si := range recent {
		if i == maxRecentShown {
			break
		}
		objs = append(objs, widget.NewLabel(fmt.Sprintf("%s  %s  %s via %s to %s from %s",
			si.Time.Local().Format("2006-01-02 15:04"), si.Decision, si.User, si.ClientName, si.ServerLabel(), si.RemoteAddr)))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("None yet."))
	}
	t.recent.Objects = objs
	t.recent.Refresh()
	// The lists changed height: lay the whole tab out again, or a new
	// pending sign-in is drawn over the recent ones.
	t.content.Content.Refresh()
	t.content.Refresh()
}
