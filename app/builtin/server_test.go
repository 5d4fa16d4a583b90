package builtin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestServer drives the server with the go-sdk's own client, as ChatGPT would: list the
// tools, search, fetch what search found, list, and get tool errors (not protocol errors)
// for bad ids.
func TestServer(t *testing.T) {
	root, _ := fixture(t)
	ctx := context.Background()
	cs := connect(t, root)

	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range lt.Tools {
		names = append(names, tool.Name)
		if tool.Annotations == nil || !tool.Annotations.ReadOnlyHint || tool.Description == "" {
			t.Errorf("tool %s: annotations %+v, description %q; want read-only and described", tool.Name, tool.Annotations, tool.Description)
		}
	}
	if strings.Join(names, ",") != "fetch,list,search" {
		t.Errorf("tools = %v", names)
	}

	// call returns the tool's only text block decoded into out, checking that it holds the
	// same JSON as the structured content.
	call := func(name string, args map[string]any, out any) *mcp.CallToolResult {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: protocol error %v", name, err)
		}
		if len(res.Content) != 1 {
			t.Fatalf("%s: %d content blocks, want exactly one text block", name, len(res.Content))
		}
		text, ok := res.Content[0].(*mcp.TextContent)
		if !ok {
			t.Fatalf("%s: content is %T", name, res.Content[0])
		}
		if res.IsError {
			return res
		}
		if err := json.Unmarshal([]byte(text.Text), out); err != nil {
			t.Fatalf("%s: text block is not JSON: %v\n%s", name, err, text.Text)
		}
		structured, _ := json.Marshal(res.StructuredContent)
		if canonical(t, structured) != canonical(t, []byte(text.Text)) {
			t.Errorf("%s: structured content %s differs from text %s", name, structured, text.Text)
		}
		t.Logf("%s %v -> %s", name, args, text.Text)
		return res
	}

	var found struct {
		Results []map[string]string `json:"results"`
	}
	call("search", map[string]any{"query": "milk"}, &found)
	if len(found.Results) != 2 {
		t.Fatalf("search milk = %+v", found)
	}
	r := found.Results[0]
	if r["id"] != "inlink.md" || r["title"] != "inlink.md" || !strings.Contains(r["text"], "buy milk") {
		t.Errorf("first result = %v", r)
	}
	if _, ok := r["url"]; ok {
		t.Errorf("result carries a url %q; the folder has none", r["url"])
	}
	var shape map[string]any
	call("search", map[string]any{"query": "milk"}, &shape)
	if len(shape) != 1 || shape["results"] == nil {
		t.Errorf("search result has the fields %v, want only ChatGPT's \"results\"", shape)
	}

	var doc struct {
		ID, Title, Text string
		Metadata        map[string]any
	}
	call("fetch", map[string]any{"id": found.Results[1]["id"]}, &doc)
	if doc.ID != "notes/todo.md" || doc.Title != "todo.md" || doc.Text != "buy milk\nalpha alpha" || doc.Metadata["truncated"] != false {
		t.Errorf("fetch = %+v", doc)
	}

	var listing ListOutput
	call("list", map[string]any{"path": "notes"}, &listing)
	if len(listing.Entries) != 2 || listing.Entries[1] != (ListEntry{Name: "todo.md", ID: "notes/todo.md", Type: "file", Size: 20}) {
		t.Errorf("list notes = %+v", listing)
	}
	call("list", map[string]any{}, &listing)
	if listing.Path != "." || len(listing.Entries) == 0 {
		t.Errorf("list with no path = %+v", listing)
	}

	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"fetch", map[string]any{"id": "../outside/secret.txt"}, `contains ".."`},
		{"fetch", map[string]any{"id": "outlink.md"}, "outside the shared folder"},
		{"fetch", map[string]any{"id": "/etc/passwd"}, "absolute path"},
		{"fetch", map[string]any{"id": "bin.dat"}, "binary file"},
		{"list", map[string]any{"path": "outdir"}, "outside the shared folder"},
	} {
		res := call(tc.tool, tc.args, nil)
		text := res.Content[0].(*mcp.TextContent).Text
		if !res.IsError || !strings.Contains(text, tc.want) || strings.Contains(text, "TOPSECRET") {
			t.Errorf("%s %v: IsError=%v %q, want a tool error containing %q", tc.tool, tc.args, res.IsError, text, tc.want)
		}
	}
}

// connect serves the built-in server over root and returns a go-sdk client session to it;
// both end with the test.
func connect(t *testing.T, root string) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := NewServer(root).Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// canonical re-encodes a JSON document so that two encodings of one value compare equal.
func canonical(t *testing.T, data []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
