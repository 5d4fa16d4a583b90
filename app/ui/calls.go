package ui

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/audit"
)

// The calls that wait for the owner's approval, and the audit log: the
// Activity tab, the tray's items and the desktop notifications of calls.

// Where the owner answered a call, for the audit log.
const (
	viaTray         = "tray"
	viaWindow       = "window"
	viaNotification = "notification"
)

// maxActivityShown bounds the audit entries the Activity tab lists.
const maxActivityShown = 100

// CallLabel names a waiting call in the tray and in notifications: who,
// through what, which tool of which server, since when
// ("admin · ChatGPT · everything/toggle-logging · 11:17"), with every text
// from the client or server escaped.
func CallLabel(pc app.PendingCall) string {
	client := pc.ClientName
	if client == "" {
		client = "?"
	}
	return app.Printable(fmt.Sprintf("%s · %s · %s/%s · %s", pc.User, client, pc.Server, pc.Name, pc.Time.Local().Format("15:04:05")))
}

// callItems are the tray's items for waiting calls: a line saying how many
// wait, and top-level Approve, Deny and (where it applies) Always allow
// items for each (no submenus: hosts render submenus that change empty).
func callItems(calls []app.PendingCall, decide func(id string, d app.CallDecision)) []*fyne.MenuItem {
	if len(calls) == 0 || decide == nil {
		return nil
	}
	line := "1 call waits for your approval"
	if len(calls) > 1 {
		line = fmt.Sprintf("%d calls wait for your approval", len(calls))
	}
	waiting := fyne.NewMenuItem(line, nil)
	waiting.Disabled = true
	items := []*fyne.MenuItem{waiting}
	for _, pc := range calls {
		id, label := pc.ID, CallLabel(pc)
		items = append(items,
			fyne.NewMenuItem("Approve "+label, func() { decide(id, app.CallApprove) }),
			fyne.NewMenuItem("Deny "+label, func() { decide(id, app.CallDeny) }))
		if pc.CanRemember {
			items = append(items, fyne.NewMenuItem("Always allow "+label, func() { decide(id, app.CallAlways) }))
		}
	}
	return append(items, fyne.NewMenuItemSeparator())
}

// activityTab shows the calls waiting for approval, the audit log with
// filters and each server's counters, and the tools always allowed.
type activityTab struct {
	u          *UI
	content    *container.Scroll
	pending    *fyne.Container
	counters   *widget.Label
	entries    *fyne.Container
	remembered *fyne.Container
	user       *widget.Entry
	server     *widget.Entry
	outcome    *widget.Select
	// approve, deny and always hold the buttons of each waiting call (for tests).
	approve, deny, always map[string]*widget.Button
}

