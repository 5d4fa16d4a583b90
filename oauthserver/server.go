package oauthserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// Lifetimes and bounds. Every expiry is measured with Config.Now.
const (
	CodeTTL         = 60 * time.Second    // authorization codes, single use
	AccessTokenTTL  = time.Hour           // access tokens
	RefreshTokenTTL = 30 * 24 * time.Hour // each refresh token; rotation issues a fresh one
	AuthRequestTTL  = 10 * time.Minute    // a login page must be submitted within this
	SignInTimeout   = 5 * time.Minute     // an undecided sign-in becomes "expired" (access_denied)
	SweepInterval   = time.Minute         // how often expired state is removed
	MaxAuthRequests = 1000                // pending authorization requests kept in memory
	// MaxAuthRequestsPerAddress bounds the pending requests of one address (IPv4, IPv6 /64)
	// that have no password yet; a new one replaces its oldest.
	MaxAuthRequestsPerAddress = 20
	MaxRecentSignIns          = 50 // decided sign-ins kept for RecentSignIns
)

// Config configures a Server.
type Config struct {
	// DB is the bbolt database, opened by the caller; the server creates its own buckets
	// (all named oauth_*) and never closes it.
	DB *bbolt.DB
	// Origins is the Host allowlist; every advertised URL is built from the matched origin.
	Origins *Origins
	// Resources returns the names of the servers shared right now; each is the protected
	// resource <origin>/mcp/<name>, and while there is one, <origin>/mcp (AllServers) is a
	// protected resource too: the default of requests that name none.
	Resources func() []string
	// MayUse reports whether user may use the shared server name (never AllServers, which
	// every user may use: it reaches only the servers they may). Sign-ins and refreshes for
	// a server the user may not use are refused, and so are their tokens at Protect, from
	// the moment the owner's rules change. nil means every user may use every server.
	MayUse func(user, name string) bool
	// Policy decides what happens after a correct password; "" means PolicyAsk.
	Policy Policy
	// Now is the clock for every expiry; nil means time.Now. Tests move it instead of sleeping.
	Now func() time.Time
	// Logger receives one line per sign-in, grant and refusal; nil discards. Tokens, secrets
	// and passwords are never logged.
	Logger *slog.Logger
	// OnSignIn, when set, is called (not under a lock, from the goroutine that made the change)
	// whenever the pending or recent sign-in lists change.
	OnSignIn func()
	// Fetch configures how client metadata documents are fetched; the zero value is right
	// for the app (tests route public-looking addresses to local servers).
	Fetch FetchOptions
}

// Server is the OAuth 2.1 authorization server and resource guard. Create it with New.
type Server struct {
	db        *bbolt.DB
	origins   *Origins
	resources func() []string
	mayUse    func(user, name string) bool
	now       func() time.Time
	log       *slog.Logger
	onSignIn  func()
	argon     argon2Params
	csrfKey   []byte // per process: pending authorization requests do not survive a restart

	dummyOnce  sync.Once
	dummy      string
	argonSlots chan struct{} // see MaxConcurrentPasswordChecks

	mu                sync.Mutex
	policy            Policy
	requests          map[string]*authRequest
	requestSeq        uint64                     // the last authRequest.seq given, under mu
	finished          map[string]finishedRequest // by request id, for AuthRequestTTL
	signIns           map[string]*signIn         // pending, by id
	recent            []SignIn                   // decided, newest last; kept in bucketSignIns too
	unsaved           []SignIn                   // decided, not yet written there (saveRecent)
	registerRate      *loginLimiter              // per address
	registerBlockRate *loginLimiter              // per address block
	maxClients        int                        // MaxClients; smaller in tests

	throttle *throttle // failed passwords; its own lock

	fetch        *fetcher             // client metadata documents and key sets
	documents    *docCache            // their parsed forms; its own lock
	fetchRate    *loginLimiter        // fetches of documents not in the cache, per address block
	assertionIDs map[string]time.Time // client "\x00" jti of private_key_jwt assertions -> until

	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
}

