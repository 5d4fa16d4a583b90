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

// Keys of auth.TokenInfo.Extra that Protect sets for the handler behind it.
const (
	InfoClientID   = "client_id"   // string: the OAuth client the token was issued to
	InfoClientName = "client_name" // string: the client's name as shown at its sign-in
	InfoResource   = "resource"    // string: the token's audience URL (<origin>/mcp or <origin>/mcp/NAME)
)

// verifyAccessToken checks a bearer token for the resource name on origin: known (by hash),
// an access token, not expired, and issued for a resource accepted there (audienceAccepted).
// Scope is checked by the caller.
func (s *Server) verifyAccessToken(token, origin, name string) (*auth.TokenInfo, *Error) {
	invalid := func(d string) *Error { return oauthErr(http.StatusUnauthorized, "invalid_token", d) }
	if !strings.HasPrefix(token, prefixAccess) {
		return nil, invalid("the access token is not valid")
	}
	var t tokenRecord
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = getJSON(tx, bucketTokens, hashToken(token), &t)
		if ok && t.ClientName == "" { // issued before tokens kept the name
			t.ClientName = clientNameTx(tx, t.ClientID)
		}
		return err
	})
	switch {
	case err != nil:
		return nil, serverError()
	case !ok || t.Kind != kindAccess:
		return nil, invalid("the access token is unknown or revoked")
	case !s.now().Before(t.Expires):
		return nil, invalid("the access token expired")
	case !audienceAccepted(t.Resource, origin, name):
		return nil, invalid("the access token was issued for another resource")
	}
	return &auth.TokenInfo{
		UserID: t.User, Scopes: strings.Fields(t.Scope), Expiration: t.Expires,
		Extra: map[string]any{InfoClientID: t.ClientID, InfoClientName: t.ClientName, InfoResource: t.Resource},
	}, nil
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

// Protect guards the resource name: <origin>/mcp/<name>, or <origin>/mcp for AllServers. In
// order: Host allowlist (421), Origin header (403 unless allowed), CORS and OPTIONS (before
// any authentication), 404 when name is not shared (AllServers: when nothing is), then the
// bearer token: 401 without one or with a bad, expired, revoked or foreign one, 403 without
// the "mcp" scope, each with the WWW-Authenticate of PROTOCOL.md; 403 without a challenge
// when the owner's rules no longer let the token's user use the server (Config.MayUse). A token for <origin>/mcp is
// accepted at every <origin>/mcp/<name>; a token for one server opens no other.
//
// On success the context carries the go-sdk's auth.TokenInfo: UserID is the user name, and
// Extra holds InfoClientID, InfoClientName and InfoResource. The Authorization header is left
// for next to ignore (it must never be forwarded).
//
// Protect is called once per resource when the routes are built; everything it checks, it
// checks per request, so servers shared or unshared later are answered right.
func (s *Server) Protect(name string, next http.Handler) http.Handler {
	// The SDK keeps its context key private; RequireBearerToken is the way to set it. The
	// token is verified before (so that refusals carry our challenge and JSON body), and the
	// verifier only hands the result over. Expiry was checked against Config.Now; the skew
	// keeps the SDK's own check against the wall clock from overruling it.
	withInfo := auth.RequireBearerToken(func(_ context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		if ti, ok := r.Context().Value(verifiedKey{}).(*auth.TokenInfo); ok {
			return ti, nil
		}
		return nil, auth.ErrInvalidToken
	}, &auth.RequireBearerTokenOptions{ClockSkew: 100 * 365 * 24 * time.Hour})(next)
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
		if !s.isShared(name) {
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
		info, e := s.verifyAccessToken(token, origin, name)
		if e == nil && !slices.Contains(info.Scopes, ScopeMCP) {
			e = oauthErr(http.StatusForbidden, "insufficient_scope", "the access token lacks the mcp scope")
		}
		if e == nil && !s.userMayUse(info.UserID, name) {
			// Not a scope the client could ask for: no challenge, so it does not sign in again.
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "forbidden", "error_description": "the owner has not shared this server with you"})
			return
		}
		if e != nil {
			if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
				h.Set("WWW-Authenticate", challenge(e.Code, e.Description, prm))
			}
			writeError(w, e)
			return
		}
		withInfo.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), verifiedKey{}, info)))
	})
}

// verifiedKey carries the TokenInfo of a verified token from Protect to its SDK wrapper.
type verifiedKey struct{}
