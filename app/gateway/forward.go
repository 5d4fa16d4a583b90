package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Keys of _meta the gateway sets itself on requests to a server.
const (
	metaProgressToken      = "progressToken"
	metaClientInfo         = "io.modelcontextprotocol/clientInfo"
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
)

// frontReq is one client request that a front forwards.
type frontReq struct {
	ctx    context.Context
	ss     *mcp.ServerSession
	modern bool // 2026-07-28: input comes by input_required results, not requests
	meta   mcp.Meta
	caps   *mcp.ClientCapabilities
	// progress is the client's progress token; nil when it asked for none.
	progress any
	// responses and state come with a retry after input_required.
	responses mcp.InputResponseMap
	state     string
	// sessionKey selects the backend under IsolationSession.
	sessionKey string
	// token is what the guard verified: the user and the client.
	token *auth.TokenInfo
	// called is the name the client called (on /mcp, SERVER_NAME).
	called string
	// approved: the owner approved this call of an entry in ask, whose
	// arguments have digest args (governed); the states it gets say so.
	approved bool
	args     string
}

func (f *front) request(ctx context.Context, ss *mcp.ServerSession, extra *mcp.RequestExtra, version string, caps *mcp.ClientCapabilities, meta mcp.Meta, in mcp.InputResponseMap, state string) *frontReq {
	fr := &frontReq{ctx: ctx, ss: ss, modern: version >= version20260728, meta: meta, caps: caps, responses: in, state: state}
	if extra != nil {
		fr.token = extra.TokenInfo
	}
	if meta != nil {
		fr.progress = meta[metaProgressToken]
	}
	if ss != nil {
		fr.sessionKey = ss.ID()
	}
	return fr
}

// backendMeta is the _meta of the request to the server: the client's own
// keys, the client's capabilities (2026-07-28 servers read them per request,
// so they ask only for what this client can answer), and our progress token
// in place of the client's.
func (fr *frontReq) backendMeta(token string) mcp.Meta {
	m := mcp.Meta{}
	for k, v := range fr.meta {
		switch k {
		case metaProgressToken, metaProtocolVersion, metaClientInfo:
			continue
		}
		m[k] = v
	}
	if _, ok := m[metaClientCapabilities]; !ok {
		if caps := capabilitiesV2(fr.caps); caps != nil {
			m[metaClientCapabilities] = caps
		}
	}
	if token != "" {
		m[metaProgressToken] = token
	}
	return m
}

// capabilitiesV2 is c in the per-request form of 2026-07-28 (roots as an
// object only when declared).
func capabilitiesV2(c *mcp.ClientCapabilities) map[string]any {
	if c == nil {
		return map[string]any{}
	}
	js, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(js, &m) != nil {
		return nil
	}
	delete(m, "roots")
	if c.RootsV2 != nil {
		m["roots"] = c.RootsV2
	}
	return m
}

// An op is one of the requests that may need the client's input on the way
// (SEP-2322): tools/call, prompts/get, resources/read.
type op interface {
	kind() string
	name() string // the server's own name of the tool or prompt, or the URI
	send(ctx context.Context, cs *mcp.ClientSession, meta mcp.Meta, in mcp.InputResponseMap, state string) outcome
	// asking is the result that asks the client for input.
	asking(irs mcp.InputRequestMap, state string) mcp.Result
	// arguments are the request's arguments, for the owner and the audit.
	arguments() json.RawMessage
}

// outcome is what one round at the server gave.
type outcome struct {
	res   mcp.Result
	irs   mcp.InputRequestMap // the server asks for input (2026-07-28 servers)
	state string              // and wants this state back
	err   error
}

type toolOp struct {
	tool string
	args json.RawMessage
}

