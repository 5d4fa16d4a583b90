package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/oauthserver"
)

// usersTab manages who may sign in, and shows the first user's generated
// password once.
type usersTab struct {
	u       *UI
	content fyne.CanvasObject
	first   *fyne.Container // the first-run password card, until dismissed
	list    *fyne.Container
	failed  *fyne.Container // wrong passwords by user and address, with Unblock
	// unblock holds the Unblock button of each failed-sign-in row by
	// "user address" (for tests).
	unblock map[string]*widget.Button
}

func newUsersTab(u *UI) *usersTab {
	t := &usersTab{u: u, list: container.NewVBox(), first: container.NewVBox(), failed: container.NewVBox()}
	if name, pw := u.core.FirstRunCredentials(); pw != "" {
		msg := widget.NewLabel(fmt.Sprintf("MCP Share created the user %q with this password. Copy it to your password manager, or set another below; until then it is shown here.", name))
		msg.Wrapping = fyne.TextWrapWord
		hide := widget.NewButtonWithIcon("I have saved it", theme.ConfirmIcon(), func() {
			t.first.RemoveAll()
			load(u, func(ctx context.Context) (struct{}, error) { return struct{}{}, u.core.FirstPasswordSeen(ctx) },
				func(_ struct{}, err error) {
					if err != nil {
						u.showError("MCP Share could not forget the password", err)
					}
				})
		})
		t.first.Add(widget.NewCard("First start", "", container.NewVBox(msg,
			container.NewBorder(nil, nil, widget.NewLabel("Password"), container.NewHBox(u.copyButton("Password", func() string { return pw }), hide),
				selectable(pw)))))
	}
	add := widget.NewButtonWithIcon("Add user", theme.ContentAddIcon(), t.add)
	help := widget.NewLabel("People who may sign in on the MCP Share sign-in page when ChatGPT or Claude connects.")
	help.Wrapping = fyne.TextWrapWord
	failedHelp := widget.NewLabel("Wrong passwords, by user and address. An address that keeps guessing has to wait longer and longer; it never locks out the owner elsewhere. Unblock lets the next attempt through at once.")
	failedHelp.Wrapping = fyne.TextWrapWord
	t.content = container.NewBorder(container.NewVBox(t.first, container.NewBorder(nil, nil, nil, add, help)), nil, nil, nil,
		container.NewVScroll(container.NewVBox(t.list, widget.NewSeparator(),
			widget.NewLabelWithStyle("Failed sign-ins", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), failedHelp, t.failed)))
	return t
}

func (t *usersTab) refresh() {
	users, err := t.u.core.Auth().Users()
	if err != nil {
		t.list.Objects = []fyne.CanvasObject{errorLabel("Could not read the users: " + err.Error())}
		t.list.Refresh()
		return
	}
	objs := []fyne.CanvasObject{}
	for _, usr := range users {
		name := usr.Name
		passwd := widget.NewButtonWithIcon("Change password", theme.AccountIcon(), func() { t.passwd(name) })
		remove := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { t.remove(name) })
		objs = append(objs, container.NewBorder(nil, nil, nil, container.NewHBox(passwd, remove),
			widget.NewLabel(fmt.Sprintf("%s   (added %s)", name, usr.Created.Local().Format("2006-01-02")))))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No user: nobody can sign in. Add one."))
	}
	t.list.Objects = objs
	t.list.Refresh()
	t.refreshFailed()
}

// refreshFailed lists the recent wrong passwords with an Unblock button each.
func (t *usersTab) refreshFailed() {
	t.unblock = map[string]*widget.Button{}
	list, err := t.u.core.Auth().FailedSignIns()
	if err != nil {
		t.failed.Objects = []fyne.CanvasObject{errorLabel("Could not read the failed sign-ins: " + err.Error())}
		t.failed.Refresh()
		return
	}
	objs := []fyne.CanvasObject{}
	for _, f := range list {
		user, addr := f.User, f.Address
		where := "from " + addr
		if addr == "" {
			where = "from addresses where " + user + " never signed in"
		}
		state := "may try again now"
		if !f.BlockedUntil.IsZero() {
			state = "blocked until " + f.BlockedUntil.Local().Format("15:04:05")
		}
		unblock := widget.NewButtonWithIcon("Unblock", theme.ConfirmIcon(), func() {
			if err := t.u.core.Auth().Unblock(user, addr); err != nil {
				t.u.showError("MCP Share could not unblock "+user, err)
			}
			t.refreshFailed()
		})
		t.unblock[user+" "+addr] = unblock
		objs = append(objs, container.NewBorder(nil, nil, nil, unblock, widget.NewLabel(fmt.Sprintf("%s  %d wrong password(s) %s, last at %s; %s",
			user, f.Failures, where, f.Last.Local().Format("2006-01-02 15:04"), state))))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("None."))
	}
	t.failed.Objects = objs
	t.failed.Refresh()
}

