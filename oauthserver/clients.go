package oauthserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"go.etcd.io/bbolt"
)

// Client is a registered OAuth client, as the GUI lists it.
type Client struct {
	ID            string
	Name          string // never empty: the pre-registered client and unnamed ones get one
	RedirectURIs  []string
	AuthMethod    string // "none", "client_secret_post", "client_secret_basic" or "private_key_jwt"
	Preregistered bool
	Document      bool // known by its metadata document: ID is the document's URL
	Created       time.Time
	LastUsed      time.Time // zero until the client first obtains a token
}

// Token endpoint authentication methods.
const (
	AuthNone        = "none"
	AuthSecretPost  = "client_secret_post"
	AuthSecretBasic = "client_secret_basic"
)

// Dynamic registration bounds, and the lifetime of clients nobody uses.
const (
	MaxClients                     = 1000
	MaxRegistrationsPerMinute      = 10 // per address (IPv4, IPv6 /64)
	MaxBlockRegistrationsPerMinute = 30 // per address block (IPv4 /24, IPv6 /48)
	MaxRegisterBody                = 64 << 10
	MaxRedirectURIs                = 10
	ClientUnusedTTL                = 30 * 24 * time.Hour // since the last token
	// ClientNeverUsedTTL is how long a registered client that never obtained a token is kept.
	// Real clients register and sign in within minutes; when the table is full, such clients
	// make room before that, those of the network holding the most first.
	ClientNeverUsedTTL = time.Hour
)

// PreregisteredRedirectURIs are the callbacks of the pre-registered client. A "*" stands for
// exactly one non-empty path segment. Loopback http (any port, any path) is accepted as well.
var preregisteredRedirects = []string{
	"https://chatgpt.com/connector/oauth/*",
	"https://chatgpt.com/connector_platform_oauth_redirect",
	"https://claude.ai/api/mcp/auth_callback",
	"https://claude.com/api/mcp/auth_callback",
}

func (c *clientRecord) public() Client {
	uris := c.RedirectURIs
	if c.Preregistered {
		uris = append(slices.Clone(preregisteredRedirects), "http://127.0.0.1:*/*", "http://localhost:*/*", "http://[::1]:*/*")
	}
	return Client{ID: c.ID, Name: safeText(c.displayName(), 100), RedirectURIs: slices.Clone(uris), AuthMethod: c.AuthMethod,
		Preregistered: c.Preregistered, Document: c.Document, Created: c.Created, LastUsed: c.LastUsed}
}

// stale reports whether a registered client has gone unused long enough to be deleted.
func (c *clientRecord) stale(now time.Time) bool {
	if c.Preregistered {
		return false
	}
	if c.LastUsed.IsZero() {
		return now.Sub(c.Created) > ClientNeverUsedTTL
	}
	return now.Sub(c.LastUsed) > ClientUnusedTTL
}

// displayName is what the login page and the approval show.
func (c *clientRecord) displayName() string {
	if c.Name != "" {
		return c.Name
	}
	if c.Preregistered {
		return "ChatGPT / Claude (pre-registered client)"
	}
	return "Unnamed client " + c.ID
}

// describeFor names the client for the person who signs in and approves, for a sign-in that
// returns to redirect (already verified). The pre-registered client is shared by ChatGPT and
// Claude, so its redirect URI tells which of them is asking; a registered client's name is
// checked against where it returns to (describeClient).
func (c *clientRecord) describeFor(redirect string) clientDisplay {
	u, err := url.Parse(redirect)
	if err != nil {
		return clientDisplay{Name: safeText(c.displayName(), 100)}
	}
	var d clientDisplay
	switch {
	case c.Document:
		// The document's host is verified by TLS; the name is the document's word.
		idHost := ""
		if id, err := url.Parse(c.ID); err == nil {
			idHost = id.Host
		}
		d = describeClient(c.Name, idHost, true)
	case c.Preregistered && c.Name == "":
		d.Name = c.displayName()
		switch u.Hostname() {
		case "chatgpt.com":
			d.Name = "ChatGPT"
		case "claude.ai", "claude.com":
			d.Name = "Claude"
		}
	default:
		d = describeClient(c.displayName(), u.Host, false)
	}
	d.Warnings = append(d.Warnings, redirectWarnings(u.Host, c.Document)...)
	return d
}

