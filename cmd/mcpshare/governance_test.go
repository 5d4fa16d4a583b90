package main

// The owner's rules end to end: set with the command line, enforced by the
// real binary on server-everything from npm, answered on a real terminal
// (a pty from script(1)), and read back with `mcpshare audit` while serve
// runs.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app/audit"
)

// mcpshareIn runs a management command on configDir and returns its output.
func mcpshareIn(t *testing.T, configDir string, args ...string) string {
	t.Helper()
	// The flags go before "--": what follows is a server's command line.
	at := len(args)
	for i, a := range args {
		if a == "--" {
			at = i
			break
		}
	}
	full := append(append(append([]string{}, args[:at]...), "--config-dir", configDir, "--secrets", "file"), args[at:]...)
	cmd := exec.Command(binary, full...)
	cmd.Env = append(os.Environ(), "MCPSHARE_CONFIG_DIR="+configDir)
	cmd.Stdin = strings.NewReader("correct horse battery\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mcpshare %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func everythingArgs(dir string) []string {
	return []string{nodeBinary(dir), filepath.Join(dir, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"), "stdio"}
}

// mcpSession opens a go-sdk session to mcpURL with an access token.
func mcpSession(t *testing.T, mcpURL, token string) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hc := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}))
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "governance-e2e", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: mcpURL, HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", mcpURL, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func toolCall(cs *mcp.ClientSession, name string, args map[string]any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
}