func (o *toolOp) kind() string               { return EntryTool }
func (o *toolOp) arguments() json.RawMessage { return o.args }
func (o *toolOp) name() string               { return o.tool }
func (o *toolOp) send(ctx context.Context, cs *mcp.ClientSession, meta mcp.Meta, in mcp.InputResponseMap, state string) outcome {
	p := &mcp.CallToolParams{Meta: meta, Name: o.tool, InputResponses: in, RequestState: state}
	if len(o.args) > 0 {
		p.Arguments = o.args
	}
	res, err := cs.CallTool(ctx, p)
	if err != nil {
		return outcome{err: err}
	}
	if res.NeedsInput() {
		return outcome{irs: res.InputRequests, state: res.RequestState}
	}
	return outcome{res: res}
}
func (o *toolOp) asking(irs mcp.InputRequestMap, state string) mcp.Result {
	return &mcp.CallToolResult{InputRequests: irs, RequestState: state}
}

type promptOp struct {
	prompt string
	args   map[string]string
}

func (o *promptOp) kind() string { return EntryPrompt }
func (o *promptOp) arguments() json.RawMessage {
	if len(o.args) == 0 {
		return nil
	}
	js, _ := json.Marshal(o.args)
	return js
}
func (o *promptOp) name() string { return o.prompt }
func (o *promptOp) send(ctx context.Context, cs *mcp.ClientSession, meta mcp.Meta, in mcp.InputResponseMap, state string) outcome {
	res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Meta: meta, Name: o.prompt, Arguments: o.args, InputResponses: in, RequestState: state})
	if err != nil {
		return outcome{err: err}
	}
	if res.NeedsInput() {
		return outcome{irs: res.InputRequests, state: res.RequestState}
	}
	return outcome{res: res}
}
func (o *promptOp) asking(irs mcp.InputRequestMap, state string) mcp.Result {
	return &mcp.GetPromptResult{InputRequests: irs, RequestState: state}
}

type resourceOp struct{ uri string }

func (o *resourceOp) kind() string               { return EntryResource }
func (o *resourceOp) arguments() json.RawMessage { return nil }
func (o *resourceOp) name() string               { return o.uri }
func (o *resourceOp) send(ctx context.Context, cs *mcp.ClientSession, meta mcp.Meta, in mcp.InputResponseMap, state string) outcome {
	res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{Meta: meta, URI: o.uri, InputResponses: in, RequestState: state})
	if err != nil {
		return outcome{err: err}
	}
	if res.NeedsInput() {
		return outcome{irs: res.InputRequests, state: res.RequestState}
	}
	return outcome{res: res}
}
func (o *resourceOp) asking(irs mcp.InputRequestMap, state string) mcp.Result {
	return &mcp.ReadResourceResult{InputRequests: irs, RequestState: state}
}

// The SDK handlers of a front: each finds the server and forwards.

func (f *front) callTool(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	t, ok := f.toolTarget(req.Params.Name)
	if !ok {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", req.Params.Name)}
	}
	fr := f.request(ctx, req.Session, req.Extra, req.ProtocolVersion(), req.ClientCapabilities(), req.Params.Meta, req.Params.InputResponses, req.Params.RequestState)
	fr.called = req.Params.Name
	res, err := f.governed(fr, t.server, &toolOp{tool: t.name, args: req.Params.Arguments})
	if err != nil {
		return nil, err
	}
	return res.(*mcp.CallToolResult), nil
}

