package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/audit"
)

// testPolicy is a Policy whose states the test sets and whose approvals
// the test answers, as the owner would.
type testPolicy struct {
	mu      sync.Mutex
	states  map[string]Access // by "server kind name"
	users   map[string][]string
	asked   chan askedCall
	records []Record
}

type askedCall struct {
	call   Call
	answer chan error
}

func newTestPolicy() *testPolicy {
	return &testPolicy{states: map[string]Access{}, users: map[string][]string{}, asked: make(chan askedCall, 8)}
}

func (p *testPolicy) set(server, kind, name string, a Access) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.states[server+" "+kind+" "+name] = a
}

func (p *testPolicy) Access(e Entry) Access {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.states[e.Server+" "+e.Kind+" "+e.Name]; ok {
		return a
	}
	return AccessAllowed
}

func (p *testPolicy) Approve(ctx context.Context, c Call) error {
	a := askedCall{call: c, answer: make(chan error, 1)}
	p.asked <- a
	select {
	case err := <-a.answer:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *testPolicy) mayUse(user, server string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	allowed, ok := p.users[server]
	return !ok || slices.Contains(allowed, user)
}

func (p *testPolicy) audit(r Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = append(p.records, r)
}

// lastRecord waits for the record of the latest call, which is written as
// the answer leaves.
func (p *testPolicy) lastRecord(t *testing.T, n int) Record {
	t.Helper()
	var r Record
	waitFor(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.records) < n {
			return false
		}
		r = p.records[n-1]
		return true
	})
	return r
}

func (p *testPolicy) nextAsk(t *testing.T) askedCall {
	t.Helper()
	select {
	case a := <-p.asked:
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no approval asked for within 20s")
		return askedCall{}
	}
}

func newPolicyGateway(t *testing.T, p *testPolicy, cfg Config) *testGateway {
	cfg.Policy, cfg.MayUse, cfg.Audit = p, p.mayUse, p.audit
	return newTestGatewayConfig(t, cfg, ServerSpec{Name: "ev", Kind: KindStdio, Command: everythingServer}, stdioSpec("echo"))
}

func TestHiddenEntriesAreAbsentAndRefused(t *testing.T) {
	p := newTestPolicy()
	p.set("ev", EntryTool, "test_simple_text", AccessHidden)
	p.set("ev", EntryPrompt, "test_simple_prompt", AccessHidden)
	p.set("ev", EntryResource, "test://static-text", AccessHidden)
	p.set("ev", EntryResource, "test://template/{id}/data", AccessHidden)
	tg := newPolicyGateway(t, p, Config{})
	ctx := context.Background()
	for _, version := range []string{legacy, modern} {
		for _, route := range []struct{ url, tool, prompt string }{
			{tg.url("ev"), "test_simple_text", "test_simple_prompt"},
			{tg.url(AllServers), "ev_test_simple_text", "ev_test_simple_prompt"},
		} {
			cs := connect(t, route.url, "tok-alice", version, nil)
			names := toolNames(t, cs)
			if slices.Contains(names, route.tool) || !slices.Contains(names, strings.Replace(route.tool, "simple_text", "image_content", 1)) {
				t.Errorf("%s %s lists %v: the hidden tool must be absent, the others there", version, route.url, names)
			}
			_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: route.tool, Arguments: map[string]any{}})
			if err == nil || !strings.Contains(err.Error(), `tool "`+route.tool+`" is disabled by the owner`) {
				t.Errorf("%s %s: calling the hidden tool: %v, want a JSON-RPC error saying the owner disabled it", version, route.url, err)
			}
			if r := p.lastRecord(t, len(p.records)); r.Outcome != audit.OutcomeHidden || r.Name != "test_simple_text" || r.User != "alice" {
				t.Errorf("audit of the hidden call: %+v", r)
			}
			for pr, err := range cs.Prompts(ctx, nil) {
				if err == nil && pr.Name == route.prompt {
					t.Errorf("%s %s lists the hidden prompt", version, route.url)
				}
			}
			if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: route.prompt}); err == nil || !strings.Contains(err.Error(), "disabled by the owner") {
				t.Errorf("%s %s: the hidden prompt: %v", version, route.url, err)
			}
			for r, err := range cs.Resources(ctx, nil) {
				if err == nil && r.URI == "test://static-text" {
					t.Errorf("%s %s lists the hidden resource", version, route.url)
				}
			}
			for _, uri := range []string{"test://static-text", "test://template/7/data"} {
				if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri}); err == nil || !strings.Contains(err.Error(), "disabled by the owner") {
					t.Errorf("%s %s: reading hidden %s: %v", version, route.url, uri, err)
				}
			}
			if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://static-binary"}); err != nil {
				t.Errorf("a resource that is not hidden: %v", err)
			}
		}
	}
	// A name the front does not list, on the server's own URL, is hidden too
	// when the owner says so (callUnlisted).
	p.set("echo", EntryTool, "not-listed", AccessHidden)
	cs := connect(t, tg.url("echo"), "tok-alice", legacy, nil)
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "not-listed"}); err == nil || !strings.Contains(err.Error(), "disabled by the owner") {
		t.Errorf("an unlisted hidden name: %v", err)
	}

	// Shown again, it is listed and works; the session hears of the change.
	changed := make(chan struct{}, 4)
	cs = connect(t, tg.url("ev"), "tok-alice", legacy, &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
		changed <- struct{}{}
	}})
	p.set("ev", EntryTool, "test_simple_text", AccessAllowed)
	tg.PolicyChanged()
	select {
	case <-changed:
	case <-time.After(20 * time.Second):
		t.Fatal("no tools/list_changed after the owner showed the tool")
	}
	if !slices.Contains(toolNames(t, cs), "test_simple_text") {
		t.Error("the tool shown again is not listed")
	}
	callText(t, cs, "test_simple_text", map[string]any{})
}

