package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mcpgoclient "github.com/mark3labs/mcp-go/client"
	mcpgotransport "github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
)

// Real clients of both protocol eras, nobody here wrote them, against a
// shared stdio server at its own URL and at /mcp: the go-sdk client and
// mark3labs/mcp-go, each at its default (2026-07-28) and pinned to
// 2025-11-25, with MCP Share's own token.
func TestRealClientsOfBothEras(t *testing.T) {
	inst := serveWithCommand(t, "everything", goEverythingServer(t))
	for _, tc := range []struct {
		path, tool string
	}{
		{"/mcp/everything", "test_simple_text"},
		{"/mcp", "everything_test_simple_text"},
	} {
		url := inst.ready.Issuer + tc.path
		_, tok := preregistered(t, inst, url)
		for _, version := range []string{"", "2025-11-25"} {
			name := tc.path + "/default"
			if version != "" {
				name = tc.path + "/" + version
			}
			t.Run("go-sdk"+name, func(t *testing.T) { goSDKCalls(t, url, tok.AccessToken, version, tc.tool) })
			t.Run("mcp-go"+name, func(t *testing.T) { mcpGoCalls(t, url, tok.AccessToken, version, tc.tool) })
		}
	}
}

func goSDKCalls(t *testing.T, url, token, version, tool string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}))
	c := mcp.NewClient(&mcp.Implementation{Name: "go-sdk-e2e", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	want := version
	if want == "" {
		want = "2026-07-28"
	}
	if got := cs.InitializeResult().ProtocolVersion; got != want {
		t.Errorf("negotiated %s, want %s", got, want)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{}})
	if err != nil || res.IsError || len(res.Content) == 0 || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "simple text") {
		t.Fatalf("%s: %v %+v", tool, err, res)
	}
}

func mcpGoCalls(t *testing.T, url, token, version, tool string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	trans, err := mcpgotransport.NewStreamableHTTP(url, mcpgotransport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	var opts []mcpgoclient.ClientOption
	if version != "" {
		opts = append(opts, mcpgoclient.WithProtocolVersion(version))
	}
	c := mcpgoclient.NewClient(trans, opts...)
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcpgo.InitializeRequest{}
	init.Params.ClientInfo = mcpgo.Implementation{Name: "mcp-go-e2e", Version: "1"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	want := version
	if want == "" {
		want = "2026-07-28"
	}
	if res.ProtocolVersion != want {
		t.Errorf("negotiated %s, want %s", res.ProtocolVersion, want)
	}
	tools, err := c.ListTools(ctx, mcpgo.ListToolsRequest{})
	if err != nil || len(tools.Tools) == 0 {
		t.Fatalf("tools/list: %v %+v", err, tools)
	}
	call := mcpgo.CallToolRequest{}
	call.Params.Name = tool
	call.Params.Arguments = map[string]any{}
	out, err := c.CallTool(ctx, call)
	if err != nil || out.IsError || len(out.Content) == 0 {
		t.Fatalf("%s: %v %+v", tool, err, out)
	}
	if tc, ok := out.Content[0].(mcpgo.TextContent); !ok || !strings.Contains(tc.Text, "simple text") {
		t.Fatalf("%s: %+v", tool, out.Content)
	}
}

// A local Streamable HTTP server (server-everything from npm, which sends
// the first byte of its event stream only with a keepalive after 15 s) is
// shared as a backend: a client of MCP Share connects at once, its event
// stream included, and calls the server's tools.
func TestLocalHTTPServerFromNPM(t *testing.T) {
	dir := requireE2E(t)
	port := freePort(t)
	srv := exec.Command(nodeBinary(dir), filepath.Join(dir, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"), "streamableHttp")
	srv.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	waitListening(t, "127.0.0.1:"+strconv.Itoa(port))
	inst := serveWithCommand(t, "web", "--url", fmt.Sprintf("http://127.0.0.1:%d/mcp", port))
	url := inst.mcpURL(t, "web")
	_, tok := preregistered(t, inst, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("connecting took %s: the event stream waited for the upstream's keepalive", d)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "over HTTP"}})
	if err != nil || res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "over HTTP") {
		t.Fatalf("echo: %v %+v", err, res)
	}
}
