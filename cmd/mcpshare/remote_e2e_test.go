package main

// End to end: MCP Share as an OAuth client of remote servers. The upstream
// is the TypeScript SDK's example Streamable HTTP server with its demo OAuth
// provider (nobody here wrote it), or a second mcpshare where the demo falls
// short (it issues no refresh tokens). The owner's browser is scripted: an
// HTTP client that follows the sign-in's redirects back to MCP Share.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
)

// tsDemo is the TS SDK's simpleStreamableHttp example with --oauth
// --oauth-strict: its MCP endpoint wants tokens of its own authorization
// server, issued for exactly its URL (RFC 8707).
type tsDemo struct {
	url, issuer string
	out         *syncBuffer
}

func startTSDemo(t *testing.T, dir string) *tsDemo {
	t.Helper()
	mcpPort, authPort := freePort(t), freePort(t)
	script := filepath.Join(dir, "node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js")
	cmd := exec.Command(nodeBinary(dir), script, "--oauth", "--oauth-strict")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MCP_PORT="+strconv.Itoa(mcpPort), "MCP_AUTH_PORT="+strconv.Itoa(authPort))
	d := &tsDemo{
		url:    fmt.Sprintf("http://localhost:%d/mcp", mcpPort),
		issuer: fmt.Sprintf("http://localhost:%d", authPort),
		out:    &syncBuffer{},
	}
	cmd.Stdout, cmd.Stderr = d.out, d.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("TS demo server output:\n%s", d.out)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !(strings.Contains(d.out.String(), "Server listening on port "+strconv.Itoa(authPort)) &&
		strings.Contains(d.out.String(), "listening on port "+strconv.Itoa(mcpPort))) {
		if time.Now().After(deadline) {
			t.Fatalf("the TS demo server did not start:\n%s", d.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

// tokensSeen are the bearer tokens the demo logged ("Authenticated user:
// { token: '…', …}" on each authenticated request).
func (d *tsDemo) tokensSeen() []string {
	var out []string
	for _, m := range regexp.MustCompile(`token: '([^']+)'`).FindAllStringSubmatch(d.out.String(), -1) {
		out = append(out, m[1])
	}
	return out
}

// mcpshareCmd runs the binary on configDir and returns its combined output.
func mcpshareCmd(t *testing.T, configDir string, args ...string) (string, error) {
	t.Helper()
	args = append(args, "--config-dir", configDir, "--secrets", "file")
	out, err := exec.Command(binary, args...).CombinedOutput()
	return string(out), err
}

// login runs `mcpshare server login NAME --no-browser` and plays the
// owner's browser with browse: it opens the printed address.
func login(t *testing.T, configDir, name string, browse func(authURL string) error) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "server", "login", name, "--no-browser", "--addr", "127.0.0.1:0",
		"--config-dir", configDir, "--secrets", "file")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	sc := bufio.NewScanner(stdout)
	browsed := false
	for sc.Scan() {
		line := sc.Text()
		all.WriteString(line + "\n")
		if u, ok := strings.CutPrefix(line, "  "); ok && strings.HasPrefix(u, "http") && !browsed {
			browsed = true
			if err := browse(u); err != nil {
				t.Errorf("the browser: %v", err)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("server login %s: %v\n%s%s", name, err, all.String(), stderr.String())
	}
	return all.String()
}

// followBrowser opens authURL and follows every redirect, as a browser
// whose user is already known to the authorization server does; the last
// page must be MCP Share's "Signed in".
func followBrowser(authURL string) error {
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Get(authURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Signed in.") {
		return fmt.Errorf("the sign-in ended on %s: %d %s", resp.Request.URL, resp.StatusCode, body)
	}
	if !strings.HasPrefix(resp.Request.URL.Path, "/oauth-client/callback") {
		return fmt.Errorf("the sign-in did not come back to MCP Share: %s", resp.Request.URL)
	}
	return nil
}

// storedGrant reads the stored sign-in of server name from the secrets file.
func storedGrant(t *testing.T, configDir, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(configDir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	v, ok := m["oauth/"+name]
	if !ok {
		return nil
	}
	var g map[string]any
	if err := json.Unmarshal([]byte(v), &g); err != nil {
		t.Fatalf("stored sign-in: %v", err)
	}
	return g
}

// editGrant changes the stored sign-in of server name while nothing runs.
func editGrant(t *testing.T, configDir, name string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(configDir, "secrets.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	json.Unmarshal(raw, &m)
	g := storedGrant(t, configDir, name)
	edit(g)
	b, _ := json.Marshal(g)
	m["oauth/"+name] = string(b)
	raw, _ = json.Marshal(m)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// recorder keeps everything a client received, and the sessions it served.
type recorder struct {
	mu       sync.Mutex
	got      strings.Builder
	sessions []*mcp.ClientSession
}

// closeSessions ends the clients' sessions (before serve stops: an open
// stream would hold its shutdown).
func (r *recorder) closeSessions() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cs := range r.sessions {
		cs.Close()
	}
	r.sessions = nil
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.mu.Lock()
	fmt.Fprintf(&r.got, "%v\n%s\n", resp.Header, body)
	r.mu.Unlock()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp, nil
}

// clientSession is a go-sdk client of MCP Share with MCP Share's own token.
func clientSession(t *testing.T, mcpURL, token string, rec *recorder) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}), Base: rec}}
	c := mcp.NewClient(&mcp.Implementation{Name: "remote-e2e", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: mcpURL, HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", mcpURL, err)
	}
	t.Cleanup(func() { cs.Close() })
	rec.mu.Lock()
	rec.sessions = append(rec.sessions, cs)
	rec.mu.Unlock()
	return cs
}

func greet(t *testing.T, cs *mcp.ClientSession, tool string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"name": "MCP Share"}})
	if err != nil {
		return "", err
	}
	if res.IsError || len(res.Content) == 0 {
		return "", fmt.Errorf("tool error: %+v", res.Content)
	}
	return res.Content[0].(*mcp.TextContent).Text, nil
}