// formDialog is dialog.ShowForm wide enough for its placeholders.
func (t *usersTab) formDialog(title, confirm string, items []*widget.FormItem, done func(bool)) {
	d := dialog.NewForm(title, confirm, "Cancel", items, done, t.u.win)
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
	d.Show()
}

func (t *usersTab) add() {
	name := widget.NewEntry()
	name.SetPlaceHolder("e.g. alice")
	pw := widget.NewPasswordEntry()
	pw.SetPlaceHolder(fmt.Sprintf("at least %d characters", oauthserver.MinPasswordLength))
	t.formDialog("Add a user", "Add", []*widget.FormItem{
		widget.NewFormItem("Name", name), widget.NewFormItem("Password", pw),
	}, func(ok bool) {
		if !ok {
			return
		}
		if err := t.u.core.Auth().AddUser(strings.TrimSpace(name.Text), pw.Text); err != nil {
			t.u.showError("The user was not added", err)
		}
		t.refresh()
	})
}

func (t *usersTab) passwd(name string) {
	pw := widget.NewPasswordEntry()
	pw.SetPlaceHolder(fmt.Sprintf("at least %d characters", oauthserver.MinPasswordLength))
	t.formDialog("New password for "+name, "Change", []*widget.FormItem{
		widget.NewFormItem("Password", pw),
	}, func(ok bool) {
		if ok {
			t.setPassword(name, pw.Text)
		}
	})
}

// setPassword gives name a new password (forgetting a generated first one).
func (t *usersTab) setPassword(name, pw string) {
	load(t.u, func(ctx context.Context) (struct{}, error) { return struct{}{}, t.u.core.SetPassword(ctx, name, pw) },
		func(_ struct{}, err error) {
			if err != nil {
				t.u.showError("The password was not changed", err)
				return
			}
			if first, _ := t.u.core.FirstRunCredentials(); first == "" {
				t.first.RemoveAll()
			}
			t.u.info("Password changed", "The new password of "+name+" works from the next sign-in.")
		})
}

func (t *usersTab) remove(name string) {
	dialog.ShowConfirm("Remove "+name+"?", name+" can no longer sign in, and the access ChatGPT or Claude got through "+name+" ends now.",
		func(ok bool) {
			if !ok {
				return
			}
			if err := t.u.core.RemoveUser(name); err != nil {
				t.u.showError("The user was not removed", err)
			}
			t.refresh()
		}, t.u.win)
}

// clientsTab lists the registered OAuth clients.
type clientsTab struct {
	u       *UI
	content fyne.CanvasObject
	list    *fyne.Container
}

func newClientsTab(u *UI) *clientsTab {
	t := &clientsTab{u: u, list: container.NewVBox()}
	help := widget.NewLabel("Apps that registered with MCP Share to ask for sign-ins. Revoking one ends its access; it can register again, but every sign-in needs a password.")
	help.Wrapping = fyne.TextWrapWord
	t.content = container.NewBorder(help, nil, nil, nil, container.NewVScroll(t.list))
	return t
}

func (t *clientsTab) refresh() {
	clients, err := t.u.core.Auth().Clients()
	if err != nil {
		t.list.Objects = []fyne.CanvasObject{errorLabel("Could not read the clients: " + err.Error())}
		t.list.Refresh()
		return
	}
	objs := []fyne.CanvasObject{}
	for _, c := range clients {
		id := c.ID
		name := c.Name
		if name == "" {
			name = "(no name)"
		}
		sub := "Registered " + when(c.Created) + " · last used " + when(c.LastUsed)
		if c.Preregistered {
			sub = "The client ID for ChatGPT and Claude (see Connect ChatGPT) · last used " + when(c.LastUsed)
		}
		revoke := widget.NewButtonWithIcon("Revoke", theme.DeleteIcon(), func() { t.revoke(id, name) })
		if c.Preregistered {
			revoke.Disable()
		}
		objs = append(objs, widget.NewCard(name, sub, container.NewBorder(nil, nil, nil, revoke, selectable(id))))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No client has registered yet."))
	}
	t.list.Objects = objs
	t.list.Refresh()
}

func (t *clientsTab) revoke(id, name string) {
	dialog.ShowConfirm("Revoke "+name+"?", "Its tokens stop working now and it must register and sign in again.",
		func(ok bool) {
			if !ok {
				return
			}
			if err := t.u.core.RevokeClient(id); err != nil {
				t.u.showError("The client was not revoked", err)
			}
			t.refresh()
		}, t.u.win)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04")
}
