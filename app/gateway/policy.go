package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/audit"
)

// The owner's say over what clients may do: which tools, prompts and
// resources they see and may use, which calls wait for the owner's
// approval, and the record of every call (Config.Policy, Config.Audit).

// Access is what the owner allows of one tool, prompt or resource.
type Access string

// Access states. A hidden entry is absent from its list and refused when
// called; a call of an ask entry waits for Policy.Approve.
const (
	AccessAllowed Access = "allowed"
	AccessAsk     Access = "ask"
	AccessHidden  Access = "hidden"
)

// stricter returns the stricter of a and b.
func stricter(a, b Access) Access {
	rank := map[Access]int{AccessAllowed: 0, "": 0, AccessAsk: 1, AccessHidden: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Kinds of Entry.
const (
	EntryTool     = "tool"
	EntryPrompt   = "prompt"
	EntryResource = "resource" // a resource's URI, or a resource template
)

// Entry is one tool, prompt or resource of a server, as a Policy judges it.
type Entry struct {
	Server string
	Kind   string
	// Name is the server's own name of a tool or prompt, a resource's URI,
	// or a resource template's URI template.
	Name string
	// ReadOnly: a tool the server annotates readOnlyHint: true.
	ReadOnly bool
}

// Call is one request of a client for an entry: what Policy.Approve asks
// the owner about, and what the audit records.
type Call struct {
	Entry
	// User is the signed-in user; Token is what the guard verified (its
	// Extra names the client).
	User  string
	Token *auth.TokenInfo
	// Arguments are a tool's or a prompt's arguments as the client sent
	// them; none for a resource.
	Arguments json.RawMessage
}

// A Policy is the owner's rules. It is consulted when a front builds its
// lists and on every tools/call, prompts/get and resources/read.
type Policy interface {
	// Access says what the owner allows of e.
	Access(e Entry) Access
	// Approve asks the owner about a call of an entry in AccessAsk and waits
	// for the answer: nil when approved, an error matching ErrDenied when
	// denied, ctx's error when the wait ended first (the gateway bounds it
	// with Config.ApprovalTimeout; the client may cancel).
	Approve(ctx context.Context, c Call) error
}

// ErrDenied is matched by the error of Policy.Approve for a denied call.
var ErrDenied = errors.New("the owner denied the call")

// Record is one call through the gateway, as Config.Audit receives it.
type Record struct {
	Call
	Method   string // tools/call, prompts/get, resources/read
	Start    time.Time
	Duration time.Duration
	// Outcome is audit.OutcomeOK, OutcomeError, OutcomeDenied or OutcomeHidden.
	Outcome string
	// Detail is the error's message or why the call was refused.
	Detail string
}

// Defaults of the approval of a call.
const (
	// DefaultApprovalTimeout bounds the wait for the owner's answer.
	DefaultApprovalTimeout = 2 * time.Minute
	// DefaultApprovalKeepAlive is how often a waiting call sends the client a
	// progress notification (when it gave a progress token), so that a
	// client that resets its timeout on progress keeps waiting.
	DefaultApprovalKeepAlive = 10 * time.Second
)

// PolicyChanged applies a change of Config.Policy or Config.MayUse: every
// front lists again what the owner lets its user see (sessions hear of the
// changed lists), /mcp drops the servers its user may no longer use and
// takes the new ones, and a server's own front closes for a user who may no
// longer use it (the next request is refused with 403).
func (g *Gateway) PolicyChanged() {
	g.mu.Lock()
	routes := make([]*route, 0, len(g.routes))
	for _, r := range g.routes {
		routes = append(routes, r)
	}
	g.mu.Unlock()
	for _, r := range routes {
		for _, f := range r.frontList() {
			if r.name != AllServers {
				if !g.mayUse(f.user, r.name) {
					f.close()
					continue
				}
				f.resync()
				continue
			}
			f.dropUnusable()
			f.resync()
			go f.addServers()
		}
	}
}

// dropUnusable stops the all-servers front mirroring the servers its user
// may no longer use.
func (f *front) dropUnusable() {
	f.mu.Lock()
	var gone []*pool
	for name, p := range f.pools {
		if !f.g.mayUse(f.user, name) {
			gone = append(gone, p)
			delete(f.pools, name)
			delete(f.catalogs, name)
		}
	}
	f.mu.Unlock()
	for _, p := range gone {
		p.unsubscribe(f)
	}
}

// access is the policy's word on e; everything is allowed without a policy.
func (g *Gateway) access(e Entry) Access {
	if g.cfg.Policy == nil {
		return AccessAllowed
	}
	return g.cfg.Policy.Access(e)
}

// toolEntry is the Entry of tool t of server.
func toolEntry(server string, t *mcp.Tool) Entry {
	return Entry{Server: server, Kind: EntryTool, Name: t.Name, ReadOnly: t.Annotations != nil && t.Annotations.ReadOnlyHint}
}

// readOnly reports whether server's catalog annotates tool readOnlyHint:
// true; a tool the catalog does not list is not.
func (p *pool) readOnly(tool string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.catalog == nil {
		return false
	}
	for _, t := range p.catalog.tools {
		if t.Name == tool {
			return t.Annotations != nil && t.Annotations.ReadOnlyHint
		}
	}
	return false
}

// entryOf is the Entry of a call of o at server, and its access: for a
// resource the stricter of its URI's and its template's.
func (f *front) entryOf(server string, o op) (Entry, Access) {
	e := Entry{Server: server, Kind: o.kind(), Name: o.name()}
	switch o.(type) {
	case *toolOp:
		if p := f.poolFor(server); p != nil {
			e.ReadOnly = p.readOnly(o.name())
		}
	case *resourceOp:
		if tmpl := f.templateOf(server, o.name()); tmpl != "" {
			acc := f.g.access(Entry{Server: server, Kind: EntryResource, Name: tmpl})
			return e, stricter(f.g.access(e), acc)
		}
	}
	return e, f.g.access(e)
}

// templateOf returns the URI template of server that matches uri, if any.
func (f *front) templateOf(server, uri string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.routes.templates {
		if t.server == server && t.tmpl.Match(uri) != nil {
			return t.tmpl.Raw()
		}
	}
	return ""
}

// methodOf names the MCP method of an op's kind.
func methodOf(kind string) string {
	switch kind {
	case EntryTool:
		return audit.EventToolCall
	case EntryPrompt:
		return audit.EventPromptGet
	default:
		return audit.EventResourceRead
	}
}

// governed is exchange under the owner's rules: the user must still be
// allowed the server, a hidden entry is refused, an entry in ask waits for
// the owner's approval (once per call: a continuation after input_required
// was approved when it began), and every request is recorded.
func (f *front) governed(fr *frontReq, server string, o op) (res mcp.Result, err error) {
	start := f.g.now()
	e, acc := f.entryOf(server, o)
	rec := Record{Call: Call{Entry: e, User: f.user, Token: fr.token, Arguments: o.arguments()}, Method: methodOf(o.kind()), Start: start}
	defer func() {
		if f.g.cfg.Audit == nil {
			return
		}
		rec.Duration = f.g.now().Sub(start)
		if rec.Outcome == "" {
			rec.Outcome, rec.Detail = outcomeOf(res, err)
		}
		f.g.cfg.Audit(rec)
	}()
	called := fr.called
	if called == "" {
		called = o.name()
	}
	if !f.g.mayUse(f.user, server) {
		rec.Outcome, rec.Detail = audit.OutcomeDenied, "the user may not use this server"
		return nil, &jsonrpc.Error{Code: codeServerError, Message: fmt.Sprintf("the owner of MCP Share has not shared server %q with you", server)}
	}
	var st *requestState
	if fr.state != "" {
		opened, err := f.g.states.open(fr.state, f.g.now())
		if err != nil || opened.User != f.user || opened.Server != server || opened.Kind != o.kind() || opened.Name != o.name() {
			rec.Outcome, rec.Detail = audit.OutcomeError, "invalid requestState"
			return nil, errStateInvalid
		}
		st = &opened
	}
	switch acc {
	case AccessHidden:
		rec.Outcome, rec.Detail = audit.OutcomeHidden, "hidden by the owner"
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("%s %q is disabled by the owner of MCP Share", o.kind(), called)}
	case AccessAsk:
		digest, dup := argumentsDigest(o.arguments())
		if dup != "" {
			msg := fmt.Sprintf("invalid arguments: the key %q appears twice, so what the owner of MCP Share would approve could differ from what the server gets; send each key once", dup)
			rec.Outcome, rec.Detail = audit.OutcomeDenied, msg
			return refused(o, msg)
		}
		fr.args = digest
		if !f.continuesApproved(st, digest) {
			if refusal := f.approve(fr, rec.Call, called); refusal != "" {
				rec.Outcome, rec.Detail = audit.OutcomeDenied, refusal
				return refused(o, refusal)
			}
		}
		fr.approved = true
	}
	return f.exchange(fr, server, o)
}

// errStateInvalid refuses a requestState that this gateway did not seal for
// this user and request, or that expired.
var errStateInvalid = &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "requestState is not valid for this request (changed, expired, or from another request)"}

