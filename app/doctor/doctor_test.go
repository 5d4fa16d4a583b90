package doctor_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/childproc"
	"github.com/mcpshare/mcpshare/app/doctor"
)

// The doctor against a real MCP Share whose public URL is
// https://example.com (a custom tunnel), reached through reverse proxies
// built here: a healthy one, and broken ones as people have them.

func TestMain(m *testing.M) {
	childproc.RunSupervisorIfAsked()
	os.Exit(m.Run())
}

const publicOrigin = "https://example.com" // httptest's certificate is for example.com

// share starts an App that shares with the custom public URL.
func share(t *testing.T) *app.App {
	t.Helper()
	a, err := app.Open(app.Options{
		ConfigDir: t.TempDir(), Secrets: app.SecretsFile, FilesRoot: filepath.Join(t.TempDir(), "share"),
		Addr: "127.0.0.1:0", Approval: app.ApprovalPassword, Tunnel: app.TunnelCustom, PublicURL: publicOrigin,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	up := make(chan struct{}, 1)
	cancel := a.Subscribe(func(app.Event) {
		select {
		case up <- struct{}{}:
		default:
		}
	})
	defer cancel()
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for a.Status().PublicOrigin == "" {
		select {
		case <-up:
		case <-deadline:
			t.Fatalf("the public origin did not come up: %+v", a.Status())
		}
	}
	return a
}

// proxy is a TLS reverse proxy to the app's local listener; rewrite may
// change what it forwards, modify what comes back.
func proxy(t *testing.T, a *app.App, rewrite func(*httputil.ProxyRequest), modify func(*http.Response) error) *httptest.Server {
	t.Helper()
	local, _ := url.Parse(a.Status().LocalOrigin)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(local)
			r.Out.Host = r.In.Host // a proxy that passes the Host, as it should
			if rewrite != nil {
				rewrite(r)
			}
		},
		ModifyResponse: modify,
	}
	srv := httptest.NewTLSServer(rp)
	t.Cleanup(srv.Close)
	return srv
}

// via is the doctor's client: every connection goes to addr (the public
// origin's "DNS"), TLS checked with roots.
func via(addr string, roots *tls.Config) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: roots,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func tlsOf(srv *httptest.Server) *tls.Config {
	return srv.Client().Transport.(*http.Transport).TLSClientConfig
}

func check(t *testing.T, a *app.App, hc *http.Client) doctor.Report {
	t.Helper()
	rep, err := a.CheckConnection(context.Background(), hc)
	if err != nil {
		t.Fatalf("CheckConnection: %v", err)
	}
	return rep
}

func describe(rep doctor.Report) string {
	var b strings.Builder
	for _, s := range rep.Steps {
		b.WriteString(string(s.Status) + " " + s.ID + ": " + s.Detail + " " + s.Advice + "\n")
	}
	return b.String()
}

func TestHealthyShareHasEveryStepOK(t *testing.T) {
	a := share(t)
	srv := proxy(t, a, nil, nil)
	rep := check(t, a, via(srv.Listener.Addr().String(), tlsOf(srv)))
	if !rep.OK() {
		t.Fatalf("a healthy share:\n%s", describe(rep))
	}
	want := []string{doctor.StepPRMHead, doctor.StepPRMGet, doctor.StepASHead, doctor.StepASGet, doctor.StepOIDCHead, doctor.StepOIDCGet,
		doctor.StepChallenge, doctor.StepPRM, doctor.StepAS, doctor.StepRegister, doctor.StepAuthorize, doctor.StepCleanup, doctor.StepPublic}
	if len(rep.Steps) != len(want) {
		t.Fatalf("steps:\n%s", describe(rep))
	}
	for i, s := range rep.Steps {
		if s.ID != want[i] || s.Status != doctor.Passed {
			t.Fatalf("step %d is %s %s, want %s passed", i, s.ID, s.Status, want[i])
		}
	}
	// The test client is gone again.
	clients, err := a.Auth().Clients()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		if c.Name == "MCP Share connection check" {
			t.Fatalf("the test client %s is still registered", c.ID)
		}
	}
}

