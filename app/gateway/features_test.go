package gateway

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	var names []string
	for tool, err := range cs.Tools(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	return names
}

// /mcp serves every server as one: tools named SERVER_TOOL, except the
// built-in server's search and fetch, which ChatGPT's deep research needs.
func TestAllServersNamesAndCalls(t *testing.T) {
	folder := t.TempDir()
	os.WriteFile(filepath.Join(folder, "fox.txt"), []byte("the quick brown fox"), 0o600)
	tg := newTestGateway(t, Limits{}, stdioSpec("tools"), ServerSpec{Name: "files", Kind: KindBuiltin, Root: folder})
	for _, version := range []string{legacy, modern} {
		t.Run(version, func(t *testing.T) {
			cs := connect(t, tg.url(AllServers), "tok-alice", version, nil)
			names := toolNames(t, cs)
			for _, want := range []string{"search", "fetch", "files_list", "tools_echo", "tools_slow"} {
				if !slices.Contains(names, want) {
					t.Errorf("tools of /mcp lack %s: %v", want, names)
				}
			}
			for _, n := range names {
				if !validName.MatchString(n) {
					t.Errorf("tool name %q is not valid for ChatGPT", n)
				}
			}
			if got := callText(t, cs, "tools_echo", map[string]any{"text": "through /mcp"}); got != "through /mcp" {
				t.Errorf("tools_echo = %q", got)
			}
			if got := callText(t, cs, "fetch", map[string]any{"id": "fox.txt"}); !strings.Contains(got, "quick brown fox") {
				t.Errorf("fetch = %q", got)
			}
		})
	}
}

func TestAggregateNamesAreValidUniqueAndStable(t *testing.T) {
	entries := []aggregateEntry{
		{server: "files", name: "search", keep: true},
		{server: "files", name: "list"},
		{server: "a_b", name: "c"},
		{server: "a", name: "b_c"},
		{server: "gh", name: "create.issue"},
		{server: "long", name: strings.Repeat("x", 80)},
	}
	names := aggregateNames(entries)
	seen := map[string]bool{}
	for e, n := range names {
		if !validName.MatchString(n) {
			t.Errorf("%v -> %q: not valid", e, n)
		}
		if seen[n] {
			t.Errorf("%q given twice", n)
		}
		seen[n] = true
	}
	if names[target{"files", "search"}] != "search" || names[target{"files", "list"}] != "files_list" {
		t.Errorf("names = %v", names)
	}
	// Adding or removing other servers does not rename a tool.
	more := append(slices.Clone(entries), aggregateEntry{server: "zz", name: "list"})
	again := aggregateNames(more)
	for e, n := range names {
		if again[e] != n {
			t.Errorf("%v renamed from %q to %q when a server was added", e, n, again[e])
		}
	}
}

// A local HTTP server is a backend like a stdio one.
func TestLocalHTTPBackend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := startProcess(t, everythingServer, "-http", addr, "-stateless=false")
	_ = srv
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	tg := newTestGateway(t, Limits{}, ServerSpec{Name: "web", Kind: KindHTTP, URL: "http://" + addr + "/"})
	for _, version := range []string{legacy, modern} {
		start := time.Now()
		cs := connect(t, tg.url("web"), "tok-alice", version, nil)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: connecting took %s", version, d)
		}
		if got := callText(t, cs, "test_simple_text", map[string]any{}); !strings.Contains(got, "simple text") {
			t.Errorf("%s: test_simple_text = %q", version, got)
		}
	}
}

// IsolationSession gives each MCP session a process of its own, ended with the session.
func TestIsolationSession(t *testing.T) {
	spec := stdioSpec("s")
	spec.Isolation = IsolationSession
	tg := newTestGateway(t, Limits{}, spec)
	a := connect(t, tg.url("s"), "tok-alice", legacy, nil)
	b := connect(t, tg.url("s"), "tok-alice", legacy, nil)
	pa, pb := callText(t, a, "pid", nil), callText(t, b, "pid", nil)
	if pa == pb {
		t.Fatalf("two sessions share the process %s", pa)
	}
	if pa != callText(t, a, "pid", nil) {
		t.Fatal("a session's second call reached another process")
	}
	pid, _ := strconv.Atoi(pa)
	a.Close() // DELETE
	waitFor(t, func() bool { return !processAlive(pid) })
}