// continuesApproved reports whether a request with state st continues a
// call the owner approved, so that it needs no approval of its own: a call
// paused at its server (its continuation can be taken once), or one round
// of an approved call with the same arguments, once. Anything else (a state
// of a call that was allowed when it began, other arguments, a replay) is
// asked about again.
func (f *front) continuesApproved(st *requestState, digest string) bool {
	switch {
	case st == nil:
		return false
	case st.Paused != "":
		return true
	default:
		return st.Approved && st.Args == digest && f.g.states.consume(*st, f.g.now())
	}
}

// argumentsDigest is the SHA-256 of the canonical form of a call's
// arguments (keys sorted, numbers as written), and the first key an object
// in them names twice, if any: JSON parsers keep the last of two, so the
// owner could be shown one value while the server gets another.
func argumentsDigest(raw json.RawMessage) (digest, duplicate string) {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	if dup := duplicateKey(raw); dup != "" {
		return "", dup
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	canon := []byte(raw)
	if dec.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), ""
}

// duplicateKey returns the first key that an object of raw names twice
// (at any depth), or "".
func duplicateKey(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var walk func() (string, bool)
	walk = func() (string, bool) {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", false
				}
				key, _ := k.(string)
				if seen[key] {
					return key, true
				}
				seen[key] = true
				if dup, stop := walk(); stop {
					return dup, true
				}
			}
			_, _ = dec.Token()
		case json.Delim('['):
			for dec.More() {
				if dup, stop := walk(); stop {
					return dup, true
				}
			}
			_, _ = dec.Token()
		}
		return "", false
	}
	dup, _ := walk()
	return dup
}

