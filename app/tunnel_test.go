package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/oauthserver"
	"github.com/mcpshare/mcpshare/tunnel"
	"github.com/mcpshare/mcpshare/tunnel/ngroktest"
)

// These tests run a real App whose ngrok agent talks to a fake ngrok service on loopback
// (tunnel/ngroktest): requests carried by the fake reach the app's handler through the
// agent's listener with the public Host, as they would from ChatGPT or Claude.

const (
	tunnelDomain   = "test.ngrok.app"
	tunnelOrigin   = "https://" + tunnelDomain
	tunnelToken    = "2test_authtoken_for_the_fake"
	searchMarker   = "tunnelmarker"
	searchFileName = "tunnel-notes.txt"
	chatgptRedir   = "https://chatgpt.com/connector/oauth/xyz"
)

// testApp is an opened App with its event log.
type testApp struct {
	*app.App
	user, password string

	mu     sync.Mutex
	events []app.Event
	wake   chan struct{}
}

// openTestApp opens an App on a fresh config directory with the file secret store, the
// password approval policy and a port of its own; opts adds the tunnel settings.
func openTestApp(t *testing.T, opts app.Options) *testApp {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, searchFileName), []byte("Notes carried through the "+searchMarker+" test.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.ConfigDir = t.TempDir()
	opts.Secrets = app.SecretsFile
	opts.FilesRoot = root
	opts.Approval = app.ApprovalPassword
	opts.Addr = "127.0.0.1:0"
	a, err := app.Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ta := &testApp{App: a, wake: make(chan struct{}, 1)}
	ta.user, ta.password = a.FirstRunCredentials()
	if ta.user == "" || ta.password == "" {
		t.Fatal("no first-run credentials")
	}
	cancel := a.Subscribe(func(e app.Event) {
		ta.mu.Lock()
		ta.events = append(ta.events, e)
		ta.mu.Unlock()
		select {
		case ta.wake <- struct{}{}:
		default:
		}
	})
	t.Cleanup(func() {
		cancel()
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ta
}

// waitStatus waits (driven by the app's events) until cond holds for Status().
func (ta *testApp) waitStatus(t *testing.T, what string, cond func(app.Status) bool) app.Status {
	t.Helper()
	deadline := time.NewTimer(40 * time.Second)
	defer deadline.Stop()
	for {
		st := ta.Status()
		if cond(st) {
			return st
		}
		select {
		case <-ta.wake:
		case <-deadline.C:
			t.Fatalf("waiting for %s: status %+v", what, st)
		}
	}
}

func (ta *testApp) eventLog() []app.Event {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return append([]app.Event(nil), ta.events...)
}

// start starts sharing and waits until the public origin is up.
func (ta *testApp) start(t *testing.T) app.Status {
	t.Helper()
	begin := time.Now()
	if err := ta.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	st := ta.waitStatus(t, "the public origin", func(s app.Status) bool {
		return s.PublicOrigin != "" || s.Tunnel == tunnel.StateFailed
	})
	if st.PublicOrigin == "" {
		t.Fatalf("the public origin did not come up: %+v", st)
	}
	t.Logf("sharing on %s, public %s after %s", st.LocalOrigin, st.PublicOrigin, time.Since(begin).Round(time.Millisecond))
	return st
}

// viaLocal is a client that sends every request, whatever its URL, as plain HTTP to the local
// listener at addr, keeping the URL's host as Host: a reverse proxy in front of the app.
func viaLocal(addr string) *http.Client {
	base := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}}
	return &http.Client{Timeout: 30 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme = "http"
		return base.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// do sends a request and returns the status, headers and body.
func do(t *testing.T, hc *http.Client, method, u, host string, hdr http.Header, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, u, err)
	}
	return resp.StatusCode, resp.Header, b
}

