package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/secrets"
)

// harness is a real core, sharing on a free loopback port, with a UI whose
// cross-goroutine updates queue up until the test drains them on its own
// goroutine (as the Fyne loop would).
type harness struct {
	t              *testing.T
	fa             fyne.App
	core           *app.App
	u              *UI
	queue          chan func()
	user, password string // the first user's
}

// newHarness opens the window on the tabs, past the welcome page.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := newFirstRunHarness(t, Options{})
	h.u.showMain(TabServers)
	h.drain()
	return h
}

// newFirstRunHarness is a harness on a fresh installation, as its owner
// first sees it.
func newFirstRunHarness(t *testing.T, opts Options, mod ...func(*app.Options)) *harness {
	t.Helper()
	fa := test.NewTempApp(t)
	dir := t.TempDir()
	ao := app.Options{
		ConfigDir: filepath.Join(dir, "config"),
		Secrets:   app.SecretsFile,
		FilesRoot: filepath.Join(dir, "files"),
		Approval:  app.ApprovalAsk,
		Addr:      "127.0.0.1:0",
	}
	for _, m := range mod {
		m(&ao)
	}
	core, err := app.Open(ao)
	if err != nil {
		t.Fatalf("open the core: %v", err)
	}
	t.Cleanup(func() { core.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := core.Start(ctx); err != nil {
		t.Fatalf("start sharing: %v", err)
	}
	h := &harness{t: t, fa: fa, core: core, queue: make(chan func(), 1000)}
	h.user, h.password = core.FirstRunCredentials()
	h.u = newUI(fa, core, opts)
	h.u.do = func(f func()) { h.queue <- f }
	h.u.bg = func(f func()) { f() }
	h.u.build()
	t.Cleanup(h.u.Close)
	h.drain()
	return h
}

// awaitUntil runs UI updates as they come until cond holds.
func (h *harness) awaitUntil(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	for h.drain(); !cond(); h.drain() {
		select {
		case f := <-h.queue:
			f()
		case <-deadline:
			h.t.Fatalf("no %s within 20 s", what)
		}
	}
}

// drain runs the queued UI updates, including those they queue.
func (h *harness) drain() {
	for {
		select {
		case f := <-h.queue:
			f()
		default:
			return
		}
	}
}

func (h *harness) markup() string { return test.RenderToMarkup(h.u.win.Canvas()) }

// browser is the user's browser in an OAuth authorization code flow with PKCE.
type browser struct {
	t        *testing.T
	origin   string
	client   *http.Client
	clientID string
	redirect string
	state    string
	waitURL  string // the waiting page after the password was accepted
}

func newBrowser(t *testing.T, origin string) *browser {
	return &browser{t: t, origin: origin, redirect: "http://127.0.0.1:9/callback", state: "st-" + rand.Text()[:8],
		client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// register registers a public client named "Notes app" through dynamic client registration.
// (A registered client that calls itself ChatGPT and returns to loopback is shown as
// unverified: oauthserver's display rules.)
func (b *browser) register() { b.registerNamed("Notes app") }

// registerNamed registers a public client of that name.
func (b *browser) registerNamed(name string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.origin+"/register", strings.NewReader(
		`{"client_name":"`+name+`","redirect_uris":["`+b.redirect+`"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, body := b.do(req)
	if resp.StatusCode != http.StatusCreated {
		b.t.Fatalf("POST /register: %d %s", resp.StatusCode, body)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(body), &reg); err != nil || reg.ClientID == "" {
		b.t.Fatalf("POST /register: no client_id in %s (%v)", body, err)
	}
	b.clientID = reg.ClientID
}

var (
	inputRE = regexp.MustCompile(`(?s)<input[^>]*>`)
	attrRE  = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// signIn opens the authorization URL, fills the login form with user and
// password and returns once the server says to wait for approval.
func (b *browser) signIn(user, password string) {
	b.t.Helper()
	resp, page := b.submitLogin(user, password)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/authorize/wait") {
		b.t.Fatalf("POST /authorize: want 303 to the waiting page, got %d %q %s", resp.StatusCode, loc, page)
	}
	b.waitURL = b.origin + loc
	if got := b.status(); got != "pending" {
		b.t.Fatalf("status before a decision: %q, want pending", got)
	}
}

// submitLogin opens the authorization URL and submits its login form with
// user and password, returning the answer to the form.
func (b *browser) submitLogin(user, password string) (*http.Response, string) {
	b.t.Helper()
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {b.clientID}, "redirect_uri": {b.redirect},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"state": {b.state}, "scope": {"mcp"}, "resource": {b.origin + "/mcp/files"},
	}
	req, _ := http.NewRequest("GET", b.origin+"/authorize?"+q.Encode(), nil)
	resp, page := b.do(req)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /authorize: %d %s", resp.StatusCode, page)
	}
	form := url.Values{}
	for _, in := range inputRE.FindAllString(page, -1) {
		attrs := map[string]string{}
		for _, m := range attrRE.FindAllStringSubmatch(in, -1) {
			attrs[m[1]] = m[2]
		}
		if attrs["name"] != "" {
			form.Set(attrs["name"], strings.ReplaceAll(attrs["value"], "&#43;", "+"))
		}
	}
	form.Set("username", user)
	form.Set("password", password)
	req, _ = http.NewRequest("POST", b.origin+"/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// status is what the waiting page's poll sees.
func (b *browser) status() string {
	b.t.Helper()
	req, _ := http.NewRequest("GET", strings.Replace(b.waitURL, "/authorize/wait", "/authorize/status", 1), nil)
	resp, body := b.do(req)
	var st struct{ Status string }
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		b.t.Fatalf("status: %d %s", resp.StatusCode, body)
	}
	return st.Status
}

// finish follows the waiting page once decided and returns where it sends the browser.
func (b *browser) finish() *url.URL {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.waitURL, nil)
	resp, body := b.do(req)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("waiting page after the decision: %d %s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), b.redirect+"?") {
		b.t.Fatalf("waiting page redirects to %q, want %s?...", resp.Header.Get("Location"), b.redirect)
	}
	if got := u.Query().Get("state"); got != b.state {
		b.t.Errorf("state in the redirect: %q, want %q", got, b.state)
	}
	return u
}

// pendingSignIn drives a real sign-in up to the approval and checks that the
// UI shows it in the Sign-ins tab, in the tray menu and as a notification.
func pendingSignIn(t *testing.T, h *harness) (*browser, string) {
	t.Helper()
	b := newBrowser(t, h.core.Status().LocalOrigin)
	b.register()
	user, pw := h.user, h.password
	if pw == "" {
		t.Fatal("no first-run password")
	}
	h.u.SelectTab(TabSignIns)
	test.AssertNotificationSent(t, signInNotification(user, "Notes app"), func() {
		b.signIn(user, pw)
		h.drain()
	})

	pending := h.core.Auth().PendingSignIns()
	if len(pending) != 1 {
		t.Fatalf("pending sign-ins: %d, want 1", len(pending))
	}
	id := pending[0].ID
	label := user + " · Notes app · 127.0.0.1 · " + pending[0].Time.Local().Format("15:04")
	if m := h.markup(); !strings.Contains(m, "Approve "+label) || !strings.Contains(m, "sends you back to 127.0.0.1") {
		t.Errorf("the Sign-ins tab does not show %q with the redirect host:\n%s", label, m)
	}
	if h.u.signIns.approve[id] == nil || h.u.signIns.deny[id] == nil {
		t.Fatalf("no Approve/Deny buttons for sign-in %s", id)
	}
	if got := h.u.tabs.Items[2].Text; got != "Sign-ins (1)" {
		t.Errorf("the sidebar says %q, want the count of waiting sign-ins", got)
	}
	if approve, deny := trayItem(h, "Approve "+label), trayItem(h, "Deny "+label); approve == nil || deny == nil || approve.ChildMenu != nil {
		t.Fatalf("the tray menu has no top-level Approve and Deny %q:\n%q", label, labels(h.u.trayMenu()))
	}
	return b, id
}

// trayItem is the tray menu's top-level item labelled label.
func trayItem(h *harness, label string) *fyne.MenuItem {
	for _, it := range h.u.trayMenu().Items {
		if it.Label == label {
			return it
		}
	}
	return nil
}

func TestApproveCompletesSignIn(t *testing.T) {
	h := newHarness(t)
	b, id := pendingSignIn(t, h)

	test.Tap(h.u.signIns.approve[id])
	h.drain()

	if got := b.status(); got != "approved" {
		t.Fatalf("status after Approve: %q, want approved", got)
	}
	to := b.finish()
	if to.Query().Get("code") == "" || to.Query().Get("error") != "" {
		t.Errorf("redirect after Approve: %s, want a code", to)
	}
	if len(h.core.Auth().PendingSignIns()) != 0 {
		t.Error("the sign-in is still pending")
	}
	if m := h.markup(); strings.Contains(m, "Approve admin ·") || !strings.Contains(m, "approved") {
		t.Errorf("the Sign-ins tab should list the sign-in as approved and no longer pending:\n%s", m)
	}
	if got := h.u.tabs.Items[2].Text; got != "Sign-ins" {
		t.Errorf("the sidebar still counts a sign-in: %q", got)
	}
}

func TestDenyGivesAccessDenied(t *testing.T) {
	h := newHarness(t)
	b, id := pendingSignIn(t, h)

	test.Tap(h.u.signIns.deny[id])
	h.drain()

	if got := b.status(); got != "denied" {
		t.Fatalf("status after Deny: %q, want denied", got)
	}
	to := b.finish()
	if got := to.Query().Get("error"); got != "access_denied" || to.Query().Get("code") != "" {
		t.Errorf("redirect after Deny: %s, want error=access_denied and no code", to)
	}
}

func TestTrayMenuApprove(t *testing.T) {
	h := newHarness(t)
	b, _ := pendingSignIn(t, h)

	var approve *fyne.MenuItem
	for _, it := range h.u.trayMenu().Items {
		if strings.HasPrefix(it.Label, "Approve admin · Notes app") {
			approve = it
		}
	}
	if approve == nil {
		t.Fatal("no Approve item in the tray menu")
	}
	approve.Action()
	h.drain()
	if to := b.finish(); to.Query().Get("code") == "" {
		t.Errorf("redirect after the tray's Approve: %s, want a code", to)
	}
}

func TestConnectCard(t *testing.T) {
	h := newHarness(t)
	h.u.SelectTab(TabConnect)
	h.drain()
	info, err := h.core.ConnectInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.MCPURL == "" || info.ClientID == "" || info.ClientSecret == "" {
		t.Fatalf("incomplete connect info: %+v", info)
	}

	m := h.markup()
	for _, want := range []string{info.AllServersURL, info.MCPURL, info.ClientID, "These URLs work on this computer only", "Set up ngrok in Settings", "Developer mode", "Add custom connector"} {
		if !strings.Contains(m, want) {
			t.Errorf("the card does not show %q", want)
		}
	}
	if strings.Contains(m, info.ClientSecret) {
		t.Error("the client secret is visible before Reveal")
	}
	test.Tap(h.u.connect.reveal)
	if !strings.Contains(h.markup(), info.ClientSecret) {
		t.Error("the client secret is not shown after Reveal")
	}
	test.Tap(h.u.connect.reveal)
	if strings.Contains(h.markup(), info.ClientSecret) {
		t.Error("the client secret is still shown after Hide")
	}

	for _, tc := range []struct {
		name   string
		button *widget.Button
		want   string
	}{
		{"MCP URL", h.u.connect.copyURL, info.AllServersURL},
		{"Client ID", h.u.connect.copyID, info.ClientID},
		{"Client Secret", h.u.connect.copySecret, info.ClientSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.fa.Clipboard().SetContent("")
			test.Tap(tc.button)
			if got := h.fa.Clipboard().Content(); got != tc.want {
				t.Errorf("clipboard after Copy %s: %q, want %q", tc.name, got, tc.want)
			}
		})
	}

	img := h.u.win.Canvas().Capture()
	if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 200 {
		t.Errorf("the window renders at %v", b)
	}
}

func TestCopyFirstPasswordAndMCPURL(t *testing.T) {
	h := newHarness(t)
	user, pw := h.user, h.password
	h.u.SelectTab(TabUsers)
	h.drain()
	m := h.markup()
	if !strings.Contains(m, pw) || !strings.Contains(m, user) {
		t.Errorf("the Users tab does not show the first user's password once")
	}
	for _, o := range test.LaidOutObjects(h.u.users.first) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Copy" {
			test.Tap(b)
		}
	}
	if got := h.fa.Clipboard().Content(); got != pw {
		t.Errorf("clipboard after copying the password: %q", got)
	}

	h.u.copyMCPURL()
	if got, want := h.fa.Clipboard().Content(), h.core.AllServersURL(); got != want {
		t.Errorf("clipboard after the tray's Copy MCP URL: %q, want %q", got, want)
	}
}

func TestStopAndStartFromHeader(t *testing.T) {
	h := newHarness(t)
	if got := h.u.stateLabel.Text; got != "Sharing (this computer only)" {
		t.Fatalf("state line: %q", got)
	}
	test.Tap(h.u.startStop)
	h.drain()
	if st := h.core.Status().State; st != app.StateStopped {
		t.Fatalf("state after Stop: %s", st)
	}
	if got := h.u.stateLabel.Text; got != "Stopped" || h.u.startStop.Text != "Start sharing" {
		t.Errorf("header after Stop: %q / %q", got, h.u.startStop.Text)
	}
	test.Tap(h.u.startStop)
	h.drain()
	if st := h.core.Status().State; st != app.StateSharing {
		t.Fatalf("state after Start: %s", st)
	}
}

func TestAddServerKeepsSecretsOutOfTheConfig(t *testing.T) {
	h := newHarness(t)
	f := h.u.servers.edit(nil)
	f.name.SetText("everything")
	f.command.SetText(`npx -y @modelcontextprotocol/server-everything "--title=My notes"`)
	f.addEnv("API_KEY", "sk-test-123", true, false)
	f.addEnv("MODE", "demo", false, false)
	f.submit(func() { t.Error("the form reopened: adding failed") })
	h.drain()

	list, err := h.core.Servers()
	if err != nil {
		t.Fatal(err)
	}
	var got *app.ServerConfig
	for _, s := range list {
		if s.Config.Name == "everything" {
			got = &s.Config
		}
	}
	if got == nil {
		t.Fatal("the server was not added")
	}
	if got.Kind != app.KindStdio || got.Command != "npx" || strings.Join(got.Args, "|") != "-y|@modelcontextprotocol/server-everything|--title=My notes" {
		t.Errorf("stored config: %+v", got)
	}
	if got.Env["MODE"] != "demo" || len(got.SecretEnv) != 1 || got.SecretEnv[0] != "API_KEY" || got.Env["API_KEY"] != "" {
		t.Errorf("env: %v, secret env: %v", got.Env, got.SecretEnv)
	}
	if v, err := h.core.Secrets().Get(context.Background(), secrets.EnvKey("everything", "API_KEY")); err != nil || v != "sk-test-123" {
		t.Errorf("secret store: %q, %v", v, err)
	}
	if !strings.Contains(test.RenderObjectToMarkup(h.u.servers.list), "everything") {
		t.Error("the Servers tab does not list the new server")
	}

	// Editing without retyping the secret keeps it.
	f = h.u.servers.edit(got)
	if want := `npx -y @modelcontextprotocol/server-everything '--title=My notes'`; f.command.Text != want {
		t.Errorf("the command line to edit: %q, want %q", f.command.Text, want)
	}
	f.submit(func() { t.Error("the form reopened: saving failed") })
	h.drain()
	if v, err := h.core.Secrets().Get(context.Background(), secrets.EnvKey("everything", "API_KEY")); err != nil || v != "sk-test-123" {
		t.Errorf("secret store after an edit: %q, %v", v, err)
	}
}

func TestSettingsSave(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	h := newHarness(t)
	h.u.SelectTab(TabSettings)
	h.drain()
	s := h.u.settings
	s.approval.SetSelected(approvalLabels[app.ApprovalOnce])
	if runtime.GOOS == "linux" {
		s.autostart.SetChecked(true)
	}
	s.token.SetText("ngrok-token-for-test")
	s.domain.SetText("me.ngrok.app")
	test.Tap(findButton(t, s.content, "Save"))
	h.drain()

	st := h.core.StoredSettings()
	if st.Approval != app.ApprovalOnce || st.NgrokDomain != "me.ngrok.app" {
		t.Errorf("saved settings: %+v", st)
	}
	// This run's command-line override (--approval ask) still wins, and is not saved.
	if eff := h.core.Settings(); eff.Approval != app.ApprovalAsk || st.Addr == "127.0.0.1:0" {
		t.Errorf("effective %+v, stored %+v: overrides leaked into the saved settings", eff, st)
	}
	if has, err := h.core.HasNgrokToken(context.Background()); !has || err != nil {
		t.Errorf("the ngrok token was not stored: %v %v", has, err)
	}
	if runtime.GOOS == "linux" {
		if _, err := os.Stat(filepath.Join(xdg, "autostart", "io.mcpshare.app.desktop")); err != nil {
			t.Errorf("the start-at-login entry was not written: %v", err)
		}
	}
	if !strings.Contains(s.status.Text, "restarts") {
		t.Errorf("after saving a new token while sharing: %q, want it to say a restart is needed", s.status.Text)
	}
	if s.token.Text != "" || s.token.PlaceHolder != "saved (type to replace)" {
		t.Errorf("token entry after saving: %q / %q", s.token.Text, s.token.PlaceHolder)
	}

	s.port.SetText("not a port")
	test.Tap(findButton(t, s.content, "Save"))
	if h.core.Settings().Addr == "not a port" {
		t.Error("an invalid port was saved")
	}
}

func findButton(t *testing.T, o fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	for _, x := range test.LaidOutObjects(o) {
		if b, ok := x.(*widget.Button); ok && b.Text == text {
			return b
		}
	}
	t.Fatalf("no button %q", text)
	return nil
}
