package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/audit"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// The owner's rules through the real app: the real gateway, sign-ins with
// the real authorization server, and @modelcontextprotocol/server-everything
// from npm as a stdio server. Its echo and get-sum tools are annotated
// readOnlyHint: true, toggle-simulated-logging is not.

// everythingConfig is server-everything from the npm packages of the
// end-to-end tests (cmd/setup.sh --test installs them).
func everythingConfig(t *testing.T) app.ServerConfig {
	t.Helper()
	dir, _ := filepath.Abs("../cmd/mcpshare/testdata/node")
	index := filepath.Join(dir, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")
	if _, err := os.Stat(index); err != nil {
		if os.Getenv("MCPSHARE_REQUIRE_E2E") == "1" {
			t.Fatalf("server-everything is missing (run cmd/setup.sh --test): %v", err)
		}
		t.Skip("npm packages not installed; run cmd/setup.sh --test")
	}
	node := filepath.Join(dir, "node_modules/.bin/node")
	if _, err := os.Stat(node); err != nil {
		node = "node"
	}
	return app.ServerConfig{Name: "everything", Kind: app.KindStdio, Enabled: true, Command: node, Args: []string{index, "stdio"}}
}

// governed is a sharing app with server-everything and a second user.
type governed struct {
	*testApp
	origin string
}

func newGoverned(t *testing.T, opts app.Options) *governed {
	t.Helper()
	ta := openTestApp(t, opts)
	if err := ta.AddServer(context.Background(), everythingConfig(t), nil); err != nil {
		t.Fatal(err)
	}
	if err := ta.Auth().AddUser("bob", "bob-password-1"); err != nil {
		t.Fatal(err)
	}
	if err := ta.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &governed{testApp: ta, origin: ta.Status().LocalOrigin}
}

// session signs user in through a newly registered client for resource
// (a path: /mcp or /mcp/NAME) and opens an MCP session with the token.
func (g *governed) session(t *testing.T, user, password, resource string) *mcp.ClientSession {
	t.Helper()
	tok := g.token(t, user, password, resource)
	cs, err := g.connect(resource, tok)
	if err != nil {
		t.Fatalf("connect to %s as %s: %v", resource, user, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func (g *governed) token(t *testing.T, user, password, resource string) *oauth2.Token {
	t.Helper()
	hc := &http.Client{}
	f := newFlow(t, hc, g.origin, oauthClient{})
	f.resource = g.origin + resource
	code, loc := f.signIn(t, user, password)
	if code != http.StatusFound && code != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d", user, code)
	}
	return f.finish(t, loc)
}

func (g *governed) connect(resource string, tok *oauth2.Token) (*mcp.ClientSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok)}}
	c := mcp.NewClient(&mcp.Implementation{Name: "governance-test", Version: "1"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: g.origin + resource, HTTPClient: hc, MaxRetries: -1}, nil)
}