func getJSON(t *testing.T, hc *http.Client, u string, into any) {
	t.Helper()
	code, _, body := do(t, hc, http.MethodGet, u, "", nil, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, code, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s: %v in %s", u, err, body)
	}
}

// checkURL fails unless u is on origin, and, for a public origin, names no local address.
func checkURL(t *testing.T, origin, what, u string) {
	t.Helper()
	if u != origin && !strings.HasPrefix(u, origin+"/") {
		t.Errorf("%s = %q: not on the origin %s", what, u, origin)
	}
	if !strings.Contains(origin, "127.0.0.1") {
		for _, local := range []string{"127.0.0.1", "localhost", "[::1]"} {
			if strings.Contains(u, local) {
				t.Errorf("%s = %q names the local listener", what, u)
			}
		}
	}
}

// checkJSONURLs applies checkURL to every string in a JSON document that looks like a URL.
func checkJSONURLs(t *testing.T, origin, what string, doc []byte) int {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: %v in %s", what, err, doc)
	}
	n := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case string:
			if strings.Contains(v, "://") {
				n++
				checkURL(t, origin, what+path, v)
			}
		}
	}
	walk("", v)
	return n
}

type asMetadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	RegistrationEndpoint  string `json:"registration_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
}

type prMetadata struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers"`
}

var resourceMetadataRe = regexp.MustCompile(`resource_metadata="([^"]*)"`)