// clientNameTx is the display name of a stored client, "" when it is gone.
func clientNameTx(tx *bbolt.Tx, id string) string {
	var c clientRecord
	if ok, err := getJSON(tx, bucketClients, []byte(id), &c); err != nil || !ok {
		return ""
	}
	return c.displayName()
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateRedirectURI checks a redirect URI at registration: absolute https, or http on a
// loopback host (RFC 8252 §7.3); no fragment, no user info.
func validateRedirectURI(raw string) *Error {
	bad := func(why string) *Error {
		return oauthErr(http.StatusBadRequest, "invalid_redirect_uri", fmt.Sprintf("redirect URI %q %s", truncate(raw, 200), why))
	}
	if len(raw) > 2000 {
		return bad("is too long")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return bad("is not an absolute URL")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("must not contain a fragment")
	}
	if u.User != nil {
		return bad("must not contain user info")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
		return bad("uses http on a host that is not loopback (use https)")
	default:
		return bad("must use https, or http on a loopback address")
	}
}

// redirectAllowed reports whether redirect is one of the client's redirect URIs. Registered
// clients need an exact match, except that a loopback http URI may use any port (RFC 8252 §7.3).
// The pre-registered client accepts its fixed callbacks (ChatGPT's connector pattern with one
// path segment) and loopback http on any port and path.
func (c *clientRecord) redirectAllowed(redirect string) bool {
	u, err := url.Parse(redirect)
	if err != nil || len(redirect) > 2000 || u.Fragment != "" || u.User != nil || strings.Contains(redirect, "#") {
		return false
	}
	if c.Preregistered {
		if u.Scheme == "http" && isLoopbackHost(u.Hostname()) {
			return true
		}
		for _, p := range preregisteredRedirects {
			if matchPattern(p, redirect, u) {
				return true
			}
		}
		return false
	}
	for _, r := range c.RedirectURIs {
		if r == redirect {
			return true
		}
		if strings.HasPrefix(redirect, "http://"+u.Host) && isLoopbackHost(u.Hostname()) {
			// Only the port may differ: what follows host[:port] must be the same bytes, so
			// that an encoded slash or an empty query is no match.
			ru, err := url.Parse(r)
			if err == nil && strings.HasPrefix(r, "http://"+ru.Host) && ru.Hostname() == u.Hostname() &&
				redirect[len("http://"+u.Host):] == r[len("http://"+ru.Host):] {
				return true
			}
		}
	}
	return false
}

// matchPattern matches raw against a fixed callback, or against a pattern whose trailing "*"
// stands for one path segment of unreserved characters (RFC 3986 §2.3) other than "." and "..".
func matchPattern(pattern, raw string, u *url.URL) bool {
	prefix, ok := strings.CutSuffix(pattern, "*")
	if !ok {
		return raw == pattern
	}
	seg, ok := strings.CutPrefix(raw, prefix)
	if !ok || seg == "" || seg == "." || seg == ".." || len(seg) > 256 || u.Scheme != "https" {
		return false
	}
	for _, c := range seg {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

// lookupClient loads a client; nil when unknown.
func (s *Server) lookupClient(id string) (*clientRecord, error) {
	if id == "" {
		return nil, nil
	}
	var c clientRecord
	var ok bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = getJSON(tx, bucketClients, []byte(id), &c)
		return err
	})
	if err != nil || !ok {
		return nil, err
	}
	return &c, nil
}

// clientCredentials is how a request to /token or /revoke authenticated its client.
type clientCredentials struct {
	ID, Secret string
	Assertion  string // the client_assertion of private_key_jwt
	Method     string // AuthNone, AuthSecretPost, AuthSecretBasic or AuthPrivateKeyJWT
}

// parseClientCredentials reads client_secret_basic (Authorization header), client_secret_post
// (client_id and client_secret in the form), private_key_jwt (client_assertion, RFC 7523
// §2.2; client_id optional) or none (client_id alone). Using two methods at once is refused
// (RFC 6749 §2.3).
func parseClientCredentials(r *http.Request) (clientCredentials, *Error) {
	formID, formSecret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if atype, assertion := r.PostForm.Get("client_assertion_type"), r.PostForm.Get("client_assertion"); atype != "" || assertion != "" {
		cred := clientCredentials{ID: formID, Assertion: assertion, Method: AuthPrivateKeyJWT}
		switch {
		case atype != JWTBearerAssertion:
			return cred, invalidClient("client_assertion_type must be " + JWTBearerAssertion)
		case assertion == "":
			return cred, invalidClient("client_assertion is missing")
		case formSecret != "" || r.Header.Get("Authorization") != "":
			return cred, invalidRequest("use only one client authentication method")
		case len(assertion) > 16<<10:
			return cred, invalidClient("client_assertion is too long")
		}
		if cred.ID == "" {
			// The client is the assertion's issuer; its signature is checked against that
			// client's keys, so reading it unverified here names no one it should not.
			if tok, err := jwt.ParseSigned(assertion, assertionAlgorithms); err == nil {
				var c jwt.Claims
				if tok.UnsafeClaimsWithoutVerification(&c) == nil {
					cred.ID = c.Issuer
				}
			}
			if cred.ID == "" {
				return cred, invalidClient("client_assertion names no client (iss)")
			}
		}
		return cred, nil
	}
	if h := r.Header.Get("Authorization"); h != "" {
		user, pass, ok := r.BasicAuth()
		if !ok {
			e := invalidClient("the Authorization header is not valid HTTP Basic authentication")
			return clientCredentials{Method: AuthSecretBasic}, e
		}
		// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return clientCredentials{Method: AuthSecretBasic}, invalidClient("malformed client credentials in the Authorization header")
		}
		if formSecret != "" {
			return clientCredentials{Method: AuthSecretBasic}, invalidRequest("use only one client authentication method")
		}
		if formID != "" && formID != id {
			return clientCredentials{Method: AuthSecretBasic}, invalidRequest("client_id does not match the Authorization header")
		}
		return clientCredentials{ID: id, Secret: secret, Method: AuthSecretBasic}, nil
	}
	if formID == "" {
		return clientCredentials{}, invalidClient("client authentication is required (client_id missing)")
	}
	if formSecret != "" {
		return clientCredentials{ID: formID, Secret: formSecret, Method: AuthSecretPost}, nil
	}
	return clientCredentials{ID: formID, Method: AuthNone}, nil
}

