package ui

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/doctor"
)

func TestTraySaysWhichServersWaitForASignIn(t *testing.T) {
	base := TrayMenu(app.Status{State: app.StateSharing}, nil, TrayActions{})
	if got := WithSignIns(base, nil, nil); got != base {
		t.Fatal("a menu without servers to sign in to changed")
	}
	var asked []string
	m := WithSignIns(base, []string{"linear", "notion"}, func(name string) { asked = append(asked, name) })
	got := labels(m)
	want := []string{"(" + base.Items[0].Label + ")", "---", "(2 servers wait for you to sign in)", "Sign in to linear", "Sign in to notion", "---"}
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("tray menu %q, want it to begin with %q", got, want)
		}
	}
	if len(m.Items) != len(base.Items)+len(want)-2 {
		t.Fatalf("tray menu %q lost items of %q", got, labels(base))
	}
	m.Items[4].Action()
	if len(asked) != 1 || asked[0] != "notion" {
		t.Fatalf("Sign in to notion asked for %v", asked)
	}
}

// browserApp is the Fyne app whose OpenURL is the owner's browser: it
// signs in at the upstream's login form and follows the redirect back.
type browserApp struct {
	fyne.App
	open func(u *url.URL) error
}

func (b browserApp) OpenURL(u *url.URL) error { return b.open(u) }

// signInAt plays the browser at an MCP Share's login page as user.
func signInAt(t *testing.T, authURL, user, password string) error {
	noFollow := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(authURL)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{}
	for _, in := range inputRE.FindAllString(string(page), -1) {
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
	u, _ := url.Parse(authURL)
	resp, err = noFollow.PostForm(u.Scheme+"://"+u.Host+"/authorize", form)
	if err != nil {
		return err
	}
	resp.Body.Close()
	resp, err = http.Get(resp.Header.Get("Location")) // back to MCP Share's callback
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Signed in.") {
		return fmt.Errorf("the callback said %d %s", resp.StatusCode, body)
	}
	return nil
}

func TestServerCardSignsInToARemoteServer(t *testing.T) {
	upstream, err := app.Open(app.Options{ConfigDir: t.TempDir(), Secrets: app.SecretsFile, FilesRoot: filepath.Join(t.TempDir(), "f"),
		Addr: "127.0.0.1:0", Approval: app.ApprovalPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { upstream.Close() })
	if err := upstream.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	upUser, upPassword := upstream.FirstRunCredentials()

	h := newHarness(t)
	h.u.fa = browserApp{App: h.fa, open: func(u *url.URL) error { return signInAt(t, u.String(), upUser, upPassword) }}
	cfg := app.ServerConfig{Name: "up", Kind: app.KindRemote, Enabled: true, URL: upstream.Status().LocalOrigin + "/mcp/files", OAuth: true}
	if err := h.core.AddServer(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	h.awaitUntil("the sign-in prompt on the card", func() bool {
		h.u.servers.refresh()
		return strings.Contains(h.markup(), "Needs you to sign in")
	})
	if trayItem(h, "Sign in to up") == nil {
		t.Fatalf("the tray does not offer the sign-in: %q", labels(h.u.trayMenu()))
	}
	test.Tap(findButton(t, h.u.servers.content, "Sign in"))
	h.awaitUntil("the signed-in card", func() bool {
		return strings.Contains(h.markup(), "Signed in with OAuth")
	})
	if trayItem(h, "Sign in to up") != nil {
		t.Fatal("the tray still offers the sign-in")
	}
	sis, err := h.core.RemoteSignIns(context.Background())
	if err != nil || len(sis) != 1 || !sis[0].SignedIn {
		t.Fatalf("RemoteSignIns after the sign-in: %+v, %v", sis, err)
	}
}

func TestCheckConnectionShowsEachStep(t *testing.T) {
	// The owner's own proxy: it passes the Host to MCP Share's local
	// address, which is known once the harness shares.
	var target atomic.Pointer[url.URL]
	front := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target.Load())
		r.Out.Host = r.In.Host
	}})
	defer front.Close()
	_, port, _ := net.SplitHostPort(front.Listener.Addr().String())
	public := "http://localhost:" + port
	h := newFirstRunHarness(t, Options{}, func(o *app.Options) { o.Tunnel, o.PublicURL = app.TunnelCustom, public })
	h.u.showMain(TabConnect)
	local, _ := url.Parse(h.core.Status().LocalOrigin)
	target.Store(local)
	h.awaitUntil("the public URL", func() bool { return h.core.Status().PublicOrigin == public })

	test.Tap(h.u.connect.check.button)
	h.awaitUntil("the check's steps", func() bool { return len(h.u.connect.check.box.Objects) > 0 })
	m := h.markup()
	// The "public" URL is a proxy on this computer: every step works, and
	// the card says that ChatGPT cannot reach it all the same.
	for _, want := range []string{"✓ HEAD of the protected resource metadata", "✓ The sign-in page opens", "✓ The test client is removed",
		"! ChatGPT and Claude can reach this URL: " + public + " is on this computer", "Every step works from this computer, but ChatGPT and Claude cannot reach"} {
		if !strings.Contains(m, want) {
			t.Errorf("the Connect card lacks %q:\n%s", want, m)
		}
	}

	// The proxy goes down: the card names the first step and what to do.
	front.Close()
	test.Tap(h.u.connect.check.button)
	h.awaitUntil("the failed check", func() bool { return strings.Contains(h.markup(), "✗") })
	if m := h.markup(); !strings.Contains(m, "✗ HEAD of the protected resource metadata") || !strings.Contains(m, "Nothing answers at "+public) {
		t.Errorf("the Connect card after the proxy went down:\n%s", m)
	}
}

func TestReportLinesSayTheFirstFailure(t *testing.T) {
	rep := doctor.Report{URL: "https://x.example/mcp", Steps: []doctor.Step{
		{ID: doctor.StepPRMHead, Title: "HEAD", Status: doctor.Passed},
		{ID: doctor.StepAS, Title: "The metadata", Status: doctor.Failed, Detail: "issuer is wrong", Advice: "Fix it."},
		{ID: doctor.StepRegister, Title: "Register", Status: doctor.Skipped, Detail: "no metadata"},
	}}
	lines := ReportLines(rep)
	if len(lines) != 4 || lines[1].Text != "✗ The metadata: issuer is wrong. Fix it." || !strings.Contains(lines[3].Text, "The metadata") {
		t.Fatalf("%+v", lines)
	}
}
