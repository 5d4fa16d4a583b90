package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app/gateway"
)

// The tokens of remote servers that sign in with OAuth, as the gateway's
// backends use them: one holder per server, so that all of the server's
// backends (one per user) share each refresh; refreshed ahead of expiry and
// when the server refuses a token; and, when neither helps, a prompt for
// the owner to sign in again.

// Bounds of the client side of OAuth.
const (
	// refreshAhead is how long before its expiry an access token is renewed.
	refreshAhead = 2 * time.Minute
	// oauthTimeout bounds one exchange with an authorization server.
	oauthTimeout = 30 * time.Second
	// maxOAuthBody bounds a document or token response of one.
	maxOAuthBody = 1 << 20
)

// remoteServers is the sign-in state of an App's remote servers.
type remoteServers struct {
	mu       sync.Mutex
	holders  map[string]*tokenHolder
	needed   map[string]string // server -> why the owner must sign in
	signedIn map[string]bool   // server -> a grant is stored, as last seen
	// stepUp holds the scopes a server asked for beyond its grant (a 403
	// insufficient_scope), for the next sign-in to ask for too.
	stepUp  map[string][]string
	pending map[string]chan callbackResult
}

// RemoteSignIn is the sign-in of a remote server that wants OAuth, as the
// window, the tray and `server list` show it.
type RemoteSignIn struct {
	Server string
	// SignedIn: tokens are stored.
	SignedIn bool
	// Needed says why the owner must sign in (again); empty while the
	// tokens work.
	Needed string
	// Expiry is when the access token expires (zero when unknown).
	Expiry time.Time
}

func (a *App) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}

// RemoteSignIns reports every remote server that signs in with OAuth.
func (a *App) RemoteSignIns(ctx context.Context) ([]RemoteSignIn, error) {
	all, err := a.cfg.servers()
	if err != nil {
		return nil, err
	}
	var out []RemoteSignIn
	for _, c := range all {
		if c.Kind != KindRemote || !c.OAuth {
			continue
		}
		g, err := a.loadGrant(ctx, c)
		if err != nil {
			return nil, err
		}
		si := RemoteSignIn{Server: c.Name, SignedIn: g != nil}
		if g != nil {
			si.Expiry = g.Expiry
		}
		a.remote.mu.Lock()
		if a.remote.signedIn == nil {
			a.remote.signedIn = map[string]bool{}
		}
		a.remote.signedIn[c.Name] = g != nil
		si.Needed = a.remote.needed[c.Name]
		a.remote.mu.Unlock()
		if g == nil && si.Needed == "" {
			si.Needed = "nobody has signed in to it yet"
		}
		out = append(out, si)
	}
	return out, nil
}

