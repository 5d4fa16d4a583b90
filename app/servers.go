package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/mcpshare/mcpshare/app/gateway"
	"github.com/mcpshare/mcpshare/app/secrets"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// The shared servers as the gateway serves them, and the routes of their MCP URLs.

// shareRoutes are the guarded MCP handlers of one share: the guard in front of
// the gateway, built once per share and again when the servers change, never
// per request.
type shareRoutes struct {
	all     http.Handler            // /mcp
	servers map[string]http.Handler // /mcp/NAME
}

// ServerStatus is a shared server as the GUI and `server list` show it.
type ServerStatus struct {
	Config ServerConfig
	// Running is true while sharing is on and the server is shared: its
	// backends start on first use.
	Running bool
	// Sessions counts live MCP sessions of clients on the server's URL.
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

// Handler is every route of MCP Share: the authorization server's, /mcp and
// one /mcp/NAME per shared server, behind the Host allowlist. The same
// handler serves the local listener and the tunnel.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	a.auth.Routes(mux)
	mux.HandleFunc("/mcp", a.serveMCP)
	// Both patterns, so that neither form redirects to the other (a redirect
	// would drop the Authorization header).
	mux.HandleFunc("/mcp/{name}", a.serveMCP)
	mux.HandleFunc("/mcp/{name}/", a.serveMCP)
	mux.HandleFunc(CallbackPath, a.oauthCallback) // remote servers' sign-ins come back here
	mux.HandleFunc(ClientMetadataPath, a.serveClientMetadata)
	return a.forwardedClient(a.origins.Handler(mux))
}

// serveMCP hands the request to the guarded route of its URL.
func (a *App) serveMCP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	a.mu.Lock()
	sh := a.share
	a.mu.Unlock()
	var h http.Handler
	if sh != nil {
		rt := sh.routes.Load()
		if name == "" {
			h = rt.all
		} else {
			h = rt.servers[name]
		}
	}
	if h == nil {
		// Not shared (or sharing is stopping): the guard answers as for any
		// unknown resource, after its Host, Origin and CORS checks.
		h = a.auth.Protect(name, http.NotFoundHandler())
	}
	if r.Method == http.MethodGet {
		var cancel context.CancelFunc
		r, cancel = a.streamContext(r)
		defer cancel()
	}
	h.ServeHTTP(w, r)
}

// gatewaySpecs are the enabled servers as the gateway takes them.
func (a *App) gatewaySpecs(sh *sharing) ([]gateway.ServerSpec, error) {
	all, err := a.cfg.servers()
	if err != nil {
		return nil, err
	}
	var specs []gateway.ServerSpec
	for _, c := range all {
		if !c.Enabled {
			continue
		}
		specs = append(specs, specOf(c, sh.revision(c.Name)))
	}
	return specs, nil
}

// specOf is a stored server as the gateway takes it.
func specOf(c ServerConfig, revision int) gateway.ServerSpec {
	return gateway.ServerSpec{
		Name: c.Name, Kind: gateway.Kind(c.Kind),
		Command: c.Command, Args: c.Args, Env: c.Env, SecretEnv: c.SecretEnv, Dir: c.Dir,
		URL: c.URL, OAuth: c.OAuth, Root: c.Root, Isolation: gateway.Isolation(c.Isolation),
		Revision: revision,
	}
}

// newGateway is the gateway of one share.
func (a *App) newGateway() *gateway.Gateway {
	return gateway.New(gateway.Config{
		Secret: func(ctx context.Context, server, key string) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, serverStartTimeout)
			defer cancel()
			return a.secrets.Get(ctx, secrets.EnvKey(server, key))
		},
		OnChange: func(server string) {
			a.events.emit(EventServers, fmt.Sprintf("server %q changed state", server))
		},
		MayUse:          a.gov.rules.mayUse,
		Policy:          a.gov,
		Audit:           a.gov.record,
		ApprovalTimeout: a.approvalTimeout(),
		Logger:          a.log.With("part", "gateway"),
		OAuth:           a.remoteOAuth,
		Network:         a.opts.Network,
	})
}

