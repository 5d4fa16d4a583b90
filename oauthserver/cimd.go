package oauthserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"
)

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-02, MCP
// 2025-11-25 and 2026-07-28): a client_id that is an https URL names a JSON document with the
// client's metadata, fetched from there (fetch.go) and cached (doccache.go). Such clients need
// no registration: ChatGPT, Claude, Claude Code and VS Code use them when the authorization
// server metadata says client_id_metadata_document_supported.

// Limits of client ID metadata documents.
const (
	MaxClientIDURL               = 1024 // characters of a client ID URL
	MaxDocumentFetchesPerMinute  = 30   // per address block, of documents not in the cache
	AuthPrivateKeyJWT            = "private_key_jwt"
	maxDocumentClientNameRunes   = 200
	documentClientIDPrefix       = "https://"
	documentErrorTitle           = "Application not recognized"
	documentUnavailableTryAgain  = "Try again in a minute; if it keeps failing, the application's publisher has to fix it."
	documentAuthMethodsSupported = "none or private_key_jwt"
)

// DocumentError says why a client's metadata document could not be used. Its Reason is a
// sentence safe to show the person signing in.
type DocumentError struct {
	URL    string
	Reason string
	Err    error // the fetch failure, if any
}

func (e *DocumentError) Error() string {
	return fmt.Sprintf("client metadata document %s: %s", truncate(e.URL, 200), e.Reason)
}

func (e *DocumentError) Unwrap() error { return e.Err }

// isDocumentClientID reports whether a client_id names a metadata document. Client IDs issued
// here (mcpc_…, mcpshare-…) never start with https://.
func isDocumentClientID(id string) bool { return strings.HasPrefix(id, documentClientIDPrefix) }

// checkClientIDURL applies the rules of a client ID URL (draft §3): https, a host (ASCII: a
// look-alike host is refused rather than shown), a path without dot segments, no user info,
// no query, no fragment, bounded length. It returns the parsed URL.
func checkClientIDURL(raw string) (*url.URL, error) {
	bad := func(why string) (*url.URL, error) {
		return nil, &DocumentError{URL: raw, Reason: "its client ID is not a valid client ID URL: " + why}
	}
	if len(raw) > MaxClientIDURL {
		return bad(fmt.Sprintf("longer than %d characters", MaxClientIDURL))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Scheme != "https" || u.Opaque != "":
		return bad("not an https URL")
	case u.User != nil:
		return bad("it contains user info")
	case u.Host == "" || u.Hostname() == "":
		return bad("it has no host")
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(raw, "?"):
		return bad("it has a query")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return bad("it has a fragment")
	case u.Path == "":
		return bad("it has no path")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] >= utf8.RuneSelf || raw[i] <= ' ' {
			return bad("it contains characters that are not printable ASCII")
		}
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if d, err := url.PathUnescape(seg); err != nil || d == "." || d == ".." {
			return bad("its path has a . or .. segment")
		}
	}
	return u, nil
}