// authenticateClient checks credentials against the client (stored, or described by its
// metadata document): it must exist, the method must be the registered one (the
// pre-registered client may use either secret method), and the secret's hash or the
// assertion (verifyAssertion; origin is the issuer, endpoint the URL called) must match.
func (s *Server) authenticateClient(ctx context.Context, cred clientCredentials, origin, endpoint, addr string) (*clientRecord, *Error) {
	c, err := s.findClient(ctx, cred.ID, addr)
	var de *DocumentError
	switch {
	case errors.As(err, &de):
		return nil, invalidClient(de.Reason)
	case err != nil:
		return nil, serverError()
	case c == nil:
		return nil, invalidClient("unknown client; register again")
	}
	methodOK := cred.Method == c.AuthMethod ||
		(c.Preregistered && (cred.Method == AuthSecretPost || cred.Method == AuthSecretBasic))
	if !methodOK {
		return nil, invalidClient(fmt.Sprintf("this client must authenticate with %s", c.AuthMethod))
	}
	switch cred.Method {
	case AuthNone:
	case AuthPrivateKeyJWT:
		if e := s.verifyAssertion(ctx, c, cred.Assertion, origin, endpoint, addr); e != nil {
			return nil, e
		}
	default:
		if subtle.ConstantTimeCompare(hashToken(cred.Secret), c.SecretHash) != 1 {
			return nil, invalidClient("wrong client secret")
		}
	}
	return c, nil
}

