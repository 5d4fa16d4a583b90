package main

// The desktop app against a real StatusNotifier host: Xvfb, a private D-Bus
// session bus and xfce4-panel, all started by the test; the tray menu is
// read and clicked over D-Bus (com.canonical.dbusmenu) as the panel does,
// and a notification service of the test's own on the same bus receives the
// sign-in notifications and presses their buttons.

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app/ui/notifytest"
)

// artifactsEnv names a folder for screenshots of the window and the open
// tray menu (the smoke run sets it to .ci/artifacts).
const artifactsEnv = "MCPSHARE_ARTIFACTS"

// panelConfig is one xfce4-panel at the bottom of the screen holding only
// the system tray (its first start would otherwise ask in a dialog).
const panelConfig = `<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=10;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="plugin-ids" type="array"><value type="int" value="1"/></property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
`

// desktopSession is a private X display, session bus and tray host.
type desktopSession struct {
	t       *testing.T
	dir     string
	display string
	bus     string
	env     []string // for the processes that belong to the session
	conn    *dbus.Conn
}

func requireDesktop(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"Xvfb", "dbus-daemon", "xfce4-panel"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("MCPSHARE_REQUIRE_E2E") == "1" {
				t.Fatalf("%s is missing (run cmd/setup.sh --test)", tool)
			}
			t.Skipf("%s is missing (run cmd/setup.sh --test)", tool)
		}
	}
}

// startProcess starts cmd and ends it (by its process ID) when the test ends.
func startProcess(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
}

// firstLine starts cmd and returns the first line it writes to stdout.
func firstLine(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	startProcess(t, cmd)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("%s wrote no line: %v", cmd.Path, err)
	}
	go io.Copy(io.Discard, out)
	return strings.TrimSpace(line)
}

func startDesktop(t *testing.T) *desktopSession {
	t.Helper()
	requireDesktop(t)
	d := &desktopSession{t: t, dir: t.TempDir()}
	d.display = ":" + firstLine(t, exec.Command("Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"))
	xdg := filepath.Join(d.dir, "xdg")
	// The bus starts xfconfd (the panel's settings) with its own environment.
	d.env = append(env(), "DISPLAY="+d.display,
		"XDG_CONFIG_HOME="+xdg, "XDG_DATA_HOME="+filepath.Join(d.dir, "data"), "XDG_CACHE_HOME="+filepath.Join(d.dir, "cache"), "LANG=C.UTF-8")
	d.bus = notifytest.Bus(t, d.env)
	d.env = append(d.env, "DBUS_SESSION_BUS_ADDRESS="+d.bus)
	panelDir := filepath.Join(xdg, "xfce4", "xfconf", "xfce-perchannel-xml")
	if err := os.MkdirAll(panelDir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(panelDir, "xfce4-panel.xml"), []byte(panelConfig), 0o600)
	var err error
	if d.conn, err = dbus.Connect(d.bus); err != nil {
		t.Fatalf("connect to the private bus: %v", err)
	}
	t.Cleanup(func() { d.conn.Close() })
	panel := exec.Command("xfce4-panel", "--disable-wm-check")
	panel.Env = d.env
	startProcess(t, panel)
	d.waitFor("the StatusNotifierWatcher of xfce4-panel", func() bool {
		var has bool
		return d.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has) == nil && has
	})
	return d
}