// callUnlisted handles, before the SDK, the calls of names the front does
// not list: a hidden tool, prompt or resource is refused (through governed,
// which records it); on a server's own URL a tools/call of another name
// goes to the server, which decides what it means (it may have just added
// the tool, or answer with an error of its own). ok is false when the SDK
// should handle the request (a listed entry, or a name nobody knows).
func (f *front) callUnlisted(ctx context.Context, req mcp.Request) (mcp.Result, bool, error) {
	switch r := req.(type) {
	case *mcp.CallToolRequest:
		if r.Params == nil || f.listed(kindTools, r.Params.Name) {
			return nil, false, nil
		}
		t, known := f.toolTarget(r.Params.Name) // a hidden tool
		if !known {
			if f.r.name == AllServers {
				return nil, false, nil
			}
			t = target{f.r.name, r.Params.Name}
		}
		fr := f.request(ctx, r.Session, r.Extra, r.ProtocolVersion(), r.ClientCapabilities(), r.Params.Meta, r.Params.InputResponses, r.Params.RequestState)
		fr.called = r.Params.Name
		res, err := f.governed(fr, t.server, &toolOp{tool: t.name, args: r.Params.Arguments})
		return res, true, err
	case *mcp.GetPromptRequest:
		if r.Params == nil || f.listed(kindPrompts, r.Params.Name) {
			return nil, false, nil
		}
		t, known := f.promptTarget(r.Params.Name)
		if !known {
			return nil, false, nil
		}
		fr := f.request(ctx, r.Session, r.Extra, r.ProtocolVersion(), r.ClientCapabilities(), r.Params.Meta, r.Params.InputResponses, r.Params.RequestState)
		fr.called = r.Params.Name
		res, err := f.governed(fr, t.server, &promptOp{prompt: t.name, args: r.Params.Arguments})
		return res, true, err
	case *mcp.ReadResourceRequest:
		if r.Params == nil {
			return nil, false, nil
		}
		server, hidden := f.hiddenResource(r.Params.URI)
		if !hidden {
			return nil, false, nil
		}
		fr := f.request(ctx, r.Session, r.Extra, r.ProtocolVersion(), r.ClientCapabilities(), r.Params.Meta, r.Params.InputResponses, r.Params.RequestState)
		res, err := f.governed(fr, server, &resourceOp{uri: r.Params.URI})
		return res, true, err
	}
	return nil, false, nil
}

func (f *front) getPrompt(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	t, ok := f.promptTarget(req.Params.Name)
	if !ok {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown prompt %q", req.Params.Name)}
	}
	fr := f.request(ctx, req.Session, req.Extra, req.ProtocolVersion(), req.ClientCapabilities(), req.Params.Meta, req.Params.InputResponses, req.Params.RequestState)
	fr.called = req.Params.Name
	res, err := f.governed(fr, t.server, &promptOp{prompt: t.name, args: req.Params.Arguments})
	if err != nil {
		return nil, err
	}
	return res.(*mcp.GetPromptResult), nil
}

func (f *front) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	server, ok := f.resourceServer(req.Params.URI)
	if !ok {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	fr := f.request(ctx, req.Session, req.Extra, req.ProtocolVersion(), req.ClientCapabilities(), req.Params.Meta, req.Params.InputResponses, req.Params.RequestState)
	res, err := f.governed(fr, server, &resourceOp{uri: req.Params.URI})
	if err != nil {
		return nil, err
	}
	return res.(*mcp.ReadResourceResult), nil
}

// complete forwards completion/complete to the server of the prompt or
// resource it refers to.
func (f *front) complete(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	params := *req.Params
	var server string
	if params.Ref != nil {
		ref := *params.Ref
		switch ref.Type {
		case "ref/prompt":
			t, ok := f.promptTarget(ref.Name)
			if !ok {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown prompt %q", ref.Name)}
			}
			server, ref.Name = t.server, t.name
		case "ref/resource":
			s, ok := f.resourceServer(ref.URI)
			if !ok {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown resource %q", ref.URI)}
			}
			server = s
		}
		params.Ref = &ref
	}
	p := f.poolFor(server)
	if p == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "completion needs a known prompt or resource"}
	}
	// Completion of what the owner hid would name what it hides (its
	// arguments' values: file names, say).
	if !f.g.mayUse(f.user, server) {
		return nil, &jsonrpc.Error{Code: codeServerError, Message: fmt.Sprintf("the owner of MCP Share has not shared server %q with you", server)}
	}
	if params.Ref == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "completion needs a known prompt or resource"}
	}
	var o op = &resourceOp{uri: params.Ref.URI}
	if params.Ref.Type == "ref/prompt" {
		o = &promptOp{prompt: params.Ref.Name}
	}
	if _, acc := f.entryOf(server, o); acc == AccessHidden {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("%s %q is disabled by the owner of MCP Share", o.kind(), o.name())}
	}
	b, err := p.acquire(ctx, sessionKey(req.Session), req.ProtocolVersion() >= version20260728)
	if err != nil {
		return nil, clientError(err)
	}
	defer b.release()
	if caps := b.cs.InitializeResult().Capabilities; caps == nil || caps.Completions == nil {
		return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: []string{}}}, nil
	}
	params.Meta = (&frontReq{meta: params.Meta, caps: req.ClientCapabilities()}).backendMeta("")
	res, err := b.cs.Complete(ctx, &params)
	if err != nil {
		return nil, f.callError(b, err)
	}
	return res, nil
}

