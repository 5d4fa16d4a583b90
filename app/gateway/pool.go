package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Crash backoff: a backend that stopped on its own is started again on next
// use, but not before backoffFirst, doubling with each crash in a row up to
// backoffMax; a backend that ran for backoffReset counts as healthy again.
// A call waits out a backoff of up to backoffWait, and fails at once beyond.
const (
	backoffFirst = time.Second
	backoffMax   = time.Minute
	backoffReset = time.Minute
	backoffWait  = 5 * time.Second
)

// sharedKey is the session part of the key of a pool's shared backend: the
// only one with IsolationUser, the sessionless one with IsolationSession.
const sharedKey = ""

// A bkey names a backend in its pool: the session it serves (sharedKey but
// under IsolationSession), and its protocol era. A server behaves as the era
// of its session dictates (a session-era tool sends requests to the client,
// a 2026-07-28 one returns input_required), so each era of client reaches a
// backend of its own era; a server that speaks only the session era serves
// both.
type bkey struct {
	session string
	modern  bool
}

// A pool is the backends of one server for one user: one shared backend, or
// one per MCP session (IsolationSession), started on first use. It keeps
// the server's last known catalog for the fronts that mirror it.
type pool struct {
	g      *Gateway
	user   string
	spec   ServerSpec
	state  *serverState
	log    *slog.Logger
	client *mcp.Client

	mu       sync.Mutex
	closed   bool
	backends map[bkey]*backend
	starting map[bkey]*starting
	byConn   map[*mcp.ClientSession]*backend
	catalog  *catalog
	fronts   map[*front]struct{}
	crashes  int
	retryAt  time.Time
	// legacyOnly: the server does not speak 2026-07-28; its session-era
	// backends serve modern clients too. modernOnly: the server speaks only
	// 2026-07-28; its backends of that era serve session clients too (what
	// it asks mid-call comes as input_required, which the gateway asks the
	// session client on its stream).
	legacyOnly bool
	modernOnly bool
	builtin    *mcp.Server // KindBuiltin: the in-memory server all backends connect to

	refreshing bool            // a catalog refresh runs
	touched    map[string]bool // lists the server said changed, for the next refresh
}

type starting struct {
	done chan struct{}
	b    *backend
	err  error
}

func newPool(g *Gateway, user string, spec ServerSpec, st *serverState) *pool {
	p := &pool{
		g:        g,
		user:     user,
		spec:     spec,
		state:    st,
		log:      g.log.With("server", spec.Name, "user", user),
		backends: map[bkey]*backend{},
		starting: map[bkey]*starting{},
		byConn:   map[*mcp.ClientSession]*backend{},
		fronts:   map[*front]struct{}{},
	}
	p.client = newBackendClient(p)
	return p
}

// errBackoff: the server stopped on its own and is not started again yet.
type errBackoff struct {
	server string
	wait   time.Duration
}

func (e *errBackoff) Error() string {
	return fmt.Sprintf("server %q stopped unexpectedly and is restarted in %s; its log is in MCP Share", e.server, e.wait.Round(time.Second))
}

