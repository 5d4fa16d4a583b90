package bridge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// upstreamServer is a local Streamable HTTP MCP server (the go-sdk's own
// handler) that records the headers it receives.
type upstreamServer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newUpstream(t *testing.T) *upstreamServer {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "upstream", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, a echoArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: a.Text}}}, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "slow"}, func(ctx context.Context, req *mcp.CallToolRequest, a struct{}) (*mcp.CallToolResult, any, error) {
		for i := range 3 {
			req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: req.Params.GetProgressToken(), Progress: float64(i + 1)})
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "slow done"}}}, nil, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	u := &upstreamServer{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.headers = append(u.headers, r.Header.Clone())
		u.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

type echoArgs struct {
	Text string `json:"text"`
}

func TestHTTPUpstream(t *testing.T) {
	up := newUpstream(t)
	b := newBridge(t, Config{URL: up.URL + "/mcp"})
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
	if got, err := call(t, cs, "echo", map[string]any{"text": "via http"}); err != nil || got != "via http" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	params := &mcp.CallToolParams{Name: "slow", Arguments: map[string]any{}}
	params.SetProgressToken(5)
	if _, err := cs.CallTool(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		select {
		case <-progress:
		case <-time.After(5 * time.Second):
			t.Fatalf("progress %d never arrived", i+1)
		}
	}
	if b.Sessions() != 1 {
		t.Errorf("Sessions() = %d, want 1", b.Sessions())
	}

	// Bob cannot use Alice's upstream session.
	resp := rawPOST(t, ts.URL, "tok-bob", cs.ID(), `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob on alice's session: %s, want 404", resp.Status)
	}

	up.mu.Lock()
	for _, h := range up.headers {
		if h.Get("Authorization") != "" || h.Get("Cookie") != "" {
			t.Errorf("credentials reached the upstream: %v", h)
		}
	}
	n := len(up.headers)
	up.mu.Unlock()
	if n < 4 {
		t.Errorf("upstream saw %d requests", n)
	}

	cs.Close() // DELETE goes through and forgets the session
	waitSessions(t, b, 0)
}

func TestHTTPUpstreamDown(t *testing.T) {
	up := newUpstream(t)
	// The query may hold a local credential: it must not reach the remote client.
	url := up.URL + "/mcp?api_key=local-secret"
	up.Close()
	b := newBridge(t, Config{URL: url})
	ts := serve(t, b)
	resp := rawPOST(t, ts.URL, "tok-alice", "", initBody)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %s, want 502", resp.Status)
	}
	body := decodeRPCError(t, resp)
	if body.ID != 1 || body.Error.Code != CodeServerError || !strings.Contains(body.Error.Message, "not reachable") {
		t.Errorf("body %+v", body)
	}
	if strings.Contains(body.Error.Message, "local-secret") {
		t.Errorf("the upstream URL's query leaked into the error: %s", body.Error.Message)
	}
}

func TestHTTPUpstreamMaxSessions(t *testing.T) {
	up := newUpstream(t)
	b := newBridge(t, Config{URL: up.URL, MaxSessions: 1})
	ts := serve(t, b)
	cs := mustConnect(t, ts.URL, "tok-alice")
	if r := rawPOST(t, ts.URL, "tok-bob", "", initBody); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second session: %s, want 503", r.Status)
	}
	if got, err := call(t, cs, "echo", map[string]any{"text": "ok"}); err != nil || got != "ok" {
		t.Errorf("first session: %q, %v", got, err)
	}
}
