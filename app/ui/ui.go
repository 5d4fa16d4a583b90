package ui

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/godbus/dbus/v5"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/assets"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// Tab names for Options.Tab.
const (
	TabServers  = "servers"
	TabConnect  = "connect"
	TabSignIns  = "signins"
	TabUsers    = "users"
	TabClients  = "clients"
	TabSettings = "settings"
	TabActivity = "activity"
)

// activityTabIndex is the Activity tab's place, after the others.
const activityTabIndex = 6

// appIcon is the application icon, shown beside the state line.
var appIcon = fyne.NewStaticResource("icon.png", assets.Icon)

// callTimeout bounds one call into the core made for the GUI (keychain reads,
// starting to share, importing).
const callTimeout = 60 * time.Second

// Options configure the window and the tray.
type Options struct {
	// Tray puts a menu in the system tray. Set it only where a tray can
	// exist (see TrayAvailable): Fyne's tray panics on quit without D-Bus.
	Tray bool
	// HideOnClose makes closing the window hide it, the app staying in the
	// tray; otherwise closing quits. Set it only with Tray and a running tray
	// host (TrayHostRunning), or the window could not be brought back.
	HideOnClose bool
	// Quit is called when the person asks to quit (the tray's Quit, or closing
	// the window without a tray). It must stop sharing, close the core and
	// then quit the Fyne app; it runs on the UI goroutine and should not
	// block. Nil quits the Fyne app only.
	Quit func()
	// Tab is the tab shown first (TabServers when empty).
	Tab string
	// RefreshEvery re-reads the live state of the shared servers (sessions,
	// logs) this often while the window exists; zero never does.
	RefreshEvery time.Duration
	// DesktopNotifications announces pending sign-ins as freedesktop
	// notifications with Approve and Deny buttons, over a D-Bus session bus
	// connection of their own (Linux, the BSDs). Without it, or without a
	// notification service, Fyne's plain notifications are used.
	DesktopNotifications bool
	// Logger receives what the GUI does not show (tray unavailable, ...).
	Logger *slog.Logger
}

// UI is the window and the tray of one running App.
type UI struct {
	fa   fyne.App
	core *app.App
	opts Options
	log  *slog.Logger
	win  fyne.Window
	tabs *container.AppTabs

	// do runs f on the Fyne goroutine (fyne.Do); bg runs long work off it.
	// Tests replace both to run everything on the test goroutine.
	do func(f func())
	bg func(f func())

	stateLabel  *widget.Label
	detailLabel *widget.Label
	startStop   *widget.Button
	busyBar     *widget.ProgressBarInfinite
	busyLabel   *widget.Label
	busy        int
	publicURL   *publicURLLine // the tunnel's progress under the state line
	main        fyne.CanvasObject
	welcome     *welcomePage // nil once the first run is through

	servers  *serversTab
	connect  *connectTab
	signIns  *signInsTab
	users    *usersTab
	clients  *clientsTab
	settings *settingsTab
	activity *activityTab

	notified    map[string]bool // pending sign-ins already announced
	desktop     *notifications  // nil: Fyne's plain notifications
	tray        *fyne.Menu      // the tray menu given to Fyne
	pending     []oauthserver.SignIn
	tunnelNote  string // the last tunnel event, the public URL's details
	unsubscribe func()

	// The calls waiting for approval, those already announced, and the
	// end of this window's turn as an approver.
	calls          []app.PendingCall
	notifiedCalls  map[string]bool
	detachApprover func()
}

// New builds the window (not shown yet) and, with opts.Tray, the tray menu,
// and follows the core's events until Close. It must run on the Fyne
// goroutine (before fa.Run, or inside fyne.Do).
func New(fa fyne.App, core *app.App, opts Options) *UI {
	u := newUI(fa, core, opts)
	u.build()
	return u
}

