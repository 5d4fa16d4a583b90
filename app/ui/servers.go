package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/google/shlex"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/secrets"
)

// serversTab lists the shared servers, one card each.
type serversTab struct {
	u       *UI
	content fyne.CanvasObject
	list    *fyne.Container
	shown   string // fingerprint of what list shows, to rebuild only on change

	signInsLoading bool // remote servers' sign-ins are being read (remotesignin.go)
}

func newServersTab(u *UI) *serversTab {
	t := &serversTab{u: u, list: container.NewVBox()}
	add := widget.NewButtonWithIcon("Add server", theme.ContentAddIcon(), func() { t.edit(nil) })
	imp := widget.NewButtonWithIcon("Import…", theme.DownloadIcon(), t.importDialog)
	refresh := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), func() { t.shown = ""; t.refresh() })
	intro := widget.NewLabel("The MCP servers on this computer that ChatGPT and Claude may use. Each gets its own MCP URL.")
	intro.Wrapping = fyne.TextWrapWord
	bar := container.NewBorder(nil, nil, nil, container.NewHBox(add, imp, refresh), intro)
	t.content = container.NewBorder(bar, nil, nil, nil, container.NewVScroll(t.list))
	return t
}

func (t *serversTab) refresh() {
	list, err := t.u.core.Servers()
	if err != nil {
		t.list.Objects = []fyne.CanvasObject{errorLabel("Could not read the servers: " + err.Error())}
		t.list.Refresh()
		return
	}
	origin, _ := t.u.core.Origin()
	fp := fmt.Sprintf("%s %+v %v", origin, list, t.u.core.SignInsNeeded())
	if fp == t.shown {
		return
	}
	t.shown = fp
	objs := make([]fyne.CanvasObject, 0, len(list))
	for _, s := range list {
		objs = append(objs, t.card(s))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No server yet. Add one, or import them from Claude Desktop, Cursor or VS Code."))
	}
	t.list.Objects = objs
	t.list.Refresh()
}

func (t *serversTab) card(s app.ServerStatus) fyne.CanvasObject {
	c := s.Config
	state := serverState(s)
	enabled := widget.NewCheck("Share this server", nil)
	enabled.SetChecked(c.Enabled)
	enabled.OnChanged = func(on bool) {
		if err := t.u.core.SetServerEnabled(c.Name, on); err != nil {
			t.u.showError("Could not change the server", err)
		}
		t.refresh()
	}
	rows := []fyne.CanvasObject{
		container.NewHBox(widget.NewLabelWithStyle(state, fyne.TextAlignLeading, fyne.TextStyle{Italic: true}), enabled),
	}
	if s.Problem != "" {
		rows = append(rows, errorLabel(problemLine(s)))
	}
	if c.Enabled {
		url := t.u.core.MCPURL(c.Name)
		rows = append(rows, container.NewBorder(nil, nil, widget.NewLabel("MCP URL"), t.u.copyButton("MCP URL", func() string { return url }),
			selectable(url)))
	}
	rows = append(rows, widget.NewLabel(RulesLine(c)))
	rulesBtn := widget.NewButtonWithIcon("Who and what…", theme.VisibilityIcon(), func() { t.editRules(c) })
	rows = append(rows, t.remoteRows(c)...)
	logBtn := widget.NewButtonWithIcon("Log", theme.ListIcon(), func() { t.showLog(c.Name) })
	editBtn := widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { t.edit(&c) })
	removeBtn := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { t.remove(c.Name) })
	rows = append(rows, container.NewHBox(logBtn, editBtn, rulesBtn, removeBtn))
	return widget.NewCard(c.Name, describe(c), container.NewVBox(rows...))
}

// serverState is the card's state line: shared or not, instances, sessions.
func serverState(s app.ServerStatus) string {
	c := s.Config
	switch {
	case !c.Enabled:
		return "Not shared"
	case !s.Running:
		return "Shared when sharing is started"
	case s.Problem != "" && s.Backends == 0 && s.Sessions == 0:
		return "Shared · not running (see below)"
	}
	parts := []string{"Shared"}
	if s.Backends > 0 {
		parts = append(parts, plural(s.Backends, "instance running", "instances running"))
	} else if c.Kind != app.KindBuiltin {
		parts = append(parts, "starts on the first session")
	}
	if s.Sessions > 0 {
		parts = append(parts, plural(s.Sessions, "live session", "live sessions"))
	} else {
		parts = append(parts, "no live session")
	}
	return strings.Join(parts, " · ")
}