// checkAdvertised fetches everything that advertises a URL, as a client on origin sees it
// through hc, and checks that each URL is on origin.
func checkAdvertised(t *testing.T, hc *http.Client, origin string) {
	t.Helper()
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		code, _, body := do(t, hc, http.MethodGet, origin+p, "", nil, "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		var md asMetadata
		json.Unmarshal(body, &md)
		if md.Issuer != origin {
			t.Errorf("%s issuer = %q; want %q", p, md.Issuer, origin)
		}
		for what, want := range map[string]string{
			md.AuthorizationEndpoint: "/authorize", md.TokenEndpoint: "/token",
			md.RegistrationEndpoint: "/register", md.RevocationEndpoint: "/revoke",
		} {
			if what != origin+want {
				t.Errorf("%s: endpoint %q; want %q", p, what, origin+want)
			}
		}
		if n := checkJSONURLs(t, origin, p, body); n < 5 {
			t.Errorf("%s: only %d URLs", p, n)
		}
	}
	resource := origin + "/mcp/files"
	// The bare document is that of the all-servers endpoint /mcp.
	for p, resource := range map[string]string{"/.well-known/oauth-protected-resource/mcp/files": resource, "/.well-known/oauth-protected-resource": origin + "/mcp"} {
		code, _, body := do(t, hc, http.MethodGet, origin+p, "", nil, "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		var prm prMetadata
		json.Unmarshal(body, &prm)
		if prm.Resource != resource {
			t.Errorf("%s resource = %q; want %q", p, prm.Resource, resource)
		}
		if len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != origin {
			t.Errorf("%s authorization_servers = %q; want [%q]", p, prm.AuthorizationServers, origin)
		}
		checkJSONURLs(t, origin, p, body)
	}
	// The 401 challenge of an anonymous initialize.
	code, hdr, body := do(t, hc, http.MethodPost, resource, "", http.Header{
		"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"},
	}, initializeBody)
	if code != http.StatusUnauthorized {
		t.Fatalf("anonymous POST %s: %d %s", resource, code, body)
	}
	m := resourceMetadataRe.FindStringSubmatch(hdr.Get("WWW-Authenticate"))
	if m == nil {
		t.Fatalf("WWW-Authenticate %q has no resource_metadata", hdr.Get("WWW-Authenticate"))
	}
	if want := origin + "/.well-known/oauth-protected-resource/mcp/files"; m[1] != want {
		t.Errorf("resource_metadata = %q; want %q", m[1], want)
	}
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`

// oauthClient is how a flow authenticates at /token: a registered public client (empty
// secret, registered by the flow when ID is empty) or the pre-registered one.
type oauthClient struct {
	ID, Secret, Redirect string
}

// flow is one authorization code flow with PKCE S256 for origin's files resource, as
// golang.org/x/oauth2 runs it, through hc.
type flow struct {
	hc       *http.Client
	origin   string
	resource string
	conf     *oauth2.Config
	verifier string
	state    string
}

// authorize runs a flow to its token, signing in as the app's first user with the login form.
// It checks every URL the flow shows on the way.
func authorize(t *testing.T, ta *testApp, hc *http.Client, origin string, cl oauthClient) *oauth2.Token {
	t.Helper()
	f := newFlow(t, hc, origin, cl)
	code, loc := f.signIn(t, ta.user, ta.password)
	if code != http.StatusFound && code != http.StatusSeeOther {
		t.Fatalf("login: %d, Location %q", code, loc)
	}
	return f.finish(t, loc)
}

// newFlow discovers the authorization server from the PRM and registers a client if cl has
// no ID.
func newFlow(t *testing.T, hc *http.Client, origin string, cl oauthClient) *flow {
	t.Helper()
	f := &flow{hc: hc, origin: origin, resource: origin + "/mcp/files"}
	var prm prMetadata
	getJSON(t, hc, origin+"/.well-known/oauth-protected-resource/mcp/files", &prm)
	if len(prm.AuthorizationServers) == 0 {
		t.Fatal("PRM names no authorization server")
	}
	var md asMetadata
	getJSON(t, hc, prm.AuthorizationServers[0]+"/.well-known/oauth-authorization-server", &md)

	style := oauth2.AuthStyleInHeader
	if cl.ID == "" {
		cl.Redirect = "http://127.0.0.1:9/callback" // a loopback redirect the browser would follow
		reg, _ := json.Marshal(map[string]any{
			"redirect_uris": []string{cl.Redirect}, "token_endpoint_auth_method": "none",
			"client_name": "tunnel test", "grant_types": []string{"authorization_code", "refresh_token"},
			"response_types": []string{"code"},
		})
		code, _, body := do(t, hc, http.MethodPost, md.RegistrationEndpoint, "", http.Header{"Content-Type": {"application/json"}}, string(reg))
		if code != http.StatusCreated {
			t.Fatalf("register: %d %s", code, body)
		}
		var got struct {
			ClientID string `json:"client_id"`
		}
		json.Unmarshal(body, &got)
		cl.ID, style = got.ClientID, oauth2.AuthStyleInParams
	}
	f.conf = &oauth2.Config{
		ClientID: cl.ID, ClientSecret: cl.Secret, RedirectURL: cl.Redirect, Scopes: []string{"mcp"},
		Endpoint: oauth2.Endpoint{AuthURL: md.AuthorizationEndpoint, TokenURL: md.TokenEndpoint, AuthStyle: style},
	}
	f.verifier = oauth2.GenerateVerifier()
	f.state = randomString(t)
	return f
}

// signIn opens the login page and posts its form; it returns the answer's status and Location.
func (f *flow) signIn(t *testing.T, user, password string) (int, string) {
	t.Helper()
	authURL := f.conf.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("resource", f.resource))
	noFollow := *f.hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	code, _, page := do(t, &noFollow, http.MethodGet, authURL, "", nil, "")
	if code != http.StatusOK {
		t.Fatalf("GET /authorize: %d %s", code, page)
	}
	action, form := loginForm(t, page)
	actionURL, err := url.Parse(authURL)
	if err == nil {
		actionURL, err = actionURL.Parse(action)
	}
	if err != nil {
		t.Fatalf("form action %q: %v", action, err)
	}
	checkURL(t, f.origin, "login form action", actionURL.String())
	code, hdr, _ := do(t, &noFollow, http.MethodPost, actionURL.String(), "", http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"},
	}, form(user, password).Encode())
	return code, hdr.Get("Location")
}

// finish checks the redirect back to the client and exchanges its code.
func (f *flow) finish(t *testing.T, location string) *oauth2.Token {
	t.Helper()
	loc, err := url.Parse(location)
	if err != nil || !strings.HasPrefix(loc.String(), f.conf.RedirectURL+"?") {
		t.Fatalf("login redirect %q; want to %s", location, f.conf.RedirectURL)
	}
	q := loc.Query()
	if q.Get("state") != f.state {
		t.Errorf("redirect state = %q; want %q", q.Get("state"), f.state)
	}
	if q.Get("iss") != f.origin {
		t.Errorf("redirect iss = %q; want %q", q.Get("iss"), f.origin)
	}
	checkURL(t, f.origin, "redirect iss", q.Get("iss"))
	if q.Get("code") == "" {
		t.Fatalf("redirect to %s has no code (error %q)", f.conf.RedirectURL, q.Get("error"))
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, f.hc)
	tok, err := f.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.verifier), oauth2.SetAuthURLParam("resource", f.resource))
	if err != nil {
		t.Fatalf("token exchange: %v", err)
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.Type(), "Bearer") {
		t.Fatalf("no bearer access token (type %q)", tok.Type())
	}
	return tok
}

var (
	formRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRe = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`(?is)([a-z-]+)\s*=\s*"([^"]*)"`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// loginForm finds the page's form with a password input and returns its action and a function
