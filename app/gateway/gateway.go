package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/mcpshare/mcpshare/app/egress"
)

// Defaults for the zero values of Limits.
const (
	DefaultBackendsPerServer = 8
	DefaultBackendsPerUser   = 4
	DefaultBackends          = 32
	DefaultSessionsPerUser   = 64
	DefaultSessionIdle       = 30 * time.Minute
	DefaultBackendIdle       = 10 * time.Minute
	DefaultStartTimeout      = 30 * time.Second
	// DefaultMaxBodyBytes bounds one MCP POST body, as the go-sdk's handler does.
	DefaultMaxBodyBytes    = 4 << 20
	DefaultBodyReadTimeout = 30 * time.Second
	DefaultWriteStall      = 30 * time.Second
)

// LogLines is how many stderr lines of a server Status keeps.
const LogLines = 200

// TokenClientID is the key of auth.TokenInfo.Extra that names the OAuth
// client of a request (oauthserver.InfoClientID, which this package does
// not import): a server's log messages never go to a call of another
// client.
const TokenClientID = "client_id"

// Limits bound what clients can make the gateway hold. When a bound is
// reached the least recently used idle item is ended to make room, so an
// abandoned session or backend never locks anyone out.
type Limits struct {
	// BackendsPerServer bounds the running backends of one server, over all users.
	BackendsPerServer int
	// BackendsPerUser bounds the backends one user holds of one server with
	// IsolationSession, so that one user's sessions never crowd out another's.
	BackendsPerUser int
	// Backends bounds the running backends of all servers.
	Backends int
	// SessionsPerUser bounds one user's live MCP sessions on one URL.
	SessionsPerUser int
	// SessionIdle ends an MCP session after this long without requests.
	SessionIdle time.Duration
	// BackendIdle stops a backend after this long without calls.
	BackendIdle time.Duration
	// StartTimeout bounds starting a backend (process start and initialize).
	StartTimeout time.Duration
	// MaxBodyBytes bounds one POST body.
	MaxBodyBytes int64
	// BodyReadTimeout bounds reading one POST body: a body trickling in
	// byte by byte holds nothing for longer.
	BodyReadTimeout time.Duration
	// WriteStall bounds each write to a client: a client that stops reading
	// its response or stream loses it, and holds nothing else.
	WriteStall time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.BackendsPerServer, DefaultBackendsPerServer)
	def(&l.BackendsPerUser, DefaultBackendsPerUser)
	def(&l.Backends, DefaultBackends)
	def(&l.SessionsPerUser, DefaultSessionsPerUser)
	defd(&l.SessionIdle, DefaultSessionIdle)
	defd(&l.BackendIdle, DefaultBackendIdle)
	defd(&l.StartTimeout, DefaultStartTimeout)
	defd(&l.BodyReadTimeout, DefaultBodyReadTimeout)
	defd(&l.WriteStall, DefaultWriteStall)
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return l
}

// Config configures a Gateway.
type Config struct {
	// Secret returns the value of a secret environment variable of a server
	// (from the OS keychain). It is called each time a backend starts.
	Secret func(ctx context.Context, server, key string) (string, error)
	// MayUse reports whether user may use server; nil means every user may
	// use every server. A server a user may not use is absent from /mcp.
	MayUse func(user, server string) bool
	// OnChange, when set, is called (outside the gateway's locks) after a
	// server's state changed: a backend started, failed to start, stopped on
	// its own or was stopped.
	OnChange func(server string)
	// Policy is the owner's rules: which tools, prompts and resources each
	// server's clients see, and which calls wait for the owner's approval.
	// Nil allows everything. See PolicyChanged.
	Policy Policy
	// Audit, when set, receives a Record of every tools/call, prompts/get
	// and resources/read, once it is answered. It is called in the request's
	// goroutine and must not block.
	Audit func(Record)
	// ApprovalTimeout bounds the wait for the owner's approval of a call
	// (DefaultApprovalTimeout when zero); the call fails after it.
	ApprovalTimeout time.Duration
	// ApprovalKeepAlive is how often a call waiting for approval sends its
	// client a progress notification (DefaultApprovalKeepAlive when zero).
	ApprovalKeepAlive time.Duration
	Limits            Limits
	// Logger receives the gateway's logs; the servers' stderr lines go to it
	// at debug level (and to Status). Nil discards.
	Logger *slog.Logger
	// Now is the clock of idle times and backoff; nil means time.Now.
	Now func() time.Time
	// OAuth returns the OAuth handler of a remote server that signs in
	// (ServerSpec.OAuth), called each time one of its backends starts. The
	// handler gives the server's stored tokens and refreshes them; it opens
	// no browser: when only the owner can help, its Authorize returns an
	// error matching ErrSignInRequired.
	OAuth func(ctx context.Context, server string) (auth.OAuthHandler, error)
	// Network is how remote servers are reached; the zero value is the
	// system's (tests route public-looking names to servers of their own).
	Network egress.Network
}