// problemLine says when and why the server last failed.
func problemLine(s app.ServerStatus) string {
	at := ""
	if !s.ProblemAt.IsZero() {
		at = " at " + s.ProblemAt.Local().Format("15:04:05")
	}
	return "Failed" + at + ": " + sentence(s.Problem)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// describe says what a server runs.
func describe(c app.ServerConfig) string {
	switch c.Kind {
	case app.KindBuiltin:
		return "Built-in, read-only folder: " + c.Root
	case app.KindStdio:
		return "Command: " + commandLine(c.Command, c.Args)
	case app.KindHTTP:
		return "Local MCP server at " + c.URL
	case app.KindRemote:
		return describeRemote(c)
	}
	return c.Kind
}

func (t *serversTab) remove(name string) {
	dialog.ShowConfirm("Remove "+name+"?",
		"ChatGPT and Claude lose access to "+name+" and its saved secrets are deleted. The program itself stays installed.",
		func(ok bool) {
			if !ok {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			if err := t.u.core.RemoveServer(ctx, name); err != nil {
				t.u.showError("Could not remove "+name, err)
			}
			t.refresh()
		}, t.u.win)
}

// showLog shows the server's recent output and sign-ins.
func (t *serversTab) showLog(name string) {
	text := widget.NewTextGrid()
	fill := func() {
		text.SetText(serverLog(t.u.core, name))
	}
	fill()
	scroll := container.NewScroll(text)
	d := dialog.NewCustom("Log of "+name, "Close", container.NewBorder(nil,
		widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), fill), nil, nil,
		container.NewGridWrap(fyne.NewSize(720, 380), scroll)), t.u.win)
	d.Show()
}

