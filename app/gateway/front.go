package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/yosida95/uritemplate/v3"
)

// A front is the MCP server one user sees at one URL: a go-sdk mcp.Server
// whose tools, prompts and resources mirror the catalogs of the user's pools,
// served by a session-based and a sessionless StreamableHTTPHandler. Its
// handlers forward each call to a backend.
type front struct {
	r         *route
	g         *Gateway
	user      string
	server    *mcp.Server
	stateful  *mcp.StreamableHTTPHandler
	stateless *mcp.StreamableHTTPHandler
	logs      chan *mcp.LoggingMessageParams
	stop      chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	closed     bool
	sessions   map[*mcp.ServerSession]*session
	pools      map[string]*pool    // by server name
	catalogs   map[string]*catalog // by server name, as last applied
	registered registry            // what the mcp.Server holds now
	routes     routes              // front names -> where calls go
}

// session is what the front tracks of one session-based MCP session.
type session struct {
	lastUsed time.Time
	inflight int
	subs     map[string]*backend // subscribed resource URI -> the backend subscribed
}

// registry is what a front registered on its mcp.Server, each entry's JSON
// kept to tell changes apart.
type registry struct {
	tools, prompts, resources, templates map[string]string
}

// routes map what a client names to a server and the server's own name.
type routes struct {
	tools     map[string]target
	prompts   map[string]target
	resources map[string]target // by URI
	templates []templateTarget
}

type target struct{ server, name string }

type templateTarget struct {
	server string
	tmpl   *uritemplate.Template
}

// newFront builds the front of user on r, starting the servers whose
// catalog is not known yet.
func newFront(r *route, user string, modern bool) (*front, error) {
	g := r.g
	ctx, cancel := context.WithTimeout(context.Background(), g.limits.StartTimeout+5*time.Second)
	defer cancel()
	var specs []ServerSpec
	if r.name == AllServers {
		specs = g.usable(user)
	} else {
		s, ok := g.spec(r.name)
		if !ok {
			return nil, fmt.Errorf("server %q is not shared", r.name)
		}
		specs = []ServerSpec{s}
	}
	f := &front{
		r: r, g: g, user: user,
		logs:     make(chan *mcp.LoggingMessageParams, maxNotes),
		stop:     make(chan struct{}),
		sessions: map[*mcp.ServerSession]*session{},
		pools:    map[string]*pool{},
		catalogs: map[string]*catalog{},
	}
	cats := f.learn(ctx, specs, modern)
	if r.name != AllServers {
		if cats[0].err != nil {
			return nil, cats[0].err
		}
	}
	var known []*catalog
	for _, c := range cats {
		if c.err == nil {
			known = append(known, c.cat)
		}
	}
	opts := &mcp.ServerOptions{
		Instructions: f.instructions(known),
		Capabilities: f.capabilities(known),
		Logger:       slog.New(slog.DiscardHandler),
	}
	if anyCap(known, func(c *mcp.ServerCapabilities) bool { return c.Completions != nil }) {
		opts.CompletionHandler = f.complete
	}
	if anyCap(known, func(c *mcp.ServerCapabilities) bool { return c.Resources != nil && c.Resources.Subscribe }) {
		opts.SubscribeHandler, opts.UnsubscribeHandler = f.subscribe, f.unsubscribe
	}
	f.server = mcp.NewServer(f.implementation(known), opts)
	f.server.AddReceivingMiddleware(f.track)
	getServer := func(*http.Request) *mcp.Server { return f.server }
	f.stateful = mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{
		SessionTimeout: g.limits.SessionIdle,
		// Host and Origin are checked by MCP Share's own allowlist and guard;
		// the SDK's check would refuse every request through the tunnel.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        g.limits.MaxBodyBytes,
		Logger:                     slog.New(slog.DiscardHandler),
	})
	f.stateless = mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{
		Stateless:                    true,
		DisableLocalhostProtection:   true,
		MaxRequestBodyBytes:          g.limits.MaxBodyBytes,
		PropagateRequestCancellation: true,
		Logger:                       slog.New(slog.DiscardHandler),
	})
	for _, c := range cats {
		if c.err == nil {
			f.attach(c.p)
		}
	}
	go f.forwardLogs()
	return f, nil
}

type learned struct {
	p   *pool
	cat *catalog
	err error
}

