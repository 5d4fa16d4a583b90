package oauthserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// MaxFormBody bounds the form bodies of /token and /revoke.
const MaxFormBody = 64 << 10

// tokenResponse is the RFC 6749 §5.1 answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// tokenRequest is a parsed /token request.
type tokenRequest struct {
	GrantType    string
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	Resource     string
	Origin       string // the issuer the request came in on
}

// parseForm reads an application/x-www-form-urlencoded body of at most MaxFormBody bytes.
// Parameters may not repeat (RFC 6749 §3.2).
func parseForm(w http.ResponseWriter, r *http.Request) *Error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return oauthErr(http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("the body is larger than %d bytes", MaxFormBody))
		}
		return invalidRequest("the body is not a valid form")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return invalidRequest(fmt.Sprintf("parameter %q appears more than once", truncate(k, 40)))
		}
	}
	return nil
}

func parseTokenRequest(r *http.Request) tokenRequest {
	f := r.PostForm
	return tokenRequest{
		GrantType: f.Get("grant_type"), Code: f.Get("code"), RedirectURI: f.Get("redirect_uri"),
		CodeVerifier: f.Get("code_verifier"), RefreshToken: f.Get("refresh_token"),
		Resource: f.Get("resource"), Origin: OriginFromContext(r.Context()),
	}
}

// validVerifier checks RFC 7636 §4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// exchange runs a token request for an authenticated client.
func (s *Server) exchange(c *clientRecord, req tokenRequest) (*tokenResponse, *Error) {
	switch req.GrantType {
	case "authorization_code":
		return s.exchangeCode(c, req)
	case "refresh_token":
		return s.refresh(c, req)
	case "":
		return nil, invalidRequest("grant_type is required")
	default:
		return nil, oauthErr(http.StatusBadRequest, "unsupported_grant_type", "supported grant types: authorization_code, refresh_token")
	}
}

// runUpdate runs fn in one Update transaction. fn returns an *Error to refuse with rollback,
// or sets *after to refuse after committing (for revocations on replay).
func (s *Server) runUpdate(fn func(tx *bbolt.Tx) (*Error, *Error)) *Error {
	var refuse, after *Error
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var err error
		refuse, after = fn(tx)
		if refuse != nil {
			err = refuse
		}
		return err
	})
	if refuse != nil {
		return refuse
	}
	if err != nil {
		s.log.Error("token store update failed", "err", err)
		return serverError()
	}
	return after
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3 with PKCE, RFC 7636 §4.6).
func (s *Server) exchangeCode(c *clientRecord, req tokenRequest) (*tokenResponse, *Error) {
	if req.Code == "" {
		return nil, invalidRequest("code is required")
	}
	if req.CodeVerifier == "" {
		return nil, invalidRequest("code_verifier is required (PKCE)")
	}
	if !validVerifier(req.CodeVerifier) {
		return nil, invalidGrant("code_verifier is not 43 to 128 unreserved characters")
	}
	now := s.now()
	key := hashToken(req.Code)
	var resp *tokenResponse
	e := s.runUpdate(func(tx *bbolt.Tx) (*Error, *Error) {
		var code codeRecord
		ok, err := getJSON(tx, bucketCodes, key, &code)
		if err != nil || !ok {
			return invalidGrant("unknown authorization code"), nil
		}
		if code.Used {
			// A second redemption means the code leaked: revoke what the first one issued.
			s.log.Warn("authorization code replayed; revoking its grant", "client", c.ID, "user", code.User)
			if err := revokeGrantTx(tx, code.GrantID); err != nil {
				return serverError(), nil
			}
			return nil, invalidGrant("authorization code already used")
		}
		switch {
		case now.After(code.Expires):
			return invalidGrant("authorization code expired"), nil
		case code.ClientID != c.ID:
			return invalidGrant("authorization code was issued to another client"), nil
		case (code.RedirectGiven || req.RedirectURI != "") && req.RedirectURI != code.RedirectURI:
			return invalidGrant("redirect_uri does not match the authorization request"), nil
		case subtle.ConstantTimeCompare([]byte(s256(req.CodeVerifier)), []byte(code.Challenge)) != 1:
			return invalidGrant("code_verifier does not match the code_challenge"), nil
		}
		audience, e := s.audienceFor(code.Resource, req.Resource)
		if e != nil {
			return e, nil
		}
		// The user may have been removed while the sign-in waited for approval.
		if tx.Bucket(bucketUsers).Get([]byte(code.User)) == nil {
			return invalidGrant("the user of this authorization no longer exists"), nil
		}
		if c.Document {
			if err := rememberDocumentClientTx(tx, c, now); err != nil {
				return serverError(), nil
			}
		}
		g := grantRecord{ID: newID(), ClientID: c.ID, ClientName: code.ClientName, User: code.User, Resource: code.Resource, Scope: code.Scope, Created: now}
		if err := putJSON(tx, bucketGrants, []byte(g.ID), g); err != nil {
			return serverError(), nil
		}
		code.Used, code.GrantID = true, g.ID
		if err := putJSON(tx, bucketCodes, key, code); err != nil {
			return serverError(), nil
		}
		r, err := issueTokensTx(tx, g, audience, nil, now)
		if err != nil {
			return serverError(), nil
		}
		resp = r
		return nil, nil
	})
	if e != nil {
		return nil, e
	}
	s.log.Info("tokens issued", "client", c.ID, "grant", "authorization_code")
	return resp, nil
}

