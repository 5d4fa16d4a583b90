package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpshare/mcpshare/app/gateway"
	"github.com/mcpshare/mcpshare/app/secrets"
	"github.com/mcpshare/mcpshare/tunnel"
)

// State is whether the app is sharing.
type State string

// States of sharing.
const (
	StateStopped  State = "stopped"
	StateStarting State = "starting"
	StateSharing  State = "sharing"
	StateError    State = "error"
)

// Status is what the tray's state line and the window show.
type Status struct {
	State State
	// Err says why sharing failed (StateError), or why the public URL is
	// missing while local sharing works.
	Err error
	// LocalOrigin is the origin of the local listener, e.g. http://127.0.0.1:8765.
	LocalOrigin string
	// PublicOrigin is the tunnel's origin while it is up.
	PublicOrigin string
	// Tunnel is the tunnel's own state (connecting, online, reconnecting, failed).
	Tunnel tunnel.State
}

// Typed errors the GUI explains.
var (
	// ErrPortInUse: the configured address is taken by another program.
	ErrPortInUse = errors.New("the port is in use by another program")
	// ErrNgrokToken: no ngrok authtoken is stored or set in NGROK_AUTHTOKEN.
	ErrNgrokToken = errors.New("no ngrok authtoken: add it in Settings (or `mcpshare ngrok set-token`), or set NGROK_AUTHTOKEN")
)

const (
	shutdownTimeout   = 10 * time.Second
	tunnelStartWithin = 30 * time.Second
)

// Timeouts of the HTTP servers (local and public). Headers must arrive in
// readHeaderTimeout; a connection idle between requests is closed after
// idleTimeout. Bodies and writes of MCP requests have their own bounds in
// the gateway, where they are safe: an SSE stream may stay open for hours,
// so there is no overall WriteTimeout.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 90 * time.Second
	maxHeaderBytes    = 64 << 10
)

// newHTTPServer is the HTTP server of one listener.
func (a *App) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: a.readHeaderTimeout,
		IdleTimeout:       a.idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
}

// sharing is what exists only while the app shares: listeners, servers, tunnel.
type sharing struct {
	local    *http.Server
	public   *http.Server // nil unless the tunnel hands us a listener
	provider tunnel.Provider
	cancel   context.CancelFunc // ends the background tunnel start
	done     chan struct{}      // closed when the tunnel goroutine returns
	stopping chan struct{}      // closed when Stop begins: ends open event streams
	attempt  int                // tunnel attempts; status from older ones is ignored
	gw       *gateway.Gateway   // the shared servers, behind routes
	routes   atomic.Pointer[shareRoutes]

	revMu     sync.Mutex
	revisions map[string]int // servers whose secrets changed during the share
}

func (sh *sharing) revision(name string) int {
	sh.revMu.Lock()
	defer sh.revMu.Unlock()
	return sh.revisions[name]
}

func (sh *sharing) bumpRevision(name string) {
	sh.revMu.Lock()
	defer sh.revMu.Unlock()
	if sh.revisions == nil {
		sh.revisions = map[string]int{}
	}
	sh.revisions[name]++
}

// Status reports the current state of sharing.
func (a *App) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

func (a *App) setStatus(f func(*Status)) {
	a.mu.Lock()
	f(&a.status)
	st := a.status
	a.mu.Unlock()
	msg := string(st.State)
	if st.Err != nil {
		msg += ": " + st.Err.Error()
	}
	a.events.emit(EventState, msg)
}

