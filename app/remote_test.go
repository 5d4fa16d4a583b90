package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcpshare/mcpshare/app"
)

// These tests share a remote server that signs in with OAuth through MCP
// Share's own gateway: the upstream is a second MCP Share (its built-in
// server behind its authorization server, which issues refresh tokens and
// rotates them), added to the first as a remote server. The owner's browser
// is scripted: it fills in the upstream's login form.

// clock is an adjustable clock for an App (Options.Now).
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// browser signs in at the authorization URL it is given as user: the login
// page, its form, and the redirect, followed to wherever it goes (MCP
// Share's callback). It records the redirect's URL.
type browser struct {
	t              *testing.T
	user, password string
	mu             sync.Mutex
	visits         []string
}

func (b *browser) open(authURL string) error {
	b.t.Helper()
	noFollow := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(authURL)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("login page: %d %.300s", resp.StatusCode, page)
	}
	action, form := loginForm(b.t, page)
	base, _ := url.Parse(authURL)
	actionURL, err := base.Parse(action)
	if err != nil {
		return err
	}
	resp, err = noFollow.PostForm(actionURL.String(), form(b.user, b.password))
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if loc == "" {
		return fmt.Errorf("login: %d without a redirect", resp.StatusCode)
	}
	b.mu.Lock()
	b.visits = append(b.visits, loc)
	b.mu.Unlock()
	resp, err = noFollow.Get(loc)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the redirect %s: %d %s", loc, resp.StatusCode, body)
	}
	return nil
}

// remoteEnv is an upstream MCP Share, and a downstream one that shares the
// upstream's files server as the remote server "up".
type remoteEnv struct {
	up, down         *testApp
	upClock, dnClock *clock
	upURL            string
}

func newRemoteEnv(t *testing.T) *remoteEnv {
	t.Helper()
	e := &remoteEnv{upClock: &clock{}, dnClock: &clock{}}
	e.up = openTestApp(t, app.Options{Now: e.upClock.now})
	if err := e.up.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.upURL = e.up.Status().LocalOrigin + "/mcp/files"
	e.down = openTestApp(t, app.Options{Now: e.dnClock.now})
	if err := e.down.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.down.AddServer(ctx, app.ServerConfig{Name: "up", Kind: app.KindRemote, Enabled: true, URL: e.upURL, OAuth: true}, nil); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *remoteEnv) signIn(t *testing.T) {
	t.Helper()
	b := &browser{t: t, user: e.up.user, password: e.up.password}
	res, err := e.down.SignIn(context.Background(), "up", b.open)
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if !slices.Contains(res.Tools, "search") {
		t.Fatalf("after the sign-in the server lists %v, want the built-in search", res.Tools)
	}
	if len(b.visits) != 1 || !strings.HasPrefix(b.visits[0], e.down.Status().LocalOrigin+app.CallbackPath+"?") {
		t.Fatalf("the browser came back to %v, want MCP Share's own callback", b.visits)
	}
}

// grant reads the downstream's stored sign-in of "up" from its secrets file.
func (e *remoteEnv) grant(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.down.ConfigDir(), "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	v, ok := m["oauth/up"]
	if !ok {
		return nil
	}
	var g map[string]any
	if err := json.Unmarshal([]byte(v), &g); err != nil {
		t.Fatalf("the stored sign-in is not JSON: %v", err)
	}
	return g
}