func TestOversizedLineIsNamed(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	cs := connect(t, tg.url("s"), "tok-alice", legacy, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "bigline", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), "message over 16 MiB") {
		t.Fatalf("bigline: %v, want the line limit named", err)
	}
	// The backend's end is recorded as it is noticed, which may be just
	// after the client heard of it.
	waitFor(t, func() bool { return strings.Contains(tg.Status("s").Problem, "over 16 MiB") })
}

func TestServerThatCannotStart(t *testing.T) {
	tg := newTestGateway(t, Limits{}, ServerSpec{Name: "gone", Kind: KindStdio, Command: "/no/such/mcp-server"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	_, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: tg.url("gone"), HTTPClient: httpClient("tok-alice"), MaxRetries: -1}, nil)
	if err == nil || !strings.Contains(err.Error(), `server "gone" could not start`) || !strings.Contains(err.Error(), "log is in MCP Share") {
		t.Fatalf("connect: %v, want the failure named", err)
	}
	if p := tg.Status("gone").Problem; !strings.Contains(p, "could not start") {
		t.Fatalf("Problem = %q", p)
	}
}

func TestListChangedReachesClients(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	for _, version := range []string{legacy, modern} {
		t.Run(version, func(t *testing.T) {
			changed := make(chan struct{}, 4)
			cs := connect(t, tg.url("s"), "tok-alice", version, &mcp.ClientOptions{
				ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
			})
			name := "new_" + strings.ReplaceAll(version, "-", "_")
			callText(t, cs, "grow", map[string]any{"text": name})
			select {
			case <-changed:
			case <-time.After(10 * time.Second):
				t.Fatal("no tools/list_changed")
			}
			waitFor(t, func() bool { return slices.Contains(toolNames(t, cs), name) })
			if got := callText(t, cs, name, map[string]any{}); got != "I am new" {
				t.Fatalf("%s = %q", name, got)
			}
		})
	}
}

// What a stdio server asks during a call (it carries no relation to the
// call) goes to the one call in progress; while several are in progress, of
// another client or of another session of the same client (ChatGPT and
// Claude may share the pre-registered client), it is refused rather than
// guessed, so one never answers another's elicitation.
func TestServerRequestsNeverReachAnotherClient(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	var stolen atomic.Int64
	other := connect(t, tg.url("s"), "tok-alice", legacy, &mcp.ClientOptions{
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			stolen.Add(1)
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "the other client"}}, nil
		},
	})
	elicit := &mcp.ClientOptions{ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "chatgpt"}}, nil
	}}
	chatgpt := connect(t, tg.url("s"), "tok-alice", legacy, elicit)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				other.CallTool(ctx, &mcp.CallToolParams{Name: "slow", Arguments: map[string]any{"steps": 1, "ms": 30}})
			}
		}()
	}
	for range 20 {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := chatgpt.CallTool(cctx, &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{"kind": "elicit"}})
		ccancel()
		if err == nil && strings.Contains(textOf(res), "the other client") {
			t.Fatal("ChatGPT's call got the other client's answer")
		}
	}
	cancel()
	wg.Wait()
	if n := stolen.Load(); n > 0 {
		t.Errorf("%d of ChatGPT's elicitations reached the other client", n)
	}
	// Once the other client's calls have ended at the server (their
	// cancellation takes a moment), ChatGPT's elicitation reaches ChatGPT.
	waitFor(t, func() bool {
		res, err := chatgpt.CallTool(context.Background(), &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{"kind": "elicit"}})
		return err == nil && strings.Contains(textOf(res), "chatgpt")
	})
}