// approve waits for the owner's answer about c, keeping the client's call
// alive with progress notifications meanwhile. It returns "" when approved,
// else the sentence the client (and its model) gets instead of a result.
func (f *front) approve(fr *frontReq, c Call, called string) string {
	if f.g.cfg.Policy == nil {
		return ""
	}
	timeout := f.g.approvalTimeout()
	ctx, cancel := context.WithTimeout(fr.ctx, timeout)
	defer cancel()
	if fr.progress != nil {
		stop := make(chan struct{})
		defer close(stop)
		go f.keepAlive(fr, stop)
	}
	err := f.g.cfg.Policy.Approve(ctx, c)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrDenied):
		return fmt.Sprintf("The owner of MCP Share denied this call of %s %q, so it was not made. Do not try it again unless they ask you to.", c.Kind, called)
	case fr.ctx.Err() != nil:
		return "the client cancelled the call while it waited for the owner's approval"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("The owner of MCP Share did not approve this call of %s %q within %s, so it was not made. Ask them to approve it in MCP Share (its tray menu, window or terminal), then try again.", c.Kind, called, timeout)
	default:
		return fmt.Sprintf("This call of %s %q needs the approval of the owner of MCP Share, which could not be asked: %v.", c.Kind, called, err)
	}
}

func (g *Gateway) approvalTimeout() time.Duration {
	if g.cfg.ApprovalTimeout > 0 {
		return g.cfg.ApprovalTimeout
	}
	return DefaultApprovalTimeout
}

// keepAlive sends fr's client a progress notification every
// ApprovalKeepAlive until stop is closed.
func (f *front) keepAlive(fr *frontReq, stop <-chan struct{}) {
	every := f.g.cfg.ApprovalKeepAlive
	if every <= 0 {
		every = DefaultApprovalKeepAlive
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-stop:
			return
		case <-fr.ctx.Done():
			return
		case <-t.C:
			deliver(fr, note{progress: &mcp.ProgressNotificationParams{Progress: float64(n), Message: "Waiting for the owner's approval in MCP Share"}})
		}
	}
}

// refused answers a call the owner did not approve: for a tool, a tool
// error, which the model reads and can relay; otherwise a JSON-RPC error.
func refused(o op, msg string) (mcp.Result, error) {
	if _, ok := o.(*toolOp); ok {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}, nil
	}
	return nil, &jsonrpc.Error{Code: codeServerError, Message: msg}
}

// outcomeOf is the audit outcome of a forwarded request's answer.
func outcomeOf(res mcp.Result, err error) (string, string) {
	if err != nil {
		return audit.OutcomeError, err.Error()
	}
	if tr, ok := res.(*mcp.CallToolResult); ok && tr.IsError {
		for _, c := range tr.Content {
			if t, ok := c.(*mcp.TextContent); ok {
				return audit.OutcomeError, t.Text
			}
		}
		return audit.OutcomeError, "the tool returned an error"
	}
	return audit.OutcomeOK, ""
}

// listed reports whether the front lists name (kindTools or kindPrompts).
func (f *front) listed(kind, name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if kind == kindTools {
		_, ok := f.registered.tools[name]
		return ok
	}
	_, ok := f.registered.prompts[name]
	return ok
}

// hiddenResource reports whether uri is a resource the owner hid, or is
// matched only by templates the owner hid, and of which server.
func (f *front) hiddenResource(uri string) (server string, hidden bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.registered.resources[uri]; ok {
		return "", false
	}
	if t, ok := f.routes.resources[uri]; ok {
		return t.server, true
	}
	for _, t := range f.routes.templates {
		if t.tmpl.Match(uri) == nil {
			continue
		}
		if _, ok := f.registered.templates[t.tmpl.Raw()]; ok {
			return "", false
		}
		if server == "" {
			server = t.server
		}
	}
	return server, server != ""
}

// entries lists what c offers as the owner's rules see it: tools, prompts,
// resources, then resource templates, each in the server's order.
func (c *catalog) entries(server string) []Entry {
	var out []Entry
	for _, t := range c.tools {
		out = append(out, toolEntry(server, t))
	}
	for _, p := range c.prompts {
		out = append(out, Entry{Server: server, Kind: EntryPrompt, Name: p.Name})
	}
	for _, r := range c.resources {
		out = append(out, Entry{Server: server, Kind: EntryResource, Name: r.URI})
	}
	for _, t := range c.templates {
		out = append(out, Entry{Server: server, Kind: EntryResource, Name: t.URITemplate})
	}
	return out
}