// A Gateway serves the shared servers over MCP: a front per (user, URL)
// for clients, and backends (go-sdk client sessions) to the servers.
type Gateway struct {
	cfg    Config
	limits Limits
	log    *slog.Logger
	now    func() time.Time
	states *stateKeys

	mu      sync.Mutex
	closed  bool
	specs   map[string]ServerSpec    // by name
	servers map[string]*serverState  // by name: status shared by the server's pools
	pools   map[poolKey]*pool        // running or known (user, server) pools
	running map[*backend]struct{}    // backends holding a slot under Limits
	routes  map[string]*route        // "" is /mcp; others /mcp/NAME
	conts   map[string]*continuation // paused calls awaiting a client's input

	stop    chan struct{}
	stopped chan struct{}
}

type poolKey struct{ user, server string }

// serverState is what the window shows of one server, over all its backends.
type serverState struct {
	ring *lineRing

	mu        sync.Mutex
	problem   string
	problemAt time.Time
}

// New returns a gateway without servers; see SetServers.
func New(cfg Config) *Gateway {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Secret == nil {
		cfg.Secret = func(_ context.Context, server, key string) (string, error) {
			return "", fmt.Errorf("no secret store for %s of server %q", key, server)
		}
	}
	g := &Gateway{
		cfg:     cfg,
		limits:  cfg.Limits.withDefaults(),
		log:     cfg.Logger,
		now:     cfg.Now,
		states:  newStateKeys(),
		specs:   map[string]ServerSpec{},
		servers: map[string]*serverState{},
		pools:   map[poolKey]*pool{},
		running: map[*backend]struct{}{},
		routes:  map[string]*route{},
		conts:   map[string]*continuation{},
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go g.janitor()
	return g
}

// SetServers replaces the shared servers. Backends of servers that were
// removed or whose spec changed are stopped (their next use starts the new
// spec); the others keep running.
func (g *Gateway) SetServers(specs []ServerSpec) error {
	next := map[string]ServerSpec{}
	for _, s := range specs {
		if err := s.validate(); err != nil {
			return err
		}
		if _, dup := next[s.Name]; dup {
			return fmt.Errorf("two shared servers are named %q", s.Name)
		}
		next[s.Name] = s
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	var stale []*pool
	for k, p := range g.pools {
		if s, ok := next[k.server]; !ok || !s.equal(p.spec) {
			stale = append(stale, p)
			delete(g.pools, k)
		}
	}
	for name := range g.servers {
		if _, ok := next[name]; !ok {
			delete(g.servers, name)
		}
	}
	for name := range next {
		if g.servers[name] == nil {
			g.servers[name] = &serverState{ring: newLineRing(LogLines)}
		}
	}
	g.specs = next
	routes := make([]*route, 0, len(g.routes))
	for _, r := range g.routes {
		routes = append(routes, r)
	}
	g.mu.Unlock()

	for _, p := range stale {
		p.close("its configuration changed")
	}
	// Fronts hold what they mirrored of the old pools: the aggregate drops the
	// servers that went away, and a server's own front is rebuilt on next use.
	for _, r := range routes {
		r.serversChanged()
	}
	return nil
}

var errClosed = errors.New("the gateway is closed")

// Handler serves the MCP URL of one server (name) or, for "", the
// all-servers URL /mcp. It expects the guard in front of it: the request
// context carries the go-sdk's auth.TokenInfo of the signed-in user. The
// handler is built once per name and stays valid across SetServers; for a
// server that is not shared it answers 404.
func (g *Gateway) Handler(name string) http.Handler {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.routes[name]
	if r == nil {
		r = newRoute(g, name)
		g.routes[name] = r
	}
	return r
}

// ServerStatus is the live state of one shared server.
type ServerStatus struct {
	// Sessions counts live MCP sessions of clients on the server's URL.
	Sessions int
	// Backends counts the server's running backends.
	Backends int
	// Problem says why the server last failed to start or stopped on its
	// own; empty when it has run fine since. ProblemAt is when.
	Problem   string
	ProblemAt time.Time
	// Log holds the last lines the server wrote to stderr, oldest first.
	Log []string
}

// Status reports the live state of server name.
func (g *Gateway) Status(name string) ServerStatus {
	g.mu.Lock()
	st := g.servers[name]
	var pools []*pool
	for k, p := range g.pools {
		if k.server == name {
			pools = append(pools, p)
		}
	}
	r := g.routes[name]
	g.mu.Unlock()
	var out ServerStatus
	if st != nil {
		out.Problem, out.ProblemAt = st.snapshot()
		out.Log = st.ring.last(0)
	}
	for _, p := range pools {
		out.Backends += p.running()
	}
	if r != nil {
		out.Sessions = r.sessions()
	}
	return out
}

// Servers lists the names of the shared servers, sorted.
func (g *Gateway) Servers() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	names := make([]string, 0, len(g.specs))
	for n := range g.specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Close ends every session and backend and waits until the servers'
// processes are gone.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	pools := make([]*pool, 0, len(g.pools))
	for _, p := range g.pools {
		pools = append(pools, p)
	}
	g.pools = map[poolKey]*pool{}
	routes := make([]*route, 0, len(g.routes))
	for _, r := range g.routes {
		routes = append(routes, r)
	}
	conts := g.conts
	g.conts = map[string]*continuation{}
	g.mu.Unlock()
	close(g.stop)
	<-g.stopped
	for _, c := range conts {
		c.abandon()
	}
	for _, r := range routes {
		r.close()
	}
	var wg sync.WaitGroup
	for _, p := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.close("MCP Share is stopping")
		}()
	}
	wg.Wait()
	return nil
}