// serverStartTimeout bounds reading a server's secrets from the keychain.
const serverStartTimeout = 10 * time.Second

// applyServers gives the share's gateway the enabled servers and rebuilds the
// guarded routes.
func (a *App) applyServers(sh *sharing) error {
	specs, err := a.gatewaySpecs(sh)
	if err != nil {
		return err
	}
	if err := sh.gw.SetServers(specs); err != nil {
		return err
	}
	rt := &shareRoutes{
		all:     a.auth.Protect(oauthserver.AllServers, sh.gw.Handler(gateway.AllServers)),
		servers: make(map[string]http.Handler, len(specs)),
	}
	for _, s := range specs {
		rt.servers[s.Name] = a.auth.Protect(s.Name, sh.gw.Handler(s.Name))
	}
	sh.routes.Store(rt)
	return nil
}

// Servers lists every configured server with its live state.
func (a *App) Servers() ([]ServerStatus, error) {
	all, err := a.cfg.servers()
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	sh := a.share
	a.mu.Unlock()
	out := make([]ServerStatus, 0, len(all))
	for _, c := range all {
		st := ServerStatus{Config: c}
		if sh != nil && c.Enabled {
			gs := sh.gw.Status(c.Name)
			st.Running = true
			st.Sessions, st.Backends, st.Log = gs.Sessions, gs.Backends, gs.Log
			st.Problem, st.ProblemAt = gs.Problem, gs.ProblemAt
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

// UpdateServer replaces the stored config of an existing server; its running
// instances are ended, so that the next call uses the new config.
// secretValues may be nil to keep the stored secret values.
func (a *App) UpdateServer(ctx context.Context, cfg ServerConfig, secretValues map[string]string) error {
	if secretValues != nil {
		if err := a.storeSecretEnv(ctx, cfg, secretValues); err != nil {
			return err
		}
		a.mu.Lock()
		if a.share != nil {
			a.share.bumpRevision(cfg.Name)
		}
		a.mu.Unlock()
	}
	prev, err := a.cfg.server(cfg.Name)
	if err != nil {
		return err
	}
	if err := a.cfg.putServer(cfg, false); err != nil {
		return err
	}
	if err := a.remoteChanged(ctx, prev, &cfg); err != nil {
		return err
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

// RemoveServer deletes a server, its running instance, its secrets and the
// approvals remembered for its tools; its calls waiting for approval are
// denied.
func (a *App) RemoveServer(ctx context.Context, name string) error {
	cfg, err := a.cfg.server(name)
	if err != nil {
		return err
	}
	q := a.gov.approvals
	q.decideMu.Lock()
	if err := a.cfg.deleteServer(name); err != nil {
		q.decideMu.Unlock()
		return err
	}
	q.deny(func(k rememberKeyParts) bool { return k.server == name }, "the server was removed")
	q.decideMu.Unlock()
	for _, k := range cfg.SecretEnv {
		if err := a.secrets.Delete(ctx, secrets.EnvKey(name, k)); err != nil {
			a.log.Warn("could not delete a secret of a removed server", "server", name, "key", k, "err", err)
		}
	}
	if err := a.remoteChanged(ctx, cfg, nil); err != nil {
		a.log.Warn("could not delete the sign-in of a removed server", "server", name, "err", err)
	}
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
	verb := "disabled"
	if enabled {
		verb = "enabled"
	}
	return a.serversChanged(fmt.Sprintf("server %q %s", name, verb))
}

// serversChanged applies a change of the stored servers: the authorization
// server's resources, and the running gateway (which stops the backends of
// servers that were removed or changed).
func (a *App) serversChanged(msg string) error {
	if err := a.refreshEnabled(); err != nil {
		return err
	}
	a.mu.Lock()
	sh := a.share
	a.mu.Unlock()
	if sh != nil {
		if err := a.applyServers(sh); err != nil {
			return err
		}
	}
	a.log.Info(msg)
	a.events.emit(EventServers, msg)
	return nil
}