// acquire returns the running backend of the given era for session,
// starting it if needed, and counts one use of it until release. With
// IsolationUser every session maps to the shared backend.
func (p *pool) acquire(ctx context.Context, session string, modern bool) (*backend, error) {
	if p.spec.isolation() == IsolationUser {
		session = sharedKey
	}
	for {
		p.mu.Lock()
		key := bkey{session, (modern && !p.legacyOnly) || p.modernOnly}
		if p.closed {
			p.mu.Unlock()
			return nil, fmt.Errorf("server %q is no longer shared", p.spec.Name)
		}
		if b := p.backends[key]; b != nil {
			if b.use() {
				p.mu.Unlock()
				return b, nil
			}
			delete(p.backends, key) // ending; start afresh
		}
		if st := p.starting[key]; st != nil {
			p.mu.Unlock()
			select {
			case <-st.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if st.err != nil {
				return nil, st.err
			}
			continue
		}
		if wait := p.retryAt.Sub(p.g.now()); wait > 0 {
			p.mu.Unlock()
			if wait > backoffWait {
				return nil, &errBackoff{p.spec.Name, wait}
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
			continue
		}
		st := &starting{done: make(chan struct{})}
		p.starting[key] = st
		p.mu.Unlock()

		b, err := p.start(key)
		var extra *backend // a backend started but not needed, to be stopped
		p.mu.Lock()
		delete(p.starting, key)
		switch {
		case err == nil && p.closed:
			err, extra = fmt.Errorf("server %q is no longer shared", p.spec.Name), b
		case err == nil && b.key != key:
			// Asked for one era, the server spoke the other: from now on its
			// backends of that era serve both.
			if b.key.modern {
				p.modernOnly = true
			} else {
				p.legacyOnly = true
			}
			if have := p.backends[b.key]; have != nil && have.use() {
				b, extra = have, b
				break
			}
			fallthrough
		case err == nil:
			p.backends[b.key] = b
			b.use()
		}
		if err != nil {
			b = nil
		}
		st.b, st.err = b, err
		p.mu.Unlock()
		close(st.done)
		if extra != nil {
			extra.stop()
		}
		p.g.changed(p.spec.Name)
		return b, err
	}
}

// start starts one backend: a slot under the gateway's bounds, the
// transport, the MCP handshake, and the catalog when this is the first.
func (p *pool) start(key bkey) (*backend, error) {
	b := &backend{p: p, key: key, calls: map[uint64]*call{}, progress: map[string]*call{}, subs: map[string]int{}, done: make(chan struct{})}
	if err := p.g.reserve(b); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.g.limits.StartTimeout)
	defer cancel()
	started := p.g.now()
	err := p.connect(ctx, b)
	if err != nil {
		p.g.unreserve(b)
		msg := err.Error()
		var se *setupError
		if ctx.Err() != nil && !errors.As(err, &se) {
			msg = fmt.Sprintf("server %q did not answer within %s", p.spec.Name, p.g.limits.StartTimeout)
		}
		p.log.Warn("server could not start", "err", msg)
		p.crashed(msg, started)
		return nil, &startError{server: p.spec.Name, msg: msg}
	}
	b.started = started
	b.lastUsed = p.g.now()
	p.mu.Lock()
	p.byConn[b.cs] = b
	p.mu.Unlock()
	if err := p.refresh(ctx, b.cs, nil); err != nil {
		p.log.Warn("listing the server's features", "err", err)
	}
	p.state.clearProblem()
	version := b.cs.InitializeResult().ProtocolVersion
	b.key.modern = version >= version20260728
	p.log.Info("server started", "key", shortKey(b.key), "protocol", version)
	go p.watch(b)
	return b, nil
}

// startError is a backend that could not start; its message names the
// server and says where the details are, never the server's stderr.
type startError struct {
	server, msg string
}

func (e *startError) Error() string {
	return e.msg + "; its log is in MCP Share"
}

// setupError is a failure before the server ran at all (a missing command,
// folder or secret): never a timeout, whatever the clock says.
type setupError struct{ msg string }

func (e *setupError) Error() string { return e.msg }

func setupErrorf(format string, args ...any) error {
	return &setupError{fmt.Sprintf(format, args...)}
}

// watch waits for b's session to end and records how it ended.
func (p *pool) watch(b *backend) {
	waitErr := b.cs.Wait()
	cause := b.finish(waitErr)
	p.mu.Lock()
	if p.backends[b.key] == b {
		delete(p.backends, b.key)
	}
	delete(p.byConn, b.cs)
	p.mu.Unlock()
	p.g.unreserve(b)
	if cause != "" {
		p.log.Warn("server stopped", "cause", cause)
		p.crashed(cause, b.started)
	} else {
		p.log.Info("server stopped", "key", shortKey(b.key))
	}
	p.g.changed(p.spec.Name)
}

// crashed records a failure and sets the backoff of the next start.
func (p *pool) crashed(msg string, started time.Time) {
	now := p.g.now()
	p.state.setProblem(msg, now)
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(started) > backoffReset {
		p.crashes = 0
	}
	p.crashes++
	d := backoffFirst << min(p.crashes-1, 6)
	p.retryAt = now.Add(min(d, backoffMax))
}

// running counts the pool's live backends.
func (p *pool) running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.backends)
}