// SignInsNeeded lists, sorted, the remote servers that wait for the owner
// to sign in: those whose tokens stopped working, and those RemoteSignIns
// last saw without any. It reads no secret, so the tray may call it on
// every refresh.
func (a *App) SignInsNeeded() []string {
	a.remote.mu.Lock()
	defer a.remote.mu.Unlock()
	var out []string
	for name := range a.remote.needed {
		out = append(out, name)
	}
	for name, in := range a.remote.signedIn {
		if !in && a.remote.needed[name] == "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// SignInState says why the remote server name waits for the owner to sign
// in (empty: it does not), and whether this run knows at all: it reads no
// secret, so a server nobody used or looked at (RemoteSignIns) since the
// start is not known yet.
func (a *App) SignInState(name string) (why string, known bool) {
	a.remote.mu.Lock()
	defer a.remote.mu.Unlock()
	if why := a.remote.needed[name]; why != "" {
		return why, true
	}
	in, known := a.remote.signedIn[name]
	if known && !in {
		return "nobody has signed in to it yet", true
	}
	return "", known
}

// needSignIn records that only the owner can help server name now, and
// tells the window, the tray and the log once.
func (a *App) needSignIn(name, why string) {
	a.remote.mu.Lock()
	if a.remote.needed == nil {
		a.remote.needed = map[string]string{}
	}
	changed := a.remote.needed[name] != why
	a.remote.needed[name] = why
	a.remote.mu.Unlock()
	if !changed {
		return
	}
	msg := fmt.Sprintf("Server %q needs you to sign in to it again: %s", name, why)
	a.log.Warn("a remote server needs a new sign-in", "server", name, "why", why)
	a.events.emit(EventWarning, msg)
	a.events.emit(EventServers, msg)
}

// wantScopes records scopes server name asked for beyond its grant.
func (a *App) wantScopes(name string, scopes []string) {
	a.remote.mu.Lock()
	defer a.remote.mu.Unlock()
	if a.remote.stepUp == nil {
		a.remote.stepUp = map[string][]string{}
	}
	a.remote.stepUp[name] = unionScopes(a.remote.stepUp[name], scopes)
}

// scopesToAsk are the scopes a sign-in to server name asks for besides
// those the server names before anyone signed in: what the last grant
// had, and what the server asked for beyond it.
func (a *App) scopesToAsk(ctx context.Context, c ServerConfig) []string {
	var prev []string
	if g, err := a.loadGrant(ctx, c); err == nil && g != nil {
		prev = g.Scopes
	}
	a.remote.mu.Lock()
	defer a.remote.mu.Unlock()
	return unionScopes(prev, a.remote.stepUp[c.Name])
}

// unionScopes is a followed by the scopes of b it lacks.
func unionScopes(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// signedIn records a fresh grant of server name.
func (a *App) signedIn(name string, g *remoteGrant) {
	a.remote.mu.Lock()
	delete(a.remote.needed, name)
	delete(a.remote.stepUp, name)
	if a.remote.signedIn == nil {
		a.remote.signedIn = map[string]bool{}
	}
	a.remote.signedIn[name] = true
	h := a.remote.holders[name]
	a.remote.mu.Unlock()
	if h != nil { // outside remote.mu: a holder takes remote.mu under its own lock
		h.replace(g)
	}
}

// forgetRemote drops what memory holds of server name (its grant is gone).
func (a *App) forgetRemote(name string) {
	a.remote.mu.Lock()
	defer a.remote.mu.Unlock()
	delete(a.remote.holders, name)
	delete(a.remote.needed, name)
	delete(a.remote.signedIn, name)
	delete(a.remote.stepUp, name)
}

// remoteOAuth is the gateway's Config.OAuth: the token holder of server.
func (a *App) remoteOAuth(ctx context.Context, server string) (auth.OAuthHandler, error) {
	c, err := a.cfg.server(server)
	if err != nil {
		return nil, err
	}
	a.remote.mu.Lock()
	if a.remote.holders == nil {
		a.remote.holders = map[string]*tokenHolder{}
	}
	h := a.remote.holders[server]
	if h == nil || h.fingerprint != remoteFingerprint(c) {
		h = &tokenHolder{a: a, cfg: c, fingerprint: remoteFingerprint(c)}
		a.remote.holders[server] = h
	}
	a.remote.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, serverStartTimeout)
	defer cancel()
	if err := h.load(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// A tokenHolder is one remote server's tokens in use. It is the go-sdk's
// auth.OAuthHandler of the server's backends, and never opens a browser:
// its Authorize renews the token, or says (ErrSignInRequired) that only
// the owner can help.
type tokenHolder struct {
	a           *App
	cfg         ServerConfig
	fingerprint string

	// mu makes refreshes one at a time: a refresh token used twice revokes
	// the whole grant at servers that rotate them.
	mu    sync.Mutex
	grant *remoteGrant
}

var _ auth.OAuthHandler = (*tokenHolder)(nil)

func (h *tokenHolder) replace(g *remoteGrant) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.grant = g
}

// load reads the grant once; without one the owner must sign in.
func (h *tokenHolder) load(ctx context.Context) error {
	h.mu.Lock()
	if h.grant != nil {
		h.mu.Unlock()
		return nil
	}
	g, err := h.a.loadGrant(ctx, h.cfg)
	if err == nil && g != nil {
		h.grant = g
	}
	h.mu.Unlock()
	if err != nil {
		return err
	}
	if g == nil {
		h.a.needSignIn(h.cfg.Name, "nobody has signed in to it yet")
		return gateway.ErrSignInRequired
	}
	return nil
}

func (h *tokenHolder) TokenSource(context.Context) (oauth2.TokenSource, error) {
	return holderSource{h}, nil
}

// holderSource gives the holder's current token, renewed when it is about
// to expire.
type holderSource struct{ h *tokenHolder }

func (s holderSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), oauthTimeout)
	defer cancel()
	return s.h.current(ctx)
}

// current returns a token with more than refreshAhead to live, refreshing
// when needed. A refresh that fails for want of the network leaves the old
// token in use while it lasts.
func (h *tokenHolder) current(ctx context.Context) (*oauth2.Token, error) {
	var need string
	tok, err := func() (*oauth2.Token, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		g := h.grant
		if g == nil {
			need = "its sign-in was forgotten"
			return nil, gateway.ErrSignInRequired
		}
		if g.Expiry.IsZero() || h.a.now().Add(refreshAhead).Before(g.Expiry) {
			return g.token(), nil
		}
		if g.RefreshToken == "" {
			if h.a.now().Before(g.Expiry) {
				return g.token(), nil
			}
			need = "its token expired and the server gave no way to renew it"
			h.dropLocked(ctx)
			return nil, gateway.ErrSignInRequired
		}
		why, err := h.refreshLocked(ctx)
		if err == nil {
			return h.grant.token(), nil
		}
		if why != "" {
			need = why
			return nil, gateway.ErrSignInRequired
		}
		if h.a.now().Before(g.Expiry) {
			h.a.log.Warn("could not renew a remote server's token ahead of its expiry; using it while it lasts", "server", h.cfg.Name, "err", err)
			return g.token(), nil
		}
		return nil, err
	}()
	if need != "" {
		h.a.needSignIn(h.cfg.Name, need)
	}
	return tok, err
}

// Authorize answers a 401 or 403 of the server: a refused token is renewed
// (and the request retried), unless it was already; an insufficient scope,
// or a refused token without a renewal, needs the owner.
func (h *tokenHolder) Authorize(ctx context.Context, req *http.Request, resp *http.Response) error {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	challenges, _ := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if resp.StatusCode == http.StatusForbidden {
		if bearerParam(challenges, "error") != "insufficient_scope" {
			return nil // as the go-sdk does: the retry meets the 403 itself
		}
		scope := bearerParam(challenges, "scope")
		h.a.wantScopes(h.cfg.Name, strings.Fields(scope))
		h.a.needSignIn(h.cfg.Name, fmt.Sprintf("it asks for more access (%s) than the sign-in gave", scope))
		return gateway.ErrSignInRequired
	}
	sent := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	var need string
	err := func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		g := h.grant
		if g == nil {
			need = "its sign-in was forgotten"
			return gateway.ErrSignInRequired
		}
		if sent != "" && sent != g.AccessToken {
			return nil // renewed meanwhile: the retry carries the new one
		}
		if g.RefreshToken == "" {
			need = "it refused its token, and gave no way to renew it"
			h.dropLocked(ctx)
			return gateway.ErrSignInRequired
		}
		why, err := h.refreshLocked(ctx)
		if why != "" {
			need = why
			return gateway.ErrSignInRequired
		}
		return err
	}()
	if need != "" {
		h.a.needSignIn(h.cfg.Name, need)
	}
	return err
}