// newUI sets up a UI without building it, so tests can replace do and bg first.
func newUI(fa fyne.App, core *app.App, opts Options) *UI {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &UI{
		fa: fa, core: core, opts: opts, log: opts.Logger,
		do:       fyne.Do,
		bg:       func(f func()) { go f() },
		notified: map[string]bool{}, notifiedCalls: map[string]bool{},
	}
}

// Run builds the UI, shows the window and runs the Fyne app until it quits.
func Run(fa fyne.App, core *app.App, opts Options) {
	u := New(fa, core, opts)
	defer u.Close()
	u.Show()
	fa.Run()
}

func (u *UI) build() {
	u.win = u.fa.NewWindow("MCP Share")
	u.win.Resize(fyne.NewSize(960, 680))

	u.servers = newServersTab(u)
	u.connect = newConnectTab(u)
	u.signIns = newSignInsTab(u)
	u.users = newUsersTab(u)
	u.clients = newClientsTab(u)
	u.settings = newSettingsTab(u)
	u.activity = newActivityTab(u)

	u.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Servers", theme.StorageIcon(), u.servers.content),
		container.NewTabItemWithIcon("Connect ChatGPT", theme.LoginIcon(), u.connect.content),
		container.NewTabItemWithIcon("Sign-ins", theme.ConfirmIcon(), u.signIns.content),
		container.NewTabItemWithIcon("Users", theme.AccountIcon(), u.users.content),
		container.NewTabItemWithIcon("Clients", theme.ComputerIcon(), u.clients.content),
		container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), u.settings.content),
		container.NewTabItemWithIcon("Activity", theme.HistoryIcon(), u.activity.content),
	)
	u.tabs.SetTabLocation(container.TabLocationLeading)
	u.tabs.OnSelected = func(*container.TabItem) { u.refreshSelected() }
	u.SelectTab(u.opts.Tab)

	u.main = container.NewBorder(u.header(), nil, nil, nil, u.tabs)
	if _, pw := u.core.FirstRunCredentials(); pw != "" {
		u.welcome = newWelcomePage(u)
		u.win.SetContent(u.welcome.content)
	} else {
		u.win.SetContent(u.main)
	}
	if u.opts.DesktopNotifications {
		u.connectNotifications()
	}
	if u.opts.Tray && u.opts.HideOnClose {
		u.win.SetCloseIntercept(u.win.Hide)
	} else {
		u.win.SetCloseIntercept(u.quit)
	}

	unsubscribe := u.core.Subscribe(u.onEvent)
	// The window, tray and notifications answer calls that wait for approval.
	u.detachApprover = u.core.AttachApprover()
	stop := make(chan struct{})
	u.unsubscribe = func() {
		unsubscribe()
		close(stop)
	}
	if u.opts.RefreshEvery > 0 {
		go u.poll(u.opts.RefreshEvery, stop)
	}
	u.refreshAll()
}

// poll refreshes the Servers tab, when shown, until stop is closed. The tab
// rebuilds only when something changed.
func (u *UI) poll(every time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			u.do(func() {
				if u.tabs.SelectedIndex() == 0 {
					u.servers.refresh()
				}
			})
		}
	}
}

// header is the state line above the tabs: state, details, Start/Stop, progress.
func (u *UI) header() fyne.CanvasObject {
	u.stateLabel = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	u.detailLabel = widget.NewLabel("")
	u.detailLabel.Wrapping = fyne.TextWrapWord
	u.startStop = widget.NewButton("Start sharing", nil)
	u.busyBar = widget.NewProgressBarInfinite()
	u.busyBar.Stop()
	u.busyBar.Hide()
	u.busyLabel = widget.NewLabel("")
	u.busyLabel.Hide()
	u.publicURL = newPublicURLLine()
	top := container.NewBorder(nil, nil, widget.NewIcon(appIcon), u.startStop,
		container.NewVBox(u.stateLabel))
	return container.NewVBox(top, u.publicURL.content, u.detailLabel,
		container.NewBorder(nil, nil, u.busyLabel, nil, u.busyBar), widget.NewSeparator())
}

