package bridge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// serverBin is the test MCP server (testdata/stdioserver), built by TestMain.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bridge-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "stdioserver")
	if runtime.GOOS == "windows" {
		serverBin += ".exe"
	}
	build := exec.Command("go", "build", "-o", serverBin, "./testdata/stdioserver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building test server:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tokens maps the bearer tokens of the tests to users.
var tokens = map[string]string{"tok-alice": "alice", "tok-bob": "bob"}

func verify(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
	user, ok := tokens[token]
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return &auth.TokenInfo{UserID: user, Scopes: []string{"mcp"}, Expiration: time.Now().Add(time.Hour)}, nil
}

// serve starts b behind a trivial bearer-token guard.
func serve(t testing.TB, b *Bridge) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(auth.RequireBearerToken(verify, nil)(b))
	t.Cleanup(ts.Close)
	return ts
}

func newBridge(t testing.TB, cfg Config) *Bridge {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	if cfg.Command == "" && cfg.URL == "" {
		cfg.Command = serverBin
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func httpClient(token string) *http.Client {
	return &http.Client{Transport: bearer{token, http.DefaultTransport}}
}

// clientOptions are the go-sdk client's options plus the roots it offers.
type clientOptions struct {
	mcp.ClientOptions
	Roots []*mcp.Root
}

// connect opens a go-sdk client session through the bridge as the user of token.
func connect(t testing.TB, url, token, version string, opts *clientOptions) (*mcp.ClientSession, error) {
	t.Helper()
	if opts == nil {
		opts = &clientOptions{}
	}
	roots := opts.Roots
	opts.Roots = nil
	c := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, &opts.ClientOptions)
	c.AddRoots(roots...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var sopts *mcp.ClientSessionOptions
	if version != "" {
		sopts = &mcp.ClientSessionOptions{ProtocolVersion: version}
	}
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: httpClient(token), MaxRetries: -1}, sopts)
	if err == nil {
		t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

func mustConnect(t testing.TB, url, token string) *mcp.ClientSession {
	t.Helper()
	cs, err := connect(t, url, token, "", nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return cs
}

// call calls a tool and returns its text, or an error for a failed call.
func call(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			sb.WriteString(tc.Text)
		}
	}
	if res.IsError {
		return "", errors.New(sb.String())
	}
	return sb.String(), nil
}

func childPID(t testing.TB, cs *mcp.ClientSession) int {
	t.Helper()
	out, err := call(t, cs, "pid", nil)
	if err != nil {
		t.Fatalf("pid: %v", err)
	}
	pid, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("pid %q: %v", out, err)
	}
	return pid
}