// New creates the buckets it needs in cfg.DB and starts the background sweeper (see Close).
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("oauthserver: Config.DB is required")
	}
	if cfg.Origins == nil {
		return nil, errors.New("oauthserver: Config.Origins is required")
	}
	if cfg.Resources == nil {
		cfg.Resources = func() []string { return nil }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := openBuckets(cfg.DB); err != nil {
		return nil, fmt.Errorf("oauthserver: %w", err)
	}
	recent, err := loadRecent(cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("oauthserver: recent sign-ins: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := &Server{
		db:                cfg.DB,
		origins:           cfg.Origins,
		resources:         cfg.Resources,
		mayUse:            cfg.MayUse,
		now:               cfg.Now,
		log:               cfg.Logger,
		onSignIn:          cfg.OnSignIn,
		argon:             defaultArgon2,
		csrfKey:           key,
		argonSlots:        make(chan struct{}, MaxConcurrentPasswordChecks),
		policy:            cfg.Policy.orDefault(),
		requests:          map[string]*authRequest{},
		finished:          map[string]finishedRequest{},
		signIns:           map[string]*signIn{},
		recent:            recent,
		registerRate:      newLimiter(MaxRegistrationsPerMinute, time.Minute),
		registerBlockRate: newLimiter(MaxBlockRegistrationsPerMinute, time.Minute),
		maxClients:        MaxClients,
		throttle:          newThrottle(),
		fetch:             newFetcher(cfg.Fetch),
		documents:         newDocCache(cfg.Now),
		fetchRate:         newLimiter(MaxDocumentFetchesPerMinute, time.Minute),
		assertionIDs:      map[string]time.Time{},
		stop:              make(chan struct{}),
		stopped:           make(chan struct{}),
	}
	go s.sweepLoop()
	return s, nil
}

// Close stops the background sweeper. It does not close the DB.
func (s *Server) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.stopped
	return nil
}

// SetPolicy changes the approval policy for sign-ins that have not yet passed the password step.
func (s *Server) SetPolicy(p Policy) {
	s.mu.Lock()
	s.policy = p.orDefault()
	s.mu.Unlock()
}

func (s *Server) currentPolicy() Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy
}

// Routes registers every route of the authorization server on mux, the protected resource
// metadata of /mcp and of each /mcp/NAME included. The MCP URLs themselves are the caller's:
// wrap /mcp with Protect(AllServers, …) and each /mcp/NAME with Protect(NAME, …).
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /authorize", s.handleAuthorize)
	mux.HandleFunc("POST /authorize", s.handleLogin)
	mux.HandleFunc("GET /authorize/status", s.handleSignInStatus)
	mux.HandleFunc("GET /authorize/wait", s.handleWait)
	mux.Handle("/token", s.api(http.MethodPost, s.handleToken))
	mux.Handle("/register", s.api(http.MethodPost, s.handleRegister))
	mux.Handle("/revoke", s.api(http.MethodPost, s.handleRevoke))
	mux.Handle("/.well-known/oauth-authorization-server", s.api(http.MethodGet, s.handleASMetadata))
	mux.Handle("/.well-known/openid-configuration", s.api(http.MethodGet, s.handleASMetadata))
	mux.Handle("/.well-known/oauth-protected-resource/mcp/{name}", s.api(http.MethodGet, s.handlePRM))
	mux.Handle("/.well-known/oauth-protected-resource/mcp", s.api(http.MethodGet, s.handlePRM))
	mux.Handle("/.well-known/oauth-protected-resource", s.api(http.MethodGet, s.handlePRM))
	mux.Handle("/.well-known/", s.api(http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "no such metadata document"})
	}))
}