// showMain leaves the welcome page for the tabs, on the tab named.
func (u *UI) showMain(tab string) {
	u.welcome = nil
	u.win.SetContent(u.main)
	u.SelectTab(tab)
	u.refreshAll()
}

// Window is the main window.
func (u *UI) Window() fyne.Window { return u.win }

// Show shows the window and brings it to the front.
func (u *UI) Show() {
	u.win.Show()
	u.win.RequestFocus()
}

// SelectTab shows the tab with the given name (TabServers, TabConnect, ...).
func (u *UI) SelectTab(name string) {
	i := map[string]int{TabServers: 0, TabConnect: 1, TabSignIns: 2, TabUsers: 3, TabClients: 4, TabSettings: 5, TabActivity: activityTabIndex}[name]
	u.tabs.SelectIndex(i)
}

// Close stops following the core's events and withdraws the desktop
// notifications. It does not close the core.
func (u *UI) Close() {
	if u.unsubscribe != nil {
		u.unsubscribe()
		u.unsubscribe = nil
	}
	if u.detachApprover != nil {
		u.detachApprover()
		u.detachApprover = nil
	}
	if u.desktop != nil {
		u.desktop.close()
		u.desktop = nil
	}
}

// connectNotifications sets up the desktop notifications with buttons,
// when a notification service answers on the session bus.
func (u *UI) connectNotifications() {
	conn, err := dbus.ConnectSessionBus()
	if err == nil {
		u.desktop, err = newNotifications(conn, func(id, action string) {
			u.do(func() { u.onNotificationAction(id, action) })
		})
		if err != nil {
			conn.Close()
		}
	}
	if err != nil {
		u.log.Info("desktop notifications without buttons", "err", err)
	}
}

// onNotificationAction answers a sign-in from its notification's buttons;
// a click on the notification itself opens the Sign-ins tab.
func (u *UI) onNotificationAction(id, action string) {
	if isCallID(id) {
		u.onCallNotificationAction(id, action)
		return
	}
	switch action {
	case actionApprove, actionDeny:
		u.decide(id, action == actionApprove)
	default:
		u.openSignIns()
	}
}

// openSignIns shows the window on the Sign-ins tab.
func (u *UI) openSignIns() {
	if u.welcome != nil {
		u.showMain(TabSignIns)
	}
	u.SelectTab(TabSignIns)
	u.Show()
}

func (u *UI) quit() {
	if u.opts.Quit != nil {
		u.opts.Quit()
		return
	}
	u.fa.Quit()
}

// onEvent runs on the goroutine that caused the event.
func (u *UI) onEvent(ev app.Event) {
	u.do(func() {
		switch ev.Kind {
		case app.EventState, app.EventTunnel:
			if ev.Kind == app.EventTunnel {
				u.tunnelNote = sentence(ev.Message)
			}
			u.refreshState()
			u.servers.refresh()
			u.connect.refresh()
			// Starting creates the pre-registered client on a first run.
			if u.tabs.SelectedIndex() == 4 {
				u.clients.refresh()
			}
		case app.EventSignIn:
			u.showSignIns(ev.Pending)
		case app.EventCalls:
			u.showCalls(ev.Calls)
		case app.EventServers:
			u.servers.refresh()
			u.connect.refresh()
			u.updateTray() // remote servers that wait for a sign-in
		case app.EventWarning:
			u.detailLabel.SetText(sentence(ev.Message))
		}
	})
}

func (u *UI) refreshAll() {
	u.refreshState()
	u.refreshSignIns()
	u.showCalls(u.core.PendingCalls())
	u.refreshSelected()
}

// publicURLView is where the public URL stands now.
func (u *UI) publicURLView() PublicURLView {
	return PublicURL(u.core.Status(), u.core.Settings().Tunnel, u.tunnelNote)
}