// issueTokensTx stores a new access token for audience (the grant's resource or one it
// covers) and a new refresh token for grant g, and marks the client as used (unused clients
// expire). parent is the refresh token being rotated out, if any.
func issueTokensTx(tx *bbolt.Tx, g grantRecord, audience string, parent []byte, now time.Time) (*tokenResponse, error) {
	access, refresh := newSecret(prefixAccess), newSecret(prefixRefresh)
	name := g.ClientName
	if name == "" { // a grant stored before grants kept the name
		name = clientNameTx(tx, g.ClientID)
	}
	base := tokenRecord{GrantID: g.ID, ClientID: g.ClientID, ClientName: name, User: g.User, Resource: g.Resource, Scope: g.Scope, Created: now}
	at := base
	at.Kind, at.Expires, at.Resource = kindAccess, now.Add(AccessTokenTTL), audience
	rt := base
	rt.Kind, rt.Expires, rt.Parent = kindRefresh, now.Add(RefreshTokenTTL), parent
	if err := putJSON(tx, bucketTokens, hashToken(access), at); err != nil {
		return nil, err
	}
	if err := putJSON(tx, bucketTokens, hashToken(refresh), rt); err != nil {
		return nil, err
	}
	if parent != nil {
		var p tokenRecord
		if ok, err := getJSON(tx, bucketTokens, parent, &p); err == nil && ok {
			p.Child = hashToken(refresh)
			if err := putJSON(tx, bucketTokens, parent, p); err != nil {
				return nil, err
			}
		}
	}
	if err := touchClientTx(tx, g.ClientID, now); err != nil {
		return nil, err
	}
	return &tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(AccessTokenTTL / time.Second),
		RefreshToken: refresh, Scope: g.Scope}, nil
}

// retireTx marks the refresh token stored at key as rotated out: it no longer
// refreshes, and presenting it later revokes its grant. A missing record is
// not an error (it was swept).
func retireTx(tx *bbolt.Tx, key []byte) error {
	var r tokenRecord
	if ok, err := getJSON(tx, bucketTokens, key, &r); err != nil || !ok {
		return nil
	}
	r.Superseded, r.Parent, r.Child = true, nil, nil
	return putJSON(tx, bucketTokens, key, r)
}

func touchClientTx(tx *bbolt.Tx, id string, now time.Time) error {
	var c clientRecord
	ok, err := getJSON(tx, bucketClients, []byte(id), &c)
	if err != nil || !ok {
		return err
	}
	c.LastUsed = now
	return putJSON(tx, bucketClients, []byte(id), c)
}

