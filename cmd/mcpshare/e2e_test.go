package main

// End-to-end tests: the real `mcpshare` binary, started on a free port with a
// temporary config dir, signed into by clients nobody here wrote (the MCP
// TypeScript SDK, the go-sdk's OAuth client, golang.org/x/oauth2) and serving
// real MCP servers.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
)

var binary string // path of the mcpshare binary built by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcpshare-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "mcpshare")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building mcpshare:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for a child's output and a reading test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// instance is one running `mcpshare serve`.
type instance struct {
	cmd            *exec.Cmd
	configDir      string
	folder         string
	ready          readyInfo
	readyFile      string
	user, password string
	stdout, stderr *syncBuffer
	exited         chan error
}

// startServe runs `mcpshare serve` with a fresh config dir (unless args name
// one) and waits until its ready file appears.
func startServe(t testing.TB, configDir string, args ...string) *instance {
	t.Helper()
	if configDir == "" {
		configDir = t.TempDir()
	}
	folder := filepath.Join(configDir, "shared")
	if err := os.MkdirAll(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(folder, "fox.txt"), []byte("The quick brown fox says welcome to MCP Share.\n"), 0o600)
	ready := filepath.Join(t.TempDir(), "ready.json")
	base := []string{"serve", "--config-dir", configDir, "--addr", "127.0.0.1:0", "--secrets", "file",
		"--approval", "password", "--ready-file", ready, "--folder", folder}
	inst := &instance{
		configDir: configDir, folder: folder, readyFile: ready,
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan error, 1),
	}
	inst.cmd = exec.Command(binary, append(base, args...)...)
	inst.cmd.Stdout, inst.cmd.Stderr = inst.stdout, inst.stderr
	if err := inst.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { inst.exited <- inst.cmd.Wait() }()
	t.Cleanup(func() {
		inst.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-inst.exited:
		case <-time.After(15 * time.Second):
			inst.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("mcpshare stdout:\n%s\nstderr:\n%s", inst.stdout, inst.stderr)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil && json.Unmarshal(b, &inst.ready) == nil {
			break
		}
		select {
		case err := <-inst.exited:
			t.Fatalf("mcpshare serve exited early (%v)\nstdout:\n%s\nstderr:\n%s", err, inst.stdout, inst.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mcpshare serve not ready after 30s\nstderr:\n%s", inst.stderr)
		}
	}
	// Not printed into a pipe: the ready file has the first password.
	inst.user, inst.password = inst.ready.FirstUser, inst.ready.FirstPassword
	return inst
}

func (inst *instance) mcpURL(t testing.TB, name string) string {
	t.Helper()
	u, ok := inst.ready.Servers[name]
	if !ok {
		t.Fatalf("server %q not in ready file: %+v", name, inst.ready.Servers)
	}
	return u
}

// noRedirect is an HTTP client that shows redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

var (
	formRE   = regexp.MustCompile(`(?is)<form[^>]*action="([^"]*)"`)
	inputRE  = regexp.MustCompile(`(?is)<input[^>]*>`)
	nameRE   = regexp.MustCompile(`(?i)name="([^"]*)"`)
	valueRE  = regexp.MustCompile(`(?i)value="([^"]*)"`)
	resMetaR = regexp.MustCompile(`resource_metadata="([^"]+)"`)
)

// signIn does what a person does in the browser: open the authorization URL,
// fill in the login form, submit it, and return the redirect it lands on.
func signIn(t testing.TB, authURL, user, password string) *url.URL {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", authURL, resp.StatusCode, body)
	}
	action, form := fillLoginForm(t, body, authURL, user, password)
	resp, err = noRedirect.PostForm(action.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login POST: %d %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// serveWithEverything adds the npm server-everything (stdio) as "everything"
// to a fresh config dir with `server add`, starts `serve` on it, and returns
// the instance with the first user's credentials, which `server add` kept
// in the secret store because it created the installation.
func serveWithEverything(t *testing.T, dir string, addFlags ...string) *instance {
	t.Helper()
	args := append(addFlags, "--", nodeBinary(dir), filepath.Join(dir, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"), "stdio")
	return serveWithCommand(t, "everything", args...)
}

// serveWithCommand adds the server name to a fresh config dir and starts
// serve on it; addArgs are `server add` arguments: a command line, or flags
// (then "--" and a command line, or --url).
func serveWithCommand(t testing.TB, name string, addArgs ...string) *instance {
	t.Helper()
	return serveWithCommandIn(t, t.TempDir(), name, addArgs...)
}

// serveWithCommandIn is serveWithCommand on a config dir of the caller's
// (which may hold users added before the first start).
func serveWithCommandIn(t testing.TB, configDir, name string, addArgs ...string) *instance {
	t.Helper()
	args := []string{"server", "add", name, "--config-dir", configDir, "--secrets", "file"}
	if !slices.Contains(addArgs, "--") && !strings.HasPrefix(addArgs[0], "-") {
		args = append(args, "--") // a bare command line
	}
	args = append(args, addArgs...)
	out, err := exec.Command(binary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("server add: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("has the password")) {
		t.Fatalf("server add printed the first password into a pipe:\n%s", out)
	}
	inst := startServe(t, configDir)
	if inst.password == "" {
		t.Fatal("the ready file has no first password that nobody has seen")
	}
	return inst
}

// fillLoginForm reads the login page like a browser: the form's action and
// every input, with the user name and password typed in.
func fillLoginForm(t testing.TB, body []byte, authURL, user, password string) (*url.URL, url.Values) {
	t.Helper()
	m := formRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no form on the login page:\n%s", body)
	}
	form := url.Values{}
	for _, in := range inputRE.FindAll(body, -1) {
		n := nameRE.FindSubmatch(in)
		if n == nil {
			continue
		}
		v := ""
		if vm := valueRE.FindSubmatch(in); vm != nil {
			v = html.UnescapeString(string(vm[1]))
		}
		form.Set(string(n[1]), v)
	}
	form.Set("username", user)
	form.Set("password", password)
	base, _ := url.Parse(authURL)
	action, err := base.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	return action, form
}

func requireE2E(t testing.TB) string {
	t.Helper()
	dir, _ := filepath.Abs("testdata/node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		if os.Getenv("MCPSHARE_REQUIRE_E2E") == "1" {
			t.Fatalf("the npm packages of the end-to-end tests are missing (run cmd/setup.sh --test): %v", err)
		}
		t.Skip("npm packages not installed; run cmd/setup.sh --test")
	}
	return dir
}

func nodeBinary(dir string) string {
	// The lockfile brings Node 22 (the conformance suite needs it); fall back to the system's.
	if p := filepath.Join(dir, "node_modules", ".bin", "node"); fileExists(p) {
		return p
	}
	return "node"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestServeAnnouncesAndChallenges(t *testing.T) {
	inst := startServe(t, "")
	out := inst.stdout.String()
	for _, want := range []string{"MCP URL (files): " + inst.ready.Servers["files"], "Client ID:", "Client Secret:", "Issuer:"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if inst.password == "" {
		t.Fatalf("the ready file of the first start has no generated password:\n%s", out)
	}
	mcpURL := inst.mcpURL(t, "files")
	if !strings.HasPrefix(mcpURL, inst.ready.Issuer+"/mcp/files") {
		t.Errorf("MCP URL %s not under issuer %s", mcpURL, inst.ready.Issuer)
	}
	// An anonymous initialize gets the challenge that starts OAuth.
	req, _ := http.NewRequest("POST", mcpURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous initialize: %d, want 401", resp.StatusCode)
	}
	ch := resp.Header.Get("WWW-Authenticate")
	m := resMetaR.FindStringSubmatch(ch)
	if m == nil || m[1] != inst.ready.Issuer+"/.well-known/oauth-protected-resource/mcp/files" || !strings.Contains(ch, `scope="mcp"`) {
		t.Fatalf("WWW-Authenticate = %q", ch)
	}
	// The ready file carries the secret: it must not be readable by others.
	fi, err := os.Stat(inst.readyFile)
	if err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("ready file mode %v", fi.Mode().Perm())
	}
}

func TestTypeScriptSDKClient(t *testing.T) {
	dir := requireE2E(t)
	inst := startServe(t, "")
	for _, mcpURL := range []string{inst.mcpURL(t, "files"), inst.ready.Issuer + "/mcp"} {
		t.Run(strings.TrimPrefix(mcpURL, inst.ready.Issuer), func(t *testing.T) { tsClientSignsInAndCalls(t, dir, inst, mcpURL) })
	}
}

// tsClientSignsInAndCalls runs the TS SDK client against mcpURL: discovery,
// registration, sign-in, then search and fetch.
func tsClientSignsInAndCalls(t *testing.T, dir string, inst *instance, mcpURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBinary(dir), "ts_client.mjs", mcpURL, inst.user, inst.password, "fox")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res struct {
		OK              bool     `json:"ok"`
		Error           string   `json:"error"`
		Steps           []string `json:"steps"`
		Registered      string   `json:"registered_client"`
		AuthURL         string   `json:"auth_url"`
		Iss             string   `json:"iss"`
		Tools           []string `json:"tools"`
		Search          mcp.CallToolResult
		Fetch           json.RawMessage `json:"fetch"`
		HasRefreshToken bool            `json:"has_refresh_token"`
		ProtocolVersion string          `json:"protocol_version"`
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil || err != nil || !res.OK {
		t.Fatalf("TS client: %v %v\nresult: %s\nerror: %s\nstderr: %s", err, jerr, out, res.Error, stderr.String())
	}
	if res.Registered == "" {
		t.Error("the TS client did not register dynamically")
	}
	au, _ := url.Parse(res.AuthURL)
	q := au.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("resource") != mcpURL {
		t.Errorf("authorization URL lacks S256 or resource: %s", res.AuthURL)
	}
	if res.Iss != inst.ready.Issuer {
		t.Errorf("iss in redirect = %q, want %q", res.Iss, inst.ready.Issuer)
	}
	for _, want := range []string{"fetch", "list", "search"} {
		if !strings.Contains(strings.Join(res.Tools, ","), want) {
			t.Errorf("tools %v lack %s", res.Tools, want)
		}
	}
	if !strings.Contains(string(res.Fetch), "quick brown fox") {
		t.Errorf("fetch of the first search result did not return the file: %s", res.Fetch)
	}
	if !res.HasRefreshToken {
		t.Error("no refresh token issued")
	}
}

// goSDKSignIn returns an AuthorizationCodeFetcher that signs in like a browser.
func goSDKSignIn(t *testing.T, user, password string) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		loc := signIn(t, args.URL, user, password)
		q := loc.Query()
		if e := q.Get("error"); e != "" {
			return nil, fmt.Errorf("authorization error %s", e)
		}
		return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
	}
}

func TestGoSDKClient(t *testing.T) {
	inst := startServe(t, "")
	for _, mcpURL := range []string{inst.mcpURL(t, "files"), inst.ready.Issuer + "/mcp"} {
		t.Run(strings.TrimPrefix(mcpURL, inst.ready.Issuer), func(t *testing.T) { goSDKSignsInAndSearches(t, inst, mcpURL) })
	}
}

func goSDKSignsInAndSearches(t *testing.T, inst *instance, mcpURL string) {
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		RedirectURL: "http://127.0.0.1:8999/callback",
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "go-sdk e2e", RedirectURIs: []string{"http://127.0.0.1:8999/callback"},
		}},
		AuthorizationCodeFetcher: goSDKSignIn(t, inst.user, inst.password),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "go-e2e", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: mcpURL, OAuthHandler: h}, nil)
	if err != nil {
		t.Fatalf("connect with the go-sdk OAuth client: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": "fox"}})
	if err != nil || res.IsError {
		t.Fatalf("search: %v %+v", err, res)
	}
	if !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "fox.txt") {
		t.Errorf("search did not find fox.txt: %+v", res.Content[0])
	}
}