func (g *governed) rules(t *testing.T, edit func(*app.Rules)) {
	t.Helper()
	list, err := g.Servers()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Config.Name == "everything" {
			r := s.Config.Rules()
			edit(&r)
			if err := g.SetServerRules("everything", r); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("no server everything")
}

func tools(t *testing.T, cs *mcp.ClientSession) []string {
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

func call(cs *mcp.ClientSession, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// lastAudit waits for the newest entry of event that matches and returns it.
func (g *governed) lastAudit(t *testing.T, f audit.Filter, match func(audit.Entry) bool) audit.Entry {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		entries, err := g.Audit(f, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(entries) - 1; i >= 0; i-- {
			if match(entries[i]) {
				return entries[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit entry like that among %+v", entries)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nextPending waits (driven by the app's events) for a call to wait for approval.
func (g *governed) nextPending(t *testing.T) app.PendingCall {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		if p := g.PendingCalls(); len(p) > 0 {
			return p[0]
		}
		select {
		case <-g.wake:
		case <-deadline.C:
			t.Fatal("no call waits for approval after 30s")
		}
	}
}

func TestHiddenToolAbsentAndRefusedAndAudited(t *testing.T) {
	g := newGoverned(t, app.Options{})
	g.rules(t, func(r *app.Rules) { r.Tools = map[string]string{"echo": app.AccessHidden} })
	for _, route := range []struct{ path, tool string }{{"/mcp/everything", "echo"}, {"/mcp", "everything_echo"}} {
		cs := g.session(t, g.user, g.password, route.path)
		if names := tools(t, cs); slices.Contains(names, route.tool) || !slices.Contains(names, strings.Replace(route.tool, "echo", "get-sum", 1)) {
			t.Errorf("%s lists %v: want get-sum but not the hidden echo", route.path, names)
		}
		_, err := call(cs, route.tool, map[string]any{"message": "secret words"})
		if err == nil || !strings.Contains(err.Error(), "disabled by the owner") {
			t.Errorf("%s: calling the hidden tool: %v", route.path, err)
		}
	}
	e := g.lastAudit(t, audit.Filter{Event: audit.EventToolCall}, func(e audit.Entry) bool { return e.Name == "echo" })
	if e.Outcome != audit.OutcomeHidden || e.User != g.user || e.Server != "everything" || e.Client == "" || e.ClientName != "tunnel test" {
		t.Errorf("audit entry of the hidden call: %+v", e)
	}
	if len(e.Args) != 0 || e.ArgsStart != "" || len(e.ArgsHMAC) != 64 {
		t.Errorf("arguments not redacted by default: %+v", e)
	}
	b, _ := os.ReadFile(filepath.Join(g.ConfigDir(), audit.FileName))
	if strings.Contains(string(b), "secret words") {
		t.Error("the audit file holds the arguments in clear")
	}
}

func TestUserNotAllowedRefusedAtBothURLs(t *testing.T) {
	g := newGoverned(t, app.Options{})
	bobAll := g.session(t, "bob", "bob-password-1", "/mcp")
	if !slices.Contains(tools(t, bobAll), "everything_get-sum") {
		t.Fatal("bob does not see everything before the owner restricts it")
	}
	bobFlow := newFlow(t, &http.Client{}, g.origin, oauthClient{})
	bobFlow.resource = g.origin + "/mcp/everything"
	code, loc := bobFlow.signIn(t, "bob", "bob-password-1")
	if code != http.StatusFound && code != http.StatusSeeOther {
		t.Fatalf("bob's sign-in before the rule: %d", code)
	}
	bobTok := bobFlow.finish(t, loc)
	g.rules(t, func(r *app.Rules) { r.Users = []string{g.user} })

	// The authorization server knows the rule too: no new token for bob.
	expired := *bobTok
	expired.Expiry = time.Now().Add(-time.Minute)
	if _, err := bobFlow.conf.TokenSource(context.Background(), &expired).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("bob's refresh for /mcp/everything after the rule: %v", err)
	}
	again := newFlow(t, &http.Client{}, g.origin, oauthClient{})
	again.resource = g.origin + "/mcp/everything"
	if code, _ := again.signIn(t, "bob", "bob-password-1"); code != http.StatusForbidden {
		t.Errorf("bob's new sign-in for /mcp/everything: %d, want 403", code)
	}

	code, _, body := do(t, &http.Client{}, http.MethodPost, g.origin+"/mcp/everything", "", http.Header{
		"Authorization": {"Bearer " + bobTok.AccessToken}, "Content-Type": {"application/json"},
		"Accept": {"application/json, text/event-stream"},
	}, initializeBody)
	if code != http.StatusForbidden {
		t.Errorf("bob at /mcp/everything: %d %s, want 403", code, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for slices.Contains(tools(t, bobAll), "everything_get-sum") {
		if time.Now().After(deadline) {
			t.Fatal("bob's /mcp still lists everything's tools")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := call(bobAll, "everything_get-sum", map[string]any{"a": 1, "b": 2}); err == nil {
		t.Error("bob called everything through /mcp")
	}
	alice := g.session(t, g.user, g.password, "/mcp/everything")
	if res, err := call(alice, "get-sum", map[string]any{"a": 1, "b": 2}); err != nil || res.IsError {
		t.Errorf("the allowed user: %v %+v", err, res)
	}
}

func TestAskApprovedDeniedAndAlwaysForThatClientOnly(t *testing.T) {
	g := newGoverned(t, app.Options{})
	detach := g.AttachApprover()
	defer detach()
	g.rules(t, func(r *app.Rules) { r.AskBeforeChanges = true })
	cs := g.session(t, g.user, g.password, "/mcp/everything")

	// A read-only tool does not ask.
	if res, err := call(cs, "get-sum", map[string]any{"a": 2, "b": 3}); err != nil || res.IsError || !strings.Contains(resultText(res), "5") {
		t.Fatalf("get-sum under ask-before-changes: %v %+v", err, res)
	}
	if p := g.PendingCalls(); len(p) != 0 {
		t.Fatalf("a read-only tool waited: %+v", p)
	}

	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	start := func(cs *mcp.ClientSession) chan answer {
		done := make(chan answer, 1)
		go func() {
			res, err := call(cs, "toggle-simulated-logging", map[string]any{})
			done <- answer{res, err}
		}()
		return done
	}

	// Approved: the call completes.
	done := start(cs)
	p := g.nextPending(t)
	if p.User != g.user || p.Server != "everything" || p.Name != "toggle-simulated-logging" || p.ClientName != "tunnel test" || !p.CanRemember {
		t.Errorf("pending call %+v", p)
	}
	if err := g.DecideCall(p.ID, app.CallApprove, "test"); err != nil {
		t.Fatal(err)
	}
	if a := <-done; a.err != nil || a.res.IsError || !strings.Contains(resultText(a.res), "logging") {
		t.Fatalf("approved call: %v %+v", a.err, a.res)
	}

	// Denied: an error the model can relay.
	done = start(cs)
	p = g.nextPending(t)
	g.DecideCall(p.ID, app.CallDeny, "test")
	if a := <-done; a.err != nil || !a.res.IsError || !strings.Contains(resultText(a.res), "denied this call") {
		t.Fatalf("denied call: %v %+v", a.err, a.res)
	}
	if err := g.DecideCall(p.ID, app.CallApprove, "test"); err == nil {
		t.Error("a denied call could be approved afterwards")
	}
	e := g.lastAudit(t, audit.Filter{Event: audit.EventToolCall, Outcome: audit.OutcomeDenied}, func(audit.Entry) bool { return true })
	if e.Name != "toggle-simulated-logging" || !strings.Contains(e.Detail, "denied") {
		t.Errorf("audit of the denied call: %+v", e)
	}

	// Always: remembered for this client, not for another client of the same user.
	done = start(cs)
	g.DecideCall(g.nextPending(t).ID, app.CallAlways, "test")
	if a := <-done; a.err != nil || a.res.IsError {
		t.Fatalf("call answered with always: %v %+v", a.err, a.res)
	}
	if a := <-start(cs); a.err != nil || a.res.IsError {
		t.Fatalf("the remembered call: %v %+v", a.err, a.res)
	}
	other := g.session(t, g.user, g.password, "/mcp/everything")
	done = start(other)
	p = g.nextPending(t)
	if p.ClientID == "" {
		t.Fatal("the other client's call names no client")
	}
	g.DecideCall(p.ID, app.CallApprove, "test")
	<-done
	remembered, _ := g.RememberedCalls()
	if len(remembered) != 1 || remembered[0].Tool != "toggle-simulated-logging" || remembered[0].User != g.user || remembered[0].ClientID == p.ClientID {
		t.Errorf("remembered approvals %+v", remembered)
	}
	approvals, _ := g.Audit(audit.Filter{Event: audit.EventApproval}, 0)
	var outcomes []string
	for _, a := range approvals {
		outcomes = append(outcomes, a.Outcome)
	}
	if strings.Join(outcomes, ",") != "approved,denied,always,remembered,approved" {
		t.Errorf("approvals in the audit log: %v", outcomes)
	}
}

func TestAskTimesOutAndNobodyToAsk(t *testing.T) {
	g := newGoverned(t, app.Options{CallApprovalTimeout: 300 * time.Millisecond})
	g.rules(t, func(r *app.Rules) { r.Tools = map[string]string{"echo": app.AccessAsk}; r.AuditArguments = true })
	cs := g.session(t, g.user, g.password, "/mcp")

	// Without a window or terminal attached, nobody can be asked: at once.
	res, err := call(cs, "everything_echo", map[string]any{"message": "hello"})
	if err != nil || !res.IsError || !strings.Contains(resultText(res), "without a window or terminal") {
		t.Fatalf("ask with nobody to ask: %v %+v", err, res)
	}

	detach := g.AttachApprover()
	defer detach()
	res, err = call(cs, "everything_echo", map[string]any{"message": "hello"})
	if err != nil || !res.IsError || !strings.Contains(resultText(res), "did not approve this call") {
		t.Fatalf("unanswered call: %v %+v", err, res)
	}
	if p := g.PendingCalls(); len(p) != 0 {
		t.Errorf("the call that timed out still waits: %+v", p)
	}
	e := g.lastAudit(t, audit.Filter{Event: audit.EventToolCall}, func(audit.Entry) bool { return true })
	if e.Outcome != audit.OutcomeDenied || string(e.Args) != `{"message":"hello"}` || len(e.ArgsHMAC) != 64 {
		t.Errorf("audit of the call that timed out, with full arguments on: %+v", e)
	}
	counts, err := g.AuditCounts()
	if err != nil || counts["everything"].Denied != 2 {
		t.Errorf("counters %+v %v", counts, err)
	}
}

func TestSignInsGoIntoTheAuditLog(t *testing.T) {
	g := newGoverned(t, app.Options{})
	g.Auth().SetPolicy(oauthserver.PolicyAsk) // openTestApp's run overrides the setting with password
	f := newFlow(t, &http.Client{}, g.origin, oauthClient{})
	if code, _ := f.signIn(t, "bob", "bob-password-1"); code != http.StatusFound && code != http.StatusSeeOther {
		t.Fatalf("bob's password: %d", code)
	}
	pending := g.Auth().PendingSignIns()
	if len(pending) != 1 {
		t.Fatalf("pending sign-ins %+v", pending)
	}
	if err := g.Auth().Decide(pending[0].ID, false); err != nil {
		t.Fatal(err)
	}
	e := g.lastAudit(t, audit.Filter{Event: audit.EventSignIn}, func(audit.Entry) bool { return true })
	if e.User != "bob" || e.Outcome != "denied" || e.ClientName != "tunnel test" || e.Server != "files" || e.Address == "" {
		t.Errorf("audit entry of the sign-in: %+v", e)
	}
	if all, _ := g.Audit(audit.Filter{Event: audit.EventSignIn}, 0); len(all) != 1 {
		t.Errorf("the sign-in was written %d times", len(all))
	}
}