// refresh rotates a refresh token (OAuth 2.1 §4.3). The previous refresh token stays usable
// until its successor is first used, so a lost response does not lose the grant; after that,
// presenting it again is a replay and revokes the whole grant.
func (s *Server) refresh(c *clientRecord, req tokenRequest) (*tokenResponse, *Error) {
	if req.RefreshToken == "" {
		return nil, invalidRequest("refresh_token is required")
	}
	now := s.now()
	key := hashToken(req.RefreshToken)
	var resp *tokenResponse
	e := s.runUpdate(func(tx *bbolt.Tx) (*Error, *Error) {
		var t tokenRecord
		ok, err := getJSON(tx, bucketTokens, key, &t)
		if err != nil || !ok || t.Kind != kindRefresh {
			return invalidGrant("unknown or revoked refresh token"), nil
		}
		if t.ClientID != c.ID {
			return invalidGrant("refresh token was issued to another client"), nil
		}
		if now.After(t.Expires) {
			return invalidGrant("refresh token expired"), nil
		}
		if t.Superseded {
			s.log.Warn("rotated refresh token reused; revoking the grant", "client", c.ID, "user", t.User)
			if err := revokeGrantTx(tx, t.GrantID); err != nil {
				return serverError(), nil
			}
			return nil, invalidGrant("refresh token was already rotated; the grant is revoked")
		}
		var g grantRecord
		if ok, err := getJSON(tx, bucketGrants, []byte(t.GrantID), &g); err != nil || !ok {
			return invalidGrant("the grant was revoked"), nil
		}
		audience, e := s.audienceFor(g.Resource, req.Resource)
		if e != nil {
			return e, nil
		}
		if !s.userMayUse(g.User, nameOfResource(audience)) {
			return invalidGrant("the owner no longer shares this server with the user"), nil
		}
		if t.Child != nil {
			// Its successor was never used: the client lost that response. Replace the
			// successor, and keep it as a rotated-out token: if it shows up after all, two
			// parties hold this grant's refresh tokens, and its use revokes the grant
			// (RFC 9700 §4.14.2).
			if err := retireTx(tx, t.Child); err != nil {
				return serverError(), nil
			}
			t.Child = nil
		}
		if t.Parent != nil {
			// First use of this token: the one before it is now finished.
			if err := retireTx(tx, t.Parent); err != nil {
				return serverError(), nil
			}
			t.Parent = nil
		}
		if err := putJSON(tx, bucketTokens, key, t); err != nil {
			return serverError(), nil
		}
		r, err := issueTokensTx(tx, g, audience, key, now)
		if err != nil {
			return serverError(), nil
		}
		resp = r
		return nil, nil
	})
	if e != nil {
		return nil, e
	}
	return resp, nil
}

// handleToken is the token endpoint (RFC 6749 §3.2).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	c, e := s.authenticateRequest(w, r)
	if e != nil {
		return
	}
	resp, e := s.exchange(c, parseTokenRequest(r))
	if e != nil {
		s.log.Info("token request refused", "client", c.ID, "error", e.Code, "description", e.Description)
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// authenticateRequest parses the form and authenticates the client of a /token or /revoke
// request; on failure it has written the error.
func (s *Server) authenticateRequest(w http.ResponseWriter, r *http.Request) (*clientRecord, *Error) {
	if e := parseForm(w, r); e != nil {
		writeError(w, e)
		return nil, e
	}
	cred, e := parseClientCredentials(r)
	var c *clientRecord
	if e == nil {
		origin := OriginFromContext(r.Context())
		c, e = s.authenticateClient(r.Context(), cred, origin, origin+r.URL.Path, remoteHost(r))
	}
	if e != nil {
		if e.Status == http.StatusUnauthorized && cred.Method == AuthSecretBasic {
			w.Header().Set("WWW-Authenticate", `Basic realm="mcpshare", charset="UTF-8"`)
		}
		s.log.Info("client authentication failed", "client", truncate(cred.ID, 64), "method", cred.Method, "error", e.Description)
		writeError(w, e)
		return nil, e
	}
	return c, nil
}