// learn gets the catalogs of specs' pools in parallel.
func (f *front) learn(ctx context.Context, specs []ServerSpec, modern bool) []learned {
	out := make([]learned, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := f.g.pool(f.user, s.Name)
			if p == nil {
				out[i].err = fmt.Errorf("server %q is not shared", s.Name)
				return
			}
			c, err := p.knownCatalog(ctx, modern)
			out[i] = learned{p: p, cat: c, err: err}
			if err != nil && f.r.name == AllServers {
				f.g.log.Warn("a server is left out of /mcp for now", "server", s.Name, "user", f.user, "err", err)
			}
		}()
	}
	wg.Wait()
	return out
}

// attach mirrors p's catalog and follows its changes.
func (f *front) attach(p *pool) {
	c := p.subscribe(f)
	f.mu.Lock()
	f.pools[p.spec.Name] = p
	if c != nil {
		f.catalogs[p.spec.Name] = c
	}
	f.mu.Unlock()
	f.resync()
}

// addServers attaches the servers shared since the front was built (the
// all-servers front only); their backends start now, in the background.
func (f *front) addServers() {
	ctx, cancel := context.WithTimeout(context.Background(), f.g.limits.StartTimeout+5*time.Second)
	defer cancel()
	var missing []ServerSpec
	f.mu.Lock()
	for _, s := range f.g.usable(f.user) {
		if _, ok := f.pools[s.Name]; !ok {
			missing = append(missing, s)
		}
	}
	f.mu.Unlock()
	for _, c := range f.learn(ctx, missing, false) {
		if c.err == nil {
			f.attach(c.p)
		}
	}
}

// catalogChanged is called by a pool whose server's lists changed.
// touched names the lists the server said changed: the sessions hear of
// those even if they look the same.
func (f *front) catalogChanged(p *pool, c *catalog, touched map[string]bool) {
	f.mu.Lock()
	if f.pools[p.spec.Name] != p {
		f.mu.Unlock()
		return
	}
	f.catalogs[p.spec.Name] = c
	f.mu.Unlock()
	f.resyncTouched(p.spec.Name, touched)
}

// poolGone is called when a pool closed (its server was removed or changed).
// A server's own front closes (its clients start new sessions on the new
// server); the all-servers front drops the server and takes the new one.
func (f *front) poolGone(p *pool) {
	if f.r.name != AllServers {
		f.close()
		return
	}
	f.mu.Lock()
	if f.pools[p.spec.Name] == p {
		delete(f.pools, p.spec.Name)
		delete(f.catalogs, p.spec.Name)
	}
	f.mu.Unlock()
	f.resync()
	go f.addServers()
}

// resync brings the mcp.Server's tools, prompts and resources in line with
// the catalogs; the SDK tells the sessions what changed.
func (f *front) resync() { f.resyncTouched("", nil) }

// resyncTouched is resync that also re-registers one entry of each list of
// server in touched, which makes the SDK tell the sessions that list changed.
func (f *front) resyncTouched(server string, touched map[string]bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	want, rt := f.desired()
	reg := &f.registered
	if touched[kindTools] {
		forget(reg.tools, rt.tools, server)
	}
	if touched[kindPrompts] {
		forget(reg.prompts, rt.prompts, server)
	}
	if touched[kindResources] {
		forget(reg.resources, rt.resources, server)
	}
	reg.tools = apply(reg.tools, want.tools, f.server.RemoveTools, func(name, js string) {
		var t mcp.Tool
		if json.Unmarshal([]byte(js), &t) == nil {
			f.addTool(&t)
		}
	})
	reg.prompts = apply(reg.prompts, want.prompts, f.server.RemovePrompts, func(name, js string) {
		var p mcp.Prompt
		if json.Unmarshal([]byte(js), &p) == nil {
			f.server.AddPrompt(&p, f.getPrompt)
		}
	})
	reg.resources = apply(reg.resources, want.resources, f.server.RemoveResources, func(uri, js string) {
		var r mcp.Resource
		if json.Unmarshal([]byte(js), &r) == nil {
			f.server.AddResource(&r, f.readResource)
		}
	})
	reg.templates = apply(reg.templates, want.templates, f.server.RemoveResourceTemplates, func(uri, js string) {
		var t mcp.ResourceTemplate
		if json.Unmarshal([]byte(js), &t) == nil {
			f.server.AddResourceTemplate(&t, f.readResource)
		}
	})
	f.routes = rt
}