// client connects a go-sdk client to the downstream's URL name with the
// downstream's own token (its first user signing in through the same kind
// of scripted browser), and returns the session and the token it used.
func (e *remoteEnv) client(t *testing.T, name string) (*mcp.ClientSession, *tokenSpy) {
	t.Helper()
	b := &browser{t: t, user: e.down.user, password: e.down.password}
	var callback string
	spy := &tokenSpy{}
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		RedirectURL: "http://127.0.0.1:9/cb",
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			RedirectURIs: []string{"http://127.0.0.1:9/cb"}, TokenEndpointAuthMethod: "none", ClientName: "remote test",
		}},
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			err := b.open(args.URL)
			// The callback (port 9) is not served: the code is in the
			// redirect the browser recorded.
			if len(b.visits) == 0 {
				return nil, err
			}
			callback = b.visits[len(b.visits)-1]
			u, _ := url.Parse(callback)
			q := u.Query()
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	endpoint := e.down.Status().LocalOrigin + "/mcp"
	if name != "" {
		endpoint += "/" + name
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "remote-test", Version: "0"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: endpoint, OAuthHandler: h, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: spy},
	}, nil)
	if err != nil {
		t.Fatalf("connect to the downstream: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, spy
}

// tokenSpy records the bearer tokens a client sends and everything it gets back.
type tokenSpy struct {
	mu       sync.Mutex
	sent     []string
	received strings.Builder
}

func (s *tokenSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := r.Header.Get("Authorization"); a != "" {
		s.sent = append(s.sent, strings.TrimPrefix(a, "Bearer "))
	}
	if err == nil {
		for k, v := range resp.Header {
			fmt.Fprintf(&s.received, "%s: %s\n", k, v)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.received.Write(body)
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	return resp, err
}

func searchUp(t *testing.T, cs *mcp.ClientSession) (*mcp.CallToolResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": searchMarker}})
}

func mustSearchUp(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	res, err := searchUp(t, cs)
	if err != nil {
		t.Fatalf("search through the remote server: %v", err)
	}
	out, _ := json.Marshal(res)
	if res.IsError || !strings.Contains(string(out), searchFileName) {
		t.Fatalf("search through the remote server: %s", out)
	}
}

func TestRemoteServerIsSignedInAndSharedThroughTheGateway(t *testing.T) {
	e := newRemoteEnv(t)
	ctx := context.Background()

	probe, err := e.down.ProbeRemote(ctx, e.upURL)
	if err != nil {
		t.Fatalf("ProbeRemote: %v", err)
	}
	if !probe.NeedsOAuth || probe.Issuer != e.up.Status().LocalOrigin || !probe.Registration || probe.Resource != e.upURL {
		t.Fatalf("ProbeRemote = %+v", probe)
	}
	if got := e.down.SignInsNeeded(); len(got) != 0 {
		// Nothing asked yet: the tray learns of servers once they are looked at.
		t.Logf("needed before anyone looked: %v", got)
	}
	sis, err := e.down.RemoteSignIns(ctx)
	if err != nil || len(sis) != 1 || sis[0].SignedIn || sis[0].Needed == "" {
		t.Fatalf("RemoteSignIns before the sign-in = %+v, %v", sis, err)
	}
	if got := e.down.SignInsNeeded(); !slices.Equal(got, []string{"up"}) {
		t.Fatalf("SignInsNeeded before the sign-in = %v", got)
	}

	e.signIn(t)
	if got := e.down.SignInsNeeded(); len(got) != 0 {
		t.Fatalf("SignInsNeeded after the sign-in = %v", got)
	}
	g := e.grant(t)
	if g == nil || g["access_token"] == "" || g["refresh_token"] == "" {
		t.Fatalf("stored sign-in = %v; want an access and a refresh token", g)
	}
	upToken := g["access_token"].(string)
	db, err := os.ReadFile(filepath.Join(e.down.ConfigDir(), "mcpshare.db"))
	if err == nil && strings.Contains(string(db), upToken) {
		t.Fatal("the upstream's access token is in the database in clear")
	}

	for _, name := range []string{"up", ""} {
		path := name
		cs, spy := e.client(t, path)
		tool := "search"
		if name == "" {
			tool = "up_search"
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"query": searchMarker}})
		if err != nil || res.IsError {
			t.Fatalf("%s through /mcp/%s: %v %+v", tool, name, err, res)
		}
		spy.mu.Lock()
		for _, s := range spy.sent {
			if s == upToken {
				t.Fatal("the client sent the upstream's token")
			}
		}
		if strings.Contains(spy.received.String(), upToken) {
			t.Fatal("the upstream's token reached the client")
		}
		downToken := spy.sent[len(spy.sent)-1]
		spy.mu.Unlock()
		// Neither token opens the other side.
		refusedAt(t, e.upURL, downToken)
		refusedAt(t, e.down.Status().LocalOrigin+"/mcp/up", upToken)
	}
}

// refusedAt checks that tok is refused at an MCP URL.
func refusedAt(t *testing.T, mcpURL, tok string) {
	t.Helper()
	code, _, body := do(t, http.DefaultClient, http.MethodPost, mcpURL, "", http.Header{
		"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"},
		"Accept": {"application/json, text/event-stream"},
	}, initializeBody)
	if code != http.StatusUnauthorized {
		t.Fatalf("a token of the other side at %s: %d %s; want 401", mcpURL, code, body)
	}
}

