package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"net"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
)

var (
	tunnelLabels = map[string]string{
		app.TunnelNone:   "None: this computer only",
		app.TunnelNgrok:  "ngrok (needs a free ngrok account)",
		app.TunnelCustom: "My own reverse proxy (public URL below)",
	}
	approvalLabels = map[string]string{
		app.ApprovalAsk:      "Ask me for every sign-in",
		app.ApprovalOnce:     "Ask once per user and app",
		app.ApprovalPassword: "The password is enough",
	}
)

// settingsTab edits the settings, the ngrok authtoken and the built-in
// server's folder.
type settingsTab struct {
	u       *UI
	content fyne.CanvasObject

	tunnel    *widget.Select
	token     *widget.Entry
	domain    *widget.Entry
	publicURL *widget.Entry
	port      *widget.Entry
	approval  *widget.RadioGroup
	folder    *widget.Entry
	autostart *widget.Check
	status    *widget.Label
	scroll    *container.Scroll
	hasToken  bool // an ngrok authtoken is saved (or in NGROK_AUTHTOKEN)

	loaded          app.Settings
	loadedAutostart bool
	builtin         *app.ServerConfig
}

func newSettingsTab(u *UI) *settingsTab {
	t := &settingsTab{u: u}
	t.tunnel = widget.NewSelect([]string{tunnelLabels[app.TunnelNone], tunnelLabels[app.TunnelNgrok], tunnelLabels[app.TunnelCustom]}, nil)
	t.token = widget.NewPasswordEntry()
	t.tunnel.OnChanged = t.tunnelChosen
	t.domain = widget.NewEntry()
	t.domain.SetPlaceHolder("your-name.ngrok-free.app (optional; keeps the URL the same)")
	t.publicURL = widget.NewEntry()
	t.publicURL.SetPlaceHolder("https://mcp.example.com")
	t.port = widget.NewEntry()
	t.approval = widget.NewRadioGroup([]string{approvalLabels[app.ApprovalAsk], approvalLabels[app.ApprovalOnce], approvalLabels[app.ApprovalPassword]}, nil)
	t.approval.Required = true
	t.folder = widget.NewEntry()
	choose := widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), func() {
		dialog.ShowFolderOpen(func(l fyne.ListableURI, err error) {
			if l != nil {
				t.folder.SetText(l.Path())
			}
		}, u.win)
	})
	t.autostart = widget.NewCheck("Start MCP Share when I log in", nil)
	t.status = widget.NewLabel("")
	t.status.Wrapping = fyne.TextWrapWord

	kept := "kept in the system keychain"
	if u.core.SecretsInFile() {
		kept = "kept in the private secrets file of the config folder (--secrets file)"
	}
	check := widget.NewButtonWithIcon("Check", theme.SearchIcon(), t.checkNgrok)
	// The form scrolls; the entries inside must not swallow the mouse wheel.
	form := widget.NewForm(
		&widget.FormItem{Text: "Public URL", Widget: t.tunnel, HintText: "How ChatGPT and Claude reach this computer."},
		&widget.FormItem{Text: "ngrok authtoken", Widget: t.wheel(container.NewBorder(nil, nil, nil, check, t.token)), HintText: "From dashboard.ngrok.com/get-started/your-authtoken; " + kept + ". Leave empty to keep the saved one."},
		&widget.FormItem{Text: "ngrok domain", Widget: t.wheel(t.domain), HintText: "Reserve a free static domain at dashboard.ngrok.com/domains."},
		&widget.FormItem{Text: "Own public URL", Widget: t.wheel(t.publicURL), HintText: "Only with \"My own reverse proxy\": its https origin."},
		&widget.FormItem{Text: "Port", Widget: t.wheel(t.port), HintText: "The local port on 127.0.0.1 (default 8765)."},
		widget.NewFormItem("Sign-in approval", t.approval),
		&widget.FormItem{Text: "Shared folder", Widget: container.NewBorder(nil, nil, nil, choose, t.wheel(t.folder)), HintText: "The folder the built-in \"files\" server shares, read-only."},
		&widget.FormItem{Text: "At login", Widget: t.autostart, HintText: "Shares again after a restart of the computer."},
	)
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), t.save)
	save.Importance = widget.HighImportance
	revert := widget.NewButtonWithIcon("Revert", theme.ContentUndoIcon(), t.refresh)
	t.scroll = container.NewVScroll(form)
	// Save and its confirmation stay in view below the scrolling form.
	t.content = container.NewBorder(nil, container.NewVBox(widget.NewSeparator(),
		container.NewBorder(nil, nil, container.NewHBox(save, revert), nil, t.status)), nil, nil, t.scroll)
	return t
}

// wheel lets the mouse wheel over obj scroll the settings, which entries
// otherwise take for themselves (their own scrolling is horizontal only).
func (t *settingsTab) wheel(obj fyne.CanvasObject) fyne.CanvasObject {
	return container.NewStack(obj, newWheelPass(func(ev *fyne.ScrollEvent) { t.scroll.Scrolled(ev) }))
}

// wheelPass is a transparent layer that takes scroll events and hands
// them on; taps, typing and the cursor reach what lies under it.
type wheelPass struct {
	widget.BaseWidget
	onScroll func(*fyne.ScrollEvent)
}

func newWheelPass(onScroll func(*fyne.ScrollEvent)) *wheelPass {
	w := &wheelPass{onScroll: onScroll}
	w.ExtendBaseWidget(w)
	return w
}

func (w *wheelPass) Scrolled(ev *fyne.ScrollEvent) { w.onScroll(ev) }

func (w *wheelPass) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