// backendOf maps a client session to its backend (nil during the handshake).
func (p *pool) backendOf(cs *mcp.ClientSession) *backend {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byConn[cs]
}

// stopIdle stops backends unused since before cutoff.
func (p *pool) stopIdle(cutoff time.Time) {
	p.mu.Lock()
	var idle []*backend
	for k, b := range p.backends {
		if b.idleSince(cutoff) {
			idle = append(idle, b)
			delete(p.backends, k)
		}
	}
	p.mu.Unlock()
	for _, b := range idle {
		p.log.Info("stopping an idle server", "key", shortKey(b.key))
		b.stop()
	}
}

// endSession stops the backends of an ended MCP session (IsolationSession).
func (p *pool) endSession(session string) {
	if p.spec.isolation() != IsolationSession || session == sharedKey {
		return
	}
	var ended []*backend
	p.mu.Lock()
	for _, modern := range []bool{false, true} {
		k := bkey{session, modern}
		if b := p.backends[k]; b != nil {
			ended = append(ended, b)
			delete(p.backends, k)
		}
	}
	p.mu.Unlock()
	for _, b := range ended {
		b.stop()
	}
}

// close stops every backend and tells the fronts the pool is gone.
func (p *pool) close(why string) {
	p.mu.Lock()
	p.closed = true
	bs := make([]*backend, 0, len(p.backends))
	for _, b := range p.backends {
		bs = append(bs, b)
	}
	p.backends = map[bkey]*backend{}
	fronts := make([]*front, 0, len(p.fronts))
	for f := range p.fronts {
		fronts = append(fronts, f)
	}
	p.fronts = map[*front]struct{}{}
	p.mu.Unlock()
	if len(bs) > 0 {
		p.log.Info("stopping the server", "why", why)
	}
	var wg sync.WaitGroup
	for _, b := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.stop()
		}()
	}
	wg.Wait()
	for _, f := range fronts {
		f.poolGone(p)
	}
}

// subscribe registers f for catalog changes and returns the current catalog.
func (p *pool) subscribe(f *front) *catalog {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fronts[f] = struct{}{}
	return p.catalog
}

func (p *pool) unsubscribe(f *front) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.fronts, f)
}

// knownCatalog returns the catalog, starting the shared backend to learn it
// the first time.
func (p *pool) knownCatalog(ctx context.Context, modern bool) (*catalog, error) {
	p.mu.Lock()
	c := p.catalog
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	b, err := p.acquire(ctx, sharedKey, modern)
	if err != nil {
		return nil, err
	}
	b.release()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.catalog == nil {
		return nil, fmt.Errorf("server %q started but its features could not be listed", p.spec.Name)
	}
	return p.catalog, nil
}

func (st *serverState) setProblem(msg string, at time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.problem, st.problemAt = msg, at
}

func (st *serverState) clearProblem() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.problem, st.problemAt = "", time.Time{}
}

func (st *serverState) snapshot() (string, time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.problem, st.problemAt
}

// shortKey is a backend key fit for logs: session ids are shortened.
func shortKey(k bkey) string {
	era := "session era"
	if k.modern {
		era = "2026-07-28"
	}
	switch {
	case k.session == sharedKey:
		return "shared, " + era
	case len(k.session) > 8:
		return k.session[:8] + ", " + era
	default:
		return k.session + ", " + era
	}
}