func stopServe(t *testing.T, inst *instance) {
	t.Helper()
	inst.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-inst.exited:
		inst.exited <- err // for startServe's cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}

func TestRemoteOAuthServerOfTheTypeScriptSDK(t *testing.T) {
	dir := requireE2E(t)
	demo := startTSDemo(t, dir)
	configDir := t.TempDir()

	out, err := mcpshareCmd(t, configDir, "server", "add", "demo", "--url", demo.url)
	if err != nil || !strings.Contains(out, "signs in with OAuth at "+demo.issuer) {
		t.Fatalf("server add --url: %v\n%s", err, out)
	}
	out, _ = mcpshareCmd(t, configDir, "server", "list")
	if !regexp.MustCompile(`demo\s+remote\s+true\s+` + regexp.QuoteMeta(demo.url) + `\s+needed: nobody has signed in`).MatchString(out) {
		t.Fatalf("server list before the sign-in:\n%s", out)
	}

	out = login(t, configDir, "demo", followBrowser)
	if !strings.Contains(out, `Signed in to server "demo" (simple-streamable-http-server 1.0.0)`) || !strings.Contains(out, "greet") {
		t.Fatalf("server login:\n%s", out)
	}
	up := storedGrant(t, configDir, "demo")
	if up == nil || up["access_token"] == "" {
		t.Fatalf("no stored sign-in after login: %v", up)
	}
	upToken := up["access_token"].(string)
	if db, _ := os.ReadFile(filepath.Join(configDir, "mcpshare.db")); strings.Contains(string(db), upToken) {
		t.Fatal("the upstream's token is in the database in clear")
	}

	inst := startServe(t, configDir)
	user, password := inst.user, inst.password
	mcpURL := inst.mcpURL(t, "demo")
	_, tok := preregistered(t, inst, mcpURL)
	rec := &recorder{}
	cs := clientSession(t, mcpURL, tok.AccessToken, rec)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) == 0 {
		t.Fatalf("tools/list through MCP Share: %v", err)
	}
	if got, err := greet(t, cs, "greet"); err != nil || got != "Hello, MCP Share!" {
		t.Fatalf("greet through MCP Share: %q, %v", got, err)
	}
	// The all-servers URL reaches it too.
	_, all := preregistered(t, inst, inst.ready.Issuer+"/mcp")
	if got, err := greet(t, clientSession(t, inst.ready.Issuer+"/mcp", all.AccessToken, rec), "demo_greet"); err != nil || got != "Hello, MCP Share!" {
		t.Fatalf("demo_greet through /mcp: %q, %v", got, err)
	}

	// The tokens never cross: the demo saw only its own token, the client
	// never the demo's, and neither token opens the other side.
	seen := demo.tokensSeen()
	if len(seen) == 0 {
		t.Fatal("the demo logged no authenticated request")
	}
	for _, s := range seen {
		if s != upToken {
			t.Fatalf("the demo server got the token %q, not its own", s)
		}
	}
	if strings.Contains(rec.got.String(), upToken) {
		t.Fatal("the demo's token reached MCP Share's client")
	}
	// (The demo answers a token its verifier throws on with 500, not 401.)
	if code, _ := statusWithToken(t, demo.url, tok.AccessToken); code != http.StatusUnauthorized && code != http.StatusInternalServerError {
		t.Fatalf("MCP Share's token at the demo: %d, want it refused", code)
	}
	if code, _ := statusWithToken(t, mcpURL, upToken); code != http.StatusUnauthorized {
		t.Fatalf("the demo's token at MCP Share: %d, want 401", code)
	}

	// The sign-in survives a restart.
	rec.closeSessions()
	stopServe(t, inst)
	inst = startServe(t, configDir)
	mcpURL = inst.mcpURL(t, "demo") // another port
	_, tok = preregisteredAs(t, inst, mcpURL, user, password)
	if got, err := greet(t, clientSession(t, mcpURL, tok.AccessToken, rec), "greet"); err != nil || got != "Hello, MCP Share!" {
		t.Fatalf("greet after a restart: %q, %v", got, err)
	}

	// An expired token that the demo gives no way to renew: a call says
	// to sign in again, and serve tells the terminal.
	rec.closeSessions()
	stopServe(t, inst)
	editGrant(t, configDir, "demo", func(g map[string]any) {
		g["expiry"] = time.Now().Add(-time.Minute).Format(time.RFC3339)
	})
	inst = startServe(t, configDir)
	mcpURL = inst.mcpURL(t, "demo") // another port
	_, tok = preregisteredAs(t, inst, mcpURL, user, password)
	// The server's own URL starts its backend at initialize: the client
	// hears it there.
	c := mcp.NewClient(&mcp.Implementation{Name: "remote-e2e", Version: "1"}, nil)
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: rec}}
	if _, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: mcpURL, HTTPClient: hc, MaxRetries: -1}, nil); err == nil ||
		!strings.Contains(err.Error(), `server "demo" needs the owner of MCP Share to sign in to it again`) {
		t.Fatalf("a client with the demo's token expired: %v; want the sign-in sentence", err)
	}
	waitOutput(t, inst.stderr, `server "demo" needs you to sign in to it`)
	rec.closeSessions()
	stopServe(t, inst)
	out = login(t, configDir, "demo", followBrowser)
	if !strings.Contains(out, `Signed in to server "demo"`) {
		t.Fatalf("a second login:\n%s", out)
	}

	// Removing the server purges its tokens.
	if out, err := mcpshareCmd(t, configDir, "server", "remove", "demo"); err != nil {
		t.Fatalf("server remove: %v\n%s", err, out)
	}
	if g := storedGrant(t, configDir, "demo"); g != nil {
		t.Fatalf("the tokens of a removed server are still stored: %v", g)
	}
}

