package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app/egress"
)

// upstream is a remote MCP server that wants a bearer token of its own: a
// go-sdk server behind the go-sdk's bearer check, on https at a public
// address (example.com, routed by the test's egress.Network).
type upstream struct {
	ts  *httptest.Server
	net egress.Network

	mu    sync.Mutex
	valid map[string]bool // tokens it accepts
	seen  []string        // every Authorization header it got
}

func newUpstream(t *testing.T, tokens ...string) *upstream {
	t.Helper()
	u := &upstream{valid: map[string]bool{}}
	for _, tok := range tokens {
		u.valid[tok] = true
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "upstream", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "whoami"}, func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "token " + req.Extra.TokenInfo.Extra["token"].(string)}}}, nil, nil
	})
	verify := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		u.mu.Lock()
		defer u.mu.Unlock()
		if !u.valid[token] {
			return nil, auth.ErrInvalidToken
		}
		// One user, whatever token: a session stays the owner's across a refresh.
		return &auth.TokenInfo{UserID: "owner", Scopes: []string{"read"}, Expiration: time.Now().Add(time.Hour), Extra: map[string]any{"token": token}}, nil
	}
	// The test reaches it as example.com on a loopback listener.
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	protected := auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: "https://example.com/.well-known/oauth-protected-resource/mcp",
		Scopes:              []string{"read"},
	})(mcpHandler)
	u.ts = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Get("Authorization"))
		u.mu.Unlock()
		protected.ServeHTTP(w, r)
	}))
	t.Cleanup(u.ts.Close)
	u.net = egress.Network{
		Resolve: func(context.Context, string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
		},
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, u.ts.Listener.Addr().String())
		},
		RootCAs: u.ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs,
	}
	return u
}

func (u *upstream) setValid(tok string, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.valid[tok] = ok
}

func (u *upstream) headers() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

// handler holds one server's token the way the app's sign-in does: a
// current token, and on a 401 a "refresh" to the next one, or
// ErrSignInRequired when there is none.
type handler struct {
	mu         sync.Mutex
	token      string
	next       []string
	authorized int
}

func (h *handler) TokenSource(context.Context) (oauth2.TokenSource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token == "" {
		return nil, nil
	}
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: h.token}), nil
}

func (h *handler) Authorize(_ context.Context, _ *http.Request, resp *http.Response) error {
	resp.Body.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.authorized++
	if len(h.next) == 0 {
		return ErrSignInRequired
	}
	h.token, h.next = h.next[0], h.next[1:]
	return nil
}

// newRemoteGateway is a gateway with one remote server behind the test
// guard, its handler given by oauth.
func newRemoteGateway(t *testing.T, up *upstream, oauth func(context.Context, string) (auth.OAuthHandler, error)) *testGateway {
	t.Helper()
	tg := &testGateway{changes: map[string]int{}, conns: map[net.Conn]http.ConnState{}}
	tg.Gateway = New(Config{OAuth: oauth, Network: up.net})
	spec := ServerSpec{Name: "remote", Kind: KindRemote, URL: "https://example.com/mcp", OAuth: oauth != nil}
	if err := tg.SetServers([]ServerSpec{spec}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", guard(tg.Handler(AllServers)))
	mux.HandleFunc("/mcp/{name}", func(w http.ResponseWriter, r *http.Request) {
		guard(tg.Handler(r.PathValue("name"))).ServeHTTP(w, r)
	})
	tg.ts = httptest.NewServer(mux)
	t.Cleanup(func() {
		tg.ts.Close()
		tg.Close()
	})
	return tg
}

func TestRemoteServerGetsItsOwnTokenNeverTheClients(t *testing.T) {
	up := newUpstream(t, "up-1")
	h := &handler{token: "up-1"}
	tg := newRemoteGateway(t, up, func(context.Context, string) (auth.OAuthHandler, error) { return h, nil })

	for _, version := range []string{legacy, modern} {
		cs := connect(t, tg.url("remote"), "tok-alice", version, nil)
		if got := callText(t, cs, "whoami", map[string]any{}); got != "token up-1" {
			t.Fatalf("%s: whoami = %q, want the server's own token", version, got)
		}
	}
	cs := connect(t, tg.url(AllServers), "tok-bob", legacy, nil)
	if got := callText(t, cs, "remote_whoami", map[string]any{}); got != "token up-1" {
		t.Fatalf("through /mcp: whoami = %q", got)
	}
	for _, hdr := range up.headers() {
		if hdr != "Bearer up-1" {
			t.Fatalf("the remote server got Authorization %q; want only its own token", hdr)
		}
	}
}

func TestRefusedTokenIsReplacedAndTheCallRetried(t *testing.T) {
	up := newUpstream(t, "up-1", "up-2")
	h := &handler{token: "up-1", next: []string{"up-2"}}
	tg := newRemoteGateway(t, up, func(context.Context, string) (auth.OAuthHandler, error) { return h, nil })
	cs := connect(t, tg.url("remote"), "tok-alice", legacy, nil)
	callText(t, cs, "whoami", map[string]any{})

	up.setValid("up-1", false) // revoked, or expired early
	if got := callText(t, cs, "whoami", map[string]any{}); got != "token up-2" {
		t.Fatalf("after the first token was refused: whoami = %q, want the next one", got)
	}
}

func TestRefusedTokenWithoutRefreshAsksTheOwnerToSignIn(t *testing.T) {
	up := newUpstream(t, "up-1")
	h := &handler{token: "up-1"}
	tg := newRemoteGateway(t, up, func(context.Context, string) (auth.OAuthHandler, error) { return h, nil })
	cs := connect(t, tg.url("remote"), "tok-alice", legacy, nil)
	callText(t, cs, "whoami", map[string]any{})

	up.setValid("up-1", false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), `server "remote" needs the owner of MCP Share to sign in to it again`) {
		t.Fatalf("call with a refused token: err = %v, want the sign-in sentence", err)
	}
}