func serverLog(core *app.App, name string) string {
	var b strings.Builder
	b.WriteString("Sign-ins:\n")
	n := 0
	for _, si := range core.Auth().RecentSignIns() {
		if si.ServerLabel() != name {
			continue
		}
		n++
		fmt.Fprintf(&b, "  %s  %s via %s from %s: %s\n", si.Time.Local().Format("2006-01-02 15:04:05"), si.User, si.ClientName, si.RemoteAddr, si.Decision)
	}
	if n == 0 {
		b.WriteString("  none yet\n")
	}
	list, _ := core.Servers()
	for _, s := range list {
		if s.Config.Name != name {
			continue
		}
		if s.Problem != "" {
			b.WriteString("\n" + problemLine(s) + "\n")
		}
		b.WriteString("\nOutput (stderr):\n")
		switch {
		case len(s.Log) > 0:
		case s.Problem != "":
			b.WriteString("  nothing (it wrote nothing before it failed)\n")
		case s.Config.Kind == app.KindBuiltin:
			b.WriteString("  none (the built-in server writes no log)\n")
		default:
			b.WriteString("  nothing yet (the server starts on its first session)\n")
		}
		for _, l := range s.Log {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

// envRow is one environment variable in the server form.
type envRow struct {
	key, value *widget.Entry
	secret     *widget.Check
	wasSecret  bool // stored in the keychain before this edit
	row        fyne.CanvasObject
}

// serverForm is the Add / Edit server dialog.
type serverForm struct {
	t       *serversTab
	orig    *app.ServerConfig // nil when adding
	name    *widget.Entry
	kind    *widget.RadioGroup
	command *widget.Entry // the whole command line, split like a shell would
	dir     *widget.Entry
	url     *widget.Entry
	root    *widget.Entry
	envBox  *fyne.Container
	env     []*envRow

	test       *widget.Button
	testResult *widget.Label
	testBusy   *widget.Activity
}

const (
	kindCommand = "Command (runs a program on this computer)"
	kindURL     = "URL (an MCP server running here, or https on the internet)"
)

// edit opens the server form: adding when orig is nil.
func (t *serversTab) edit(orig *app.ServerConfig) *serverForm {
	f := &serverForm{t: t, orig: orig}
	f.name = widget.NewEntry()
	f.name.SetPlaceHolder("github (lowercase letters, digits, - and _)")
	f.command = widget.NewEntry()
	f.command.SetPlaceHolder("npx -y @modelcontextprotocol/server-everything")
	f.dir = widget.NewEntry()
	f.dir.SetPlaceHolder("optional: the folder it runs in")
	f.url = widget.NewEntry()
	f.url.SetPlaceHolder("http://127.0.0.1:3000/mcp")
	f.root = widget.NewEntry()
	f.envBox = container.NewVBox()
	f.testResult = widget.NewLabel("Test starts the server, lists its tools and shows what it wrote to stderr, without saving it.")
	f.testResult.Wrapping = fyne.TextWrapWord
	f.testBusy = widget.NewActivity()
	f.testBusy.Hide()
	f.test = widget.NewButtonWithIcon("Test", theme.MediaPlayIcon(), f.runTest)
	commandBox := container.NewVBox(labeled("Command line", f.command),
		paragraph("Type it as in a terminal: quote arguments with spaces (\"~/My notes\")."),
		labeled("Folder", f.dir))
	urlBox := container.NewVBox(labeled("URL", f.url))
	f.kind = widget.NewRadioGroup([]string{kindCommand, kindURL}, func(s string) {
		commandBox.Hidden = s != kindCommand
		urlBox.Hidden = s != kindURL
		commandBox.Refresh()
		urlBox.Refresh()
	})
	f.kind.Required = true
	f.kind.SetSelected(kindCommand)

	title, verb := "Add a server", "Add"
	var body fyne.CanvasObject
	if orig != nil {
		title, verb = "Edit "+orig.Name, "Save"
		f.name.SetText(orig.Name)
		f.name.Disable()
		if orig.Command != "" {
			f.command.SetText(commandLine(orig.Command, orig.Args))
		}
		f.dir.SetText(orig.Dir)
		f.url.SetText(orig.URL)
		f.root.SetText(orig.Root)
		if orig.Kind == app.KindHTTP || orig.Kind == app.KindRemote {
			f.kind.SetSelected(kindURL)
		}
		keys := make([]string, 0, len(orig.Env))
		for k := range orig.Env {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f.addEnv(k, orig.Env[k], false, false)
		}
		for _, k := range orig.SecretEnv {
			f.addEnv(k, "", true, true)
		}
	}
	if orig != nil && orig.Kind == app.KindBuiltin {
		body = container.NewVBox(
			widget.NewLabel("The built-in server shares one folder, read-only."),
			labeled("Folder", container.NewBorder(nil, nil, nil, widget.NewButton("Choose…", func() {
				dialog.ShowFolderOpen(func(l fyne.ListableURI, err error) {
					if l != nil {
						f.root.SetText(l.Path())
					}
				}, t.u.win)
			}), f.root)))
	} else {
		addEnv := widget.NewButtonWithIcon("Add variable", theme.ContentAddIcon(), func() { f.addEnv("", "", false, false) })
		envHelp := widget.NewLabel("Environment variables (optional). Tick \"secret\" for API keys and tokens: their values go to the secret store, not the settings file.")
		envHelp.Wrapping = fyne.TextWrapWord
		body = container.NewVBox(labeled("Name", f.name), f.kind, commandBox, urlBox,
			widget.NewSeparator(), envHelp, f.envBox, container.NewHBox(addEnv),
			widget.NewSeparator(), container.NewBorder(nil, nil, container.NewHBox(f.test, f.testBusy), nil, f.testResult))
	}
	var d dialog.Dialog
	d = dialog.NewCustomConfirm(title, verb, "Cancel", container.NewGridWrap(fyne.NewSize(680, 460), container.NewVScroll(body)), func(ok bool) {
		if ok {
			f.submit(func() { d.Show() })
		}
	}, t.u.win)
	d.Show()
	return f
}

// runTest starts the server as the form describes it and shows its tools
// and stderr.
func (f *serverForm) runTest() {
	u := f.t.u
	c, values, _, err := f.config()
	if err != nil {
		f.testResult.SetText(Explain(err))
		return
	}
	f.test.Disable()
	f.testBusy.Show()
	f.testBusy.Start()
	f.testResult.SetText("Starting " + describe(c) + "…")
	load(u, func(ctx context.Context) (app.TryResult, error) { return u.core.TryServer(ctx, c, values) },
		func(res app.TryResult, err error) {
			f.test.Enable()
			f.testBusy.Stop()
			f.testBusy.Hide()
			f.testResult.SetText(TryReport(res, err))
		})
}

// TryReport says in a few lines what Test found.
func TryReport(res app.TryResult, err error) string {
	var b strings.Builder
	if err != nil {
		b.WriteString("It did not work: " + Explain(err) + "\n")
	} else {
		name := res.Server
		if name == "" {
			name = "The server"
		}
		fmt.Fprintf(&b, "It works: %s offers %s", name, plural(len(res.Tools), "tool", "tools"))
		if len(res.Tools) > 0 {
			b.WriteString(": " + strings.Join(res.Tools, ", "))
		}
		b.WriteString(".\n")
	}
	if len(res.Stderr) > 0 {
		lines := res.Stderr
		if len(lines) > 12 {
			lines = lines[len(lines)-12:]
		}
		b.WriteString("Its stderr:\n  " + strings.Join(lines, "\n  "))
	}
	return strings.TrimSpace(b.String())
}

// commandLine writes a command and its arguments as one line that
// shlex.Split reads back, quoting what needs it.
func commandLine(command string, args []string) string {
	words := append([]string{command}, args...)
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n'\"\\#") {
			words[i] = "'" + strings.ReplaceAll(w, "'", `'"'"'`) + "'"
		}
	}
	return strings.Join(words, " ")
}

func (f *serverForm) addEnv(key, value string, secret, wasSecret bool) {
	r := &envRow{key: widget.NewEntry(), value: widget.NewEntry(), wasSecret: wasSecret}
	r.key.SetPlaceHolder("NAME")
	r.key.SetText(key)
	r.value.SetText(value)
	if wasSecret {
		r.value.SetPlaceHolder("(kept in the keychain; type to replace)")
	} else {
		r.value.SetPlaceHolder("value")
	}
	r.value.Password = secret
	r.secret = widget.NewCheck("secret", func(on bool) {
		r.value.Password = on
		r.value.Refresh()
	})
	r.secret.SetChecked(secret)
	var remove *widget.Button
	remove = widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
		f.env = slices.DeleteFunc(f.env, func(x *envRow) bool { return x == r })
		f.envBox.Remove(r.row)
	})
	r.row = container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(180, r.key.MinSize().Height), r.key),
		container.NewHBox(r.secret, remove), r.value)
	f.env = append(f.env, r)
	f.envBox.Add(r.row)
}