func sessionKey(ss *mcp.ServerSession) string {
	if ss == nil {
		return sharedKey
	}
	return ss.ID()
}

// exchange forwards one request and carries the server's questions to the
// client and the answers back, until the server's result, an error, or a
// pause for a 2026-07-28 client's input.
func (f *front) exchange(fr *frontReq, server string, o op) (mcp.Result, error) {
	p := f.poolFor(server)
	if p == nil {
		return nil, &jsonrpc.Error{Code: codeServerError, Message: fmt.Sprintf("server %q is no longer shared", server)}
	}
	var backendState string
	if fr.state != "" {
		st, err := f.g.states.open(fr.state, f.g.now())
		if err != nil || st.User != f.user || st.Server != server || st.Kind != o.kind() || st.Name != o.name() {
			return nil, errStateInvalid
		}
		if st.Paused != "" {
			return f.resume(fr, st.Paused)
		}
		backendState = st.Backend
	}
	b, err := p.acquire(fr.ctx, fr.sessionKey, fr.modern)
	if err != nil {
		return nil, clientError(err)
	}
	run := newRunning(f, b, fr, server, o)
	if fr.modern && !b.key.modern {
		// Only here can a call pause: a session-era server asks the client
		// something mid-call, and a 2026-07-28 client answers in a request
		// of its own while the server's call goes on.
		run.send(backendState, fr.responses)
		return f.drive(fr, run)
	}
	return f.driveInline(fr, run, backendState, fr.responses)
}

// driveInline runs a request that cannot pause in the client's own
// goroutine (one hand-off fewer per call); what the server sends meanwhile
// is passed on by a helper goroutine, drained before the result goes out.
func (f *front) driveInline(fr *frontReq, r *running, state string, in mcp.InputResponseMap) (mcp.Result, error) {
	defer r.finish()
	r.c.attach(fr)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case a := <-r.c.asks:
				f.answerInline(fr, a)
			case n := <-r.c.notes:
				deliver(fr, n)
			case <-stop:
				for {
					select {
					case n := <-r.c.notes:
						deliver(fr, n)
					default:
						return
					}
				}
			}
		}
	}()
	defer func() {
		close(stop)
		<-stopped
	}()
	for {
		out := r.o.send(fr.ctx, r.b.cs, fr.backendMeta(r.c.token), in, state)
		switch {
		case out.err != nil:
			return nil, f.callError(r.b, out.err)
		case out.irs != nil && fr.modern:
			return r.o.asking(out.irs, f.seal(r, requestState{Backend: out.state})), nil
		case out.irs != nil:
			resp, err := fulfillAll(fr.ctx, fr.ss, out.irs)
			if err != nil {
				return nil, err
			}
			state, in = out.state, resp
		default:
			return out.res, nil
		}
	}
}

// answerInline answers a server's request during a call that cannot pause:
// the session client is asked on its stream; a 2026-07-28 client cannot be
// asked mid-call (its server should have returned input_required).
func (f *front) answerInline(fr *frontReq, a *ask) {
	if resp, err, decided := cannotAsk(fr.caps, a.params); decided {
		a.answer(resp, err)
		return
	}
	if fr.modern {
		a.answer(nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "a 2026-07-28 client is asked by input_required results, not by requests during a call"})
		return
	}
	go func() {
		resp, err := fulfill(fr.ctx, fr.ss, a.params)
		a.answer(resp, err)
	}()
}