func TestRemoteServerWithoutSignInSaysSoAtStart(t *testing.T) {
	up := newUpstream(t, "up-1")
	tg := newRemoteGateway(t, up, func(context.Context, string) (auth.OAuthHandler, error) {
		return nil, ErrSignInRequired
	})
	cs := connect(t, tg.url(AllServers), "tok-alice", legacy, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list on /mcp: %v", err)
	}
	if len(res.Tools) != 0 {
		t.Fatalf("tools of a server nobody signed in to: %v", res.Tools)
	}
	if st := tg.Status("remote"); !strings.Contains(st.Problem, "needs the owner of MCP Share to sign in") {
		t.Fatalf("Status.Problem = %q, want the sign-in sentence", st.Problem)
	}
	if got := up.headers(); len(got) != 0 {
		t.Fatalf("the remote server was called without a sign-in: %v", got)
	}
}

func TestRemoteServerWithoutOAuthIsAServerLikeAnyOther(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "plain", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "ping"}, func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "pong"}}}, nil, nil
	})
	var auths []string
	var mu sync.Mutex
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	g := New(Config{})
	t.Cleanup(func() { g.Close() })
	if err := g.SetServers([]ServerSpec{{Name: "plain", Kind: KindRemote, URL: ts.URL + "/mcp"}}); err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(guard(g.Handler("plain")))
	t.Cleanup(front.Close)
	cs := connect(t, front.URL, "tok-alice", legacy, nil)
	if got := callText(t, cs, "ping", map[string]any{}); got != "pong" {
		t.Fatalf("ping = %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range auths {
		if a != "" {
			t.Fatalf("the server got Authorization %q; the client's token must stop at the guard", a)
		}
	}
}

func TestRemoteSpecsFollowTheOutboundRules(t *testing.T) {
	for _, tc := range []struct {
		spec ServerSpec
		ok   bool
	}{
		{ServerSpec{Name: "a", Kind: KindRemote, URL: "https://mcp.example.com/mcp", OAuth: true}, true},
		{ServerSpec{Name: "a", Kind: KindRemote, URL: "http://localhost:3000/mcp", OAuth: true}, true},
		{ServerSpec{Name: "a", Kind: KindRemote, URL: "http://mcp.example.com/mcp"}, false},
		{ServerSpec{Name: "a", Kind: KindRemote, URL: "https://u:p@mcp.example.com/mcp"}, false},
		{ServerSpec{Name: "a", Kind: KindHTTP, URL: "http://127.0.0.1:3000/mcp", OAuth: true}, false},
	} {
		err := tc.spec.validate()
		if (err == nil) != tc.ok {
			t.Errorf("validate(%s %s oauth=%v) = %v, want ok=%v", tc.spec.Kind, tc.spec.URL, tc.spec.OAuth, err, tc.ok)
		}
		if err != nil && tc.spec.Kind == KindRemote && !errors.Is(err, egress.ErrRefused) {
			t.Errorf("validate(%s): %v does not match egress.ErrRefused", tc.spec.URL, err)
		}
	}
}