// config reads the form (on the UI goroutine): the server config, the
// secret values typed, and the secrets whose saved value is kept.
func (f *serverForm) config() (c app.ServerConfig, values map[string]string, keep []string, err error) {
	if f.orig != nil {
		c = *f.orig
	} else {
		c.Enabled = true
	}
	c.Name = strings.TrimSpace(f.name.Text)
	if c.Kind == app.KindBuiltin {
		c.Root = strings.TrimSpace(f.root.Text)
		return c, nil, nil, c.Validate()
	}
	if c.Name == "" && f.orig == nil {
		return c, nil, nil, fmt.Errorf("%w: give the server a name first", app.ErrInvalidConfig)
	}
	c.Command, c.Args, c.Dir, c.URL = "", nil, "", ""
	if f.kind.Selected == kindURL {
		c.URL = strings.TrimSpace(f.url.Text)
		urlServer(&c, f.orig)
	} else {
		c.Kind, c.Dir = app.KindStdio, strings.TrimSpace(f.dir.Text)
		words, err := shlex.Split(f.command.Text)
		if err != nil {
			return c, nil, nil, fmt.Errorf("%w: the command line: %v (a quote is not closed?)", app.ErrInvalidConfig, err)
		}
		if len(words) > 0 {
			c.Command, c.Args = words[0], words[1:]
		}
	}
	c.Env, c.SecretEnv = nil, nil
	values = map[string]string{}
	for _, r := range f.env {
		k := strings.TrimSpace(r.key.Text)
		switch {
		case k == "":
		case !r.secret.Checked:
			if c.Env == nil {
				c.Env = map[string]string{}
			}
			c.Env[k] = r.value.Text
		case r.value.Text == "" && r.wasSecret && f.orig != nil:
			c.SecretEnv = append(c.SecretEnv, k)
			keep = append(keep, k)
		default:
			c.SecretEnv = append(c.SecretEnv, k)
			values[k] = r.value.Text
		}
	}
	return c, values, keep, c.Validate()
}