// filling it: hidden inputs as given, the password input with the password and the other
// text input with the user name.
func loginForm(t *testing.T, page []byte) (string, func(user, password string) url.Values) {
	t.Helper()
	for _, f := range formRe.FindAllStringSubmatch(string(page), -1) {
		fa := attrs(f[1])
		if m := strings.ToLower(fa["method"]); m != "" && m != "post" {
			continue
		}
		var inputs []map[string]string
		hasPassword := false
		for _, in := range inputRe.FindAllStringSubmatch(f[2], -1) {
			a := attrs(in[1])
			inputs = append(inputs, a)
			hasPassword = hasPassword || strings.EqualFold(a["type"], "password")
		}
		if !hasPassword {
			continue
		}
		return fa["action"], func(user, password string) url.Values {
			v := url.Values{}
			for _, a := range inputs {
				if a["name"] == "" {
					continue
				}
				switch strings.ToLower(a["type"]) {
				case "password":
					v.Set(a["name"], password)
				case "text", "email", "":
					v.Set(a["name"], user)
				default:
					v.Set(a["name"], a["value"])
				}
			}
			return v
		}
	}
	t.Fatalf("no login form with a password field in:\n%s", page)
	return "", nil
}

func randomString(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// callSearch calls the built-in server's search tool at resource with tok, through base.
func callSearch(t *testing.T, base http.RoundTripper, resource string, tok *oauth2.Token) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: base}}
	client := mcp.NewClient(&mcp.Implementation{Name: "tunnel-test", Version: "0"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: resource, HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("MCP connect to %s: %v", resource, err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": searchMarker}})
	if err != nil {
		t.Fatalf("tools/call search: %v", err)
	}
	out, _ := json.Marshal(res)
	if res.IsError || !bytes.Contains(out, []byte(searchFileName)) {
		t.Fatalf("search result does not name %s: %s", searchFileName, out)
	}
}

// refusedToken checks that tok is refused at resource with 401 invalid_token.
func refusedToken(t *testing.T, hc *http.Client, resource string, tok *oauth2.Token) {
	t.Helper()
	code, hdr, body := do(t, hc, http.MethodPost, resource, "", http.Header{
		"Authorization": {"Bearer " + tok.AccessToken}, "Content-Type": {"application/json"},
		"Accept": {"application/json, text/event-stream"},
	}, initializeBody)
	wa := hdr.Get("WWW-Authenticate")
	if code != http.StatusUnauthorized || !strings.Contains(wa, `error="invalid_token"`) {
		t.Errorf("POST %s with a token of the other origin: %d %q %s; want 401 invalid_token", resource, code, wa, body)
	}
}

// misdirected checks that a request with host reaches hc's listener and gets 421.
func misdirected(t *testing.T, hc *http.Client, u, host string) {
	t.Helper()
	code, _, body := do(t, hc, http.MethodGet, u, host, nil, "")
	if code != http.StatusMisdirectedRequest {
		t.Errorf("GET %s with Host %q: %d %s; want 421", u, host, code, body)
	}
}

func TestTunnelNgrok(t *testing.T) {
	svc := ngroktest.Start(t, ngroktest.WithAuthtoken(tunnelToken))
	t.Setenv("NGROK_AUTHTOKEN", tunnelToken)
	ta := openTestApp(t, app.Options{
		Tunnel: app.TunnelNgrok, NgrokDomain: tunnelDomain,
		NgrokConnectURL: svc.ConnectURL(), NgrokConnectCAs: svc.CAs(),
	})
	st := ta.start(t)
	if st.PublicOrigin != tunnelOrigin {
		t.Fatalf("PublicOrigin = %q; want %q", st.PublicOrigin, tunnelOrigin)
	}
	if svc.Authtoken() != tunnelToken {
		t.Error("the agent did not present NGROK_AUTHTOKEN")
	}
	local := st.LocalOrigin
	public := svc.HTTPClient()
	direct := &http.Client{Timeout: 30 * time.Second}

	t.Run("requests arrive through the tunnel listener", func(t *testing.T) {
		// A sign-in through the tunnel is from the visitor's address, not 127.0.0.1: the
		// handler runs on the agent's listener. Seen in the approval queue (policy ask).
		ta.Auth().SetPolicy(oauthserver.PolicyAsk)
		defer ta.Auth().SetPolicy(oauthserver.PolicyPassword)
		f := newFlow(t, public, tunnelOrigin, oauthClient{})
		code, loc := f.signIn(t, ta.user, ta.password)
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/authorize/wait?") {
			t.Fatalf("login under policy ask: %d %q; want the waiting page", code, loc)
		}
		pending := ta.Auth().PendingSignIns()
		if len(pending) != 1 {
			t.Fatalf("pending sign-ins: %+v", pending)
		}
		visitor, _, _ := net.SplitHostPort(ngroktest.ClientAddr)
		if p := pending[0]; p.RemoteAddr != visitor || p.Resource != tunnelOrigin+"/mcp/files" {
			t.Errorf("pending sign-in from %q for %q; want %q for %q", p.RemoteAddr, p.Resource, visitor, tunnelOrigin+"/mcp/files")
		}
		if err := ta.Auth().Decide(pending[0].ID, false); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("advertised URLs name only the public origin", func(t *testing.T) {
		checkAdvertised(t, public, tunnelOrigin)
	})

	var publicTok, localTok *oauth2.Token
	t.Run("OAuth flow and tools/call through the tunnel", func(t *testing.T) {
		begin := time.Now()
		publicTok = authorize(t, ta, public, tunnelOrigin, oauthClient{})
		callSearch(t, svc.Transport(), tunnelOrigin+"/mcp/files", publicTok)
		t.Logf("DCR, sign-in, token and tools/call through the tunnel in %s", time.Since(begin).Round(time.Millisecond))
	})

	t.Run("tokens do not cross origins", func(t *testing.T) {
		if publicTok == nil {
			t.Skip("no token from the tunnel flow")
		}
		creds, err := ta.ClientCredentials(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		localTok = authorize(t, ta, direct, local, oauthClient{ID: creds.ClientID, Secret: creds.ClientSecret, Redirect: chatgptRedir})
		callSearch(t, http.DefaultTransport, local+"/mcp/files", localTok)
		refusedToken(t, public, tunnelOrigin+"/mcp/files", localTok)
		refusedToken(t, direct, local+"/mcp/files", publicTok)

		// Nor can the public origin's authorization server be asked for the local resource:
		// the refusal goes back to the client, with the public issuer.
		f := newFlow(t, public, tunnelOrigin, oauthClient{})
		authURL := f.conf.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("resource", local+"/mcp/files"))
		noFollow := *public
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		code, hdr, body := do(t, &noFollow, http.MethodGet, authURL, "", nil, "")
		loc, _ := url.Parse(hdr.Get("Location"))
		if code != http.StatusFound || loc == nil || loc.Query().Get("error") != "invalid_target" || loc.Query().Get("iss") != tunnelOrigin {
			t.Errorf("authorize on the public origin for the local resource: %d %q %s; want a redirect with invalid_target and iss %s", code, hdr.Get("Location"), body, tunnelOrigin)
		}
	})

	t.Run("a foreign Host gets 421", func(t *testing.T) {
		for _, p := range []string{"/.well-known/oauth-authorization-server", "/authorize", "/mcp/files"} {
			misdirected(t, direct, local+p, "evil.example")
		}
		// The public Host is served on either listener while the tunnel is up.
		code, _, body := do(t, direct, http.MethodGet, local+"/.well-known/oauth-authorization-server", tunnelDomain, nil, "")
		if code != http.StatusOK || !bytes.Contains(body, []byte(`"issuer":"`+tunnelOrigin+`"`)) {
			t.Errorf("public Host on the local listener: %d %s", code, body)
		}
	})

	t.Run("a dropped session reconnects and serves again", func(t *testing.T) {
		if publicTok == nil {
			t.Skip("no token from the tunnel flow")
		}
		seen := len(ta.eventLog())
		begin := time.Now()
		svc.DropSessions()
		reconnecting := func() bool {
			for _, e := range ta.eventLog()[seen:] {
				if e.Kind == app.EventTunnel && strings.Contains(e.Message, string(tunnel.StateReconnecting)) {
					return true
				}
			}
			return false
		}
		st := ta.waitStatus(t, "reconnecting, then online", func(s app.Status) bool {
			return reconnecting() && s.Tunnel == tunnel.StateOnline
		})
		t.Logf("reconnected after %s", time.Since(begin).Round(time.Millisecond))
		if st.PublicOrigin != tunnelOrigin {
			t.Errorf("PublicOrigin after the reconnect = %q", st.PublicOrigin)
		}
		callSearch(t, svc.Transport(), tunnelOrigin+"/mcp/files", publicTok)
	})

	t.Run("after Stop the public origin is refused", func(t *testing.T) {
		if err := ta.Stop(context.Background()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if st := ta.Status(); st.PublicOrigin != "" {
			t.Errorf("PublicOrigin after Stop = %q", st.PublicOrigin)
		}
		// Nothing is served through the fake any more.
		req, _ := http.NewRequest(http.MethodGet, tunnelOrigin+"/.well-known/oauth-authorization-server", nil)
		if resp, err := svc.HTTPClient().Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("the tunnel still answers after Stop: %d", resp.StatusCode)
		}
		// And the app's handler no longer knows the public Host.
		rec := httptest.NewRecorder()
		req = httptest.NewRequest(http.MethodGet, "/.well-known/oauth-authorization-server", nil)
		req.Host = tunnelDomain
		ta.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusMisdirectedRequest {
			t.Errorf("public Host after Stop: %d %s; want 421", rec.Code, rec.Body)
		}
	})

	t.Run("sharing again brings the same public origin back", func(t *testing.T) {
		if st := ta.start(t); st.PublicOrigin != tunnelOrigin {
			t.Fatalf("PublicOrigin = %q", st.PublicOrigin)
		}
		if publicTok != nil {
			callSearch(t, svc.Transport(), tunnelOrigin+"/mcp/files", publicTok)
		}
	})
}

func TestTunnelCustom(t *testing.T) {
	const origin = "https://share.example.org"
	ta := openTestApp(t, app.Options{Tunnel: app.TunnelCustom, PublicURL: origin})
	st := ta.start(t)
	if st.PublicOrigin != origin {
		t.Fatalf("PublicOrigin = %q; want %q", st.PublicOrigin, origin)
	}
	addr := strings.TrimPrefix(st.LocalOrigin, "http://")
	proxy := viaLocal(addr) // the user's reverse proxy: Host share.example.org to the local listener

	checkAdvertised(t, proxy, origin)
	tok := authorize(t, ta, proxy, origin, oauthClient{})
	callSearch(t, proxy.Transport, origin+"/mcp/files", tok)
	refusedToken(t, &http.Client{Timeout: 30 * time.Second}, st.LocalOrigin+"/mcp/files", tok)

	for _, host := range []string{"other.example", "share.example.org.evil.example", "example.org"} {
		misdirected(t, proxy, "https://"+host+"/.well-known/oauth-authorization-server", "")
	}

	if err := ta.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/.well-known/oauth-authorization-server", nil)
	req.Host = "share.example.org"
	ta.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMisdirectedRequest {
		t.Errorf("public Host after Stop: %d %s; want 421", rec.Code, rec.Body)
	}
}

func TestTunnelNgrokBadToken(t *testing.T) {
	const badToken = "2bad_token_that_ngrok_refuses"
	svc := ngroktest.Start(t, ngroktest.WithAuthtoken(tunnelToken))
	t.Setenv("NGROK_AUTHTOKEN", "") // the token comes from the secret store
	ta := openTestApp(t, app.Options{
		Tunnel: app.TunnelNgrok, NgrokDomain: tunnelDomain,
		NgrokConnectURL: svc.ConnectURL(), NgrokConnectCAs: svc.CAs(),
	})
	if err := ta.SetNgrokToken(context.Background(), badToken); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := ta.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	st := ta.waitStatus(t, "the tunnel to fail", func(s app.Status) bool {
		return s.Tunnel == tunnel.StateFailed || s.PublicOrigin != ""
	})
	t.Logf("bad token: %v after %s", st.Err, time.Since(begin).Round(time.Millisecond))
	if svc.Authtoken() != badToken {
		t.Error("the agent did not present the stored token")
	}
	if st.PublicOrigin != "" || st.Err == nil {
		t.Fatalf("status %+v; want a failed tunnel", st)
	}
	if !errors.Is(st.Err, tunnel.ErrAuthtokenRejected) || !strings.Contains(st.Err.Error(), ngroktest.BadAuthtokenCode) {
		t.Errorf("Status().Err = %v; want the rejection with %s", st.Err, ngroktest.BadAuthtokenCode)
	}
	if strings.Contains(st.Err.Error(), badToken) {
		t.Error("Status().Err shows the token")
	}
	var tunnelMsg string
	for _, e := range ta.eventLog() {
		if strings.Contains(e.Message, badToken) {
			t.Errorf("event %s %q shows the token", e.Kind, e.Message)
		}
		if e.Kind == app.EventTunnel && strings.Contains(e.Message, ngroktest.BadAuthtokenCode) {
			tunnelMsg = e.Message
		}
	}
	if tunnelMsg == "" {
		t.Errorf("no tunnel event carries %s: %+v", ngroktest.BadAuthtokenCode, ta.eventLog())
	}

	// Local sharing keeps working.
	if st.State != app.StateSharing || st.LocalOrigin == "" {
		t.Errorf("status %+v; want local sharing on", st)
	}
	checkAdvertised(t, &http.Client{Timeout: 30 * time.Second}, st.LocalOrigin)
	misdirected(t, &http.Client{Timeout: 30 * time.Second}, st.LocalOrigin+"/.well-known/oauth-authorization-server", tunnelDomain)
}