// preregistered signs in with the pre-registered client and golang.org/x/oauth2
// as ChatGPT does with "user-defined OAuth client" credentials.
func preregistered(t testing.TB, inst *instance, resource string) (*oauth2.Config, *oauth2.Token) {
	t.Helper()
	return preregisteredAs(t, inst, resource, inst.user, inst.password)
}

// preregisteredAs is preregistered for another user of the installation.
func preregisteredAs(t testing.TB, inst *instance, resource, user, password string) (*oauth2.Config, *oauth2.Token) {
	t.Helper()
	redirect := "https://chatgpt.com/connector/oauth/e2e-test-callback"
	cfg := &oauth2.Config{
		ClientID: inst.ready.ClientID, ClientSecret: inst.ready.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL: inst.ready.Issuer + "/authorize", TokenURL: inst.ready.Issuer + "/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: redirect, Scopes: []string{"mcp"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st-123", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", resource))
	loc := signIn(t, authURL, user, password)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect {
		t.Fatalf("redirected to %s", loc)
	}
	q := loc.Query()
	if q.Get("state") != "st-123" || q.Get("iss") != inst.ready.Issuer || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", resource))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return cfg, tok
}

func callSearch(ctx context.Context, mcpURL, accessToken string) error {
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}))
	client := mcp.NewClient(&mcp.Implementation{Name: "oauth2-e2e", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: mcpURL, HTTPClient: hc}, nil)
	if err != nil {
		return err
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": "fox"}})
	if err != nil {
		return err
	}
	if res.IsError {
		return fmt.Errorf("tool error: %+v", res.Content)
	}
	return nil
}

