package app_test

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.etcd.io/bbolt"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// cimdOrigin is the downstream MCP Share's fixed public URL in these tests
// (httptest's certificate is for example.com).
const cimdOrigin = "https://example.com"

// cimdUpstream is a remote MCP server behind an authorization server that
// takes client ID metadata documents (MCP Share's own oauthserver, fetching
// through the network the test gives it), and its one user.
type cimdUpstream struct {
	as       *oauthserver.Server
	mcpURL   string
	password string
}

func newCIMDUpstream(t *testing.T, fetch oauthserver.FetchOptions, now func() time.Time) *cimdUpstream {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "up.db"), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	origins := oauthserver.NewOrigins()
	as, err := oauthserver.New(oauthserver.Config{DB: db, Origins: origins, Resources: func() []string { return []string{"tools"} },
		Policy: oauthserver.PolicyPassword, Fetch: fetch, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { as.Close() })
	u := &cimdUpstream{as: as, password: "upstream password 1"}
	if err := as.AddUser("owner", u.password); err != nil {
		t.Fatal(err)
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "upstream", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "hello"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hello"}}}, nil, nil
	})
	mux := http.NewServeMux()
	as.Routes(mux)
	mux.Handle("/mcp/tools", as.Protect("tools", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)))
	ts := httptest.NewServer(origins.Handler(mux))
	// The downstream's backend holds a GET stream open until it stops.
	t.Cleanup(func() { ts.CloseClientConnections(); ts.Close() })
	origins.SetLocal(ts.URL)
	u.mcpURL = ts.URL + "/mcp/tools"
	return u
}

// A remote server whose authorization server takes client ID metadata
// documents is signed in to by MCP Share's own document, served on its
// fixed public URL: the authorization server fetches it there (through the
// tunnel), no client is registered, the grant's client is the document's
// URL, and its token is renewed with that client when the upstream refuses
// it.
func TestRemoteSignInByClientMetadataDocument(t *testing.T) {
	down := openTestApp(t, app.Options{Tunnel: app.TunnelCustom, PublicURL: cimdOrigin})
	if err := down.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for down.Status().PublicOrigin != cimdOrigin {
		if time.Now().After(deadline) {
			t.Fatalf("the public origin did not come up: %+v", down.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The tunnel: https://example.com reaches the downstream's listener.
	local, _ := url.Parse(down.Status().LocalOrigin)
	tunnel := httptest.NewTLSServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(local)
		r.Out.Host = r.In.Host
	}})
	t.Cleanup(tunnel.Close)
	roots := x509.NewCertPool()
	roots.AddCert(tunnel.Certificate())
	upClock := &clock{}
	up := newCIMDUpstream(t, oauthserver.FetchOptions{
		Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
			if host != "example.com" {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
		},
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, tunnel.Listener.Addr().String())
		},
		RootCAs: roots,
	}, upClock.now)

	// The document is the public origin's only; the local one has none.
	resp, err := http.Get(down.Status().LocalOrigin + app.ClientMetadataPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the document on the local origin: %d", resp.StatusCode)
	}

	ctx := context.Background()
	if err := down.AddServer(ctx, app.ServerConfig{Name: "up", Kind: app.KindRemote, Enabled: true, URL: up.mcpURL, OAuth: true}, nil); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, user: "owner", password: up.password}
	res, err := down.SignIn(ctx, "up", b.open)
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if len(res.Tools) != 1 || res.Tools[0] != "hello" {
		t.Errorf("after the sign-in the server lists %v", res.Tools)
	}
	clients, err := up.as.Clients()
	if err != nil {
		t.Fatal(err)
	}
	want := cimdOrigin + app.ClientMetadataPath
	if len(clients) != 1 || clients[0].ID != want {
		t.Errorf("the authorization server's clients: %+v, want only the document's %q", clients, want)
	}
	e := &remoteEnv{down: down}
	if g := e.grant(t); g["client_id"] != want {
		t.Fatalf("the stored grant's client is %v, want the document's URL", g["client_id"])
	}

	// Through the downstream's gateway, with its own token; then the
	// upstream's clock runs past the access token and it is renewed.
	cs, _ := e.client(t, "up")
	hello := func() {
		t.Helper()
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "hello", Arguments: map[string]any{}})
		if err != nil || res.IsError {
			t.Fatalf("hello through the downstream: %v %+v", err, res)
		}
	}
	hello()
	before := e.grant(t)["access_token"]
	upClock.advance(61 * time.Minute)
	hello()
	if g := e.grant(t); g["access_token"] == before || g["client_id"] != want {
		t.Errorf("after the renewal: client %v, token replaced %v", g["client_id"], g["access_token"] != before)
	}
}