func toolText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestRulesFromTheCommandLineAndTheAuditWhileServing(t *testing.T) {
	dir := requireE2E(t)
	configDir := t.TempDir()
	mcpshareIn(t, configDir, append([]string{"server", "add", "everything", "--"}, everythingArgs(dir)...)...)
	out := mcpshareIn(t, configDir, "server", "tools", "everything", "--hide", "echo", "--ask-before-changes", "on")
	for _, want := range []string{`tool\s+echo\s+hidden\s+\(set\)`, `tool\s+toggle-simulated-logging\s+ask\s+\(not read-only\)`, `prompt\s+simple-prompt\s+allowed`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("server tools lacks %s:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "get-sum") || strings.Contains(lineWith(out, "get-sum"), "ask") {
		t.Errorf("the read-only get-sum should be allowed:\n%s", out)
	}
	mcpshareIn(t, configDir, "user", "add", "bob", "--password-stdin")
	out = mcpshareIn(t, configDir, "server", "access", "everything", "--users", "admin")
	if !strings.Contains(out, `Only admin may use "everything"`) {
		t.Errorf("server access: %s", out)
	}

	inst := startServe(t, configDir)
	mcpURL := inst.mcpURL(t, "everything")
	_, tok := preregistered(t, inst, mcpURL)
	cs := mcpSession(t, mcpURL, tok.AccessToken)
	if _, err := toolCall(cs, "echo", map[string]any{"message": "hush"}); err == nil || !strings.Contains(err.Error(), "disabled by the owner") {
		t.Errorf("the hidden echo: %v", err)
	}
	res, err := toolCall(cs, "toggle-simulated-logging", map[string]any{})
	if err != nil || !res.IsError || !strings.Contains(toolText(res), "without a window or terminal") {
		t.Errorf("a call in ask with --approval password (nobody to ask): %v %+v", err, res)
	}
	if res, err := toolCall(cs, "get-sum", map[string]any{"a": 20, "b": 22}); err != nil || res.IsError || !strings.Contains(toolText(res), "42") {
		t.Errorf("get-sum: %v %+v", err, res)
	}

	// The audit log is read while serve holds the database.
	out = mcpshareIn(t, configDir, "audit")
	for _, want := range []string{"tools/call echo", "hidden", "tools/call toggle-simulated-logging", "denied", "tools/call get-sum", "args hmac:"} {
		if !strings.Contains(out, want) {
			t.Errorf("mcpshare audit lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hush") {
		t.Errorf("arguments in clear in the audit:\n%s", out)
	}
	out = mcpshareIn(t, configDir, "audit", "--json", "--outcome", "ok")
	var e audit.Entry
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &e); err != nil || e.Name != "get-sum" || e.User != "admin" || e.Client != inst.ready.ClientID {
		t.Errorf("audit --json --outcome ok: %v %+v\n%s", err, e, out)
	}

	// --follow prints what is written after it started.
	follow := exec.Command(binary, "audit", "--follow", "-n", "0", "--config-dir", configDir, "--secrets", "file")
	var followed syncBuffer
	follow.Stdout = &followed
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { follow.Process.Signal(syscall.SIGTERM); follow.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(followed.String(), "get-sum") {
		if time.Now().After(deadline) {
			t.Fatalf("audit --follow printed no new call:\n%s", followed.String())
		}
		toolCall(cs, "get-sum", map[string]any{"a": 1, "b": 1})
		time.Sleep(300 * time.Millisecond)
	}

	// bob may not use the server: his token for every server he may use
	// (/mcp) does not open it. (No token for /mcp/everything is issued to him
	// at all: app and oauthserver tests show the refused sign-in.)
	_, bobTok := preregisteredAs(t, inst, inst.ready.Issuer+"/mcp", "bob", "correct horse battery")
	if code, _ := statusWithToken(t, mcpURL, bobTok.AccessToken); code != http.StatusForbidden {
		t.Errorf("bob at /mcp/everything: %d, want 403", code)
	}
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// terminal is `mcpshare serve` on a pseudo-terminal of script(1): what it
// prints, and a keyboard.
type terminal struct {
	t      *testing.T
	keys   io.WriteCloser
	screen *syncBuffer
}

func (tm *terminal) waitFor(sub string) {
	tm.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(tm.screen.String(), sub) {
		if time.Now().After(deadline) {
			tm.t.Fatalf("the terminal never showed %q:\n%s", sub, tm.screen.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tm *terminal) count(sub string) int { return strings.Count(tm.screen.String(), sub) }

func (tm *terminal) waitCount(sub string, n int) {
	tm.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for tm.count(sub) < n {
		if time.Now().After(deadline) {
			tm.t.Fatalf("the terminal showed %q %d times, want %d:\n%s", sub, tm.count(sub), n, tm.screen.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tm *terminal) typeLine(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.keys, s+"\r"); err != nil {
		tm.t.Fatal(err)
	}
}

func TestServeAsksOnTheTerminal(t *testing.T) {
	dir := requireE2E(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) is missing: no pseudo-terminal for serve")
	}
	configDir := t.TempDir()
	const password = "terminal test password"
	passwd := exec.Command(binary, "user", "passwd", "admin", "--password-stdin", "--config-dir", configDir, "--secrets", "file")
	passwd.Stdin = strings.NewReader(password + "\n")
	if out, err := passwd.CombinedOutput(); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	mcpshareIn(t, configDir, append([]string{"server", "add", "everything", "--"}, everythingArgs(dir)...)...)
	mcpshareIn(t, configDir, "server", "tools", "everything", "--ask", "echo", "--ask", "toggle-simulated-logging")

	ready := filepath.Join(t.TempDir(), "ready.json")
	line := strings.Join([]string{binary, "serve", "--config-dir", configDir, "--secrets", "file", "--addr", "127.0.0.1:0",
		"--approval", "ask", "--ready-file", ready, "--folder", t.TempDir()}, " ")
	cmd := exec.Command("script", "-qfec", line, "/dev/null")
	keys, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, keys: keys, screen: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = tm.screen, tm.screen
	startProcess(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the terminal:\n%s", tm.screen.String())
		}
	})
	var info readyInfo
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil && json.Unmarshal(b, &info) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file:\n%s", tm.screen.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tm.waitFor("Calls of tools you set to ask wait for your approval here on the terminal too.")

	// The sign-in is approved on the terminal.
	mcpURL := info.Servers["everything"]
	signin := startTokenSignIn(t, info.Issuer, mcpURL, "admin", password)
	tm.waitFor("Sign-in request: user \"admin\" through ChatGPT")
	tm.typeLine("y")
	cs := mcpSession(t, mcpURL, signin.token(t))

	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	start := func(tool string, args map[string]any) chan answer {
		done := make(chan answer, 1)
		go func() {
			res, err := toolCall(cs, tool, args)
			done <- answer{res, err}
		}()
		return done
	}
	// "always": this call and the next of the same tool and client.
	done := start("toggle-simulated-logging", map[string]any{})
	tm.waitFor(`Call waiting for approval: user "admin" through ChatGPT (unverified) wants tool "toggle-simulated-logging" of server "everything"`)
	tm.waitFor("[a]lways for this client")
	tm.typeLine("a")
	if a := <-done; a.err != nil || a.res.IsError {
		t.Fatalf("the call approved on the terminal: %v %+v", a.err, a.res)
	}
	if a := <-start("toggle-simulated-logging", map[string]any{}); a.err != nil || a.res.IsError {
		t.Fatalf("the call always allowed: %v %+v", a.err, a.res)
	}
	// A denied call; the owner reads its arguments escaped (a right-to-left
	// override would reverse what follows it).
	done = start("echo", map[string]any{"message": "safe \u202e/ fr- mr"})
	tm.waitCount("Call waiting for approval", 2)
	tm.waitFor(`\u{202E}/ fr- mr`)
	if strings.Contains(tm.screen.String(), "\u202e") {
		t.Error("the terminal showed the override character itself")
	}
	tm.typeLine("n")
	if a := <-done; a.err != nil || !a.res.IsError || !strings.Contains(toolText(a.res), "denied this call") {
		t.Fatalf("the call denied on the terminal: %v %+v", a.err, a.res)
	}
	out := mcpshareIn(t, configDir, "audit", "--event", "approval")
	for _, want := range []string{"always", "(terminal)", "remembered", "denied"} {
		if !strings.Contains(out, want) {
			t.Errorf("approvals in the audit lack %q:\n%s", want, out)
		}
	}
}

// tokenSignIn is a sign-in of a client named ChatGPT that waits for the
// owner's approval, then exchanges its code.
type tokenSignIn struct {
	*browserSignIn
	cfg      oauth2.Config
	verifier string
	resource string
}

func startTokenSignIn(t *testing.T, origin, resource, user, password string) *tokenSignIn {
	t.Helper()
	redirect := "http://127.0.0.1:9/callback"
	resp, err := http.Post(origin+"/register", "application/json", strings.NewReader(
		`{"client_name":"ChatGPT","redirect_uris":["`+redirect+`"],"token_endpoint_auth_method":"none"}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	s := &tokenSignIn{verifier: oauth2.GenerateVerifier(), resource: resource}
	s.cfg = oauth2.Config{ClientID: reg.ClientID, RedirectURL: redirect, Scopes: []string{"mcp"},
		Endpoint: oauth2.Endpoint{AuthURL: origin + "/authorize", TokenURL: origin + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	authURL := s.cfg.AuthCodeURL("st-term", oauth2.S256ChallengeOption(s.verifier), oauth2.SetAuthURLParam("resource", resource))
	loc := signIn(t, authURL, user, password)
	if !strings.Contains(loc.Path, "/authorize/wait") {
		t.Fatalf("after the password: %s, want the waiting page", loc)
	}
	s.browserSignIn = &browserSignIn{t: t, waitURL: base(authURL).ResolveReference(loc), redirect: redirect}
	return s
}

// token waits for the approval and exchanges the code.
func (s *tokenSignIn) token(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for s.status() == "pending" {
		if time.Now().After(deadline) {
			t.Fatal("the sign-in was not decided")
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := noRedirect.Get(s.waitURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	to, _ := http.NewRequest(http.MethodGet, resp.Header.Get("Location"), nil)
	code := to.URL.Query().Get("code")
	if code == "" {
		t.Fatalf("after the decision: %s", resp.Header.Get("Location"))
	}
	tok, err := s.cfg.Exchange(context.Background(), code, oauth2.VerifierOption(s.verifier), oauth2.SetAuthURLParam("resource", s.resource))
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}