// addTool registers t, which came from a server: the SDK panics on tools it
// considers malformed, and one bad tool must not take the front down.
func (f *front) addTool(t *mcp.Tool) {
	defer func() {
		if v := recover(); v != nil {
			f.g.log.Warn("a tool of a shared server is left out: the SDK refused it", "tool", t.Name, "err", v)
		}
	}()
	if t.InputSchema == nil {
		t.InputSchema = json.RawMessage(`{"type":"object"}`)
	}
	f.server.AddTool(t, f.callTool)
}

// forget drops from have the first entry (by name) that routes to server,
// so that apply registers it again.
func forget(have map[string]string, routes map[string]target, server string) {
	names := make([]string, 0, len(routes))
	for n, t := range routes {
		if t.server == server {
			names = append(names, n)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		delete(have, names[0])
	}
}

// apply registers what is new or changed in want, removes what went away,
// and returns want as the new state.
func apply(have, want map[string]string, remove func(...string), add func(key, js string)) map[string]string {
	var gone []string
	for k := range have {
		if _, ok := want[k]; !ok {
			gone = append(gone, k)
		}
	}
	if len(gone) > 0 {
		remove(gone...)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if have[k] != want[k] {
			add(k, want[k])
		}
	}
	return want
}

// desired computes what the front should offer from its catalogs: the
// entries' JSON by front name, and where calls to them go.
func (f *front) desired() (registry, routes) {
	reg := registry{tools: map[string]string{}, prompts: map[string]string{}, resources: map[string]string{}, templates: map[string]string{}}
	rt := routes{tools: map[string]target{}, prompts: map[string]target{}, resources: map[string]target{}}
	servers := make([]string, 0, len(f.catalogs))
	for s := range f.catalogs {
		servers = append(servers, s)
	}
	sort.Strings(servers)
	aggregate := f.r.name == AllServers
	var toolNames, promptNames []aggregateEntry
	for _, s := range servers {
		c := f.catalogs[s]
		builtin := f.pools[s] != nil && f.pools[s].spec.Kind == KindBuiltin
		for _, t := range c.tools {
			toolNames = append(toolNames, aggregateEntry{server: s, name: t.Name, keep: builtin && (t.Name == "search" || t.Name == "fetch")})
		}
		for _, p := range c.prompts {
			promptNames = append(promptNames, aggregateEntry{server: s, name: p.Name})
		}
	}
	toolFront, promptFront := identityNames(toolNames), identityNames(promptNames)
	if aggregate {
		toolFront, promptFront = aggregateNames(toolNames), aggregateNames(promptNames)
	}
	// What the owner hid keeps its route (a call of it is refused with a
	// reason) but is not registered, so no list shows it. Names on /mcp are
	// given before hiding, so hiding one entry renames no other.
	for _, s := range servers {
		c := f.catalogs[s]
		for _, t := range c.tools {
			name := toolFront[target{s, t.Name}]
			rt.tools[name] = target{s, t.Name}
			if f.g.access(toolEntry(s, t)) == AccessHidden {
				continue
			}
			cp := *t
			cp.Name = name
			js, _ := json.Marshal(&cp)
			reg.tools[name] = string(js)
		}
		for _, p := range c.prompts {
			name := promptFront[target{s, p.Name}]
			rt.prompts[name] = target{s, p.Name}
			if f.g.access(Entry{Server: s, Kind: EntryPrompt, Name: p.Name}) == AccessHidden {
				continue
			}
			cp := *p
			cp.Name = name
			js, _ := json.Marshal(&cp)
			reg.prompts[name] = string(js)
		}
		for _, r := range c.resources {
			if _, taken := rt.resources[r.URI]; taken {
				continue // the same URI from two servers: the first by name serves it
			}
			rt.resources[r.URI] = target{s, r.URI}
			if f.g.access(Entry{Server: s, Kind: EntryResource, Name: r.URI}) == AccessHidden {
				continue
			}
			js, _ := json.Marshal(r)
			reg.resources[r.URI] = string(js)
		}
		for _, t := range c.templates {
			if slices.ContainsFunc(rt.templates, func(x templateTarget) bool { return x.tmpl.Raw() == t.URITemplate }) {
				continue
			}
			tmpl, err := uritemplate.New(t.URITemplate)
			if err != nil {
				continue
			}
			rt.templates = append(rt.templates, templateTarget{server: s, tmpl: tmpl})
			if f.g.access(Entry{Server: s, Kind: EntryResource, Name: t.URITemplate}) == AccessHidden {
				continue
			}
			js, _ := json.Marshal(t)
			reg.templates[t.URITemplate] = string(js)
		}
	}
	return reg, rt
}

// capabilities are what the front advertises: its servers' own, so a client
// never sees a feature none of them has. Lists can change (servers change
// them, the owner hides entries), so listChanged is on.
func (f *front) capabilities(cats []*catalog) *mcp.ServerCapabilities {
	caps := &mcp.ServerCapabilities{}
	for _, c := range cats {
		sc := c.caps
		if sc.Logging != nil {
			caps.Logging = &mcp.LoggingCapabilities{}
		}
		if sc.Tools != nil {
			caps.Tools = &mcp.ToolCapabilities{ListChanged: true}
		}
		if sc.Prompts != nil {
			caps.Prompts = &mcp.PromptCapabilities{ListChanged: true}
		}
		if sc.Resources != nil {
			if caps.Resources == nil {
				caps.Resources = &mcp.ResourceCapabilities{ListChanged: true}
			}
			caps.Resources.Subscribe = caps.Resources.Subscribe || sc.Resources.Subscribe
		}
	}
	if f.r.name == AllServers {
		// Servers may join later: tools are always there to list.
		if caps.Tools == nil {
			caps.Tools = &mcp.ToolCapabilities{ListChanged: true}
		}
	}
	return caps
}

func anyCap(cats []*catalog, has func(*mcp.ServerCapabilities) bool) bool {
	for _, c := range cats {
		if has(c.caps) {
			return true
		}
	}
	return false
}

// implementation names the front: a server's own name on its URL, MCP
// Share on /mcp.
func (f *front) implementation(cats []*catalog) *mcp.Implementation {
	if f.r.name != AllServers && len(cats) == 1 && cats[0].info != nil && cats[0].info.Name != "" {
		info := *cats[0].info
		return &info
	}
	return &mcp.Implementation{Name: "mcpshare", Title: "MCP Share", Version: Version}
}

// maxInstructions bounds the instructions of the all-servers front.
const maxInstructions = 8 << 10

func (f *front) instructions(cats []*catalog) string {
	if f.r.name != AllServers {
		if len(cats) == 1 {
			return cats[0].instructions
		}
		return ""
	}
	var b strings.Builder
	b.WriteString("This MCP server combines several servers. Each tool's name starts with the name of its server (search and fetch belong to the shared folder).")
	for _, c := range cats {
		if c.instructions == "" || c.info == nil {
			continue
		}
		fmt.Fprintf(&b, "\n\n%s: %s", c.info.Name, c.instructions)
		if b.Len() > maxInstructions {
			break
		}
	}
	s := b.String()
	if len(s) > maxInstructions {
		s = s[:maxInstructions]
	}
	return s
}

// track is the front's receiving middleware: it admits new sessions under
// the per-user bound and keeps each session's last use and calls in
// progress, for idle eviction.
func (f *front) track(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		ss, _ := req.GetSession().(*mcp.ServerSession)
		if ss == nil || ss.ID() == "" { // sessionless
			if res, ok, err := f.callUnlisted(ctx, req); ok {
				return res, err
			}
			return next(ctx, method, req)
		}
		if method == "initialize" {
			if err := f.admit(ss); err != nil {
				return nil, err
			}
		}
		done := f.touch(ss)
		defer done()
		if res, ok, err := f.callUnlisted(ctx, req); ok {
			return res, err
		}
		res, err := next(ctx, method, req)
		if method == "logging/setLevel" && err == nil {
			if p, ok := req.GetParams().(*mcp.SetLoggingLevelParams); ok {
				f.forwardLevel(ss, p.Level)
			}
		}
		return res, err
	}
}

