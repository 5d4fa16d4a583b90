package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Version is the version MCP Share's gateway gives as client and server.
const Version = "2.0.0"

// backendCapabilities are what the gateway declares to a server it starts:
// everything it can forward to a client. Whether a given client can answer
// is decided per call (and, with 2026-07-28 servers, sent per request).
func backendCapabilities() *mcp.ClientCapabilities {
	return &mcp.ClientCapabilities{
		RootsV2:     &mcp.RootCapabilities{},
		Sampling:    &mcp.SamplingCapabilities{Tools: &mcp.SamplingToolsCapabilities{}},
		Elicitation: &mcp.ElicitationCapabilities{Form: &mcp.FormElicitationCapabilities{}, URL: &mcp.URLElicitationCapabilities{}},
	}
}

// newBackendClient is the go-sdk client of a pool's backends. Its handlers
// take what a server sends back to the call it belongs to.
func newBackendClient(p *pool) *mcp.Client {
	c := mcp.NewClient(&mcp.Implementation{Name: "mcpshare", Title: "MCP Share", Version: Version}, &mcp.ClientOptions{
		Capabilities: backendCapabilities(),
		CreateMessageWithToolsHandler: func(ctx context.Context, req *mcp.CreateMessageWithToolsRequest) (*mcp.CreateMessageWithToolsResult, error) {
			resp, err := p.ask(ctx, req.Session, req.Params)
			if err != nil {
				return nil, err
			}
			return samplingResult(resp)
		},
		ElicitationHandler: func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			resp, err := p.ask(ctx, req.Session, req.Params)
			if err != nil {
				return nil, err
			}
			r, ok := resp.(*mcp.ElicitResult)
			if !ok {
				return nil, fmt.Errorf("the client answered an elicitation with %T", resp)
			}
			return r, nil
		},
		ToolListChangedHandler:   func(_ context.Context, req *mcp.ToolListChangedRequest) { p.listChanged(req.Session, kindTools) },
		PromptListChangedHandler: func(_ context.Context, req *mcp.PromptListChangedRequest) { p.listChanged(req.Session, kindPrompts) },
		ResourceListChangedHandler: func(_ context.Context, req *mcp.ResourceListChangedRequest) {
			p.listChanged(req.Session, kindResources)
		},
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			p.resourceUpdated(req.Params)
		},
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			p.logMessage(req.Session, req.Params)
		},
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			if b := p.backendOf(req.Session); b != nil {
				if c := b.progressCall(fmt.Sprint(req.Params.ProgressToken)); c != nil {
					c.note(note{progress: req.Params})
				}
			}
		},
		ElicitationCompleteHandler: func(_ context.Context, req *mcp.ElicitationCompleteNotificationRequest) {
			if b := p.backendOf(req.Session); b != nil {
				if c, ok := b.asker(); ok && c != nil {
					c.note(note{elicited: req.Params})
				}
			}
		},
		// Input requests of 2026-07-28 servers go to our clients as they are.
		MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true},
	})
	// The server's requests to the client go to the client as they are,
	// ahead of the SDK's own handlers: checking them (the elicitation schema,
	// say) is the client's business, and a stricter check here would refuse
	// what the client accepts.
	c.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			cs, _ := req.GetSession().(*mcp.ClientSession)
			switch params := req.GetParams().(type) {
			case *mcp.ListRootsParams:
				return p.listRoots(ctx, cs, params)
			case *mcp.ElicitParams:
				return p.askFor(ctx, cs, params)
			case *mcp.CreateMessageParams:
				return p.askFor(ctx, cs, params)
			case *mcp.CreateMessageWithToolsParams:
				return p.askFor(ctx, cs, params)
			}
			if method == "roots/list" {
				return p.listRoots(ctx, cs, &mcp.ListRootsParams{})
			}
			return next(ctx, method, req)
		}
	})
	// A remote server's refused token surfaces from the transport wrapped in
	// the SDK's generic "rejected by transport": the client gets the
	// sentence that says what to do instead.
	c.AddSendingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			res, err := next(ctx, method, req)
			var se *signInError
			if err != nil && errors.As(err, &se) {
				return nil, se
			}
			return res, err
		}
	})
	return c
}