func newActivityTab(u *UI) *activityTab {
	t := &activityTab{u: u, pending: container.NewVBox(), entries: container.NewVBox(), remembered: container.NewVBox()}
	t.counters = widget.NewLabel("")
	t.counters.Wrapping = fyne.TextWrapWord
	t.user, t.server = widget.NewEntry(), widget.NewEntry()
	t.user.SetPlaceHolder("any user")
	t.server.SetPlaceHolder("any server")
	t.outcome = widget.NewSelect([]string{"any outcome", audit.OutcomeOK, audit.OutcomeError, audit.OutcomeDenied, audit.OutcomeHidden}, nil)
	t.outcome.SetSelected("any outcome")
	apply := widget.NewButtonWithIcon("Show", theme.SearchIcon(), t.refresh)
	help := widget.NewLabel("Calls of tools you set to ask wait here, in the tray menu and as notifications. Check the arguments: the model chose them.")
	help.Wrapping = fyne.TextWrapWord
	filters := container.NewGridWithColumns(4, t.user, t.server, t.outcome, apply)
	t.content = container.NewVScroll(container.NewVBox(
		widget.NewLabelWithStyle("Waiting for your approval", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		help, t.pending, widget.NewSeparator(),
		widget.NewLabelWithStyle("Calls per server", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), t.counters,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Audit log", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		filters, t.entries, widget.NewSeparator(),
		widget.NewLabelWithStyle("Always allowed", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), t.remembered))
	return t
}

// filter is what the filter fields select.
func (t *activityTab) filter() audit.Filter {
	f := audit.Filter{User: strings.TrimSpace(t.user.Text), Server: strings.TrimSpace(t.server.Text)}
	if t.outcome.Selected != "any outcome" {
		f.Outcome = t.outcome.Selected
	}
	return f
}

func (t *activityTab) refresh() {
	t.showPending(t.u.calls)
	type loaded struct {
		entries    []audit.Entry
		counts     map[string]app.AuditCount
		remembered []app.RememberedCall
	}
	f := t.filter()
	load(t.u, func(context.Context) (loaded, error) {
		var l loaded
		var err error
		if l.entries, err = t.u.core.Audit(f, maxActivityShown); err != nil {
			return l, err
		}
		if l.counts, err = t.u.core.AuditCounts(); err != nil {
			return l, err
		}
		l.remembered, err = t.u.core.RememberedCalls()
		return l, err
	}, func(l loaded, err error) {
		if err != nil {
			t.entries.Objects = []fyne.CanvasObject{errorLabel("Could not read the audit log: " + err.Error())}
			t.entries.Refresh()
			return
		}
		t.counters.SetText(CounterLines(l.counts))
		objs := []fyne.CanvasObject{}
		for i := len(l.entries) - 1; i >= 0; i-- { // newest first
			l := widget.NewLabel(ActivityLine(l.entries[i]))
			l.Truncation = fyne.TextTruncateEllipsis
			objs = append(objs, l)
		}
		if len(objs) == 0 {
			objs = append(objs, widget.NewLabel("Nothing recorded that matches."))
		}
		t.entries.Objects = objs
		t.entries.Refresh()
		objs = []fyne.CanvasObject{}
		for _, r := range l.remembered {
			r := r
			forget := widget.NewButtonWithIcon("Forget", theme.DeleteIcon(), func() {
				if err := t.u.core.ForgetCall(r); err != nil {
					t.u.showError("Could not forget it", err)
				}
				t.refresh()
			})
			objs = append(objs, container.NewBorder(nil, nil, nil, forget, widget.NewLabel(app.Printable(
				fmt.Sprintf("%s/%s for %s through %s, since %s", r.Server, r.Tool, r.User, r.ClientName, r.Since.Local().Format("2006-01-02 15:04"))))))
		}
		if len(objs) == 0 {
			objs = append(objs, widget.NewLabel("No tool is always allowed for a client."))
		}
		t.remembered.Objects = objs
		t.remembered.Refresh()
		t.content.Content.Refresh()
	})
}

// showPending lists the waiting calls with their buttons.
func (t *activityTab) showPending(calls []app.PendingCall) {
	t.approve, t.deny, t.always = map[string]*widget.Button{}, map[string]*widget.Button{}, map[string]*widget.Button{}
	objs := []fyne.CanvasObject{}
	for _, pc := range calls {
		id := pc.ID
		approve := widget.NewButtonWithIcon("Approve", theme.ConfirmIcon(), func() { t.u.decideCall(id, app.CallApprove, viaWindow) })
		approve.Importance = widget.HighImportance
		deny := widget.NewButtonWithIcon("Deny", theme.CancelIcon(), func() { t.u.decideCall(id, app.CallDeny, viaWindow) })
		buttons := container.NewHBox(approve, deny)
		t.approve[id], t.deny[id] = approve, deny
		if pc.CanRemember {
			always := widget.NewButton("Always allow this tool for this client", func() { t.u.decideCall(id, app.CallAlways, viaWindow) })
			t.always[id] = always
			buttons.Add(always)
		}
		details := widget.NewLabel(CallDetails(pc))
		details.Wrapping = fyne.TextWrapWord
		args := widget.NewLabelWithStyle(pc.Arguments, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		args.Wrapping = fyne.TextWrapBreak
		objs = append(objs, widget.NewCard("Approve "+CallLabel(pc)+"?", "", container.NewVBox(details, args, buttons)))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No call is waiting."))
	}
	t.pending.Objects = objs
	t.pending.Refresh()
	t.content.Content.Refresh()
}

// CallDetails says in a sentence what a waiting call is.
func CallDetails(pc app.PendingCall) string {
	return app.Printable(fmt.Sprintf("%s wants to call the %s %q of %s through %s. It fails unanswered at %s.",
		pc.User, pc.Kind, pc.Name, pc.Server, pc.ClientName, pc.Expires.Local().Format("15:04:05"))) + "\nArguments:"
}

// ActivityLine is one audit entry for people.
func ActivityLine(e audit.Entry) string {
	who := e.User
	if e.ClientName != "" {
		who += " via " + e.ClientName
	}
	line := fmt.Sprintf("%s  %s  %s  %s %s  %s", e.Time.Local().Format("01-02 15:04:05"), who, e.Server, e.Event, e.Name, e.Outcome)
	if e.DurationMS > 0 {
		line += fmt.Sprintf("  %.0f ms", e.DurationMS)
	}
	if e.Detail != "" {
		line += "  (" + e.Detail + ")"
	}
	return app.Printable(line)
}

// CounterLines is one line per server: its calls by outcome.
func CounterLines(counts map[string]app.AuditCount) string {
	if len(counts) == 0 {
		return "No call recorded yet."
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		c := counts[n]
		fmt.Fprintf(&b, "%s: %d calls · %d ok · %d error · %d denied · %d hidden\n", n, c.Total(), c.OK, c.Error, c.Denied, c.Hidden)
	}
	return strings.TrimSpace(b.String())
}

// showCalls shows the waiting calls everywhere the owner may look: the
// Activity tab and its count, the tray menu and icon, and a desktop
// notification for each new one.
func (u *UI) showCalls(calls []app.PendingCall) {
	u.calls = calls
	seen := map[string]bool{}
	for _, pc := range calls {
		seen[pc.ID] = true
		if u.notifiedCalls[pc.ID] {
			continue
		}
		if u.desktop == nil || u.desktop.showCall(pc, CallLabel(pc)) != nil {
			u.fa.SendNotification(callNotification(pc))
		}
	}
	u.notifiedCalls = seen
	u.withdrawNotifications()
	u.activity.showPending(calls)
	tab := u.tabs.Items[activityTabIndex]
	if tab.Text = "Activity"; len(calls) > 0 {
		tab.Text = fmt.Sprintf("Activity (%d)", len(calls))
	}
	u.tabs.Refresh()
	u.updateTray()
}

// withdrawNotifications closes the notifications of sign-ins and calls
// that no longer wait.
func (u *UI) withdrawNotifications() {
	if u.desktop == nil {
		return
	}
	waiting := map[string]bool{}
	for _, si := range u.pending {
		waiting[si.ID] = true
	}
	for _, pc := range u.calls {
		waiting[pc.ID] = true
	}
	u.desktop.withdraw(waiting)
}

func callNotification(pc app.PendingCall) *fyne.Notification {
	return fyne.NewNotification("A call waits for your approval",
		app.Printable(fmt.Sprintf("%s wants to call %s of %s through %s. Approve or deny it in MCP Share.", pc.User, pc.Name, pc.Server, pc.ClientName)))
}

// decideCall answers a waiting call.
func (u *UI) decideCall(id string, d app.CallDecision, via string) {
	if err := u.core.DecideCall(id, d, via); err != nil {
		u.showError("The call could not be answered", err)
	}
	u.showCalls(u.core.PendingCalls())
}

// isCallID tells a call's ID (notifications) from a sign-in's.
func isCallID(id string) bool { return strings.HasPrefix(id, "call-") }

// onCallNotificationAction answers a call from its notification's buttons;
// a click on the notification itself opens the Activity tab.
func (u *UI) onCallNotificationAction(id, action string) {
	switch action {
	case actionApprove:
		u.decideCall(id, app.CallApprove, viaNotification)
	case actionDeny:
		u.decideCall(id, app.CallDeny, viaNotification)
	case actionAlways:
		u.decideCall(id, app.CallAlways, viaNotification)
	default:
		if u.welcome != nil {
			u.showMain(TabActivity)
		}
		u.SelectTab(TabActivity)
		u.Show()
	}
}
