package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/bridge"
	"github.com/mcpshare/mcpshare/app/builtin"
	"github.com/mcpshare/mcpshare/app/secrets"
)

// sessionIdleTimeout ends MCP sessions nobody used for this long.
const sessionIdleTimeout = 10 * time.Minute

// serverStartTimeout bounds preparing a server's handler (reading its
// secrets from the keychain).
const serverStartTimeout = 10 * time.Second

// shared is the running MCP handler of one server.
type shared struct {
	cfg     ServerConfig
	handler http.Handler // serves /mcp/NAME once the guard let the request in
	bridge  *bridge.Bridge
	closer  io.Closer
}

// ServerStatus is a shared server as the GUI and `server list` show it.
type ServerStatus struct {
	Config ServerConfig
	// Running is true while sharing is on and the server has a live handler.
	Running bool
	// Sessions counts live MCP sessions of clients.
	Sessions int
	// Backends counts the server's running instances (processes of a stdio
	// server, connections to an HTTP one).
	Backends int
	// Problem says why the server last failed to start or stopped on its
	// own (a crash, an exit), in one sentence; empty when it has run fine
	// since. ProblemAt is when that happened.
	Problem   string
	ProblemAt time.Time
	// Log is the server's recent stderr (stdio servers).
	Log []string
}

// Handler is every route of MCP Share: the authorization server's and one
// /mcp/NAME per shared server, behind the Host allowlist. The same handler
// serves the local listener and the tunnel.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	a.auth.Routes(mux)
	// Both patterns, so that neither form redirects to the other (a redirect
	// would drop the Authorization header).
	mux.HandleFunc("/mcp/{name}", a.serveMCP)
	mux.HandleFunc("/mcp/{name}/", a.serveMCP)
	return a.forwardedClient(a.origins.Handler(mux))
}

func (a *App) serveMCP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	// The guard answers unknown servers (404) and bad tokens before any
	// server is started for this request.
	a.auth.Protect(name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.handlerFor(r.Context(), name)
		if err != nil {
			a.log.Warn("shared server unavailable", "server", name, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":%q}}`, err.Error())
			return
		}
		if r.Method == http.MethodGet {
			var cancel context.CancelFunc
			r, cancel = a.streamContext(r)
			defer cancel()
		}
		s.handler.ServeHTTP(w, r)
	})).ServeHTTP(w, r)
}

// errNotSharing: a request raced with Stop.
var errNotSharing = errors.New("sharing is stopping")

// handlerFor returns the running handler of an enabled server, starting it on
// first use. The start (which may read the keychain) runs outside the app's
// lock; of two concurrent starts, one wins and the other is closed.
func (a *App) handlerFor(ctx context.Context, name string) (*shared, error) {
	a.mu.Lock()
	s, ok := a.running[name]
	sharing, enabled := a.share != nil, slices.Contains(a.enabled, name)
	a.mu.Unlock()
	switch {
	case ok:
		return s, nil
	case !sharing:
		return nil, errNotSharing
	case !enabled:
		return nil, fmt.Errorf("no shared server named %q", name)
	}
	cfg, err := a.cfg.server(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, serverStartTimeout)
	defer cancel()
	s, err = a.newShared(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("server %q cannot start: %w", name, err)
	}
	a.mu.Lock()
	existing, ok := a.running[name]
	switch {
	case ok:
		s, existing = existing, s
	case a.share == nil:
		existing, s, err = s, nil, errNotSharing
	default:
		a.running[name], existing = s, nil
	}
	a.mu.Unlock()
	if existing != nil && existing.closer != nil {
		existing.closer.Close()
	}
	return s, err
}

func (a *App) newShared(ctx context.Context, cfg ServerConfig) (*shared, error) {
	log := a.log.With("server", cfg.Name)
	s := &shared{cfg: cfg}
	var h http.Handler
	switch cfg.Kind {
	case KindBuiltin:
		srv := builtin.NewServer(cfg.Root)
		h = bindSessions(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
			// The Host and Origin checks are ours (oauthserver.Origins and the guard):
			// the SDK's own check refuses every request through the tunnel.
			DisableLocalhostProtection: true,
			SessionTimeout:             sessionIdleTimeout,
			Logger:                     log,
		}), sessionIdleTimeout+time.Minute)
	case KindStdio, KindHTTP:
		env, err := a.serverEnv(ctx, cfg)
		if err != nil {
			return nil, err
		}
		b, err := bridge.New(bridge.Config{
			Name: cfg.Name, Command: cfg.Command, Args: cfg.Args, Env: env, Dir: cfg.Dir,
			URL: cfg.URL, MaxSessions: cfg.MaxSessions, IdleTimeout: sessionIdleTimeout, Logger: log,
		})
		if err != nil {
			return nil, err
		}
		s.bridge, s.closer, h = b, b, b
	default:
		return nil, fmt.Errorf("unknown kind %q", cfg.Kind)
	}
	s.handler = h
	return s, nil
}