// Start begins sharing: it checks the secret store, listens on the local
// address and brings the tunnel up in the background. It returns once local
// sharing works; the public URL follows as EventTunnel events. Start and
// Stop exclude each other: a Stop during a Start waits for it.
func (a *App) Start(ctx context.Context) error {
	a.life.Lock()
	defer a.life.Unlock()
	a.mu.Lock()
	if a.share != nil {
		a.mu.Unlock()
		return nil
	}
	st := a.settings
	a.mu.Unlock()
	a.setStatus(func(s *Status) { *s = Status{State: StateStarting} })

	fail := func(err error) error {
		a.setStatus(func(s *Status) { *s = Status{State: StateError, Err: err} })
		return err
	}
	if _, err := a.ClientCredentials(ctx); err != nil {
		return fail(err)
	}
	ln, err := a.listen(st.Addr)
	if err != nil {
		return fail(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	port := strconv.Itoa(addr.Port)
	local := "http://" + net.JoinHostPort(addr.IP.String(), port)
	a.origins.SetLocal(local, "http://localhost:"+port)

	handler := a.Handler()
	tctx, cancel := context.WithCancel(context.Background())
	sh := &sharing{
		local:    a.newHTTPServer(handler),
		cancel:   cancel,
		done:     make(chan struct{}),
		stopping: make(chan struct{}),
		gw:       a.newGateway(),
	}
	if err := a.applyServers(sh); err != nil {
		ln.Close()
		cancel()
		sh.gw.Close()
		return fail(err)
	}
	a.mu.Lock()
	a.share = sh
	a.status = Status{State: StateSharing, LocalOrigin: local}
	a.mu.Unlock()
	go func() {
		if err := sh.local.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("local listener stopped", "err", err)
			a.setStatus(func(s *Status) { s.State, s.Err = StateError, err })
		}
	}()
	a.setStatus(func(*Status) {})
	a.log.Info("sharing locally", "origin", local)

	go a.runTunnel(tctx, sh, st, handler)
	return nil
}

// listen opens addr. When the default port is taken it falls back to a free
// port and says so; a port the user chose is an error.
func (a *App) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if !addrInUse(err) {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if addr != DefaultAddr {
		return nil, fmt.Errorf("%w: %s (choose another port in Settings or with --addr)", ErrPortInUse, addr)
	}
	ln, err2 := net.Listen("tcp", "127.0.0.1:0")
	if err2 != nil {
		return nil, fmt.Errorf("listen on %s: %w; and on a free port: %v", addr, err, err2)
	}
	msg := fmt.Sprintf("port %s is in use by another program; sharing on %s instead", addr, ln.Addr())
	a.log.Warn(msg)
	a.events.emit(EventWarning, msg)
	return ln, nil
}

// Retrying a tunnel that could not reach its service (no network yet, a
// laptop waking up): the first retry comes after tunnelRetryFirst, each
// later one waits twice as long, up to tunnelRetryMax.
const (
	tunnelRetryFirst = 5 * time.Second
	tunnelRetryMax   = 2 * time.Minute
)

// runTunnel brings the public origin up and keeps serving on it until ctx
// ends. Failures for want of a network are retried with backoff; others (a
// rejected token, a domain that is not the user's) wait for the user.
func (a *App) runTunnel(ctx context.Context, sh *sharing, st Settings, handler http.Handler) {
	defer close(sh.done)
	delay := a.tunnelRetryFirst
	for {
		err := a.startTunnel(ctx, sh, st, handler)
		if err == nil || ctx.Err() != nil {
			return
		}
		// The provider's own deadline reports ErrNoNetwork; ours is only a backstop.
		retry := errors.Is(err, tunnel.ErrNoNetwork) || errors.Is(err, context.DeadlineExceeded)
		msg := "public URL failed: " + err.Error()
		if retry {
			msg += fmt.Sprintf(" (trying again in %s)", delay)
		}
		a.log.Error("public URL failed", "err", err, "retry", retry)
		a.setStatus(func(s *Status) { s.Tunnel, s.Err = tunnel.StateFailed, fmt.Errorf("public URL: %w", err) })
		a.events.emit(EventTunnel, msg)
		if !retry {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, tunnelRetryMax)
	}
}

// startTunnel makes one attempt at the public origin; on success the public
// listener serves handler and the origin joins the allowlist.
func (a *App) startTunnel(ctx context.Context, sh *sharing, st Settings, handler http.Handler) error {
	a.mu.Lock()
	old := sh.provider
	sh.provider = nil
	sh.attempt++
	attempt := sh.attempt
	a.mu.Unlock()
	if old != nil {
		old.Close() // the failed attempt before this one; its events no longer count
	}
	onStatus := func(ts tunnel.Status) {
		a.mu.Lock()
		current := sh.attempt == attempt
		a.mu.Unlock()
		if current {
			a.tunnelState(ts)
		}
	}
	provider, err := a.provider(ctx, st, onStatus)
	if err != nil || provider == nil {
		return err
	}
	a.mu.Lock()
	sh.provider = provider
	a.mu.Unlock()
	a.tunnelState(tunnel.Status{State: tunnel.StateConnecting})
	sctx, cancel := context.WithTimeout(ctx, a.tunnelStartWithin+5*time.Second)
	origin, ln, err := provider.Start(sctx)
	cancel()
	if err != nil {
		return err
	}
	if origin != "" {
		a.origins.SetPublic(origin)
	}
	if ln != nil {
		srv := a.newHTTPServer(handler)
		a.mu.Lock()
		sh.public = srv
		a.mu.Unlock()
		go srv.Serve(ln)
	}
	a.setStatus(func(s *Status) { s.PublicOrigin, s.Tunnel, s.Err = origin, tunnel.StateOnline, nil })
	if origin != "" {
		a.log.Info("public URL is up", "origin", origin)
		a.events.emit(EventTunnel, "public URL "+origin+" is online")
	}
	return nil
}

// provider builds the tunnel provider for st; nil means local only.
func (a *App) provider(ctx context.Context, st Settings, onStatus func(tunnel.Status)) (tunnel.Provider, error) {
	switch st.Tunnel {
	case TunnelCustom:
		return tunnel.Custom(st.PublicURL)
	case TunnelNgrok:
		token := os.Getenv("NGROK_AUTHTOKEN")
		if token == "" {
			var err error
			token, err = a.secrets.Get(ctx, secrets.KeyNgrokAuthtoken)
			if errors.Is(err, secrets.ErrNotFound) {
				return nil, ErrNgrokToken
			}
			if err != nil {
				return nil, fmt.Errorf("read the ngrok authtoken: %w", err)
			}
		}
		return tunnel.Ngrok(tunnel.NgrokConfig{
			Authtoken: token,
			Domain:    st.NgrokDomain,
			OnStatus:  onStatus,
			Logger:    a.log.With("part", "ngrok"),
			Timeout:   a.tunnelStartWithin,
			// Test seams; empty in real use.
			ConnectURL: a.opts.NgrokConnectURL,
			ConnectCAs: a.opts.NgrokConnectCAs,
		})
	default:
		return nil, nil
	}
}

func (a *App) tunnelState(ts tunnel.Status) {
	a.mu.Lock()
	a.status.Tunnel = ts.State
	gone := (ts.State == tunnel.StateFailed || ts.State == tunnel.StateStopped) && a.status.PublicOrigin != ""
	if gone {
		// The public origin leaves the allowlist as soon as the tunnel is down for good.
		a.status.PublicOrigin = ""
	}
	a.mu.Unlock()
	if gone {
		a.origins.SetPublic("")
	}
	msg := "public URL: " + string(ts.State)
	if ts.Err != nil {
		msg += ": " + ts.Err.Error()
	}
	a.events.emit(EventTunnel, msg)
}

// Stop ends sharing: the listeners stop accepting, in-flight requests
// finish (bounded by ctx) while open event streams are ended, then the
// tunnel closes and every session and child process ends.
func (a *App) Stop(ctx context.Context) error {
	a.life.Lock()
	defer a.life.Unlock()
	a.mu.Lock()
	sh := a.share
	a.share = nil
	a.mu.Unlock()
	if sh == nil {
		return nil
	}
	sh.cancel()
	<-sh.done // no tunnel attempt is under way any more
	// Event streams (SSE GET) never end by themselves; requests do.
	close(sh.stopping)
	var wg sync.WaitGroup
	for _, srv := range []*http.Server{sh.public, sh.local} {
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
			}
		}()
	}
	wg.Wait()
	a.origins.SetPublic("")
	var errs []error
	if sh.provider != nil {
		errs = append(errs, sh.provider.Close())
	}
	errs = append(errs, sh.gw.Close())
	a.setStatus(func(s *Status) { *s = Status{State: StateStopped} })
	a.log.Info("sharing stopped")
	return errors.Join(errs...)
}

// streamContext returns r with a context that also ends when sharing stops,
// for requests that may stay open indefinitely (the SSE GET stream).
func (a *App) streamContext(r *http.Request) (*http.Request, context.CancelFunc) {
	a.mu.Lock()
	sh := a.share
	a.mu.Unlock()
	ctx, cancel := context.WithCancel(r.Context())
	if sh != nil {
		go func() {
			select {
			case <-sh.stopping:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return r.WithContext(ctx), cancel
}