func TestRemoteTokenIsRenewedAheadOfItsExpiry(t *testing.T) {
	e := newRemoteEnv(t)
	e.signIn(t)
	cs, _ := e.client(t, "up")
	mustSearchUp(t, cs)
	before := e.grant(t)

	// 59 minutes later by the downstream's clock: the upstream's one-hour
	// token has less than refreshAhead left.
	e.dnClock.advance(59 * time.Minute)
	mustSearchUp(t, cs)
	after := e.grant(t)
	if after["access_token"] == before["access_token"] || after["refresh_token"] == before["refresh_token"] {
		t.Fatal("the token was not renewed ahead of its expiry (or the rotated refresh token not stored)")
	}
}

func TestRemoteTokenRefusedByTheServerIsRenewed(t *testing.T) {
	e := newRemoteEnv(t)
	e.signIn(t)
	cs, _ := e.client(t, "up")
	mustSearchUp(t, cs)
	before := e.grant(t)

	// The upstream's clock runs ahead: it refuses the access token the
	// downstream still thinks valid, and the refresh token still works.
	e.upClock.advance(61 * time.Minute)
	e.dnClock.advance(0)
	mustSearchUp(t, cs)
	if after := e.grant(t); after["access_token"] == before["access_token"] {
		t.Fatal("the refused token was not replaced")
	}
}

func TestRefusedRenewalAsksTheOwnerToSignInAgain(t *testing.T) {
	e := newRemoteEnv(t)
	e.signIn(t)
	cs, _ := e.client(t, "up")
	mustSearchUp(t, cs)

	// The owner of the upstream revokes MCP Share's client: its tokens die.
	clientID := e.grant(t)["client_id"].(string)
	if err := e.up.Auth().RevokeClient(clientID); err != nil {
		t.Fatal(err)
	}
	_, err := searchUp(t, cs)
	if err == nil || !strings.Contains(err.Error(), `server "up" needs the owner of MCP Share to sign in to it again`) {
		t.Fatalf("a call after the revocation: %v; want the sign-in sentence", err)
	}
	if got := e.down.SignInsNeeded(); !slices.Equal(got, []string{"up"}) {
		t.Fatalf("SignInsNeeded = %v", got)
	}
	if e.grant(t) != nil {
		t.Fatal("the refused sign-in is still stored")
	}
	warned := slices.ContainsFunc(e.down.eventLog(), func(ev app.Event) bool {
		return ev.Kind == app.EventWarning && strings.Contains(ev.Message, `"up" needs you to sign in`)
	})
	if !warned {
		t.Fatal("no warning event asked the owner to sign in again")
	}

	e.signIn(t)
	mustSearchUp(t, cs)
}