// running is one forwarded request in progress at a backend; it may outlive
// the client request that started it while paused for input.
type running struct {
	approved bool   // the owner approved it, with arguments of digest args
	args     string // (frontReq.approved, frontReq.args)
	f        *front
	b        *backend
	c        *call
	server   string
	o        op
	done     chan outcome
	ctx      context.Context // the request to the server, cancelled by cancel
	cancel   context.CancelFunc
	once     sync.Once
}

func newRunning(f *front, b *backend, fr *frontReq, server string, o op) *running {
	// The request to the server may outlive fr while paused; it is cancelled
	// when fr is, or when a pause is abandoned.
	ctx, cancel := context.WithCancel(context.WithoutCancel(fr.ctx))
	return &running{approved: fr.approved, args: fr.args, f: f, b: b, c: b.begin(fr, fr.progress != nil), server: server, o: o, done: make(chan outcome, 1), ctx: ctx, cancel: cancel}
}

// send starts one round at the server.
func (r *running) send(state string, in mcp.InputResponseMap) {
	meta := r.c.fr.backendMeta(r.c.token)
	go func() { r.done <- r.o.send(r.ctx, r.b.cs, meta, in, state) }()
}

// finish ends the request at the backend (once).
func (r *running) finish() {
	r.once.Do(func() {
		r.cancel()
		r.b.end(r.c)
		r.b.release()
	})
}

// drive runs the loop of a request that may pause (a 2026-07-28 client at a
// session-era server) for the client request fr.
func (f *front) drive(fr *frontReq, r *running) (mcp.Result, error) {
	r.c.attach(fr)
	for {
		select {
		case out := <-r.done:
			switch {
			case out.err != nil:
				r.finish()
				return nil, f.callError(r.b, out.err)
			case out.irs != nil && fr.modern:
				r.finish()
				return r.o.asking(out.irs, f.seal(r, requestState{Backend: out.state})), nil
			case out.irs != nil:
				resp, err := fulfillAll(fr.ctx, fr.ss, out.irs)
				if err != nil {
					r.finish()
					return nil, err
				}
				r.send(out.state, resp)
			default:
				r.finish()
				return out.res, nil
			}
		case a := <-r.c.asks:
			if resp, err, decided := cannotAsk(fr.caps, a.params); decided {
				a.answer(resp, err)
				continue
			}
			if f.g.pausedOf(f.user) >= maxPausedPerUser {
				a.answer(nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("%d calls of this user already wait for the client's input at MCP Share", maxPausedPerUser)})
				continue
			}
			return f.pause(r, a), nil
		case n := <-r.c.notes:
			deliver(fr, n)
		case <-fr.ctx.Done():
			r.finish()
			return nil, fr.ctx.Err()
		}
	}
}

// seal makes the requestState a client gets back with input_required.
func (f *front) seal(r *running, st requestState) string {
	st.User, st.Server, st.Kind, st.Name = f.user, r.server, r.o.kind(), r.o.name()
	st.Approved, st.Args = r.approved, r.args
	return f.g.states.seal(st, f.g.now())
}

// deliver passes a server's notification to the client of fr.
func deliver(fr *frontReq, n note) {
	if fr.ss == nil {
		return
	}
	switch {
	case n.progress != nil && fr.progress != nil:
		_ = fr.ss.NotifyProgress(fr.ctx, &mcp.ProgressNotificationParams{
			ProgressToken: fr.progress, Progress: n.progress.Progress, Total: n.progress.Total, Message: n.progress.Message,
		})
	case n.log != nil:
		_ = fr.ss.Log(fr.ctx, n.log)
	case n.elicited != nil:
		_ = fr.ss.NotifyElicitationComplete(fr.ctx, n.elicited)
	}
}