// waitOutput waits until buf holds want.
func waitOutput(t *testing.T, buf *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q:\n%s", want, buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRemoteTokenExpiredIsRenewedEndToEnd(t *testing.T) {
	// Another mcpshare is the upstream: its authorization server issues
	// refresh tokens and rotates them (the TS demo issues none).
	upstream := startServe(t, "")
	upURL := upstream.mcpURL(t, "files")
	configDir := t.TempDir()
	if out, err := mcpshareCmd(t, configDir, "server", "add", "up", "--url", upURL); err != nil || !strings.Contains(out, "signs in with OAuth") {
		t.Fatalf("server add --url: %v\n%s", err, out)
	}
	login(t, configDir, "up", func(authURL string) error {
		loc := signIn(t, authURL, upstream.user, upstream.password) // the upstream's login form
		return followBrowser(loc.String())
	})
	before := storedGrant(t, configDir, "up")
	editGrant(t, configDir, "up", func(g map[string]any) {
		g["expiry"] = time.Now().Add(-time.Minute).Format(time.RFC3339)
	})
	inst := startServe(t, configDir)
	mcpURL := inst.mcpURL(t, "up")
	_, tok := preregistered(t, inst, mcpURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := callSearch(ctx, mcpURL, tok.AccessToken); err != nil {
		t.Fatalf("search through MCP Share after the upstream token expired: %v", err)
	}
	after := storedGrant(t, configDir, "up")
	if after["access_token"] == before["access_token"] || after["refresh_token"] == before["refresh_token"] {
		t.Fatal("the expired token was not renewed, or the rotated refresh token not stored")
	}
}