// waitFor polls cond until it holds; the deadline only bounds a failing test.
func (d *desktopSession) waitFor(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			d.t.Fatalf("no %s after 30 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screenshot photographs the screen into the artifacts folder, if one is set.
func (d *desktopSession) screenshot(name string) {
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		return
	}
	time.Sleep(time.Second) // let the window and the panel draw what changed
	cmd := exec.Command("import", "-window", "root", filepath.Join(dir, name))
	cmd.Env = d.env
	if out, err := cmd.CombinedOutput(); err != nil {
		d.t.Errorf("screenshot %s: %v\n%s", name, err, out)
	}
}

// trayItem is the app's StatusNotifierItem: its bus name and menu path.
type trayItem struct {
	d    *desktopSession
	name string
	menu dbus.ObjectPath
}

func (d *desktopSession) trayItem() *trayItem {
	d.t.Helper()
	var items []string
	d.waitFor("tray item registered with the host", func() bool {
		v, err := d.conn.Object("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher").GetProperty("org.kde.StatusNotifierWatcher.RegisteredStatusNotifierItems")
		items, _ = v.Value().([]string)
		return err == nil && len(items) == 1
	})
	name, path, _ := strings.Cut(items[0], "/")
	v, err := d.conn.Object(name, dbus.ObjectPath("/"+path)).GetProperty("org.kde.StatusNotifierItem.Menu")
	if err != nil {
		d.t.Fatalf("the tray item has no menu: %v", err)
	}
	menu, _ := v.Value().(dbus.ObjectPath)
	return &trayItem{d: d, name: name, menu: menu}
}

// clickUntil clicks the item labelled label until done holds. fyne.io/systray
// drops a click when the goroutine of its item is not waiting on the item's
// channel at that instant (a non-blocking send): a person then clicks
// again, and so does this test, saying so.
func (ti *trayItem) clickUntil(label string, done func() bool) {
	ti.d.t.Helper()
	for try := 0; ; try++ {
		if try == 5 {
			ti.d.t.Fatalf("5 clicks on %q did nothing", label)
		}
		if try > 0 {
			ti.d.t.Logf("the tray dropped click %d on %q; clicking again", try, label)
		}
		ti.click(label)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if done() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// menuEntry is one item of the dbusmenu layout.
type menuEntry struct {
	id       int32
	label    string
	enabled  bool
	children int
}

// layout reads the top level of the menu as the host does.
func (ti *trayItem) layout() []menuEntry {
	ti.d.t.Helper()
	var rev uint32
	var root struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	err := ti.d.conn.Object(ti.name, ti.menu).Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &root)
	if err != nil {
		ti.d.t.Fatalf("GetLayout: %v", err)
	}
	var out []menuEntry
	for _, c := range root.Children {
		f, ok := c.Value().([]any)
		if len(f) != 3 || !ok {
			continue
		}
		e := menuEntry{enabled: true}
		e.id, _ = f[0].(int32)
		props, _ := f[1].(map[string]dbus.Variant)
		if l, ok := props["label"]; ok {
			e.label, _ = l.Value().(string)
		}
		if en, ok := props["enabled"]; ok {
			e.enabled, _ = en.Value().(bool)
		}
		kids, _ := f[2].([]dbus.Variant)
		e.children = len(kids)
		out = append(out, e)
	}
	return out
}

// click sends the host's "clicked" event for the item labelled label.
func (ti *trayItem) click(label string) {
	ti.d.t.Helper()
	for _, e := range ti.layout() {
		if e.label == label {
			err := ti.d.conn.Object(ti.name, ti.menu).Call("com.canonical.dbusmenu.Event", 0,
				e.id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
			if err != nil {
				ti.d.t.Fatalf("click %q: %v", label, err)
			}
			return
		}
	}
	ti.d.t.Fatalf("no menu item %q", label)
}

// browserSignIn is one person's sign-in through a client named "Notes app", up
// to the page that waits for the approval.
type browserSignIn struct {
	t        *testing.T
	waitURL  *url.URL
	redirect string
}

func startBrowserSignIn(t *testing.T, origin, user, password string) *browserSignIn {
	t.Helper()
	redirect := "http://127.0.0.1:9/callback"
	resp, err := http.Post(origin+"/register", "application/json", strings.NewReader(
		`{"client_name":"Notes app","redirect_uris":["`+redirect+`"],"token_endpoint_auth_method":"none"}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	cfg := oauth2.Config{ClientID: reg.ClientID, RedirectURL: redirect, Scopes: []string{"mcp"},
		Endpoint: oauth2.Endpoint{AuthURL: origin + "/authorize", TokenURL: origin + "/token"}}
	authURL := cfg.AuthCodeURL("st-tray", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	loc := signIn(t, authURL, user, password)
	if !strings.Contains(loc.Path, "/authorize/wait") {
		t.Fatalf("after the password: %s, want the waiting page", loc)
	}
	return &browserSignIn{t: t, waitURL: base(authURL).ResolveReference(loc), redirect: redirect}
}

func base(raw string) *url.URL { u, _ := url.Parse(raw); return u }

// status is what the waiting page's poll sees: pending, approved, denied.
func (b *browserSignIn) status() string {
	u := *b.waitURL
	u.Path = strings.Replace(u.Path, "/authorize/wait", "/authorize/status", 1)
	resp, err := noRedirect.Get(u.String())
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ Status string }
	json.NewDecoder(resp.Body).Decode(&st)
	return st.Status
}

// decided waits for the approval and returns where the browser is sent.
func (b *browserSignIn) decided(d *desktopSession) url.Values {
	b.t.Helper()
	d.waitFor("decision on the sign-in", func() bool { return b.status() != "pending" })
	resp, err := noRedirect.Get(b.waitURL.String())
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(to.String(), b.redirect) {
		b.t.Fatalf("after the decision the browser goes to %q", resp.Header.Get("Location"))
	}
	return to.Query()
}

func TestTrayApprovesAndDeniesWithARealTrayHost(t *testing.T) {
	d := startDesktop(t)
	notes := notifytest.Start(t, d.bus)

	// An installation whose owner chose the password (no welcome page).
	configDir := t.TempDir()
	const password = "tray test password"
	passwd := exec.Command(binary, "user", "passwd", "admin", "--password-stdin", "--config-dir", configDir, "--secrets", "file")
	passwd.Stdin = strings.NewReader(password + "\n")
	if out, err := passwd.CombinedOutput(); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	ready := filepath.Join(t.TempDir(), "ready.json")
	gui := exec.Command(binary, "--config-dir", configDir, "--secrets", "file", "--addr", "127.0.0.1:0",
		"--approval", "ask", "--ready-file", ready, "--folder", t.TempDir())
	gui.Env = append(d.env, "MCPSHARE_UI_TAB=signins")
	var stderr syncBuffer
	gui.Stderr = &stderr
	startProcess(t, gui)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mcpshare stderr:\n%s", stderr.String())
		}
	})
	var info readyInfo
	d.waitFor("ready file", func() bool {
		b, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(b, &info) == nil
	})

	tray := d.trayItem()
	d.waitFor("tray menu that says it shares", func() bool {
		l := tray.layout()
		return len(l) > 0 && l[0].label == "Sharing (this computer only)"
	})

	alice := startBrowserSignIn(t, info.Issuer, "admin", password)
	bob := startBrowserSignIn(t, info.Issuer, "admin", password)
	var approves, denies []string
	d.waitFor("two pending sign-ins in the tray menu", func() bool {
		approves, denies = nil, nil
		for _, e := range tray.layout() {
			switch {
			case e.children > 0:
				t.Fatalf("%q has a submenu: hosts render those empty", e.label)
			case strings.HasPrefix(e.label, "Approve "):
				approves = append(approves, strings.TrimPrefix(e.label, "Approve "))
			case strings.HasPrefix(e.label, "Deny "):
				denies = append(denies, strings.TrimPrefix(e.label, "Deny "))
			}
		}
		return len(approves) == 2
	})
	if approves[0] == approves[1] || strings.Join(approves, "|") != strings.Join(denies, "|") {
		t.Fatalf("pending sign-ins: Approve %q, Deny %q; want two distinct labels, each with its Approve and Deny", approves, denies)
	}
	for _, label := range approves {
		if !strings.HasPrefix(label, "admin · Notes app · 127.0.0.1 · ") {
			t.Errorf("label %q does not say who, through what and from where", label)
		}
	}
	d.waitFor("two notifications", func() bool { return len(notes.Notices()) == 2 })
	for _, n := range notes.Notices() {
		if strings.Join(n.Actions, ",") != "default,Open MCP Share,approve,Approve,deny,Deny" || !strings.Contains(n.Summary, "admin · Notes app") {
			t.Errorf("notification %+v: want Approve and Deny buttons and the sign-in's label", n)
		}
	}

	d.screenshot("signin-pending-window.png")
	d.openTrayMenu()
	d.screenshot("tray-menu-open.png")
	d.closeTrayMenu()

	// alice started first: the first pair of items is hers.
	tray.clickUntil("Approve "+approves[0], func() bool { return alice.status() != "pending" })
	if got := alice.decided(d); got.Get("code") == "" || got.Get("error") != "" {
		t.Errorf("after Approve in the tray: %v, want a code", got)
	}
	// Alone now, bob's sign-in has the short label again.
	var bobDeny string
	d.waitFor("bob's sign-in alone in the menu", func() bool {
		var left []string
		for _, e := range tray.layout() {
			if strings.HasPrefix(e.label, "Deny ") {
				left = append(left, e.label)
			}
		}
		// The menu is rebuilt whole: wait for the short label itself (…· HH:MM), not for a
		// moment where alice's items are gone but bob's still carry the seconds or a #n.
		if len(left) == 1 && regexp.MustCompile(` · \d\d:\d\d$`).MatchString(left[0]) {
			bobDeny = left[0]
			return true
		}
		return false
	})
	tray.clickUntil(bobDeny, func() bool { return bob.status() != "pending" })
	if got := bob.decided(d); got.Get("error") != "access_denied" || got.Get("code") != "" {
		t.Errorf("after Deny in the tray: %v, want access_denied", got)
	}
	d.waitFor("notifications withdrawn once decided", func() bool { return notes.Closed(1) && notes.Closed(2) })
	d.waitFor("tray menu without pending sign-ins", func() bool {
		for _, e := range tray.layout() {
			if strings.HasPrefix(e.label, "Approve ") {
				return false
			}
		}
		return true
	})

	// The notification's own Approve button.
	carol := startBrowserSignIn(t, info.Issuer, "admin", password)
	d.waitFor("a third notification", func() bool { return len(notes.Notices()) == 3 })
	notes.Press(t, notes.Notices()[2].ID, "approve")
	if got := carol.decided(d); got.Get("code") == "" {
		t.Errorf("after Approve in the notification: %v, want a code", got)
	}

	gui.Process.Signal(syscall.SIGTERM)
	if err := gui.Wait(); err != nil {
		t.Errorf("mcpshare after SIGTERM: %v", err)
	}
	if strings.Contains(stderr.String(), "locale") || strings.Contains(stderr.String(), "panic") {
		t.Errorf("mcpshare logged locale noise (LANG=C.UTF-8) or panicked:\n%s", stderr.String())
	}
}

// openTrayMenu right-clicks the app's icon in the panel, as a person does.
func (d *desktopSession) openTrayMenu() {
	d.t.Helper()
	if _, err := exec.LookPath("xdotool"); err != nil || os.Getenv(artifactsEnv) == "" {
		return // only for the screenshot
	}
	out, err := d.xdotool("search", "--onlyvisible", "--class", "xfce4-panel")
	if err != nil || out == "" {
		d.t.Errorf("no panel window: %v %q", err, out)
		return
	}
	win := strings.Fields(out)[0]
	geo, _ := d.xdotool("getwindowgeometry", "--shell", win)
	vals := map[string]int{}
	for _, line := range strings.Fields(geo) {
		k, v, _ := strings.Cut(line, "=")
		vals[k], _ = strconv.Atoi(v)
	}
	// The tray is the panel's only plugin: its first icon sits at the left end.
	x, y := vals["X"]+16, vals["Y"]+vals["HEIGHT"]/2
	if _, err := d.xdotool("mousemove", strconv.Itoa(x), strconv.Itoa(y), "click", "3"); err != nil {
		d.t.Errorf("right-click on the tray icon: %v", err)
	}
}

func (d *desktopSession) closeTrayMenu() {
	if os.Getenv(artifactsEnv) != "" {
		d.xdotool("key", "Escape")
	}
}

func (d *desktopSession) xdotool(args ...string) (string, error) {
	cmd := exec.Command("xdotool", args...)
	cmd.Env = d.env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