func TestUserNotAllowedIsRefusedAtBothURLs(t *testing.T) {
	p := newTestPolicy()
	p.users["ev"] = []string{"alice"}
	tg := newPolicyGateway(t, p, Config{})
	if code, body := post(t, tg.url("ev"), "tok-bob", initializeJSON, nil); code != http.StatusForbidden {
		t.Errorf("bob at /mcp/ev: %d %s, want 403", code, body)
	}
	bob := connect(t, tg.url(AllServers), "tok-bob", legacy, nil)
	for _, n := range toolNames(t, bob) {
		if strings.HasPrefix(n, "ev_") {
			t.Errorf("bob's /mcp lists %s", n)
		}
	}
	if _, err := bob.CallTool(context.Background(), &mcp.CallToolParams{Name: "ev_test_simple_text"}); err == nil {
		t.Error("bob called a tool of a server he may not use")
	}
	callText(t, bob, "echo_echo", map[string]any{"text": "hi"})

	// alice loses the server while her sessions are open.
	alice := connect(t, tg.url(AllServers), "tok-alice", legacy, nil)
	aliceEv := connect(t, tg.url("ev"), "tok-alice", legacy, nil)
	callText(t, alice, "ev_test_simple_text", map[string]any{})
	p.mu.Lock()
	p.users["ev"] = []string{"carol"}
	p.mu.Unlock()
	tg.PolicyChanged()
	waitFor(t, func() bool { return !slices.Contains(toolNames(t, alice), "ev_test_simple_text") })
	if _, err := alice.CallTool(context.Background(), &mcp.CallToolParams{Name: "ev_test_simple_text"}); err == nil {
		t.Error("alice still calls ev through /mcp")
	}
	if _, err := aliceEv.CallTool(context.Background(), &mcp.CallToolParams{Name: "test_simple_text"}); err == nil {
		t.Error("alice's session on /mcp/ev still works after she lost the server")
	}
	if code, _ := post(t, tg.url("ev"), "tok-alice", initializeJSON, nil); code != http.StatusForbidden {
		t.Errorf("alice at /mcp/ev afterwards: %d, want 403", code)
	}
}

const initializeJSON = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func TestAskWaitsForTheOwner(t *testing.T) {
	p := newTestPolicy()
	p.set("echo", EntryTool, "echo", AccessAsk)
	tg := newPolicyGateway(t, p, Config{ApprovalTimeout: time.Hour, ApprovalKeepAlive: 5 * time.Millisecond})
	progress := make(chan *mcp.ProgressNotificationParams, 64)
	for _, version := range []string{legacy, modern} {
		cs := connect(t, tg.url(AllServers), "tok-alice", version, &mcp.ClientOptions{
			ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
				select {
				case progress <- r.Params:
				default:
				}
			},
		})
		call := func(text string, token any) (*mcp.CallToolResult, error) {
			params := &mcp.CallToolParams{Name: "echo_echo", Arguments: map[string]any{"text": text}}
			if token != nil {
				params.SetProgressToken(token)
			}
			return cs.CallTool(context.Background(), params)
		}

		// Approved: the call completes, and progress kept it alive meanwhile.
		done := make(chan *mcp.CallToolResult, 1)
		go func() { res, _ := call("approved "+version, "tok-1"); done <- res }()
		a := p.nextAsk(t)
		if a.call.User != "alice" || a.call.Server != "echo" || a.call.Name != "echo" || !strings.Contains(string(a.call.Arguments), "approved") ||
			a.call.Token == nil || a.call.Token.Extra["client_id"] != "client-of-tok-alice" {
			t.Errorf("the owner is asked about %+v", a.call)
		}
		select {
		case pr := <-progress:
			if !strings.Contains(pr.Message, "approval") {
				t.Errorf("progress while waiting: %+v", pr)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s: no progress notification while the call waited", version)
		}
		a.answer <- nil
		if res := <-done; res == nil || res.IsError || textOf(res) != "approved "+version {
			t.Errorf("%s: after approval: %+v", version, res)
		}
		if r := p.lastRecord(t, len(p.records)); r.Outcome != audit.OutcomeOK {
			t.Errorf("audit of the approved call: %+v", r)
		}

		// Denied: an error the model can relay, and the server never sees it.
		go func() { res, _ := call("denied", nil); done <- res }()
		p.nextAsk(t).answer <- fmt.Errorf("in the tray: %w", ErrDenied)
		if res := <-done; res == nil || !res.IsError || !strings.Contains(textOf(res), "denied this call") {
			t.Errorf("%s: after denial: %+v", version, res)
		}
		if r := p.lastRecord(t, len(p.records)); r.Outcome != audit.OutcomeDenied {
			t.Errorf("audit of the denied call: %+v", r)
		}
	}
}