// refreshSelected reloads the visible tab (the others reload when shown).
func (u *UI) refreshSelected() {
	switch u.tabs.SelectedIndex() {
	case 0:
		u.servers.refresh()
	case 1:
		u.connect.refresh()
	case 2:
		u.signIns.refresh()
	case 3:
		u.users.refresh()
	case 4:
		u.clients.refresh()
	case 5:
		u.settings.refresh()
	case activityTabIndex:
		u.activity.refresh()
	}
}

// refreshState updates the header and the tray from the core's status.
func (u *UI) refreshState() {
	st := u.core.Status()
	u.stateLabel.SetText(StateLine(st))
	u.publicURL.show(u.publicURLView())
	var detail []string
	switch st.State {
	case app.StateSharing:
		detail = append(detail, "On this computer: "+st.LocalOrigin)
		u.startStop.SetText("Stop sharing")
		u.startStop.SetIcon(theme.MediaStopIcon())
		u.startStop.OnTapped = func() { u.StopSharing(nil) }
	default:
		if st.Err != nil {
			detail = append(detail, Explain(st.Err))
		} else {
			detail = append(detail, "Nothing is shared. Start sharing to let ChatGPT and Claude sign in.")
		}
		u.startStop.SetText("Start sharing")
		u.startStop.SetIcon(theme.MediaPlayIcon())
		u.startStop.OnTapped = func() { u.StartSharing(nil) }
	}
	u.detailLabel.SetText(strings.Join(detail, "\n"))
	u.updateTray()
}

// StartSharing starts sharing in the background with a progress bar, shows
// what went wrong if it fails, and then calls done (if not nil) with the
// result on the UI goroutine.
func (u *UI) StartSharing(done func(error)) {
	u.startStop.Disable()
	u.work("Starting to share…", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		return u.core.Start(ctx)
	}, func(err error) {
		u.startStop.Enable()
		u.refreshState()
		if err != nil {
			u.showError("Sharing did not start", err)
		}
		if done != nil {
			done(err)
		}
	})
}

// StopSharing stops sharing in the background, then calls done (if not nil).
func (u *UI) StopSharing(done func(error)) {
	u.startStop.Disable()
	u.work("Stopping: finishing requests and ending sessions…", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		return u.core.Stop(ctx)
	}, func(err error) {
		u.startStop.Enable()
		u.refreshState()
		if err != nil {
			u.showError("Sharing stopped with an error", err)
		}
		if done != nil {
			done(err)
		}
	})
}

// work runs job off the UI goroutine while the progress bar says what
// happens, then then on the UI goroutine.
func (u *UI) work(what string, job func() error, then func(error)) {
	u.busy++
	u.busyLabel.SetText(what)
	u.busyLabel.Show()
	u.busyBar.Show()
	u.busyBar.Start()
	u.bg(func() {
		err := job()
		u.do(func() {
			u.busy--
			if u.busy == 0 {
				u.busyBar.Stop()
				u.busyBar.Hide()
				u.busyLabel.Hide()
			}
			if then != nil {
				then(err)
			}
		})
	})
}

// load runs get off the UI goroutine and show on it.
func load[T any](u *UI, get func(ctx context.Context) (T, error), show func(T, error)) {
	u.bg(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		v, err := get(ctx)
		u.do(func() { show(v, err) })
	})
}

// showError explains err in a dialog: what happened and what to do.
func (u *UI) showError(title string, err error) {
	msg := widget.NewLabel(Explain(err))
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom(title, "Close", container.NewGridWrap(fyne.NewSize(460, 140), container.NewVScroll(msg)), u.win)
	d.Show()
}

// info shows a short message.
func (u *UI) info(title, msg string) {
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	dialog.NewCustom(title, "OK", container.NewGridWrap(fyne.NewSize(460, 100), l), u.win).Show()
}

// copyText puts s on the clipboard and says so in the header.
func (u *UI) copyText(what, s string) {
	u.fa.Clipboard().SetContent(s)
	u.detailLabel.SetText(what + " copied to the clipboard.")
}