// serverEnv is the child's configured environment with the secret values
// read from the secret store.
func (a *App) serverEnv(ctx context.Context, cfg ServerConfig) (map[string]string, error) {
	env := make(map[string]string, len(cfg.Env)+len(cfg.SecretEnv))
	for k, v := range cfg.Env {
		env[k] = v
	}
	for _, k := range cfg.SecretEnv {
		v, err := a.secrets.Get(ctx, secrets.EnvKey(cfg.Name, k))
		if err != nil {
			return nil, fmt.Errorf("read secret %s: %w", k, err)
		}
		env[k] = v
	}
	return env, nil
}

// closeServers ends every running handler (and so every child process).
func (a *App) closeServers() error {
	a.mu.Lock()
	running := a.running
	a.running = make(map[string]*shared)
	a.mu.Unlock()
	var errs []error
	for _, s := range running {
		if s.closer != nil {
			errs = append(errs, s.closer.Close())
		}
	}
	return errors.Join(errs...)
}

// closeServer ends the running handler of one server, if any.
func (a *App) closeServer(name string) error {
	a.mu.Lock()
	s := a.running[name]
	delete(a.running, name)
	a.mu.Unlock()
	if s != nil && s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

// Servers lists every configured server with its live state.
func (a *App) Servers() ([]ServerStatus, error) {
	all, err := a.cfg.servers()
	if err != nil {
		return nil, err
	}
	out := make([]ServerStatus, 0, len(all))
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range all {
		st := ServerStatus{Config: c}
		if s, ok := a.running[c.Name]; ok {
			st.Running = true
			if s.bridge != nil {
				st.Sessions = s.bridge.Sessions()
				st.Log = s.bridge.Log()
			}
		} else if a.share != nil && c.Enabled {
			st.Running = true // started on its first request
		}
		out = append(out, st)
	}
	return out, nil
}

// AddServer stores a new server. secretValues holds the values of
// cfg.SecretEnv; they go to the secret store, never to the database.
func (a *App) AddServer(ctx context.Context, cfg ServerConfig, secretValues map[string]string) error {
	// A clash must not overwrite the existing server's secrets.
	if _, err := a.cfg.server(cfg.Name); err == nil {
		return fmt.Errorf("%w: %q (remove it first or pick another name)", ErrServerExists, cfg.Name)
	}
	if err := a.storeSecretEnv(ctx, cfg, secretValues); err != nil {
		return err
	}
	if err := a.cfg.putServer(cfg, true); err != nil {
		return err
	}
	return a.serversChanged(fmt.Sprintf("server %q added", cfg.Name))
}

// UpdateServer replaces the stored config of an existing server; a running
// instance is ended so that the next session uses the new config.
// secretValues may be nil to keep the stored secret values.
func (a *App) UpdateServer(ctx context.Context, cfg ServerConfig, secretValues map[string]string) error {
	if secretValues != nil {
		if err := a.storeSecretEnv(ctx, cfg, secretValues); err != nil {
			return err
		}
	}
	if err := a.cfg.putServer(cfg, false); err != nil {
		return err
	}
	if err := a.closeServer(cfg.Name); err != nil {
		a.log.Warn("closing the old instance", "server", cfg.Name, "err", err)
	}
	return a.serversChanged(fmt.Sprintf("server %q changed", cfg.Name))
}

func (a *App) storeSecretEnv(ctx context.Context, cfg ServerConfig, values map[string]string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, k := range cfg.SecretEnv {
		v, ok := values[k]
		if !ok {
			return fmt.Errorf("%w: server %q: no value for secret %s", ErrInvalidConfig, cfg.Name, k)
		}
		if err := a.secrets.Set(ctx, secrets.EnvKey(cfg.Name, k), v); err != nil {
			return fmt.Errorf("store secret %s of server %q: %w", k, cfg.Name, err)
		}
	}
	return nil
}

// RemoveServer deletes a server, its running instance and its secrets.
func (a *App) RemoveServer(ctx context.Context, name string) error {
	cfg, err := a.cfg.server(name)
	if err != nil {
		return err
	}
	if err := a.cfg.deleteServer(name); err != nil {
		return err
	}
	for _, k := range cfg.SecretEnv {
		if err := a.secrets.Delete(ctx, secrets.EnvKey(name, k)); err != nil {
			a.log.Warn("could not delete a secret of a removed server", "server", name, "key", k, "err", err)
		}
	}
	a.closeServer(name)
	return a.serversChanged(fmt.Sprintf("server %q removed", name))
}

// SetServerEnabled shares or stops sharing one server.
func (a *App) SetServerEnabled(name string, enabled bool) error {
	cfg, err := a.cfg.server(name)
	if err != nil {
		return err
	}
	cfg.Enabled = enabled
	if err := a.cfg.putServer(cfg, false); err != nil {
		return err
	}
	if !enabled {
		a.closeServer(name)
	}
	verb := "disabled"
	if enabled {
		verb = "enabled"
	}
	return a.serversChanged(fmt.Sprintf("server %q %s", name, verb))
}

func (a *App) serversChanged(msg string) error {
	if err := a.refreshEnabled(); err != nil {
		return err
	}
	a.log.Info(msg)
	a.events.emit(EventServers, msg)
	return nil
}
