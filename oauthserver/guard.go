package oauthserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"go.etcd.io/bbolt"
)

// CORS of the MCP endpoint (PROTOCOL.md item 9).
const (
	mcpAllowHeaders  = "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID, Mcp-Method, Mcp-Name"
	mcpExposeHeaders = "WWW-Authenticate, Mcp-Session-Id"
	mcpAllowMethods  = "GET, POST, DELETE, OPTIONS"
)

// tokenInfo is what a verified access token says.
type tokenInfo struct {
	User    string
	Scopes  []string
	Expires time.Time
}

// verifyAccessToken checks a bearer token for resource: known (by hash), an access token, not
// expired, issued for exactly this resource URL. Scope is checked by the caller.
func (s *Server) verifyAccessToken(token, resource string) (*tokenInfo, *Error) {
	invalid := func(d string) *Error { return oauthErr(http.StatusUnauthorized, "invalid_token", d) }
	if !strings.HasPrefix(token, prefixAccess) {
		return nil, invalid("the access token is not valid")
	}
	var t tokenRecord
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = getJSON(tx, bucketTokens, hashToken(token), &t)
		return err
	})
	switch {
	case err != nil:
		return nil, serverError()
	case !ok || t.Kind != kindAccess:
		return nil, invalid("the access token is unknown or revoked")
	case !s.now().Before(t.Expires):
		return nil, invalid("the access token expired")
	case t.Resource != resource:
		return nil, invalid("the access token was issued for another resource")
	}
	return &tokenInfo{User: t.User, Scopes: strings.Fields(t.Scope), Expires: t.Expires}, nil
}

// bearerToken returns the token of an "Authorization: Bearer" header (never a query
// parameter); present is false when there is no such header at all.
func bearerToken(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	f := strings.Fields(h)
	if len(f) == 0 || !strings.EqualFold(f[0], "bearer") {
		return "", false
	}
	if len(f) != 2 {
		return "", true
	}
	return f[1], true
}

// challenge builds the WWW-Authenticate value of a refusal (RFC 6750 §3, RFC 9728 §5.1).
func challenge(errCode, description, prm string) string {
	if errCode == "" {
		return fmt.Sprintf(`Bearer resource_metadata=%q, scope=%q`, prm, ScopeMCP)
	}
	if errCode == "insufficient_scope" {
		return fmt.Sprintf(`Bearer error=%q, scope=%q, resource_metadata=%q`, errCode, ScopeMCP, prm)
	}
	return fmt.Sprintf(`Bearer error=%q, error_description=%q, resource_metadata=%q, scope=%q`, errCode, description, prm, ScopeMCP)
}

// Protect guards the resource <origin>/mcp/<name>. In order: Host allowlist (421), Origin
// header (403 unless allowed), CORS and OPTIONS (before any authentication), 404 when name is
// not shared, then the bearer token: 401 without one or with a bad, expired, revoked or
// foreign one, 403 without the "mcp" scope, each with the WWW-Authenticate of PROTOCOL.md.
// On success the context carries the go-sdk's auth.TokenInfo (UserID = user name) and next
// is called; the Authorization header is left for next to ignore (bridges must not forward it).
func (s *Server) Protect(name string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, ok := s.withOrigin(w, r)
		if !ok {
			return
		}
		origin := OriginFromContext(r.Context())
		h := w.Header()
		if o := r.Header.Get("Origin"); o != "" && !s.origins.Allowed(o) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "forbidden", "error_description": "requests from this Origin are not allowed"})
			return
		}
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", mcpExposeHeaders)
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", mcpAllowMethods)
			h.Set("Access-Control-Allow-Headers", mcpAllowHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if !slices.Contains(s.resources(), name) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "this server is not shared"})
			return
		}
		prm := prmURL(origin, name)
		token, present := bearerToken(r)
		if !present {
			h.Set("WWW-Authenticate", challenge("", "", prm))
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "error_description": "a bearer token is required"})
			return
		}
		info, e := s.verifyAccessToken(token, resourceURL(origin, name))
		if e == nil && !slices.Contains(info.Scopes, ScopeMCP) {
			e = oauthErr(http.StatusForbidden, "insufficient_scope", "the access token lacks the mcp scope")
		}
		if e != nil {
			if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
				h.Set("WWW-Authenticate", challenge(e.Code, e.Description, prm))
			}
			writeError(w, e)
			return
		}
		ti := &auth.TokenInfo{UserID: info.User, Scopes: info.Scopes, Expiration: info.Expires}
		// The SDK keeps its context key private; RequireBearerToken is the way to set it. The
		// token is already verified, so the verifier just hands over the result. The SDK checks
		// the expiry against the wall clock; the skew makes it agree with Config.Now.
		sdk := auth.RequireBearerToken(func(context.Context, string, *http.Request) (*auth.TokenInfo, error) {
			return ti, nil
		}, &auth.RequireBearerTokenOptions{ClockSkew: time.Since(s.now()) + time.Minute})
		sdk(next).ServeHTTP(w, r)
	})
}