func TestRemoteSignInSurvivesARestart(t *testing.T) {
	e := newRemoteEnv(t)
	e.signIn(t)
	dir := e.down.ConfigDir()
	ctx := context.Background()
	if err := e.down.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.down.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := app.Open(app.Options{ConfigDir: dir, Secrets: app.SecretsFile, Addr: "127.0.0.1:0", Approval: app.ApprovalPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close() })
	e.down.App = again
	if err := again.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sis, err := again.RemoteSignIns(ctx)
	if err != nil || len(sis) != 1 || !sis[0].SignedIn || sis[0].Needed != "" {
		t.Fatalf("after a restart RemoteSignIns = %+v, %v", sis, err)
	}
	cs, _ := e.client(t, "up")
	mustSearchUp(t, cs)
}

func TestChangingTheURLOrRemovingTheServerPurgesItsTokens(t *testing.T) {
	e := newRemoteEnv(t)
	ctx := context.Background()
	e.signIn(t)
	c := app.ServerConfig{Name: "up", Kind: app.KindRemote, Enabled: true, URL: e.upURL, OAuth: true}

	// The same settings again keep the sign-in.
	if err := e.down.UpdateServer(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	if e.grant(t) == nil {
		t.Fatal("an update that changed nothing purged the sign-in")
	}
	c.URL = e.up.Status().LocalOrigin + "/mcp"
	if err := e.down.UpdateServer(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	if e.grant(t) != nil {
		t.Fatal("the tokens for the old URL are still stored")
	}
	if got := e.down.SignInsNeeded(); len(got) != 0 {
		t.Logf("needed after the change: %v", got)
	}

	c.URL = e.upURL
	if err := e.down.UpdateServer(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	e.signIn(t)
	if err := e.down.RemoveServer(ctx, "up"); err != nil {
		t.Fatal(err)
	}
	if e.grant(t) != nil {
		t.Fatal("the tokens of a removed server are still stored")
	}
}

func TestRemoteWithoutSignInSaysSoToTheClient(t *testing.T) {
	e := newRemoteEnv(t)
	cs, _ := e.client(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range tools.Tools {
		if strings.HasPrefix(tl.Name, "up_") {
			t.Fatalf("a tool of a server nobody signed in to: %s", tl.Name)
		}
	}
	if got := e.down.SignInsNeeded(); !slices.Equal(got, []string{"up"}) {
		t.Fatalf("SignInsNeeded = %v", got)
	}
	servers, err := e.down.Servers()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		if s.Config.Name == "up" && !strings.Contains(s.Problem, "sign in") {
			t.Fatalf("the server's problem = %q, want the sign-in sentence", s.Problem)
		}
	}
}

func TestProbeTellsServersWithoutSignInAndRefusesForeignMetadata(t *testing.T) {
	ctx := context.Background()
	a := openTestApp(t, app.Options{})
	srv := mcp.NewServer(&mcp.Implementation{Name: "open", Version: "1"}, nil)
	open := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	defer open.Close()
	p, err := a.ProbeRemote(ctx, open.URL+"/mcp")
	if err != nil || p.NeedsOAuth {
		t.Fatalf("a server without sign-in: %+v, %v", p, err)
	}

	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="https://elsewhere.example/.well-known/oauth-protected-resource"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer foreign.Close()
	if _, err := a.ProbeRemote(ctx, foreign.URL+"/mcp"); !errors.Is(err, app.ErrRemoteDiscovery) {
		t.Fatalf("metadata on another origin: err = %v, want ErrRemoteDiscovery", err)
	}
	if _, err := a.ProbeRemote(ctx, "http://mcp.example.com/mcp"); err == nil {
		t.Fatal("plain http off this computer was probed")
	}
}

func TestCallbackRefusesUnknownSignInsAndOtherHosts(t *testing.T) {
	a := openTestApp(t, app.Options{})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	origin := a.Status().LocalOrigin
	code, _, body := do(t, http.DefaultClient, http.MethodGet, origin+app.CallbackPath+"?state=nope&code=x", "", nil, "")
	if code != http.StatusBadRequest || !strings.Contains(string(body), "not waiting for this sign-in") {
		t.Fatalf("an unknown state: %d %s", code, body)
	}
}

func TestImportBringsRemoteEntriesAndMcpRemoteWrappersInAsRemoteServers(t *testing.T) {
	e := newRemoteEnv(t)
	ctx := context.Background()
	srv := mcp.NewServer(&mcp.Implementation{Name: "open", Version: "1"}, nil)
	plain := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	defer plain.Close()
	file := filepath.Join(t.TempDir(), "claude_desktop_config.json")
	doc := fmt.Sprintf(`{"mcpServers": {
		"direct": {"url": %q},
		"wrapped": {"command": "npx", "args": ["-y", "mcp-remote", %q]},
		"plain": {"url": %q}
	}}`, e.upURL, e.upURL, plain.URL+"/mcp")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := e.down.Import(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.SignIn, []string{"direct", "wrapped"}) || len(rep.Skipped) != 0 {
		t.Fatalf("Import = %+v", rep)
	}
	servers, _ := e.down.Servers()
	kinds := map[string]string{}
	for _, s := range servers {
		kinds[s.Config.Name] = fmt.Sprintf("%s oauth=%v %s", s.Config.Kind, s.Config.OAuth, s.Config.URL)
	}
	for name, want := range map[string]string{
		"direct":  "remote oauth=true " + e.upURL,
		"wrapped": "remote oauth=true " + e.upURL,
		"plain":   "http oauth=false " + plain.URL + "/mcp",
	} {
		if kinds[name] != want {
			t.Errorf("%s imported as %q, want %q", name, kinds[name], want)
		}
	}
	b := &browser{t: t, user: e.up.user, password: e.up.password}
	if _, err := e.down.SignIn(ctx, "wrapped", b.open); err != nil {
		t.Fatalf("sign in to the imported mcp-remote server: %v", err)
	}
}

// TestProbeFindsTheSignInBehindAnAnonymousInitializeOrAnotherEra: a server
// that lets anyone initialize but wants a sign-in for the rest, and a
// stateless 2026-07-28 server that refuses an initialize as a request of
// another era, both want OAuth (as the conformance suite's step-up
// scenarios' servers do).
func TestProbeFindsTheSignInBehindAnAnonymousInitializeOrAnotherEra(t *testing.T) {
	for _, tc := range []struct {
		name       string
		initialize int // the answer to an anonymous initialize
	}{
		{"initialize open", http.StatusOK},
		{"stateless", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch r.URL.Path {
				case "/.well-known/oauth-protected-resource/mcp":
					json.NewEncoder(w).Encode(map[string]any{"resource": srv.URL + "/mcp", "authorization_servers": []string{srv.URL}})
					return
				case "/.well-known/oauth-authorization-server":
					json.NewEncoder(w).Encode(map[string]any{
						"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize", "token_endpoint": srv.URL + "/token",
						"registration_endpoint": srv.URL + "/register", "code_challenge_methods_supported": []string{"S256"},
					})
					return
				}
				body, _ := io.ReadAll(r.Body)
				if strings.Contains(string(body), `"initialize"`) {
					w.Header().Set("Mcp-Session-Id", "s1")
					w.WriteHeader(tc.initialize)
					return
				}
				if r.Method == http.MethodDelete {
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer scope="mcp:basic", resource_metadata="`+srv.URL+`/.well-known/oauth-protected-resource/mcp"`)
				w.WriteHeader(http.StatusUnauthorized)
			}))
			defer srv.Close()
			a := openTestApp(t, app.Options{})
			p, err := a.ProbeRemote(context.Background(), srv.URL+"/mcp")
			if err != nil {
				t.Fatal(err)
			}
			if !p.NeedsOAuth || p.Issuer != srv.URL || !slices.Equal(p.Scopes, []string{"mcp:basic"}) || !p.Registration {
				t.Fatalf("ProbeRemote = %+v", p)
			}
		})
	}
}