// submit stores the form; on failure it explains and calls reopen.
func (f *serverForm) submit(reopen func()) {
	u := f.t.u
	verb := "Adding"
	if f.orig != nil {
		verb = "Saving"
	}
	c, values, keep, err := f.config()
	u.work(verb+" the server…", func() error {
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		for _, k := range keep {
			v, err := u.core.Secrets().Get(ctx, secrets.EnvKey(f.orig.Name, k))
			if err != nil {
				return fmt.Errorf("read the saved value of %s: %w", k, err)
			}
			values[k] = v
		}
		if err := settleURL(ctx, u.core, &c, f.orig); err != nil {
			return err
		}
		switch {
		case f.orig == nil:
			return u.core.AddServer(ctx, c, values)
		case c.Kind == app.KindBuiltin:
			return u.core.SetBuiltinFolder(ctx, c.Root)
		}
		return u.core.UpdateServer(ctx, c, values)
	}, func(err error) {
		f.t.refresh()
		if err != nil {
			d := dialog.NewError(errors.New(Explain(err)), u.win)
			d.SetOnClosed(reopen)
			d.Show()
		}
	})
}

// importDialog offers the usual config files of Claude Desktop, Cursor and
// VS Code (existing ones first) and another file.
func (t *serversTab) importDialog() {
	var options []string
	paths := map[string]string{}
	for _, p := range app.ImportCandidates() {
		label := p
		if _, err := os.Stat(p); err == nil {
			label += "  (found)"
		} else {
			label += "  (not found)"
		}
		options = append(options, label)
		paths[label] = p
	}
	choice := widget.NewRadioGroup(options, nil)
	if len(options) > 0 {
		choice.SetSelected(options[0])
	}
	var d dialog.Dialog
	other := widget.NewButtonWithIcon("Another file…", theme.FolderOpenIcon(), func() {
		d.Hide()
		dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
			if r == nil {
				return
			}
			r.Close()
			t.runImport(r.URI().Path())
		}, t.u.win)
	})
	help := widget.NewLabel("Import the MCP servers configured in Claude Desktop, Cursor or VS Code. Servers that exist already are skipped; secret-looking variables go to the keychain.")
	help.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(help, choice, container.NewHBox(other))
	d = dialog.NewCustomConfirm("Import servers", "Import", "Cancel", container.NewGridWrap(fyne.NewSize(640, 260), body), func(ok bool) {
		if ok && choice.Selected != "" {
			t.runImport(paths[choice.Selected])
		}
	}, t.u.win)
	d.Show()
}

func (t *serversTab) runImport(path string) {
	u := t.u
	var rep app.ImportReport
	u.work("Importing "+path+"…", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		var err error
		rep, err = u.core.Import(ctx, path)
		return err
	}, func(err error) {
		t.refresh()
		if err != nil {
			u.showError("Import failed", err)
			return
		}
		u.info("Import finished", ImportSummary(rep))
	})
}

// ImportSummary says in a few lines what an import did.
func ImportSummary(rep app.ImportReport) string {
	var b strings.Builder
	if len(rep.Imported) == 0 {
		b.WriteString("Nothing was imported.\n")
	} else {
		fmt.Fprintf(&b, "Imported: %s.\n", strings.Join(rep.Imported, ", "))
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(&b, "Skipped %s: %s\n", s.Name, s.Reason)
	}
	return strings.TrimSpace(b.String())
}

// labeled puts a label to the left of obj.
func labeled(label string, obj fyne.CanvasObject) fyne.CanvasObject {
	l := widget.NewLabel(label)
	return container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(90, l.MinSize().Height), l), nil, obj)
}

func errorLabel(msg string) *widget.Label {
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.DangerImportance
	return l
}

// selectable shows s in a label that can be selected but not edited.
func selectable(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Selectable = true
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}