// EnsurePreregisteredClient creates the installation's pre-registered client on first use and
// returns its id; secret is returned only when created (store it; only its hash is kept here).
func (s *Server) EnsurePreregisteredClient() (id, secret string, created bool, err error) {
	secret = newSecret(prefixSecret)
	rec := clientRecord{
		ID:            "mcpshare-" + strings.ToLower(newID()[:16]),
		AuthMethod:    AuthSecretPost,
		SecretHash:    hashToken(secret),
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		Preregistered: true,
		Created:       s.now(),
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if existing := tx.Bucket(bucketMeta).Get(keyPreregistered); existing != nil &&
			tx.Bucket(bucketClients).Get(existing) != nil {
			id = string(existing)
			return nil
		}
		created = true
		id = rec.ID
		if err := putJSON(tx, bucketClients, []byte(rec.ID), rec); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyPreregistered, []byte(rec.ID))
	})
	if err != nil {
		return "", "", false, fmt.Errorf("oauthserver: pre-registered client: %w", err)
	}
	if !created {
		secret = ""
	}
	return id, secret, created, nil
}

// RotatePreregisteredSecret gives the pre-registered client a new secret (creating the client
// if needed). The old secret stops working at once; grants already given stay valid, but their
// refresh tokens can only be redeemed with the new secret.
func (s *Server) RotatePreregisteredSecret() (id, secret string, err error) {
	id, secret, created, err := s.EnsurePreregisteredClient()
	if err != nil || created {
		return id, secret, err
	}
	secret = newSecret(prefixSecret)
	err = s.db.Update(func(tx *bbolt.Tx) error {
		var c clientRecord
		ok, err := getJSON(tx, bucketClients, []byte(id), &c)
		if err != nil {
			return err
		}
		if !ok {
			return ErrClientNotFound
		}
		c.SecretHash = hashToken(secret)
		return putJSON(tx, bucketClients, []byte(id), c)
	})
	if err != nil {
		return "", "", fmt.Errorf("oauthserver: rotate pre-registered secret: %w", err)
	}
	return id, secret, nil
}

// Clients lists the clients, the pre-registered one first, then by creation time.
func (s *Server) Clients() ([]Client, error) {
	var list []Client
	err := s.db.View(func(tx *bbolt.Tx) error {
		return forEachJSON(tx, bucketClients, func(_ []byte, c *clientRecord) error {
			list = append(list, c.public())
			return nil
		})
	})
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Preregistered != list[j].Preregistered {
			return list[i].Preregistered
		}
		return list[i].Created.Before(list[j].Created)
	})
	return list, err
}

// RevokeClient deletes a client with its grants, tokens, codes and remembered approvals.
// Deleting the pre-registered client is allowed; EnsurePreregisteredClient makes a new one.
func (s *Server) RevokeClient(id string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketClients).Get([]byte(id)) == nil {
			return fmt.Errorf("%w: %q", ErrClientNotFound, id)
		}
		if err := tx.Bucket(bucketClients).Delete([]byte(id)); err != nil {
			return err
		}
		return removeClientDataTx(tx, id)
	})
}

// removeClientDataTx removes everything issued to a client that no longer exists.
func removeClientDataTx(tx *bbolt.Tx, id string) error {
	if err := deleteApprovalsTx(tx, func(_, client string) bool { return client == id }); err != nil {
		return err
	}
	return revokeGrantsTx(tx, func(client, _, _ string) bool { return client == id })
}
