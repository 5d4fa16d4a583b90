package oauthserver

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Origins is the Host allowlist: the origins of the local listener plus the current public
// origin. It is safe for concurrent use. It is the DNS-rebinding guard and the source of every
// URL the server advertises: a request is answered only when its Host belongs to an allowed
// origin, and that origin (with the scheme of the allowlist entry) becomes the issuer.
type Origins struct {
	mu     sync.RWMutex
	local  []string
	public string
}

// NewOrigins returns an empty allowlist; until SetLocal or SetPublic is called every request
// is refused.
func NewOrigins() *Origins { return &Origins{} }

// SetLocal replaces the local origins, e.g. "http://127.0.0.1:8765", "http://localhost:8765".
// Entries that are not origins (scheme://host[:port]) are ignored.
func (o *Origins) SetLocal(origins ...string) {
	var list []string
	for _, s := range origins {
		if n, ok := normalizeOrigin(s); ok {
			list = append(list, n)
		}
	}
	o.mu.Lock()
	o.local = list
	o.mu.Unlock()
}

// SetPublic sets the public origin, e.g. "https://x.ngrok.app"; "" removes it.
func (o *Origins) SetPublic(origin string) {
	n, ok := normalizeOrigin(origin)
	if !ok {
		n = ""
	}
	o.mu.Lock()
	o.public = n
	o.mu.Unlock()
}

// Public returns the current public origin, or "" when there is none.
func (o *Origins) Public() string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.public
}

// Allowed reports whether origin (scheme://host[:port], as in an Origin header) is on the list.
func (o *Origins) Allowed(origin string) bool {
	n, ok := normalizeOrigin(origin)
	if !ok {
		return false
	}
	for _, a := range o.all() {
		if a == n {
			return true
		}
	}
	return false
}

func (o *Origins) all() []string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	list := make([]string, 0, len(o.local)+1)
	list = append(list, o.local...)
	if o.public != "" {
		list = append(list, o.public)
	}
	return list
}

// Match returns the allowed origin whose host[:port] is host (a request's Host), or "".
func (o *Origins) Match(host string) string {
	h := normalizeHost("", host)
	if h == "" {
		return ""
	}
	for _, a := range o.all() {
		u, _ := url.Parse(a)
		if normalizeHost(u.Scheme, host) == u.Host {
			return a
		}
	}
	return ""
}

type originKey struct{}

// Handler answers 421 (JSON body) when r.Host is not the host of an allowed origin; otherwise
// it stores the matched origin in the request context (see OriginFromContext) and calls next.
func (o *Origins) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := o.Match(r.Host)
		if origin == "" {
			writeMisdirected(w)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), originKey{}, origin)))
	})
}

// OriginFromContext returns the origin stored by Origins.Handler, or "".
func OriginFromContext(ctx context.Context) string {
	s, _ := ctx.Value(originKey{}).(string)
	return s
}

func writeMisdirected(w http.ResponseWriter) {
	writeJSON(w, http.StatusMisdirectedRequest, map[string]string{
		"error":             "misdirected_request",
		"error_description": "this host name is not served here",
	})
}

// normalizeOrigin returns scheme://host[:port] in lower case without a default port, or false
// when s is not an http(s) origin.
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(s), "/"))
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	return scheme + "://" + normalizeHost(scheme, u.Host), true
}

// normalizeHost lower-cases host[:port] and drops the scheme's default port.
func normalizeHost(scheme, host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		return host
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return host
}