// waitGone waits until pid has ended.
func waitGone(t testing.TB, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still running", what, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitSessions(t testing.TB, b *Bridge, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.Sessions() != n {
		if time.Now().After(deadline) {
			t.Fatalf("Sessions() = %d, want %d", b.Sessions(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestToolsPassThroughAllVersions(t *testing.T) {
	b := newBridge(t, Config{})
	ts := serve(t, b)
	for _, tc := range []struct{ ask, want string }{
		{"2025-03-26", "2025-03-26"},
		{"2025-06-18", "2025-06-18"},
		{"2025-11-25", "2025-11-25"},
		{"", "2025-11-25"}, // latest: server/discover is refused, the client falls back
	} {
		t.Run("version="+tc.ask, func(t *testing.T) {
			cs, err := connect(t, ts.URL, "tok-alice", tc.ask, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := cs.InitializeResult().ProtocolVersion; got != tc.want {
				t.Errorf("negotiated %q, want %q", got, tc.want)
			}
			if got := cs.InitializeResult().ServerInfo.Name; got != "stdioserver" {
				t.Errorf("server name %q", got)
			}
			tools, err := cs.ListTools(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(tools.Tools) != 7 {
				t.Errorf("got %d tools, want 7", len(tools.Tools))
			}
			got, err := call(t, cs, "echo", map[string]any{"text": "héllo " + tc.ask})
			if err != nil || got != "héllo "+tc.ask {
				t.Errorf("echo = %q, %v", got, err)
			}
		})
	}
}

func TestServerToClientRequests(t *testing.T) {
	b := newBridge(t, Config{})
	ts := serve(t, b)
	opts := &clientOptions{ClientOptions: mcp.ClientOptions{
		CreateMessageHandler: func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Model: "m", Role: "assistant", Content: &mcp.TextContent{Text: "hi from client"}}, nil
		},
		ElicitationHandler: func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
	}}
	opts.Roots = []*mcp.Root{{URI: "file:///tmp/r1"}}
	cs, err := connect(t, ts.URL, "tok-alice", "", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ kind, want string }{
		{"sampling", "sampled: hi from client"},
		{"elicit", "elicited: accept Ada"},
		{"roots", "roots: file:///tmp/r1"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			got, err := call(t, cs, "ask", map[string]any{"kind": tc.kind})
			if err != nil || got != tc.want {
				t.Errorf("ask %s = %q, %v; want %q", tc.kind, got, err, tc.want)
			}
		})
	}
}

func TestProgressNotifications(t *testing.T) {
	b := newBridge(t, Config{})
	ts := serve(t, b)
	progress := make(chan float64, 10)
	cs, err := connect(t, ts.URL, "tok-alice", "", &clientOptions{ClientOptions: mcp.ClientOptions{
		ProgressNotificationHandler: func(ctx context.Context, req *mcp.ProgressNotificationClientRequest) {
			progress <- req.Params.Progress
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	params := &mcp.CallToolParams{Name: "slow", Arguments: map[string]any{"steps": 3, "ms": 10}}
	params.SetProgressToken("p1")
	if _, err := cs.CallTool(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	for want := 1.0; want <= 3; want++ {
		select {
		case got := <-progress:
			if got != want {
				t.Errorf("progress %v, want %v", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("progress %v never arrived", want)
		}
	}
}

// rawPOST sends one JSON-RPC message and returns the response.
func rawPOST(t testing.TB, url, token, sid, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set(headerSessionID, sid)
	}
	resp, err := httpClient(token).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// TestProgressOnPOSTStream checks that a client that never opens the GET
// stream still gets progress, on the SSE response of its tools/call.
func TestProgressOnPOSTStream(t *testing.T) {
	b := newBridge(t, Config{})
	ts := serve(t, b)
	resp := rawPOST(t, ts.URL, "tok-alice", "", initBody)
	sid := resp.Header.Get(headerSessionID)
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 || len(sid) < 20 {
		t.Fatalf("initialize: %s, session id %q", resp.Status, sid)
	}
	if r := rawPOST(t, ts.URL, "tok-alice", sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); r.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %s", r.Status)
	}
	resp = rawPOST(t, ts.URL, "tok-alice", sid, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","arguments":{"steps":2,"ms":5},"_meta":{"progressToken":"tok7"}}}`)
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, data)
		}
	}
	if len(events) != 3 {
		t.Fatalf("got %d events, want 2 progress + 1 result: %q", len(events), events)
	}
	for _, e := range events[:2] {
		if !strings.Contains(e, `"notifications/progress"`) || !strings.Contains(e, `"tok7"`) {
			t.Errorf("event %s: want progress for tok7", e)
		}
	}
	if !strings.Contains(events[2], `"id":2`) || !strings.Contains(events[2], "done after 2 steps") {
		t.Errorf("last event %s: want the result", events[2])
	}
}

func TestDeleteEndsChild(t *testing.T) {
	b := newBridge(t, Config{})
	ts := serve(t, b)
	cs := mustConnect(t, ts.URL, "tok-alice")
	pid := childPID(t, cs)
	sid := cs.ID()
	if err := cs.Close(); err != nil { // sends DELETE
		t.Fatal(err)
	}
	waitGone(t, pid, "child after DELETE")
	waitSessions(t, b, 0)
	if r := rawPOST(t, ts.URL, "tok-alice", sid, `{"jsonrpc":"2.0","id":3,"method":"ping"}`); r.StatusCode != http.StatusNotFound {
		t.Errorf("ended session: %s, want 404", r.Status)
	}
}

func TestChildFailureMidCall(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  func(t *testing.T, cs *mcp.ClientSession) error
		wants []string
	}{
		{"exits", func(t *testing.T, cs *mcp.ClientSession) error {
			_, err := call(t, cs, "crash", nil)
			return err
		}, []string{`server "test" exited with status 3`, "stdioserver: crashing on purpose"}},
		{"killed", func(t *testing.T, cs *mcp.ClientSession) error {
			pid := childPID(t, cs)
			errc := make(chan error, 1)
			go func() {
				_, err := call(t, cs, "slow", map[string]any{"steps": 1, "ms": 60000})
				errc <- err
			}()
			time.Sleep(100 * time.Millisecond) // let the call reach the child
			killPID(pid)
			return <-errc
		}, []string{`server "test" ended: signal: killed`, "stdioserver: started pid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBridge(t, Config{})
			ts := serve(t, b)
			cs := mustConnect(t, ts.URL, "tok-alice")
			err := tc.fail(t, cs)
			if err == nil {
				t.Fatal("call succeeded")
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			waitSessions(t, b, 0)
			// The next session starts a fresh child.
			cs2 := mustConnect(t, ts.URL, "tok-alice")
			if got, err := call(t, cs2, "echo", map[string]any{"text": "again"}); err != nil || got != "again" {
				t.Errorf("next session: %q, %v", got, err)
			}
		})
	}
}

func TestStartFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		wants []string
	}{
		{"command not found", Config{Command: "mcpshare-no-such-command"},
			[]string{`server "test" could not start "mcpshare-no-such-command"`, "executable file not found"}},
		{"bad dir", Config{Command: serverBin, Dir: "/nonexistent/dir"},
			[]string{`could not start`, "/nonexistent/dir"}},
		{"never answers initialize", Config{Command: serverBin, Args: []string{"hang"}, InitTimeout: 300 * time.Millisecond},
			[]string{`server "test" did not answer initialize within 300ms`, "stdioserver: hanging"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fds := openFDs(t)
			b := newBridge(t, tc.cfg)
			ts := serve(t, b)
			_, err := connect(t, ts.URL, "tok-alice", "", nil)
			if err == nil {
				t.Fatal("connect succeeded")
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			waitSessions(t, b, 0)
			b.Close()
			ts.Close()
			http.DefaultTransport.(*http.Transport).CloseIdleConnections()
			if got := openFDs(t); got > fds {
				t.Errorf("open fds %d -> %d", fds, got)
			}
		})
	}
}

// openFDs counts this process's open file descriptors (Linux only).
func openFDs(t testing.TB) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 1 << 30
	}
	return len(entries)
}

func TestMaxSessions(t *testing.T) {
	b := newBridge(t, Config{MaxSessions: 2})
	ts := serve(t, b)
	c1 := mustConnect(t, ts.URL, "tok-alice")
	c2 := mustConnect(t, ts.URL, "tok-bob")
	if _, err := connect(t, ts.URL, "tok-alice", "", nil); err == nil {
		t.Fatal("third session accepted")
	}
	resp := rawPOST(t, ts.URL, "tok-alice", "", initBody)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %s, want 503", resp.Status)
	}
	body := decodeRPCError(t, resp)
	if body.ID != 1 || body.Error.Code != CodeServerError || !strings.Contains(body.Error.Message, "limit of 2 sessions") {
		t.Errorf("body %+v", body)
	}
	for i, cs := range []*mcp.ClientSession{c1, c2} {
		if got, err := call(t, cs, "echo", map[string]any{"text": "still"}); err != nil || got != "still" {
			t.Errorf("session %d after refusal: %q, %v", i, got, err)
		}
	}
	// A slot frees when a session ends.
	c1.Close()
	waitSessions(t, b, 1)
	mustConnect(t, ts.URL, "tok-alice")
}

func TestSessionBoundToUser(t *testing.T) {
	b := newBridge(t, Config{})
	ts := serve(t, b)
	cs := mustConnect(t, ts.URL, "tok-alice")
	sid := cs.ID()
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(method, ts.URL, strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set(headerSessionID, sid)
		resp, err := httpClient("tok-bob").Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("bob %s on alice's session: %s, want 404", method, resp.Status)
		}
	}
	if got, err := call(t, cs, "echo", map[string]any{"text": "mine"}); err != nil || got != "mine" {
		t.Errorf("alice after bob's attempts: %q, %v", got, err)
	}
	// Without any token info (no guard) the session is not found either.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set(headerSessionID, sid)
	b.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("no user: %d, want 404", rec.Code)
	}
}

func TestIdleTimeout(t *testing.T) {
	b := newBridge(t, Config{IdleTimeout: 200 * time.Millisecond})
	ts := serve(t, b)
	cs := mustConnect(t, ts.URL, "tok-alice")
	pid := childPID(t, cs)
	waitGone(t, pid, "child of idle session")
	waitSessions(t, b, 0)
	if _, err := call(t, cs, "echo", map[string]any{"text": "x"}); err == nil {
		t.Error("call on an idle-ended session succeeded")
	}
}

func TestCloseEndsEverything(t *testing.T) {
	b := newBridge(t, Config{})
	ts := serve(t, b)
	var pids []int
	for range 3 {
		cs := mustConnect(t, ts.URL, "tok-alice")
		pids = append(pids, childPID(t, cs))
	}
	cs := mustConnect(t, ts.URL, "tok-bob")
	grand, err := call(t, cs, "spawn", nil)
	if err != nil {
		t.Fatal(err)
	}
	gpid, _ := strconv.Atoi(grand)
	pids = append(pids, childPID(t, cs))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("child %d still running after Close", pid)
		}
	}
	waitGone(t, gpid, "grandchild (process group)")
	if n := b.Sessions(); n != 0 {
		t.Errorf("Sessions() = %d after Close", n)
	}
	if _, err := connect(t, ts.URL, "tok-alice", "", nil); err == nil {
		t.Error("connect after Close succeeded")
	}
}