// clientDocument is the part of a client metadata document this server reads.
type clientDocument struct {
	ClientID                string          `json:"client_id"`
	ClientName              string          `json:"client_name"`
	RedirectURIs            []string        `json:"redirect_uris"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	JWKSURI                 string          `json:"jwks_uri"`
	JWKS                    json.RawMessage `json:"jwks"`
	ClientSecret            json.RawMessage `json:"client_secret"`
	ClientSecretExpiresAt   json.RawMessage `json:"client_secret_expires_at"`
}

// parseClientDocument validates the document fetched from rawURL and returns the client it
// describes. The document's client_id must be rawURL byte for byte; redirect URIs follow the
// rules of registration; grant and response types must be ours; only "none" and
// private_key_jwt authenticate (there is no way to share a secret), the latter with a key set
// by jwks_uri (https, fetched under the same guard) or inline jwks of public keys only.
func parseClientDocument(rawURL string, body []byte) (*clientRecord, error) {
	bad := func(format string, args ...any) (*clientRecord, error) {
		return nil, &DocumentError{URL: rawURL, Reason: fmt.Sprintf(format, args...)}
	}
	var doc clientDocument
	dec := json.NewDecoder(bytes.NewReader(body))
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return bad("its metadata document is not a JSON object")
	}
	if err := dec.Decode(&doc); err != nil {
		return bad("its metadata document is not valid: %s", truncate(err.Error(), 120))
	}
	if dec.More() {
		return bad("its metadata document has data after the JSON object")
	}
	if doc.ClientID != rawURL {
		return bad("its metadata document names another client_id (%q)", truncate(doc.ClientID, 120))
	}
	if len(doc.RedirectURIs) == 0 || len(doc.RedirectURIs) > MaxRedirectURIs {
		return bad("its metadata document must list 1 to %d redirect_uris", MaxRedirectURIs)
	}
	for _, r := range doc.RedirectURIs {
		if e := validateRedirectURI(r); e != nil {
			return bad("its metadata document has an invalid redirect URI: %s", e.Description)
		}
	}
	for _, g := range doc.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			return bad("its metadata document asks for the grant type %q, which is not supported", truncate(g, 40))
		}
	}
	if len(doc.GrantTypes) > 0 && !slices.Contains(doc.GrantTypes, "authorization_code") {
		return bad("its metadata document does not include the grant type authorization_code")
	}
	if len(doc.ResponseTypes) > 0 && (len(doc.ResponseTypes) != 1 || doc.ResponseTypes[0] != "code") {
		return bad(`its metadata document must use response_types ["code"]`)
	}
	if len(doc.ClientSecret) > 0 || len(doc.ClientSecretExpiresAt) > 0 {
		return bad("its metadata document contains a client secret, which a public document must not")
	}
	c := &clientRecord{
		ID: rawURL, Name: strings.TrimSpace(doc.ClientName), RedirectURIs: slices.Clone(doc.RedirectURIs),
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"}, Document: true,
	}
	if utf8.RuneCountInString(c.Name) > maxDocumentClientNameRunes {
		return bad("its client_name is longer than %d characters", maxDocumentClientNameRunes)
	}
	switch doc.TokenEndpointAuthMethod {
	case "", AuthNone:
		c.AuthMethod = AuthNone
	case AuthPrivateKeyJWT:
		c.AuthMethod = AuthPrivateKeyJWT
		switch {
		case doc.JWKSURI != "" && len(doc.JWKS) > 0:
			return bad("its metadata document has both jwks_uri and jwks")
		case doc.JWKSURI != "":
			if _, err := checkKeySetURL(doc.JWKSURI); err != nil {
				return bad("its jwks_uri is not an https URL without user info or fragment")
			}
			c.JWKSURI = doc.JWKSURI
		case len(doc.JWKS) > 0:
			if _, err := parseKeySet(doc.JWKS); err != nil {
				return bad("its jwks is not a set of public keys: %s", err.Error())
			}
			c.JWKS = slices.Clone([]byte(doc.JWKS))
		default:
			return bad("it uses private_key_jwt but publishes no keys (jwks_uri or jwks)")
		}
	default:
		return bad("its token_endpoint_auth_method %q is not supported (%s; a metadata document cannot share a secret)",
			truncate(doc.TokenEndpointAuthMethod, 40), documentAuthMethodsSupported)
	}
	return c, nil
}

// checkKeySetURL validates a jwks_uri: https, a host, no user info, no fragment.
func checkKeySetURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || len(raw) > MaxClientIDURL {
		return nil, errors.New("invalid jwks_uri")
	}
	return u, nil
}

// documentClient returns the client described by the metadata document at id, from the cache
// or fetched for the browser or client at addr.
func (s *Server) documentClient(ctx context.Context, id, addr string) (*clientRecord, error) {
	if _, err := checkClientIDURL(id); err != nil {
		return nil, err
	}
	v, err := s.documents.get(ctx, id, false, s.fetchAllowed(addr), func(ctx context.Context) (any, time.Duration, error) {
		start := time.Now()
		f, err := s.fetch.get(ctx, id, MaxClientDocument)
		if err != nil {
			s.log.Warn("client metadata document not fetched", "client", id, "err", err)
			return nil, 0, &DocumentError{URL: id, Reason: "its metadata document could not be fetched: " + strings.TrimPrefix(err.Error(), ErrFetch.Error()+": "), Err: err}
		}
		c, err := parseClientDocument(id, f.Body)
		if err != nil {
			s.log.Warn("client metadata document refused", "client", id, "err", err)
			return nil, 0, err
		}
		s.log.Info("client metadata document fetched", "client", id, "client_name", safeText(c.Name, 100), "auth_method", c.AuthMethod, "took", time.Since(start).Round(time.Millisecond).String())
		return c, f.TTL, nil
	})
	if err != nil {
		return nil, err
	}
	c := *v.(*clientRecord) // a copy: callers may not change the cached one
	return &c, nil
}

// fetchAllowed returns the check that bounds fetches of documents not in the cache per
// address block, so that no one can make this server fetch URL after URL.
func (s *Server) fetchAllowed(addr string) func() error {
	return func() error {
		now := s.now()
		key := blockKey(addr)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fetchRate.blocked(key, now) {
			return &DocumentError{Reason: "too many applications were looked up from your network; " + documentUnavailableTryAgain}
		}
		s.fetchRate.hit(key, now)
		return nil
	}
}

// findClient returns the client id names: one described by its metadata document, or one
// stored here. A nil client and nil error mean there is no such client.
func (s *Server) findClient(ctx context.Context, id, addr string) (*clientRecord, error) {
	if isDocumentClientID(id) {
		return s.documentClient(ctx, id, addr)
	}
	return s.lookupClient(id)
}

// rememberDocumentClientTx stores (or updates) the listing of a client known by its metadata
// document once it obtains tokens, so that the owner sees it among the clients and can revoke
// it. The stored record is for listing only: its document stays the authority.
func rememberDocumentClientTx(tx *bbolt.Tx, c *clientRecord, now time.Time) error {
	var rec clientRecord
	ok, err := getJSON(tx, bucketClients, []byte(c.ID), &rec)
	if err != nil {
		return err
	}
	if !ok {
		rec = clientRecord{ID: c.ID, Document: true, Created: now}
	}
	rec.Name, rec.AuthMethod, rec.RedirectURIs, rec.LastUsed = c.Name, c.AuthMethod, c.RedirectURIs, now
	return putJSON(tx, bucketClients, []byte(c.ID), rec)
}

// documentPageError is the page shown when a client's metadata document cannot be used.
func documentPageError(err error) *pageError {
	var de *DocumentError
	if !errors.As(err, &de) {
		return &pageError{http.StatusInternalServerError, "Something went wrong", "The sign-in could not be started. Try again."}
	}
	host := ""
	if u, perr := url.Parse(de.URL); perr == nil && u.Host != "" {
		host, _ = displayHost(u.Host)
	}
	msg := "The application asking you to sign in could not be recognized: " + de.Reason + "."
	if host != "" {
		msg = fmt.Sprintf("The application from %s asking you to sign in could not be recognized: %s.", host, de.Reason)
	}
	if de.Err != nil {
		msg += " " + documentUnavailableTryAgain
	}
	return &pageError{http.StatusBadRequest, documentErrorTitle, msg}
}
