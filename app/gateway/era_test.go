package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A server that speaks only 2026-07-28 (a go-sdk server restricted to it,
// as stateless servers of the new era are) serves clients of both eras:
// a session client's backend speaks the server's era, not its own.
func TestServerOfTheNewEraOnlyServesSessionClients(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "new-era-only", Version: "1"}, &mcp.ServerOptions{SupportedProtocolVersions: []string{modern}})
	mcp.AddTool(s, &mcp.Tool{Name: "hello"}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hello"}}}, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "greet"}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		if er, ok := req.Params.InputResponses["who"].(*mcp.ElicitResult); ok && er.Action == "accept" {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("Hello, %v!", er.Content["name"])}}}, nil, nil
		}
		return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"who": &mcp.ElicitParams{
			Message: "Your name?", RequestedSchema: &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{"name": {Type: "string"}}},
		}}}, nil, nil
	})
	ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: true}))
	t.Cleanup(ts.Close)

	tg := newTestGateway(t, Limits{}, ServerSpec{Name: "new", Kind: KindHTTP, URL: ts.URL + "/"})
	for _, version := range []string{legacy, modern} {
		asked := 0
		cs := connect(t, tg.url("new"), "tok-alice", version, &mcp.ClientOptions{
			ElicitationHandler: func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
				asked++
				return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
			},
		})
		if got := callText(t, cs, "hello", map[string]any{}); got != "hello" {
			t.Errorf("a %s client's call: %q", version, got)
		}
		// What the server asks by input_required reaches a session client as
		// a request on its stream, a 2026-07-28 client as input_required.
		if got := callText(t, cs, "greet", map[string]any{}); got != "Hello, Ada!" || asked != 1 {
			t.Errorf("a %s client's call that asks: %q, asked %d times", version, got, asked)
		}
	}
}