// ask hands a server's request to the client of the call in progress and
// waits for the answer.
func (p *pool) ask(ctx context.Context, cs *mcp.ClientSession, params mcp.InputRequest) (mcp.InputResponse, error) {
	var c *call
	ok := true
	if b := p.backendOf(cs); b != nil {
		c, ok = b.asker()
	}
	if !ok {
		return nil, errAmbiguousAsk
	}
	if c == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "MCP Share can pass a request to the client only during a call of that client"}
	}
	a := &ask{params: params, reply: make(chan askReply, 1)}
	select {
	case c.asks <- a:
	default:
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "too many requests to the client at once"}
	}
	select {
	case r := <-a.reply:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errAmbiguousAsk answers a server's request made while several calls are
// in progress at its backend.
var errAmbiguousAsk = &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "MCP Share cannot tell which call this request belongs to: several calls are in progress at this server (isolation: session gives each MCP session a process of its own)"}

// askFor asks the client and returns its answer as the result.
func (p *pool) askFor(ctx context.Context, cs *mcp.ClientSession, params mcp.InputRequest) (mcp.Result, error) {
	resp, err := p.ask(ctx, cs, params)
	if err != nil {
		return nil, err
	}
	res, ok := resp.(mcp.Result)
	if !ok {
		return nil, fmt.Errorf("the client answered with %T", resp)
	}
	return res, nil
}

// listRoots answers roots/list: the client's roots during one of its calls,
// none otherwise. What the owner configured (a server's arguments) stays in
// force: a remote client's roots never reach a server outside its own call.
func (p *pool) listRoots(ctx context.Context, cs *mcp.ClientSession, params *mcp.ListRootsParams) (mcp.Result, error) {
	var c *call
	ok := true
	if b := p.backendOf(cs); b != nil {
		c, ok = b.asker()
	}
	if !ok {
		return nil, errAmbiguousAsk
	}
	if c == nil {
		return &mcp.ListRootsResult{Roots: []*mcp.Root{}}, nil
	}
	resp, err := p.ask(ctx, cs, params)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*mcp.ListRootsResult)
	if !ok {
		return nil, fmt.Errorf("the client answered roots/list with %T", resp)
	}
	return r, nil
}

// samplingResult converts a client's sampling answer to the shape the
// backend client's handler returns.
func samplingResult(resp mcp.InputResponse) (*mcp.CreateMessageWithToolsResult, error) {
	switch r := resp.(type) {
	case *mcp.CreateMessageWithToolsResult:
		return r, nil
	case *mcp.CreateMessageResult:
		out := &mcp.CreateMessageWithToolsResult{Meta: r.Meta, Model: r.Model, Role: r.Role, StopReason: r.StopReason}
		if r.Content != nil {
			out.Content = []mcp.Content{r.Content}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("the client answered sampling with %T", resp)
	}
}

// logMessage passes a server's log message to the call in progress (see
// backend.logger) or, with none, to the sessions of the user that asked for
// log messages. With calls of several clients in progress it goes to MCP
// Share's own log only.
func (p *pool) logMessage(cs *mcp.ClientSession, params *mcp.LoggingMessageParams) {
	if b := p.backendOf(cs); b != nil {
		c, ok := b.logger()
		if !ok {
			p.log.Debug("a server's log message during several calls", "level", params.Level, "logger", params.Logger)
			return
		}
		if c != nil {
			c.note(note{log: params})
			return
		}
	}
	for _, f := range p.frontList() {
		f.broadcastLog(params)
	}
}

func (p *pool) frontList() []*front {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*front, 0, len(p.fronts))
	for f := range p.fronts {
		out = append(out, f)
	}
	return out
}

