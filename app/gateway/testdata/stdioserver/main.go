// Command stdioserver is a small MCP server over stdio used by the gateway tests.
//
// Run without arguments it serves MCP with the tools echo, slow, crash, ask, pid,
// env, spawn, log (a log message during the call), grow (adds a tool: the list
// changes), big (a result of the given size) and bigline (writes a line of
// 17 MiB to stdout). "stdioserver hang" reads stdin and never answers (a server that
// does not answer initialize). "stdioserver sleep" sleeps for an hour (the
// grandchild started by the spawn tool).
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type echoArgs struct {
	Text string `json:"text"`
}

type slowArgs struct {
	Steps int `json:"steps"`
	MS    int `json:"ms"`
}

type askArgs struct {
	Kind string `json:"kind"` // "sampling", "elicit" or "roots"
}

type noArgs struct{}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "hang":
			fmt.Fprintln(os.Stderr, "stdioserver: hanging")
			io.Copy(io.Discard, os.Stdin)
			return
		case "sleep":
			time.Sleep(time.Hour)
			return
		}
	}
	fmt.Fprintf(os.Stderr, "stdioserver: started pid %d\n", os.Getpid())

	// A server of the session era by default, as most servers are today;
	// STDIOSERVER_MODERN=1 lets it speak 2026-07-28 too.
	opts := &mcp.ServerOptions{SupportedProtocolVersions: []string{"2025-11-25", "2025-06-18", "2025-03-26"}}
	if os.Getenv("STDIOSERVER_MODERN") == "1" {
		opts = nil
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "stdioserver", Version: "1"}, opts)
	mcp.AddTool(s, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, a echoArgs) (*mcp.CallToolResult, any, error) {
		return text(a.Text), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "slow"}, func(ctx context.Context, req *mcp.CallToolRequest, a slowArgs) (*mcp.CallToolResult, any, error) {
		token := req.Params.GetProgressToken()
		for i := range a.Steps {
			if token != nil {
				req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
					ProgressToken: token, Progress: float64(i + 1), Total: float64(a.Steps),
				})
			}
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(time.Duration(a.MS) * time.Millisecond):
			}
		}
		return text(fmt.Sprintf("done after %d steps", a.Steps)), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "crash"}, func(ctx context.Context, req *mcp.CallToolRequest, a noArgs) (*mcp.CallToolResult, any, error) {
		fmt.Fprintln(os.Stderr, "stdioserver: crashing on purpose")
		os.Exit(3)
		return nil, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "ask"}, func(ctx context.Context, req *mcp.CallToolRequest, a askArgs) (*mcp.CallToolResult, any, error) {
		switch a.Kind {
		case "sampling":
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
				MaxTokens: 10,
				Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: "say hi"}}},
			})
			if err != nil {
				return nil, nil, err
			}
			return text("sampled: " + res.Content.(*mcp.TextContent).Text), nil, nil
		case "elicit":
			res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{
				Message: "your name?",
				RequestedSchema: map[string]any{
					"type":       "object",
					"properties": map[string]any{"name": map[string]any{"type": "string"}},
				},
			})
			if err != nil {
				return nil, nil, err
			}
			return text(fmt.Sprintf("elicited: %s %v", res.Action, res.Content["name"])), nil, nil
		case "roots":
			res, err := req.Session.ListRoots(ctx, nil)
			if err != nil {
				return nil, nil, err
			}
			var uris []string
			for _, r := range res.Roots {
				uris = append(uris, r.URI)
			}
			return text("roots: " + strings.Join(uris, ",")), nil, nil
		}
		return nil, nil, fmt.Errorf("unknown kind %q", a.Kind)
	})
	mcp.AddTool(s, &mcp.Tool{Name: "pid"}, func(ctx context.Context, req *mcp.CallToolRequest, a noArgs) (*mcp.CallToolResult, any, error) {
		return text(fmt.Sprint(os.Getpid())), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "env"}, func(ctx context.Context, req *mcp.CallToolRequest, a noArgs) (*mcp.CallToolResult, any, error) {
		env := os.Environ()
		sort.Strings(env)
		wd, _ := os.Getwd()
		return text("cwd=" + wd + "\n" + strings.Join(env, "\n")), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "spawn"}, func(ctx context.Context, req *mcp.CallToolRequest, a noArgs) (*mcp.CallToolResult, any, error) {
		self, err := os.Executable()
		if err != nil {
			return nil, nil, err
		}
		cmd := exec.Command(self, "sleep")
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		return text(fmt.Sprint(cmd.Process.Pid)), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "log"}, func(ctx context.Context, req *mcp.CallToolRequest, a echoArgs) (*mcp.CallToolResult, any, error) {
		req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "stdioserver", Data: a.Text})
		return text("logged"), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "grow"}, func(ctx context.Context, req *mcp.CallToolRequest, a echoArgs) (*mcp.CallToolResult, any, error) {
		mcp.AddTool(s, &mcp.Tool{Name: a.Text}, func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			return text("I am new"), nil, nil
		})
		return text("added " + a.Text), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "big"}, func(ctx context.Context, req *mcp.CallToolRequest, a struct {
		Bytes int `json:"bytes"`
	}) (*mcp.CallToolResult, any, error) {
		return text(strings.Repeat("b", a.Bytes)), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "bigline"}, func(ctx context.Context, req *mcp.CallToolRequest, a noArgs) (*mcp.CallToolResult, any, error) {
		// Not a JSON-RPC message the SDK would send: a line over the 16 MiB
		// limit of the stdio transport, written past the SDK.
		line := make([]byte, 17<<20)
		for i := range line {
			line[i] = 'x'
		}
		line[0] = '"'
		line[len(line)-2] = '"'
		line[len(line)-1] = '\n'
		os.Stdout.Write(line)
		time.Sleep(time.Hour)
		return nil, nil, nil
	})
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Printf("stdioserver: %v", err)
	}
}