// spec returns the spec of server name if it is shared.
func (g *Gateway) spec(name string) (ServerSpec, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.specs[name]
	return s, ok
}

// usable lists the servers user may use, sorted by name.
func (g *Gateway) usable(user string) []ServerSpec {
	g.mu.Lock()
	specs := make([]ServerSpec, 0, len(g.specs))
	for _, s := range g.specs {
		specs = append(specs, s)
	}
	g.mu.Unlock()
	specs = slices.DeleteFunc(specs, func(s ServerSpec) bool { return !g.mayUse(user, s.Name) })
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	return specs
}

func (g *Gateway) mayUse(user, server string) bool {
	return g.cfg.MayUse == nil || g.cfg.MayUse(user, server)
}

// pool returns the pool of (user, server), creating it; nil when the server
// is not shared or the gateway is closed.
func (g *Gateway) pool(user, server string) *pool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	spec, ok := g.specs[server]
	if !ok {
		return nil
	}
	k := poolKey{user, server}
	p := g.pools[k]
	if p == nil {
		p = newPool(g, user, spec, g.servers[server])
		g.pools[k] = p
	}
	return p
}

// changed tells the app that server's state changed.
func (g *Gateway) changed(server string) {
	if g.cfg.OnChange != nil {
		g.cfg.OnChange(server)
	}
}

// janitorInterval is how often idle backends, sessions and paused calls are
// looked at.
const janitorInterval = 15 * time.Second

func (g *Gateway) janitor() {
	defer close(g.stopped)
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.sweep()
		}
	}
}

// sweep stops backends idle for longer than BackendIdle and abandons paused
// calls whose client did not come back.
func (g *Gateway) sweep() {
	now := g.now()
	g.mu.Lock()
	pools := make([]*pool, 0, len(g.pools))
	for _, p := range g.pools {
		pools = append(pools, p)
	}
	var expired []*continuation
	for id, c := range g.conts {
		if now.After(c.expires) {
			expired = append(expired, c)
			delete(g.conts, id)
		}
	}
	g.mu.Unlock()
	for _, c := range expired {
		c.abandon()
	}
	for _, p := range pools {
		p.stopIdle(now.Add(-g.limits.BackendIdle))
	}
}

// newID returns a random identifier for tokens and keys.
func newID() string { return rand.Text() }