// resourceUpdated tells the fronts, which notify their subscribed sessions.
func (p *pool) resourceUpdated(params *mcp.ResourceUpdatedNotificationParams) {
	for _, f := range p.frontList() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = f.server.ResourceUpdated(ctx, params)
		}()
	}
}

// The lists a server may say changed.
const (
	kindTools     = "tools"
	kindPrompts   = "prompts"
	kindResources = "resources"
)

// listChanged refreshes the catalog in the background, once per burst. The
// clients are told the list changed even when the new list looks the same:
// the server said so, and it may mean more than the listing shows.
func (p *pool) listChanged(cs *mcp.ClientSession, kind string) {
	p.mu.Lock()
	if p.touched == nil {
		p.touched = map[string]bool{}
	}
	p.touched[kind] = true
	if p.refreshing {
		p.mu.Unlock()
		return
	}
	p.refreshing = true
	p.mu.Unlock()
	go func() {
		for {
			p.mu.Lock()
			touched := p.touched
			p.touched = nil
			if len(touched) == 0 {
				p.refreshing = false
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), p.g.limits.StartTimeout)
			if err := p.refresh(ctx, cs, touched); err != nil {
				p.log.Warn("listing the server's features after a change", "err", err)
			}
			cancel()
		}
	}()
}

// maxListed bounds how many tools, prompts, resources or templates of one
// server the gateway mirrors.
const maxListed = 2000

// A catalog is what one server offers, as its last listing said.
type catalog struct {
	info         *mcp.Implementation
	instructions string
	caps         *mcp.ServerCapabilities
	tools        []*mcp.Tool
	prompts      []*mcp.Prompt
	resources    []*mcp.Resource
	templates    []*mcp.ResourceTemplate
}

// refresh lists the server's features through cs and, when they differ
// from the catalog, stores them and tells the fronts.
func (p *pool) refresh(ctx context.Context, cs *mcp.ClientSession, touched map[string]bool) error {
	init := cs.InitializeResult()
	if init == nil {
		return errors.New("the session has no initialize result")
	}
	caps := init.Capabilities
	if caps == nil {
		caps = &mcp.ServerCapabilities{}
	}
	c := &catalog{info: init.ServerInfo, instructions: init.Instructions, caps: caps}
	var errs []error
	if caps.Tools != nil {
		c.tools, errs = collect(cs.Tools(ctx, nil), errs)
	}
	if caps.Prompts != nil {
		c.prompts, errs = collect(cs.Prompts(ctx, nil), errs)
	}
	if caps.Resources != nil {
		c.resources, errs = collect(cs.Resources(ctx, nil), errs)
		c.templates, errs = collect(cs.ResourceTemplates(ctx, nil), errs)
	}
	p.mu.Lock()
	same := p.catalog != nil && sameCatalog(p.catalog, c)
	if !same {
		p.catalog = c
	}
	p.mu.Unlock()
	if !same || len(touched) > 0 {
		for _, f := range p.frontList() {
			f.catalogChanged(p, c, touched)
		}
	}
	return errors.Join(errs...)
}

func collect[T any](seq func(func(T, error) bool), errs []error) ([]T, []error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			// A server without the method answers "method not found": that
			// is an empty list, not a failure.
			var je *jsonrpc.Error
			if !errors.As(err, &je) || je.Code != jsonrpc.CodeMethodNotFound {
				errs = append(errs, err)
			}
			break
		}
		out = append(out, v)
		if len(out) >= maxListed {
			errs = append(errs, fmt.Errorf("more than %d entries: the rest are not shared", maxListed))
			break
		}
	}
	return out, errs
}

func sameCatalog(a, b *catalog) bool {
	ja, _ := json.Marshal([]any{a.info, a.instructions, a.caps, a.tools, a.prompts, a.resources, a.templates})
	jb, _ := json.Marshal([]any{b.info, b.instructions, b.caps, b.tools, b.prompts, b.resources, b.templates})
	return reflect.DeepEqual(ja, jb)
}
