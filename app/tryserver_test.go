package app

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The test binary doubles as the stdio MCP server TryServer starts: run
// with tryHelperEnv set, TestTryHelperServer serves (or fails) on stdio.
const tryHelperEnv = "MCPSHARE_TRY_HELPER"

func TestTryHelperServer(t *testing.T) {
	mode := os.Getenv(tryHelperEnv)
	if mode == "" {
		t.Skip("helper process for the TryServer tests")
	}
	fmt.Fprintln(os.Stderr, "helper: starting with GREETING="+os.Getenv("GREETING")+" TOKEN="+os.Getenv("TOKEN"))
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "helper: config.json not found")
		os.Exit(3)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "helper", Version: "0.1"}, nil)
	for _, name := range []string{"greet", "wave"} {
		mcp.AddTool(s, &mcp.Tool{Name: name}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{}, nil, nil
		})
	}
	s.Run(context.Background(), &mcp.StdioTransport{})
	os.Exit(0)
}

func helperConfig(mode string) ServerConfig {
	return ServerConfig{
		Name: "helper", Kind: KindStdio, Enabled: true,
		Command: os.Args[0], Args: []string{"-test.run=^TestTryHelperServer$"},
		Env: map[string]string{tryHelperEnv: mode, "GREETING": "hello"}, SecretEnv: []string{"TOKEN"},
	}
}

func TestTryServerListsToolsAndStderr(t *testing.T) {
	a := openTest(t, nil)
	t.Setenv("TOKEN", "from-the-app-environment") // must not reach the server
	res, err := a.TryServer(context.Background(), helperConfig("serve"), map[string]string{"TOKEN": "typed-secret"})
	if err != nil {
		t.Fatalf("TryServer: %v (stderr %q)", err, res.Stderr)
	}
	if !slices.Equal(res.Tools, []string{"greet", "wave"}) || res.Server != "helper 0.1" {
		t.Errorf("result %+v, want tools greet and wave of helper 0.1", res)
	}
	if got := strings.Join(res.Stderr, "\n"); !strings.Contains(got, "GREETING=hello TOKEN=typed-secret") {
		t.Errorf("stderr %q, want the configured and the typed secret value", got)
	}
	if servers, _ := a.Servers(); len(servers) != 1 {
		t.Errorf("trying a server saved it: %+v", servers)
	}
}

func TestTryServerSaysWhyItFailed(t *testing.T) {
	a := openTest(t, nil)
	res, err := a.TryServer(context.Background(), helperConfig("fail"), map[string]string{"TOKEN": "x"})
	if err == nil || !strings.Contains(err.Error(), `server "helper" exited with status 3`) {
		t.Fatalf("TryServer of a server that exits: %v", err)
	}
	if got := strings.Join(res.Stderr, "\n"); !strings.Contains(got, "config.json not found") {
		t.Errorf("stderr %q, want the server's own words", got)
	}

	missing := ServerConfig{Name: "gone", Kind: KindStdio, Command: "/nonexistent/mcp-server"}
	if _, err := a.TryServer(context.Background(), missing, nil); err == nil || !strings.Contains(err.Error(), "/nonexistent/mcp-server") {
		t.Errorf("TryServer of a missing program: %v", err)
	}
	noDir := helperConfig("serve")
	noDir.Dir = "/nonexistent/folder"
	if _, err := a.TryServer(context.Background(), noDir, map[string]string{"TOKEN": "x"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/folder") {
		t.Errorf("TryServer with a missing working folder: %v", err)
	}
}