func statusWithToken(t *testing.T, mcpURL, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", mcpURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

func TestOAuth2PreregisteredRefreshRevokeAudience(t *testing.T) {
	dir := requireE2E(t)
	// A second server, stdio, from npm: a token for /mcp/files must not open it.
	inst := serveWithEverything(t, dir)
	files, everything := inst.mcpURL(t, "files"), inst.mcpURL(t, "everything")
	cfg, tok := preregistered(t, inst, files)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := callSearch(ctx, files, tok.AccessToken); err != nil {
		t.Fatalf("tools/call with the access token: %v", err)
	}
	// Audience: the files token is refused at /mcp/everything.
	if code, ch := statusWithToken(t, everything, tok.AccessToken); code != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("files token at /mcp/everything: %d %q, want 401 invalid_token", code, ch)
	}
	// Refresh: a new access token works, rotation gives a new refresh token.
	old := *tok
	tok.Expiry = time.Now().Add(-time.Minute)
	hc := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	fresh, err := cfg.TokenSource(hc, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken || fresh.RefreshToken == "" {
		t.Fatalf("refresh did not rotate: %+v", fresh)
	}
	if err := callSearch(ctx, files, fresh.AccessToken); err != nil {
		t.Fatalf("tools/call with the refreshed token: %v", err)
	}
	// Revocation of the refreshed access token: the next call is refused.
	form := url.Values{"token": {fresh.AccessToken}}
	req, _ := http.NewRequest("POST", inst.ready.Issuer+"/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if code, _ := statusWithToken(t, files, fresh.AccessToken); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}
	// The stdio server from npm works through the bridge with its own token.
	_, tok2 := preregistered(t, inst, everything)
	hc2 := oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok2))
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: everything, HTTPClient: hc2}, nil)
	if err != nil {
		t.Fatalf("connect to server-everything through the bridge: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "through the bridge"}})
	if err != nil || res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "through the bridge") {
		t.Fatalf("echo through the bridge: %v %+v", err, res)
	}
}

