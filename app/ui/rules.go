package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
)

// The server card's "Who and what…": who may use a server, and the state
// of each of its tools, prompts and resources.

// RulesLine sums up a server's rules on its card.
func RulesLine(c app.ServerConfig) string {
	who := "Every user may use it"
	if len(c.Users) > 0 {
		who = "Only " + strings.Join(c.Users, ", ") + " may use it"
	}
	var parts []string
	count := func(states map[string]string, st string) int {
		n := 0
		for _, s := range states {
			if s == st {
				n++
			}
		}
		return n
	}
	for _, st := range []string{app.AccessHidden, app.AccessAsk} {
		if n := count(c.Tools, st) + count(c.Prompts, st) + count(c.Resources, st); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	if c.AskBeforeChanges {
		parts = append(parts, "asks before changes")
	}
	if c.AuditArguments {
		parts = append(parts, "arguments (up to 4 KiB) in the audit log")
	}
	if len(parts) == 0 {
		return who + "; every tool allowed."
	}
	return who + "; " + strings.Join(parts, ", ") + "."
}

// Choices of an entry's state in the dialog; "default" removes the
// owner's own setting.
const stateDefault = "default"

// rulesForm is the "Who and what" dialog of one server.
type rulesForm struct {
	t        *serversTab
	cfg      app.ServerConfig
	allUsers *widget.Check
	users    map[string]*widget.Check
	askAll   *widget.Check
	fullArgs *widget.Check
	entries  *fyne.Container
	states   map[string]*widget.Select // by kind + "\x00" + name
	kinds    map[string]app.Entry
}

func (t *serversTab) editRules(c app.ServerConfig) *rulesForm {
	u := t.u
	f := &rulesForm{t: t, cfg: c, users: map[string]*widget.Check{}, states: map[string]*widget.Select{}, kinds: map[string]app.Entry{}}
	usersBox := container.NewVBox()
	f.allUsers = widget.NewCheck("Every user", func(on bool) {
		for _, ch := range f.users {
			if on {
				ch.Disable()
			} else {
				ch.Enable()
			}
		}
	})
	if list, err := u.core.Auth().Users(); err == nil {
		for _, usr := range list {
			ch := widget.NewCheck(usr.Name, nil)
			ch.SetChecked(slices.Contains(c.Users, usr.Name))
			f.users[usr.Name] = ch
			usersBox.Add(ch)
		}
	}
	f.allUsers.SetChecked(len(c.Users) == 0)
	f.askAll = widget.NewCheck("Ask before changes: every tool not marked read-only waits for my approval", nil)
	f.askAll.SetChecked(c.AskBeforeChanges)
	f.fullArgs = widget.NewCheck("Write calls' arguments (up to 4 KiB) to the audit log (otherwise only a keyed digest)", nil)
	f.fullArgs.SetChecked(c.AuditArguments)
	f.entries = container.NewVBox(widget.NewLabel("Starting the server to list its tools…"))
	body := container.NewVBox(
		widget.NewLabelWithStyle("Who may use "+c.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		f.allUsers, usersBox, widget.NewSeparator(), f.askAll, f.fullArgs, widget.NewSeparator(),
		widget.NewLabelWithStyle("Tools, prompts and resources", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		paragraph("allowed: clients call it freely · ask: each call waits for you · hidden: clients never see it"),
		f.entries)
	load(u, func(ctx context.Context) ([]app.Entry, error) { return u.core.ServerEntries(ctx, c.Name) }, f.showEntries)
	d := dialog.NewCustomConfirm("Who and what: "+c.Name, "Save", "Cancel",
		container.NewGridWrap(fyne.NewSize(680, 460), container.NewVScroll(body)), func(ok bool) {
			if ok {
				f.save()
			}
		}, u.win)
	d.Show()
	return f
}

// showEntries lists what the server offers, each with its state.
func (f *rulesForm) showEntries(entries []app.Entry, err error) {
	objs := []fyne.CanvasObject{}
	if err != nil {
		objs = append(objs, errorLabel("Could not list what it offers: "+Explain(err)))
	}
	// What the owner set for names the server does not offer now stays editable.
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Kind+"\x00"+e.Name] = true
	}
	for kind, states := range map[string]map[string]string{app.EntryTool: f.cfg.Tools, app.EntryPrompt: f.cfg.Prompts, app.EntryResource: f.cfg.Resources} {
		for name := range states {
			if !seen[kind+"\x00"+name] {
				entries = append(entries, app.Entry{Server: f.cfg.Name, Kind: kind, Name: name})
			}
		}
	}
	for _, e := range entries {
		key := e.Kind + "\x00" + e.Name
		st, explicit := f.cfg.StateOf(e)
		sel := widget.NewSelect([]string{stateDefault, app.AccessAllowed, app.AccessAsk, app.AccessHidden}, nil)
		if explicit {
			sel.SetSelected(st)
		} else {
			sel.SetSelected(stateDefault)
		}
		f.states[key], f.kinds[key] = sel, e
		label := widget.NewLabel(fmt.Sprintf("%s %s (default: %s)", e.Kind, app.Printable(e.Name), defaultState(f.cfg, e)))
		label.Truncation = fyne.TextTruncateEllipsis
		objs = append(objs, container.NewBorder(nil, nil, nil, container.NewGridWrap(fyne.NewSize(120, sel.MinSize().Height), sel), label))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("It offers nothing."))
	}
	f.entries.Objects = objs
	f.entries.Refresh()
}

// defaultState is e's state when the owner sets none for it.
func defaultState(c app.ServerConfig, e app.Entry) string {
	c.Tools, c.Prompts, c.Resources = nil, nil, nil
	st, _ := c.StateOf(e)
	return st
}

// rules reads the form.
func (f *rulesForm) rules() app.Rules {
	r := f.cfg.Rules()
	r.Users = nil
	if !f.allUsers.Checked {
		for name, ch := range f.users {
			if ch.Checked {
				r.Users = append(r.Users, name)
			}
		}
	}
	r.AskBeforeChanges, r.AuditArguments = f.askAll.Checked, f.fullArgs.Checked
	for key, sel := range f.states {
		e := f.kinds[key]
		m := map[string]*map[string]string{app.EntryTool: &r.Tools, app.EntryPrompt: &r.Prompts, app.EntryResource: &r.Resources}[e.Kind]
		if sel.Selected == stateDefault {
			delete(*m, e.Name)
			continue
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[e.Name] = sel.Selected
	}
	return r
}

func (f *rulesForm) save() {
	u := f.t.u
	r := f.rules()
	if !f.allUsers.Checked && len(r.Users) == 0 {
		u.showError("Nobody could use "+f.cfg.Name, fmt.Errorf("%w: tick at least one user, or stop sharing the server instead", app.ErrInvalidConfig))
		return
	}
	if err := u.core.SetServerRules(f.cfg.Name, r); err != nil {
		u.showError("Could not save the rules of "+f.cfg.Name, err)
	}
	f.t.refresh()
}
