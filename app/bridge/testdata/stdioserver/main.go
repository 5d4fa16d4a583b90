// Command stdioserver is a small MCP server over stdio used by the bridge tests.
//
// Run without arguments it serves MCP with the tools echo, slow, crash, ask, pid,
// env and spawn. "stdioserver hang" reads stdin and never answers (a server that
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

	s := mcp.NewServer(&mcp.Implementation{Name: "stdioserver", Version: "1"}, nil)
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
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Printf("stdioserver: %v", err)
	}
}