func TestSecondInstanceAndCLIWhileRunning(t *testing.T) {
	inst := startServe(t, "")
	start := time.Now()
	out, err := exec.Command(binary, "user", "list", "--config-dir", inst.configDir, "--secrets", "file").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already running") {
		t.Fatalf("user list while serving: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the locked database took %v to report", d)
	}
}

func TestSecretsNotPrintedIntoLogs(t *testing.T) {
	first := startServe(t, "")
	for _, secret := range []string{first.ready.ClientSecret, first.password} {
		if secret == "" || strings.Contains(first.stdout.String(), secret) {
			t.Fatalf("the first start printed a secret (or has none) into non-terminal output:\n%s", first.stdout)
		}
	}
	first.cmd.Process.Signal(syscall.SIGTERM)
	<-first.exited
	first.exited <- nil
	again := startServe(t, first.configDir)
	out := again.stdout.String()
	if again.ready.ClientSecret != first.ready.ClientSecret || again.password != first.password {
		t.Fatal("the client secret or the first password nobody has seen changed between starts")
	}
	if strings.Contains(out, again.ready.ClientSecret) || !strings.Contains(out, "Client Secret:  (not printed") {
		t.Fatalf("a later start printed the secret into non-terminal output:\n%s", out)
	}
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	inst := startServe(t, "")
	inst.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-inst.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, inst.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15s of SIGTERM")
	}
	inst.exited <- nil // for the cleanup
	// Nothing lost: the database opens again and still has the user.
	out, err := exec.Command(binary, "user", "list", "--config-dir", inst.configDir, "--secrets", "file").CombinedOutput()
	if err != nil || !strings.Contains(string(out), inst.user) {
		t.Fatalf("user list after stop: %v\n%s", err, out)
	}
}

func TestServeRefusesAskWithoutTerminal(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--config-dir", t.TempDir(), "--secrets", "file", "--addr", "127.0.0.1:0", "--approval", "ask", "--folder", t.TempDir())
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--approval password") {
		t.Fatalf("serve --approval ask without a terminal: %v\n%s", err, out)
	}
}

func TestUserAndServerCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(binary, append(args, "--config-dir", dir, "--secrets", "file")...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("correct horse battery\n", "user", "add", "alice", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if out, err := run("", "user", "add", "alice"); err == nil {
		t.Fatalf("adding alice twice succeeded:\n%s", out)
	}
	out, err := run("", "user", "list")
	if err != nil || !strings.Contains(out, "alice") {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	if out, err := run("", "server", "add", "Bad Name", "--", "true"); err == nil {
		t.Fatalf("a bad server name was accepted:\n%s", out)
	}
	if out, err := run("", "server", "add", "web", "--url", "http://127.0.0.1:3000/mcp"); err != nil {
		t.Fatalf("server add --url: %v\n%s", err, out)
	}
	if out, err := run("", "server", "add", "web", "--url", "http://127.0.0.1:3001/mcp"); err == nil || !strings.Contains(out, "already exists") {
		t.Fatalf("a clashing name was not refused: %v\n%s", err, out)
	}
	// A remote URL is asked whether it signs in; one that cannot be reached
	// is added only when told how (--oauth yes|no).
	if out, err := run("", "server", "add", "remote", "--url", "https://example.invalid/mcp"); err == nil || !strings.Contains(out, "could not reach") {
		t.Fatalf("an unreachable remote URL was added without asking: %v\n%s", err, out)
	}
	if out, err := run("", "server", "add", "plain", "--url", "http://example.com/mcp", "--oauth", "no"); err == nil {
		t.Fatalf("plain http off this computer was accepted:\n%s", out)
	}
	if out, err := run("", "server", "disable", "web"); err != nil {
		t.Fatalf("disable: %v\n%s", err, out)
	}
	out, _ = run("", "server", "list")
	if !regexp.MustCompile(`web\s+http\s+false`).MatchString(out) || !strings.Contains(out, "files") {
		t.Fatalf("server list:\n%s", out)
	}
	cfgFile := filepath.Join(t.TempDir(), "claude_desktop_config.json")
	os.WriteFile(cfgFile, []byte(`{"mcpServers": {
		"My Notes": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
		"github": {"command": "gh-mcp", "env": {"GITHUB_TOKEN": "ghp_secret", "LOG_LEVEL": "info"}},
		"remote": {"url": "https://mcp.example.com/mcp"},
		"web": {"url": "http://127.0.0.1:9/mcp"}
	}}`), 0o600)
	out, err = run("", "import", cfgFile)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, want := range []string{"imported  github", "imported  my-notes", "imported  remote", "skipped   web", "3 imported, 1 skipped.",
		"Server \"remote\" signs in with OAuth"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	// The token went to the secret store, not to the database.
	db, _ := os.ReadFile(filepath.Join(dir, "mcpshare.db"))
	if bytes.Contains(db, []byte("ghp_secret")) {
		t.Error("the imported secret is in the database in clear")
	}
	sec, _ := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if !bytes.Contains(sec, []byte("ghp_secret")) {
		t.Error("the imported secret is not in the secret store")
	}
}

// childrenOf lists the PIDs whose parent is pid (Linux /proc).
func childrenOf(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == fmt.Sprint(pid) {
			var child int
			fmt.Sscan(e.Name(), &child)
			out = append(out, child)
		}
	}
	return out
}

// descendantsOf lists every process below pid.
func descendantsOf(pid int) []int {
	var out []int
	for _, c := range childrenOf(pid) {
		out = append(out, c)
		out = append(out, descendantsOf(c)...)
	}
	return out
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// TestNoChildSurvivesKilledServe kills `serve` with SIGKILL (no chance to
// clean up) while a stdio server runs for a session: the child must die too.
func TestNoChildSurvivesKilledServe(t *testing.T) {
	dir := requireE2E(t)
	// A wrapper that ignores SIGTERM and leaves a grandchild that ignores it
	// too and never reads stdin: what Setpgid and Pdeathsig alone let live.
	everything := nodeBinary(dir) + " " + filepath.Join(dir, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")
	inst := serveWithCommand(t, "everything", "sh", "-c", `trap "" TERM; sleep 1000 & `+everything+` stdio; wait`)
	url := inst.mcpURL(t, "everything")
	_, tok := preregistered(t, inst, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	kids := descendantsOf(inst.cmd.Process.Pid)
	if len(kids) < 3 {
		t.Fatalf("processes under serve: %v, want the supervisor, the wrapper, sleep and node", kids)
	}
	inst.cmd.Process.Kill()
	<-inst.exited
	inst.exited <- nil
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range kids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d outlived the killed serve", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func readProcFile(pid int, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), name))
}