func TestChildEnvironmentAndLog(t *testing.T) {
	t.Setenv("MCPSHARE_TEST_SECRET", "leak")
	t.Setenv("LC_TIME", "C")
	dir := t.TempDir()
	b := newBridge(t, Config{Env: map[string]string{"FOO": "bar", "LC_TIME": "POSIX"}, Dir: dir})
	ts := serve(t, b)
	cs := mustConnect(t, ts.URL, "tok-alice")
	out, err := call(t, cs, "env", nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if want := "cwd=" + dir; lines[0] != want {
		t.Errorf("got %q, want %q", lines[0], want)
	}
	env := map[string]string{}
	for _, kv := range lines[1:] {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["FOO"] != "bar" || env["LC_TIME"] != "POSIX" || env["PATH"] != os.Getenv("PATH") {
		t.Errorf("env %v", env)
	}
	if _, ok := env["MCPSHARE_TEST_SECRET"]; ok {
		t.Error("the app's environment leaked to the child")
	}
	found := false
	for _, l := range b.Log() {
		found = found || strings.HasPrefix(l, "stdioserver: started pid")
	}
	if !found {
		t.Errorf("Log() = %q, want the child's stderr", b.Log())
	}
}

func TestHTTPErrors(t *testing.T) {
	b := newBridge(t, Config{})
	ts := serve(t, b)
	cs := mustConnect(t, ts.URL, "tok-alice")
	for _, tc := range []struct {
		name, method, sid, version, body string
		want                             int
	}{
		{"put", http.MethodPut, "", "", "", http.StatusMethodNotAllowed},
		{"bad version", http.MethodPost, cs.ID(), "1999-01-01", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, http.StatusBadRequest},
		{"no session id", http.MethodPost, "", "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, http.StatusBadRequest},
		{"GET without session id", http.MethodGet, "", "", "", http.StatusBadRequest},
		{"unknown session", http.MethodPost, "nope", "", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, http.StatusNotFound},
		{"malformed body", http.MethodPost, "", "", `{nope`, http.StatusBadRequest},
		{"sessionless protocol", http.MethodPost, "", "2026-07-28", `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}`, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tc.sid != "" {
				req.Header.Set(headerSessionID, tc.sid)
			}
			if tc.version != "" {
				req.Header.Set(headerProtocolVersion, tc.version)
			}
			resp, err := httpClient("tok-alice").Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %s, want %d", resp.Status, tc.want)
			}
			if tc.want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"command", Config{Command: "x"}, true},
		{"loopback url", Config{URL: "http://127.0.0.1:3000/mcp"}, true},
		{"localhost url", Config{URL: "https://localhost:3000/mcp"}, true},
		{"ipv6 loopback", Config{URL: "http://[::1]:3000/mcp"}, true},
		{"neither", Config{}, false},
		{"both", Config{Command: "x", URL: "http://127.0.0.1/"}, false},
		{"remote host", Config{URL: "http://example.com/mcp"}, false},
		{"private address", Config{URL: "http://10.0.0.1/mcp"}, false},
		{"other scheme", Config{URL: "ftp://127.0.0.1/mcp"}, false},
		{"credentials", Config{URL: "http://u:p@127.0.0.1/mcp"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v, want ok=%v", err, tc.ok)
			}
			if b != nil {
				b.Close()
			}
		})
	}
}

func TestChildEnv(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("case rules differ on Windows")
	}
	parent := []string{"PATH=/bin", "HOME=/h", "AWS_SECRET=x", "LC_ALL=C", "path=lower", "TMPDIR=/t", "FOO=parent"}
	got := childEnv(parent, map[string]string{"FOO": "cfg", "B": "1"})
	want := []string{"PATH=/bin", "HOME=/h", "LC_ALL=C", "TMPDIR=/t", "B=1", "FOO=cfg"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
}

func TestLineRing(t *testing.T) {
	r := newLineRing(3)
	var lw = &lineWriter{emit: r.add}
	io.WriteString(lw, "a\nb")
	io.WriteString(lw, "c\r\nd\ne")
	lw.Flush()
	if got := strings.Join(r.last(0), ","); got != "bc,d,e" {
		t.Errorf("ring = %q", got)
	}
	if got := strings.Join(r.last(1), ","); got != "e" {
		t.Errorf("last(1) = %q", got)
	}
	long := strings.Repeat("x", maxLineBytes+10)
	io.WriteString(lw, long+"\n")
	if got := r.last(1); len(got[0]) != maxLineBytes {
		t.Errorf("long line not cut at %d", maxLineBytes)
	}
}

// rpcErrorBody is a JSON-RPC error response as the bridge writes it.
type rpcErrorBody struct {
	ID    int `json:"id"`
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// decodeRPCError reads the JSON-RPC error in resp's body.
func decodeRPCError(t *testing.T, resp *http.Response) rpcErrorBody {
	t.Helper()
	var body rpcErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body
}