// copyButton copies value() when tapped.
func (u *UI) copyButton(what string, value func() string) *widget.Button {
	return widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() { u.copyText(what, value()) })
}

// updateTray rebuilds the tray menu, when there is a tray.
func (u *UI) updateTray() {
	if !u.opts.Tray {
		return
	}
	d, ok := u.fa.(desktop.App)
	if !ok {
		return
	}
	// One Menu value, its items replaced: Fyne renders the menu it was first
	// given once the tray is ready, and that must be today's.
	// The menu is set again only when it reads differently: every rebuild
	// gives its items new IDs, and a host that shows the old menu would
	// click into the void.
	m := u.trayMenu()
	if u.tray == nil {
		u.tray = m
	} else if menuText(m) == menuText(u.tray) {
		return
	}
	u.tray.Items = m.Items
	d.SetSystemTrayMenu(u.tray)
	if len(u.pending) > 0 || len(u.calls) > 0 {
		d.SetSystemTrayIcon(waitingIcon)
	} else {
		d.SetSystemTrayIcon(appIcon)
	}
}

func (u *UI) trayMenu() *fyne.Menu {
	return WithSignIns(TrayMenuWithCalls(u.core.Status(), u.pending, u.calls, TrayActions{
		DecideCall: func(id string, d app.CallDecision) { u.decideCall(id, d, viaTray) },
		Open:       u.Show,
		Start:      func() { u.StartSharing(nil) },
		Stop:       func() { u.StopSharing(nil) },
		CopyURL:    u.copyMCPURL,
		Decide:     u.decide,
		Quit:       u.quit,
	}), u.core.SignInsNeeded(), u.signInRemote)
}

// menuText is what a menu shows: its labels, separators and disabled items.
func menuText(m *fyne.Menu) string {
	var b strings.Builder
	for _, it := range m.Items {
		fmt.Fprintf(&b, "%q %v %v\n", it.Label, it.IsSeparator, it.Disabled)
	}
	return b.String()
}

// copyMCPURL copies the MCP URL that serves every shared server, as the
// Connect card shows first.
func (u *UI) copyMCPURL() {
	if len(u.core.EnabledServers()) == 0 {
		u.detailLabel.SetText("No server is shared: enable one in Servers.")
		return
	}
	u.copyText("MCP URL", u.core.AllServersURL())
}

// refreshSignIns reads the pending sign-ins and shows them.
func (u *UI) refreshSignIns() {
	u.showSignIns(u.core.Auth().PendingSignIns())
}

// showSignIns shows the pending sign-ins everywhere a person may look: the
// Sign-ins tab and its count in the sidebar, the tray menu and its icon,
// and one desktop notification for each new one.
func (u *UI) showSignIns(pending []oauthserver.SignIn) {
	u.pending = pending
	labels := SignInLabels(pending)
	seen := map[string]bool{}
	for _, si := range pending {
		seen[si.ID] = true
		if u.notified[si.ID] {
			continue
		}
		if u.desktop == nil || u.desktop.show(si, labels[si.ID]) != nil {
			u.fa.SendNotification(signInNotification(si.User, si.ClientName))
		}
	}
	u.notified = seen
	u.withdrawNotifications()
	u.signIns.show(pending, u.core.Auth().RecentSignIns())
	tab := u.tabs.Items[2]
	if tab.Text = "Sign-ins"; len(pending) > 0 {
		tab.Text = fmt.Sprintf("Sign-ins (%d)", len(pending))
	}
	u.tabs.Refresh()
	u.updateTray()
}

func signInNotification(user, client string) *fyne.Notification {
	return fyne.NewNotification("Sign-in waiting for approval",
		fmt.Sprintf("%s wants to sign in through %s. Approve or deny it in MCP Share.", user, client))
}

// decide approves or denies a pending sign-in.
func (u *UI) decide(id string, approve bool) {
	if err := u.core.Auth().Decide(id, approve); err != nil {
		u.showError("The sign-in could not be answered", err)
	}
	u.refreshSignIns()
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