// admit adds a new session; at the per-user bound it ends the least
// recently used idle session first, and refuses when every one is busy.
func (f *front) admit(ss *mcp.ServerSession) error {
	f.mu.Lock()
	if _, ok := f.sessions[ss]; ok {
		f.mu.Unlock()
		return nil
	}
	var victim *mcp.ServerSession
	if len(f.sessions) >= f.g.limits.SessionsPerUser {
		var oldest time.Time
		for s, st := range f.sessions {
			if st.inflight == 0 && (victim == nil || st.lastUsed.Before(oldest)) {
				victim, oldest = s, st.lastUsed
			}
		}
		if victim == nil {
			f.mu.Unlock()
			return &jsonrpc.Error{Code: codeServerError, Message: fmt.Sprintf("you have %d sessions with calls in progress on this server; wait for one to finish", len(f.sessions))}
		}
		delete(f.sessions, victim)
	}
	f.sessions[ss] = &session{lastUsed: f.g.now(), subs: map[string]*backend{}}
	f.mu.Unlock()
	if victim != nil {
		f.g.log.Debug("ending the least recently used idle session to make room", "route", f.r.name, "user", f.user)
		go victim.Close()
	}
	go func() {
		ss.Wait()
		f.forget(ss)
	}()
	return nil
}