// cannotAsk answers a server's request at once when the client did not
// declare the capability it needs: roots with an empty list (the owner's
// configuration stands), sampling and elicitation with an error the server
// can handle. decided is false when the client is to be asked.
func cannotAsk(caps *mcp.ClientCapabilities, ir mcp.InputRequest) (resp mcp.InputResponse, err error, decided bool) {
	if caps == nil {
		caps = &mcp.ClientCapabilities{}
	}
	switch ir.(type) {
	case *mcp.ListRootsParams:
		if caps.RootsV2 == nil {
			return &mcp.ListRootsResult{Roots: []*mcp.Root{}}, nil, true
		}
	case *mcp.CreateMessageParams, *mcp.CreateMessageWithToolsParams:
		if caps.Sampling == nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "the client does not support sampling"}, true
		}
	case *mcp.ElicitParams:
		if caps.Elicitation == nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "the client does not support elicitation"}, true
		}
	}
	return nil, nil, false
}

// fulfill asks a session-based client what a server asked for, as a
// server-to-client request on the stream of the client's call.
func fulfill(ctx context.Context, ss *mcp.ServerSession, ir mcp.InputRequest) (mcp.InputResponse, error) {
	switch p := ir.(type) {
	case *mcp.ElicitParams:
		return ss.Elicit(ctx, p)
	case *mcp.CreateMessageParams:
		return ss.CreateMessage(ctx, p)
	case *mcp.CreateMessageWithToolsParams:
		if plain, ok := withoutTools(p); ok {
			return ss.CreateMessage(ctx, plain)
		}
		return ss.CreateMessageWithTools(ctx, p)
	case *mcp.ListRootsParams:
		return ss.ListRoots(ctx, p)
	default:
		return nil, fmt.Errorf("MCP Share cannot pass a %T to the client", ir)
	}
}

// withoutTools converts a sampling request that uses no tools to the plain
// form every sampling client understands.
func withoutTools(p *mcp.CreateMessageWithToolsParams) (*mcp.CreateMessageParams, bool) {
	if len(p.Tools) > 0 || p.ToolChoice != nil {
		return nil, false
	}
	out := &mcp.CreateMessageParams{
		Meta: p.Meta, IncludeContext: p.IncludeContext, MaxTokens: p.MaxTokens, Metadata: p.Metadata,
		ModelPreferences: p.ModelPreferences, StopSequences: p.StopSequences, SystemPrompt: p.SystemPrompt, Temperature: p.Temperature,
	}
	for _, m := range p.Messages {
		if len(m.Content) != 1 {
			return nil, false
		}
		out.Messages = append(out.Messages, &mcp.SamplingMessage{Content: m.Content[0], Role: m.Role})
	}
	return out, true
}

func fulfillAll(ctx context.Context, ss *mcp.ServerSession, irs mcp.InputRequestMap) (mcp.InputResponseMap, error) {
	out := make(mcp.InputResponseMap, len(irs))
	for id, ir := range irs {
		resp, err := fulfill(ctx, ss, ir)
		if err != nil {
			return nil, err
		}
		out[id] = resp
	}
	return out, nil
}

// endWait bounds how long a failed call waits to learn how its server ended.
const endWait = stopGrace + time.Second

// callError is what the client gets when a forwarded request failed: the
// server's own JSON-RPC error as it is; otherwise one sentence naming the
// server, never its stderr.
func (f *front) callError(b *backend, err error) error {
	var je *jsonrpc.Error
	if errors.As(err, &je) {
		return je
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	name := b.p.spec.Name
	// A call usually fails a moment before the session's end is recorded.
	select {
	case <-b.done:
	case <-time.After(endWait):
	}
	if cause, ok := b.ended(); ok && cause != "" {
		return &jsonrpc.Error{Code: codeServerError, Message: cause + " during the call; its log is in MCP Share"}
	}
	if errors.Is(err, mcp.ErrConnectionClosed) {
		return &jsonrpc.Error{Code: codeServerError, Message: fmt.Sprintf("server %q stopped during the call; its log is in MCP Share", name)}
	}
	return &jsonrpc.Error{Code: codeServerError, Message: fmt.Sprintf("server %q failed: %v; its log is in MCP Share", name, err)}
}

// clientError turns a failure to get a backend into a JSON-RPC error.
func clientError(err error) error {
	var je *jsonrpc.Error
	if errors.As(err, &je) {
		return je
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &jsonrpc.Error{Code: codeServerError, Message: err.Error()}
}
