package gateway

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestToolsBothEras(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("echo"))
	for _, version := range []string{legacy, modern} {
		t.Run(version, func(t *testing.T) {
			cs := connect(t, tg.url("echo"), "tok-alice", version, nil)
			ctx := context.Background()
			res, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range res.Tools {
				names = append(names, tool.Name)
			}
			if !slices.Contains(names, "echo") || !slices.Contains(names, "slow") {
				t.Fatalf("tools = %v, want echo and slow among them", names)
			}
			if got := callText(t, cs, "echo", map[string]any{"text": "hi " + version}); got != "hi "+version {
				t.Fatalf("echo = %q", got)
			}
		})
	}
}

// One backend per (user, server): every session and sessionless request of
// a user reaches the same process; another user gets a process of their own.
func TestOneBackendPerUser(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	pids := map[string]map[string]bool{}
	for _, token := range []string{"tok-alice", "tok-bob"} {
		pids[token] = map[string]bool{}
		for i := range 6 {
			version := legacy
			if i%2 == 1 {
				version = modern
			}
			cs := connect(t, tg.url("s"), token, version, nil)
			pids[token][callText(t, cs, "pid", nil)] = true
		}
	}
	if len(pids["tok-alice"]) != 1 || len(pids["tok-bob"]) != 1 {
		t.Fatalf("pids per user: %v, want one each", pids)
	}
	for p := range pids["tok-alice"] {
		if pids["tok-bob"][p] {
			t.Fatalf("alice and bob share the process %s", p)
		}
	}
	if st := tg.Status("s"); st.Backends != 2 {
		t.Fatalf("Backends = %d, want 2", st.Backends)
	}
}

// Sessions that are never ended beyond the per-user bound push out the
// least recently used ones; nobody is refused.
func TestAbandonedSessionsNeverLockOut(t *testing.T) {
	tg := newTestGateway(t, Limits{SessionsPerUser: 4}, stdioSpec("s"))
	var first *mcp.ClientSession
	for i := range 20 {
		cs := connect(t, tg.url("s"), "tok-alice", legacy, nil)
		if i == 0 {
			first = cs
		}
		callText(t, cs, "echo", map[string]any{"text": "x"})
	}
	if n := tg.Status("s").Sessions; n > 4 {
		t.Fatalf("%d sessions alive, want at most 4", n)
	}
	// The oldest session was ended: its next call fails (the client would
	// start a new session), and bob is served as if nothing happened.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := first.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}}); err == nil {
		t.Fatal("the evicted session still answers")
	}
	bob := connect(t, tg.url("s"), "tok-bob", legacy, nil)
	callText(t, bob, "echo", map[string]any{"text": "bob"})
}

func TestProgressIsForwarded(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	for _, version := range []string{legacy, modern} {
		t.Run(version, func(t *testing.T) {
			got := make(chan float64, 10)
			cs := connect(t, tg.url("s"), "tok-alice", version, &mcp.ClientOptions{
				ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
					if req.Params.ProgressToken != "tok-1" {
						t.Errorf("progress token %v, want the client's own", req.Params.ProgressToken)
					}
					got <- req.Params.Progress
				},
			})
			ctx := context.Background()
			_, err := cs.CallTool(ctx, &mcp.CallToolParams{
				Meta: mcp.Meta{"progressToken": "tok-1"}, Name: "slow",
				Arguments: map[string]any{"steps": 3, "ms": 10},
			})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.After(5 * time.Second)
			for want := 1.0; want <= 3; want++ {
				select {
				case p := <-got:
					if p != want {
						t.Fatalf("progress %v, want %v", p, want)
					}
				case <-deadline:
					t.Fatalf("progress %v never came", want)
				}
			}
		})
	}
}

func TestServerRequestsReachTheCallingClient(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	opts := &mcp.ClientOptions{
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Role: "assistant", Model: "m", Content: &mcp.TextContent{Text: "hello"}}, nil
		},
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
	}
	for _, version := range []string{legacy, modern} {
		t.Run(version, func(t *testing.T) {
			c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, opts)
			c.AddRoots(&mcp.Root{URI: "file:///client/root"})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: tg.url("s"), HTTPClient: httpClient("tok-alice")}, &mcp.ClientSessionOptions{ProtocolVersion: version})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			for kind, want := range map[string]string{
				"sampling": "sampled: hello",
				"elicit":   "elicited: accept Ada",
				"roots":    "roots: file:///client/root",
			} {
				if got := callText(t, cs, "ask", map[string]any{"kind": kind}); got != want {
					t.Errorf("ask %s = %q, want %q", kind, got, want)
				}
			}
		})
	}
}

func TestCrashIsReportedAndRestarted(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	cs := connect(t, tg.url("s"), "tok-alice", legacy, nil)
	pid := callText(t, cs, "pid", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "crash", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), `server "s" exited with status 3`) || !strings.Contains(err.Error(), "log is in MCP Share") {
		t.Fatalf("crash: %v, want the exit named", err)
	}
	if strings.Contains(err.Error(), "crashing on purpose") {
		t.Fatalf("the server's stderr reached the client: %v", err)
	}
	st := tg.Status("s")
	if !strings.Contains(st.Problem, "exited with status 3") || !slices.Contains(st.Log, "stdioserver: crashing on purpose") {
		t.Fatalf("status = %+v, want the exit and the stderr line", st)
	}
	// The next call starts the server again (after the first backoff).
	if got := callText(t, cs, "pid", nil); got == pid {
		t.Fatalf("the same process %s answered after the crash", got)
	}
}

func TestRequestWithoutSessionOrMetaIs400(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	req := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`
	status, body := post(t, tg.url("s"), "tok-alice", req, nil)
	if status != 400 || !strings.Contains(body, "Mcp-Session-Id") {
		t.Fatalf("tools/list without session: %d %s", status, body)
	}
	if n := tg.Status("s").Sessions; n != 0 {
		t.Fatalf("%d sessions were opened", n)
	}
}

// A stdio server gets a minimal environment plus its own variables and the
// secrets read when it starts; the app's other variables stay out.
func TestChildEnvironment(t *testing.T) {
	t.Setenv("MCPSHARE_TEST_LEAK", "must-not-reach-the-server")
	spec := stdioSpec("s")
	spec.Env = map[string]string{"LEVEL": "1"}
	spec.SecretEnv = []string{"TOKEN"}
	tg := newTestGateway(t, Limits{}, spec)
	cs := connect(t, tg.url("s"), "tok-alice", legacy, nil)
	env := callText(t, cs, "env", nil)
	for _, want := range []string{"LEVEL=1", "TOKEN=secret-of-s-TOKEN"} {
		if !strings.Contains(env, want) {
			t.Errorf("the server's environment lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "MCPSHARE_TEST_LEAK") || strings.Contains(env, "MCPSHARE_") {
		t.Errorf("the app's own variables reached the server:\n%s", env)
	}
}

// A server's request for what the client did not declare is answered by
// the gateway at once (roots: none; sampling: an error), so the call goes on
// instead of waiting for an answer that will never come.
func TestRequestsTheClientCannotAnswer(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	for _, version := range []string{legacy, modern} {
		t.Run(version, func(t *testing.T) {
			cs := connect(t, tg.url("s"), "tok-alice", version, &mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}})
			if got := callText(t, cs, "ask", map[string]any{"kind": "roots"}); got != "roots: " {
				t.Errorf("roots for a client without roots = %q, want none", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{"kind": "sampling"}})
			if err == nil && !res.IsError {
				t.Errorf("sampling for a client without sampling: %+v", res)
			}
		})
	}
}