// touch marks a request of ss as started; the returned func marks its end.
func (f *front) touch(ss *mcp.ServerSession) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.sessions[ss]
	if st == nil {
		return func() {}
	}
	st.inflight++
	st.lastUsed = f.g.now()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		st.inflight--
		st.lastUsed = f.g.now()
	}
}

// forget drops an ended session: its subscriptions, and its backends under
// IsolationSession.
func (f *front) forget(ss *mcp.ServerSession) {
	f.mu.Lock()
	st := f.sessions[ss]
	delete(f.sessions, ss)
	pools := make([]*pool, 0, len(f.pools))
	for _, p := range f.pools {
		pools = append(pools, p)
	}
	f.mu.Unlock()
	if st != nil {
		for uri, b := range st.subs {
			b.unsubscribeSoon(uri)
		}
	}
	for _, p := range pools {
		p.endSession(ss.ID())
	}
}

func (f *front) sessionCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

// close ends the front's sessions and stops following its pools.
func (f *front) close() {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		f.closed = true
		sessions := make([]*mcp.ServerSession, 0, len(f.sessions))
		for ss := range f.sessions {
			sessions = append(sessions, ss)
		}
		pools := f.pools
		f.mu.Unlock()
		close(f.stop)
		for _, p := range pools {
			p.unsubscribe(f)
		}
		if f.server != nil {
			for ss := range f.server.Sessions() {
				ss.Close()
			}
		}
		for _, ss := range sessions {
			ss.Close()
		}
		f.r.dropFront(f)
	})
}

// poolFor returns the pool of server, if the front still uses it.
func (f *front) poolFor(server string) *pool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pools[server]
}

func (f *front) toolTarget(name string) (target, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.routes.tools[name]
	return t, ok
}

func (f *front) promptTarget(name string) (target, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.routes.prompts[name]
	return t, ok
}

// resourceServer returns the server of a resource URI: listed exactly, or
// matched by one of the servers' templates.
func (f *front) resourceServer(uri string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.routes.resources[uri]; ok {
		return t.server, true
	}
	for _, t := range f.routes.templates {
		if t.tmpl.Match(uri) != nil {
			return t.server, true
		}
	}
	if f.r.name != AllServers {
		for s := range f.pools {
			return s, true
		}
	}
	return "", false
}

// forwardLevel passes a session's logging/setLevel on to its backends.
func (f *front) forwardLevel(ss *mcp.ServerSession, level mcp.LoggingLevel) {
	f.mu.Lock()
	pools := make([]*pool, 0, len(f.pools))
	for _, p := range f.pools {
		pools = append(pools, p)
	}
	f.mu.Unlock()
	for _, p := range pools {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b, err := p.acquire(ctx, ss.ID(), false) // logging/setLevel is of the session era
			if err != nil {
				return
			}
			defer b.release()
			if caps := b.cs.InitializeResult().Capabilities; caps != nil && caps.Logging != nil {
				_ = b.cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: level})
			}
		}()
	}
}

// broadcastLog queues a server's log message for the front's sessions; it
// is dropped when the queue is full.
func (f *front) broadcastLog(params *mcp.LoggingMessageParams) {
	select {
	case f.logs <- params:
	default:
	}
}

// forwardLogs sends queued log messages to every session (the SDK drops
// them for sessions that did not ask for logs).
func (f *front) forwardLogs() {
	for {
		select {
		case <-f.stop:
			return
		case params := <-f.logs:
			f.mu.Lock()
			sessions := make([]*mcp.ServerSession, 0, len(f.sessions))
			for ss := range f.sessions {
				sessions = append(sessions, ss)
			}
			f.mu.Unlock()
			for _, ss := range sessions {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = ss.Log(ctx, params)
				cancel()
			}
		}
	}
}