func TestUnreachablePublicURLFailsAtTheFirstRequest(t *testing.T) {
	a := share(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now: the tunnel is down
	rep := check(t, a, via(closed, nil))
	first, failed := rep.Failure()
	if !failed || first.ID != doctor.StepPRMHead || !strings.Contains(first.Advice, "Nothing answers at "+publicOrigin) {
		t.Fatalf("first failure %+v:\n%s", first, describe(rep))
	}
	if rep.OK() {
		t.Fatal("an unreachable URL reported OK")
	}
	// The steps after it are skipped, not failed the same way again.
	for _, st := range rep.Steps[1:] {
		if st.Status == doctor.Failed {
			t.Errorf("step %s failed too: %s", st.ID, st.Detail)
		}
	}
}

func TestProxyThatRewritesHostIsNamed(t *testing.T) {
	a := share(t)
	for name, host := range map[string]string{
		"to the local address": strings.TrimPrefix(a.Status().LocalOrigin, "http://"),
		"to a name of its own": "backend.internal:8765",
	} {
		t.Run(name, func(t *testing.T) {
			srv := proxy(t, a, func(r *httputil.ProxyRequest) { r.Out.Host = host }, nil)
			rep := check(t, a, via(srv.Listener.Addr().String(), tlsOf(srv)))
			first, failed := rep.Failure()
			if !failed || !strings.Contains(first.Advice, "rewrites the Host header") {
				t.Fatalf("first failure %+v:\n%s", first, describe(rep))
			}
			wantStep := doctor.StepChallenge // MCP Share answers, naming its local address
			if name == "to a name of its own" {
				wantStep = doctor.StepPRMHead // MCP Share refuses an unknown Host: 421
			}
			if first.ID != wantStep {
				t.Fatalf("first failure at %s, want %s:\n%s", first.ID, wantStep, describe(rep))
			}
		})
	}
}

func TestMetadataWithTheWrongIssuerIsNamed(t *testing.T) {
	a := share(t)
	srv := proxy(t, a, nil, func(resp *http.Response) error {
		if resp.Request.URL.Path != "/.well-known/oauth-authorization-server" || resp.Request.Method != http.MethodGet {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		// A trailing slash: one byte, and ChatGPT refuses it.
		body = bytes.Replace(body, []byte(`"issuer":"`+publicOrigin+`"`), []byte(`"issuer":"`+publicOrigin+`/"`), 1)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	})
	rep := check(t, a, via(srv.Listener.Addr().String(), tlsOf(srv)))
	first, failed := rep.Failure()
	if !failed || first.ID != doctor.StepAS || !strings.Contains(first.Detail, `issuer is "`+publicOrigin+`/"`) {
		t.Fatalf("first failure %+v:\n%s", first, describe(rep))
	}
}

func TestNoPublicURLIsSaid(t *testing.T) {
	a, err := app.Open(app.Options{ConfigDir: t.TempDir(), Secrets: app.SecretsFile, Addr: "127.0.0.1:0", Approval: app.ApprovalPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.CheckConnection(context.Background(), nil); err != app.ErrNoPublicURL {
		t.Fatalf("CheckConnection without a public URL: %v", err)
	}
}

func TestURLThatIsNotAnMCPShareURL(t *testing.T) {
	rep := doctor.Check(context.Background(), doctor.Options{URL: "https://example.com/"})
	if first, failed := rep.Failure(); !failed || !strings.Contains(first.Detail, "not an MCP Share URL") {
		t.Fatalf("%+v", rep)
	}
}

// TestRegistrationNamingAnotherOriginIsNotFollowed: the registration's
// answer names where to delete the test client (RFC 7592); on another
// origin than the public one the doctor does not send its DELETE (and the
// registration's token) there, and removes the client in MCP Share
// instead.
func TestRegistrationNamingAnotherOriginIsNotFollowed(t *testing.T) {
	a := share(t)
	elsewhere := "https://elsewhere.example.com"
	var (
		mu        sync.Mutex
		offOrigin []string
	)
	srv := proxy(t, a, func(r *httputil.ProxyRequest) {
		if r.In.Host != "example.com" {
			mu.Lock()
			offOrigin = append(offOrigin, r.In.Method+" "+r.In.Host+r.In.URL.Path)
			mu.Unlock()
		}
	}, func(resp *http.Response) error {
		if resp.Request.Method != http.MethodPost || resp.Request.URL.Path != "/register" {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		var reg map[string]any
		if err := json.Unmarshal(body, &reg); err != nil {
			return err
		}
		reg["registration_client_uri"] = elsewhere + "/register/" + reg["client_id"].(string)
		reg["registration_access_token"] = "a token of the proxy's"
		if body, err = json.Marshal(reg); err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	})
	rep := check(t, a, via(srv.Listener.Addr().String(), tlsOf(srv)))
	mu.Lock()
	defer mu.Unlock()
	if len(offOrigin) != 0 {
		t.Fatalf("the doctor followed the registration's answer off the public origin: %v", offOrigin)
	}
	if !rep.OK() {
		t.Fatalf("the check:\n%s", describe(rep))
	}
	i := slices.IndexFunc(rep.Steps, func(s doctor.Step) bool { return s.ID == doctor.StepCleanup })
	if i < 0 || rep.Steps[i].Detail != "revoked in MCP Share" {
		t.Fatalf("the cleanup:\n%s", describe(rep))
	}
}