func TestAskTimesOut(t *testing.T) {
	p := newTestPolicy()
	p.set("echo", EntryTool, "echo", AccessAsk)
	tg := newPolicyGateway(t, p, Config{ApprovalTimeout: 50 * time.Millisecond})
	cs := connect(t, tg.url("echo"), "tok-alice", legacy, nil)
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, _ := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "late"}})
		done <- res
	}()
	p.nextAsk(t) // nobody answers
	res := <-done
	if res == nil || !res.IsError || !strings.Contains(textOf(res), "did not approve this call") || !strings.Contains(textOf(res), "50ms") {
		t.Fatalf("after the bound: %+v", res)
	}
	if r := p.lastRecord(t, 1); r.Outcome != audit.OutcomeDenied || !strings.Contains(r.Detail, "within") {
		t.Errorf("audit of the call that timed out: %+v", r)
	}
}

func TestAuditRecordsEveryCall(t *testing.T) {
	p := newTestPolicy()
	tg := newPolicyGateway(t, p, Config{})
	cs := connect(t, tg.url("ev"), "tok-alice", legacy, nil)
	ctx := context.Background()
	callText(t, cs, "test_simple_text", map[string]any{})
	cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_error_handling", Arguments: map[string]any{}})
	cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "test_prompt_with_arguments", Arguments: map[string]string{"arg1": "a", "arg2": "b"}})
	cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://static-text"})
	want := []struct{ method, name, outcome string }{
		{audit.EventToolCall, "test_simple_text", audit.OutcomeOK},
		{audit.EventToolCall, "test_error_handling", audit.OutcomeError},
		{audit.EventPromptGet, "test_prompt_with_arguments", audit.OutcomeOK},
		{audit.EventResourceRead, "test://static-text", audit.OutcomeOK},
	}
	for i, w := range want {
		r := p.lastRecord(t, i+1)
		if r.Method != w.method || r.Name != w.name || r.Outcome != w.outcome || r.Server != "ev" || r.User != "alice" || r.Duration <= 0 {
			t.Errorf("record %d: %+v, want %+v", i, r, w)
		}
	}
	if r := p.lastRecord(t, 3); string(r.Arguments) != `{"arg1":"a","arg2":"b"}` {
		t.Errorf("the prompt's arguments: %s", r.Arguments)
	}
}

var _ Policy = (*testPolicy)(nil)

// Completion of a hidden prompt or resource is refused: its values would
// name what the owner hid.
func TestCompletionOfHiddenEntriesIsRefused(t *testing.T) {
	p := newTestPolicy()
	p.set("ev", EntryPrompt, "test_prompt_with_arguments", AccessHidden)
	tg := newPolicyGateway(t, p, Config{})
	cs := connect(t, tg.url("ev"), "tok-alice", legacy, nil)
	complete := func(ref *mcp.CompleteReference) error {
		_, err := cs.Complete(context.Background(), &mcp.CompleteParams{Ref: ref, Argument: mcp.CompleteParamsArgument{Name: "arg1", Value: "a"}})
		return err
	}
	if err := complete(&mcp.CompleteReference{Type: "ref/prompt", Name: "test_prompt_with_arguments"}); err == nil || !strings.Contains(err.Error(), "disabled by the owner") {
		t.Errorf("completion of the hidden prompt: %v", err)
	}
	p.set("ev", EntryPrompt, "test_prompt_with_arguments", AccessAllowed)
	tg.PolicyChanged()
	waitFor(t, func() bool {
		return complete(&mcp.CompleteReference{Type: "ref/prompt", Name: "test_prompt_with_arguments"}) == nil
	})
}