// tunnelChosen refuses ngrok while no authtoken is saved or typed.
func (t *settingsTab) tunnelChosen(label string) {
	if keyOf(tunnelLabels, label) != app.TunnelNgrok || t.loaded.Tunnel == app.TunnelNgrok || t.hasToken ||
		strings.TrimSpace(t.token.Text) != "" {
		return
	}
	t.status.SetText("Paste your ngrok authtoken first (free at dashboard.ngrok.com), then choose ngrok.")
	t.tunnel.SetSelected(tunnelLabels[t.loaded.Tunnel])
}

// checkNgrok tries the typed (or saved) authtoken and domain.
func (t *settingsTab) checkNgrok() {
	token, domain := strings.TrimSpace(t.token.Text), strings.TrimSpace(t.domain.Text)
	t.status.SetText("")
	var origin string
	t.u.work("Connecting to ngrok to check the authtoken and domain (up to 30 seconds)…", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		var err error
		origin, err = t.u.core.CheckNgrok(ctx, token, domain)
		return err
	}, func(err error) {
		if err != nil {
			t.status.SetText("ngrok did not accept them. " + Explain(err))
			return
		}
		t.status.SetText("They work: the public URL would be " + origin + ". Save to keep them.")
	})
}

func (t *settingsTab) refresh() {
	st := t.u.core.StoredSettings()
	t.loaded = st
	t.tunnel.SetSelected(tunnelLabels[st.Tunnel])
	t.domain.SetText(st.NgrokDomain)
	t.publicURL.SetText(st.PublicURL)
	if _, port, err := net.SplitHostPort(st.Addr); err == nil {
		t.port.SetText(port)
	} else {
		t.port.SetText(st.Addr)
	}
	t.approval.SetSelected(approvalLabels[st.Approval])
	t.token.SetText("")
	t.builtin = nil
	t.folder.Disable()
	if list, err := t.u.core.Servers(); err == nil {
		for _, s := range list {
			if s.Config.Kind == app.KindBuiltin {
				c := s.Config
				t.builtin = &c
				t.folder.SetText(c.Root)
				t.folder.Enable()
				break
			}
		}
	}
	if on, err := t.u.core.Autostart(); errors.Is(err, app.ErrAutostartUnsupported) {
		t.autostart.SetChecked(false)
		t.autostart.Disable()
	} else {
		t.autostart.SetChecked(on)
		t.autostart.Enable()
		t.loadedAutostart = on
	}
	load(t.u, t.u.core.NgrokReady, func(has bool, err error) {
		t.hasToken = has
		switch {
		case err != nil:
			t.token.SetPlaceHolder("the keychain cannot be read")
			t.status.SetText(Explain(err))
		case has:
			t.token.SetPlaceHolder("saved (type to replace)")
		default:
			t.token.SetPlaceHolder("not saved yet")
		}
	})
}

func keyOf(labels map[string]string, label string) string {
	for k, v := range labels {
		if v == label {
			return k
		}
	}
	return ""
}

// settings reads the form.
func (t *settingsTab) settings() (app.Settings, error) {
	st := t.loaded
	st.Tunnel = keyOf(tunnelLabels, t.tunnel.Selected)
	st.Approval = keyOf(approvalLabels, t.approval.Selected)
	st.NgrokDomain = strings.TrimSpace(t.domain.Text)
	st.PublicURL = strings.TrimSpace(t.publicURL.Text)
	port, err := strconv.Atoi(strings.TrimSpace(t.port.Text))
	if err != nil || port < 0 || port > 65535 {
		return st, fmt.Errorf("%w: the port must be a number from 1 to 65535", app.ErrInvalidConfig)
	}
	host, _, err := net.SplitHostPort(st.Addr)
	if err != nil || host == "" {
		host = "127.0.0.1"
	}
	st.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	return st, st.Validate()
}

func (t *settingsTab) save() {
	st, err := t.settings()
	if err != nil {
		t.u.showError("The settings were not saved", err)
		return
	}
	token := strings.TrimSpace(t.token.Text)
	folder := strings.TrimSpace(t.folder.Text)
	autostart := t.autostart.Checked
	setAutostart := !t.autostart.Disabled() && autostart != t.loadedAutostart
	restart := st.Addr != t.loaded.Addr || st.Tunnel != t.loaded.Tunnel || st.NgrokDomain != t.loaded.NgrokDomain ||
		st.PublicURL != t.loaded.PublicURL || token != ""
	u, builtin := t.u, t.builtin
	u.work("Saving the settings…", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if token != "" {
			if err := u.core.SetNgrokToken(ctx, token); err != nil {
				return fmt.Errorf("save the ngrok authtoken: %w", err)
			}
		}
		if err := u.core.SaveSettings(st); err != nil {
			return err
		}
		if setAutostart {
			if err := u.core.SetAutostart(autostart); err != nil {
				return fmt.Errorf("start at login: %w", err)
			}
		}
		if builtin != nil && folder != builtin.Root {
			if err := u.core.SetBuiltinFolder(ctx, folder); err != nil {
				return fmt.Errorf("change the shared folder: %w", err)
			}
		}
		return nil
	}, func(err error) {
		if err != nil {
			u.showError("The settings were not saved", err)
			return
		}
		t.refresh()
		sharing := u.core.Status().State == app.StateSharing
		if !restart || !sharing {
			t.status.SetText("Saved.")
			return
		}
		t.status.SetText("Saved. The new address and public URL apply when sharing restarts.")
		dialog.ShowConfirm("Restart sharing?", "The new settings apply when sharing restarts. Open sessions end. Restart now?",
			func(ok bool) {
				if ok {
					u.StopSharing(func(error) { u.StartSharing(nil) })
				}
			}, u.win)
	})
}
