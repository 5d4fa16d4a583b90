package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/childproc"
)

// The test servers, built by TestMain: testdata/stdioserver, and the go-sdk's
// conformance everything-server (which speaks 2026-07-28 on stdio too).
var stdioServer, everythingServer string

func TestMain(m *testing.M) {
	childproc.RunSupervisorIfAsked()
	dir, err := os.MkdirTemp("", "gateway-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	stdioServer = filepath.Join(dir, "stdioserver"+exe)
	everythingServer = filepath.Join(dir, "everything-server"+exe)
	for out, pkg := range map[string]string{
		stdioServer:      "./testdata/stdioserver",
		everythingServer: "github.com/modelcontextprotocol/go-sdk/conformance/everything-server",
	} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testTokens maps the bearer tokens of the tests to users.
var testTokens = map[string]string{"tok-alice": "alice", "tok-bob": "bob"}

// guard stands in for oauthserver.Protect: it sets the go-sdk's TokenInfo
// from the bearer token, the one thing the gateway takes from the guard.
func guard(next http.Handler) http.Handler {
	return auth.RequireBearerToken(func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		user, ok := testTokens[token]
		if !ok {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: user, Scopes: []string{"mcp"}, Expiration: time.Now().Add(time.Hour),
			Extra: map[string]any{"client_id": "client-of-" + token}}, nil
	}, nil)(next)
}

// testGateway is a gateway behind the test guard on an httptest server,
// with /mcp and /mcp/NAME routed as the app routes them.
type testGateway struct {
	*Gateway
	ts *httptest.Server

	mu      sync.Mutex
	changes map[string]int
	conns   map[net.Conn]http.ConnState // open connections of the test server
}

// openConns counts the test server's connections that are not closed.
func (tg *testGateway) openConns() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.conns)
}

func newTestGateway(t testing.TB, limits Limits, specs ...ServerSpec) *testGateway {
	t.Helper()
	return newTestGatewayConfig(t, Config{Limits: limits}, specs...)
}

// newTestGatewayConfig is newTestGateway with more of the Config set.
func newTestGatewayConfig(t testing.TB, cfg Config, specs ...ServerSpec) *testGateway {
	t.Helper()
	tg := &testGateway{changes: map[string]int{}, conns: map[net.Conn]http.ConnState{}}
	cfg.OnChange = func(server string) {
		tg.mu.Lock()
		tg.changes[server]++
		tg.mu.Unlock()
	}
	cfg.Secret = func(_ context.Context, server, key string) (string, error) {
		return "secret-of-" + server + "-" + key, nil
	}
	tg.Gateway = New(cfg)
	if err := tg.SetServers(specs); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", guard(tg.Handler(AllServers)))
	mux.HandleFunc("/mcp/{name}", func(w http.ResponseWriter, r *http.Request) {
		guard(tg.Handler(r.PathValue("name"))).ServeHTTP(w, r)
	})
	tg.ts = httptest.NewUnstartedServer(mux)
	tg.ts.Config.ConnState = func(c net.Conn, st http.ConnState) {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		if st == http.StateClosed || st == http.StateHijacked {
			delete(tg.conns, c)
		} else {
			tg.conns[c] = st
		}
	}
	tg.ts.Start()
	t.Cleanup(func() {
		tg.ts.Close()
		tg.Close()
	})
	return tg
}

func (tg *testGateway) url(name string) string {
	if name == AllServers {
		return tg.ts.URL + "/mcp"
	}
	return tg.ts.URL + "/mcp/" + name
}

// bearer adds a bearer token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func httpClient(token string) *http.Client {
	return &http.Client{Transport: &bearer{token: token, base: http.DefaultTransport}}
}

// Eras of the go-sdk client in the tests.
const (
	legacy = "2025-11-25"
	modern = "2026-07-28"
)

// connect opens a go-sdk client session to url as the user of token,
// speaking protocol version (legacy or modern).
func connect(t testing.TB, url, token, version string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "gateway-test", Version: "1"}, opts)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: httpClient(token), MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect to %s (%s): %v", url, version, err)
	}
	t.Cleanup(func() { cs.Close() })
	if got := cs.InitializeResult().ProtocolVersion; got != version {
		t.Fatalf("negotiated %s, want %s", got, version)
	}
	return cs
}

func stdioSpec(name string, args ...string) ServerSpec {
	return ServerSpec{Name: name, Kind: KindStdio, Command: stdioServer, Args: args}
}

func callText(t testing.TB, cs *mcp.ClientSession, tool string, args any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", tool, err)
	}
	if res.IsError {
		t.Fatalf("call %s: tool error %v", tool, textOf(res))
	}
	return textOf(res)
}

func textOf(res *mcp.CallToolResult) string {
	s := ""
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			s += tc.Text
		}
	}
	return s
}

// post sends one raw JSON-RPC POST and returns the status and body.
func post(t testing.TB, url, token, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient(token).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds, failing after 20 seconds.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// startProcess starts a program for the test and ends it afterwards.
func startProcess(t testing.TB, path string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}