// refreshLocked renews the access token with the refresh token and stores
// the result. A refusal by the authorization server drops the grant and
// returns why the owner must sign in; other failures (the network) return
// only the error.
func (h *tokenHolder) refreshLocked(ctx context.Context) (why string, err error) {
	g := h.grant
	// The rule of the sign-in again: a grant stored before it held, or by
	// another version, must not carry a refresh token to this computer.
	origin, err := remoteTarget(h.cfg.URL, g.TokenURL)
	if err != nil {
		h.dropLocked(ctx)
		return fmt.Sprintf("its token endpoint %s cannot be used (%v)", shown(g.TokenURL), err), err
	}
	hc := h.a.oauthClient([]string{origin})
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	tok, err := g.config().TokenSource(ctx, &oauth2.Token{RefreshToken: g.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && refusedGrant(re) {
			h.dropLocked(ctx)
			return fmt.Sprintf("its authorization server refused to renew the token (%s)", re.ErrorCode), err
		}
		return "", fmt.Errorf("renew the token of server %q: %w", h.cfg.Name, err)
	}
	next := *g
	next.setToken(tok)
	if err := h.a.saveGrant(ctx, h.cfg.Name, &next); err != nil {
		// The new refresh token is in memory only: the server keeps working
		// until a restart, which then asks for a sign-in.
		h.a.log.Error("could not store a renewed token", "server", h.cfg.Name, "err", err)
	}
	h.grant = &next
	h.a.log.Info("renewed the token of a remote server", "server", h.cfg.Name, "expiry", next.Expiry)
	return "", nil
}

// refusedGrant tells a refusal that only a new sign-in mends from a passing
// failure of the authorization server.
func refusedGrant(re *oauth2.RetrieveError) bool {
	switch re.ErrorCode {
	case "invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope":
		return true
	}
	return re.ErrorCode == "" && re.Response != nil &&
		(re.Response.StatusCode == http.StatusBadRequest || re.Response.StatusCode == http.StatusUnauthorized)
}

// dropLocked forgets the grant, in memory and in the secret store.
func (h *tokenHolder) dropLocked(ctx context.Context) {
	h.grant = nil
	if err := h.a.purgeGrant(context.WithoutCancel(ctx), h.cfg.Name); err != nil {
		h.a.log.Error("could not forget a refused sign-in", "server", h.cfg.Name, "err", err)
	}
	h.a.remote.mu.Lock()
	if h.a.remote.signedIn != nil {
		h.a.remote.signedIn[h.cfg.Name] = false
	}
	h.a.remote.mu.Unlock()
}

// bearerParam is a parameter of the Bearer challenge.
func bearerParam(cs []oauthex.Challenge, name string) string {
	i := slices.IndexFunc(cs, func(c oauthex.Challenge) bool { return c.Scheme == "bearer" })
	if i < 0 {
		return ""
	}
	return cs[i].Params[name]
}