// api wraps a JSON endpoint: Host allowlist, CORS for any origin, OPTIONS answered before
// anything else, HEAD allowed wherever GET is, and a JSON 405 for other methods.
func (s *Server) api(method string, h http.HandlerFunc) http.Handler {
	allow := method + ", OPTIONS"
	if method == http.MethodGet {
		allow = "GET, HEAD, OPTIONS"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, ok := s.withOrigin(w, r)
		if !ok {
			return
		}
		hdr := w.Header()
		hdr.Set("Access-Control-Allow-Origin", "*")
		hdr.Set("Access-Control-Allow-Methods", allow)
		hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version")
		hdr.Set("Access-Control-Max-Age", "600")
		switch {
		case r.Method == http.MethodOptions:
			w.WriteHeader(http.StatusNoContent)
		case r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead):
			h(w, r)
		default:
			hdr.Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "method not allowed"})
		}
	})
}

// withOrigin makes sure the request carries its allowed origin in the context (Origins.Handler
// may or may not be in front); it answers 421 and returns false when the Host is not allowed.
func (s *Server) withOrigin(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if OriginFromContext(r.Context()) != "" {
		return r, true
	}
	origin := s.origins.Match(r.Host)
	if origin == "" {
		writeMisdirected(w)
		return r, false
	}
	return r.WithContext(context.WithValue(r.Context(), originKey{}, origin)), true
}

// remoteHost is the address of the peer. It is never taken from X-Forwarded-For or similar
// headers, which anyone can send: on the ngrok listener RemoteAddr already is the visitor's
// address (from ngrok's proxy header); behind a reverse proxy of the user's own ("custom"
// tunnel) every request comes from the proxy, and the per-address limits become global.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitKey is the key of an address in the per-address limits: an IPv4 address, or the /64 of
// an IPv6 address (one host usually has a whole /64 to rotate through).
func limitKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// grantedScope is the scope granted for any requested one: "mcp", the only scope served here.
// Scopes this server does not serve are ignored rather than refused: ChatGPT asks for
// "openid email profile offline_access", other clients add their own, and RFC 6749 §3.3 lets
// the server grant another scope than asked (the token response says which). Refresh tokens
// are issued without offline_access.
func grantedScope(requested string) string { return ScopeMCP }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (s *Server) sweepLoop() {
	defer close(s.stopped)
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.sweep(); err != nil {
				s.log.Warn("oauth sweep failed", "err", err)
			}
		}
	}
}

// sweep removes expired codes and tokens, grants with no token left, stale registered
// clients, and expired in-memory state. It runs every SweepInterval.
func (s *Server) sweep() error {
	now := s.now()
	if s.expireInMemory(now) {
		s.saveRecent()
		s.notify()
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		var codes, tokens, grants, clients [][]byte
		if err := forEachJSON(tx, bucketCodes, func(k []byte, c *codeRecord) error {
			if now.After(c.Expires) {
				codes = append(codes, clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		live := map[string]bool{}
		if err := forEachJSON(tx, bucketTokens, func(k []byte, t *tokenRecord) error {
			if now.After(t.Expires) {
				tokens = append(tokens, clone(k))
			} else {
				live[t.GrantID] = true
			}
			return nil
		}); err != nil {
			return err
		}
		if err := forEachJSON(tx, bucketGrants, func(k []byte, g *grantRecord) error {
			if !live[g.ID] && now.Sub(g.Created) > CodeTTL {
				grants = append(grants, clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		if err := forEachJSON(tx, bucketClients, func(k []byte, c *clientRecord) error {
			if c.stale(now) {
				clients = append(clients, clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, kv := range []struct {
			b    []byte
			keys [][]byte
		}{{bucketCodes, codes}, {bucketTokens, tokens}, {bucketGrants, grants}, {bucketClients, clients}} {
			if err := deleteKeys(tx, kv.b, kv.keys); err != nil {
				return err
			}
		}
		for _, id := range clients {
			if err := removeClientDataTx(tx, string(id)); err != nil {
				return err
			}
		}
		return sweepThrottleTx(tx, now)
	})
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
