package oauthserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.etcd.io/bbolt"
)

// registrationRequest is the part of RFC 7591 client metadata this server uses; other fields
// are accepted and ignored.
type registrationRequest struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientName              string   `json:"client_name"`
	Scope                   string   `json:"scope"`
}

// registrationResponse is the RFC 7591 §3.2.1 answer.
type registrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientName              string   `json:"client_name,omitempty"`
	Scope                   string   `json:"scope"`
}

func invalidMetadata(description string) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_client_metadata", description)
}

// parseRegistration decodes and validates a registration body and returns the client to store
// (without id and secret). Defaults: client_secret_basic (RFC 7591 §2), authorization_code and
// refresh_token, code. refresh_token is always granted because refresh tokens are always issued.
func parseRegistration(body []byte) (clientRecord, *Error) {
	var req registrationRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&req); err != nil {
		return clientRecord{}, invalidMetadata("the body is not a JSON object of client metadata: " + truncate(err.Error(), 200))
	}
	if dec.More() {
		return clientRecord{}, invalidMetadata("trailing data after the JSON object")
	}
	if len(req.RedirectURIs) == 0 {
		return clientRecord{}, oauthErr(http.StatusBadRequest, "invalid_redirect_uri", "redirect_uris is required")
	}
	if len(req.RedirectURIs) > MaxRedirectURIs {
		return clientRecord{}, oauthErr(http.StatusBadRequest, "invalid_redirect_uri", fmt.Sprintf("at most %d redirect_uris", MaxRedirectURIs))
	}
	for _, u := range req.RedirectURIs {
		if e := validateRedirectURI(u); e != nil {
			return clientRecord{}, e
		}
	}
	method := req.TokenEndpointAuthMethod
	switch method {
	case "":
		method = AuthSecretBasic
	case AuthNone, AuthSecretPost, AuthSecretBasic:
	default:
		return clientRecord{}, invalidMetadata(fmt.Sprintf("token_endpoint_auth_method %q is not supported (none, client_secret_post, client_secret_basic)", truncate(method, 64)))
	}
	grants := []string{"authorization_code", "refresh_token"}
	if len(req.GrantTypes) > 0 {
		for _, g := range req.GrantTypes {
			if g != "authorization_code" && g != "refresh_token" {
				return clientRecord{}, invalidMetadata(fmt.Sprintf("grant type %q is not supported (authorization_code, refresh_token)", truncate(g, 64)))
			}
		}
		if !slices.Contains(req.GrantTypes, "authorization_code") {
			return clientRecord{}, invalidMetadata("grant_types must include authorization_code")
		}
	}
	if len(req.ResponseTypes) > 0 && (len(req.ResponseTypes) != 1 || req.ResponseTypes[0] != "code") {
		return clientRecord{}, invalidMetadata(`response_types must be ["code"]`)
	}
	// req.Scope is ignored: RFC 7591 §2 lets the server replace it, and only "mcp" exists.
	name := strings.TrimSpace(req.ClientName)
	// Only visible characters and plain spaces: bidi overrides and zero-width characters would
	// let a client pass for another one on the login page and in the approval.
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsGraphic(r) || (unicode.IsSpace(r) && r != ' ') }) {
		return clientRecord{}, invalidMetadata("client_name must be at most 100 printable characters")
	}
	return clientRecord{
		Name:          name,
		RedirectURIs:  slices.Clone(req.RedirectURIs),
		AuthMethod:    method,
		GrantTypes:    grants,
		ResponseTypes: []string{"code"},
	}, nil
}

// register stores a new client for the address addr, within the rate limits per address and
// per address block and the total cap. It returns the registration response, with the secret
// the only time it is ever shown.
func (s *Server) register(body []byte, addr string) (*registrationResponse, *Error) {
	now := s.now()
	key, block := limitKey(addr), blockKey(addr)
	s.mu.Lock()
	limited := s.registerRate.blocked(key, now) || s.registerBlockRate.blocked(block, now)
	if !limited {
		s.registerRate.hit(key, now)
		s.registerBlockRate.hit(block, now)
	}
	s.mu.Unlock()
	if limited {
		return nil, oauthErr(http.StatusTooManyRequests, "slow_down", "too many registrations from this address; try again in a minute")
	}
	c, e := parseRegistration(body)
	if e != nil {
		return nil, e
	}
	c.ID = "mcpc_" + strings.ToLower(newID())
	c.Created = now
	c.RegisteredBy = addr
	var secret string
	if c.AuthMethod != AuthNone {
		secret = newSecret(prefixSecret)
		c.SecretHash = hashToken(secret)
	}
	errFull := errors.New("full")
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketClients).Stats().KeyN >= s.maxClients {
			victim, err := evictionCandidateTx(tx)
			if err != nil {
				return err
			}
			if victim == "" {
				return errFull
			}
			s.log.Info("client evicted to make room", "client", victim)
			if err := tx.Bucket(bucketClients).Delete([]byte(victim)); err != nil {
				return err
			}
			if err := removeClientDataTx(tx, victim); err != nil {
				return err
			}
		}
		return putJSON(tx, bucketClients, []byte(c.ID), c)
	})
	if errors.Is(err, errFull) {
		return nil, oauthErr(http.StatusServiceUnavailable, "temporarily_unavailable", "too many registered clients; unused ones expire, try again later")
	}
	if err != nil {
		return nil, serverError()
	}
	resp := &registrationResponse{
		ClientID:                c.ID,
		ClientSecret:            secret,
		ClientIDIssuedAt:        now.Unix(),
		RedirectURIs:            c.RedirectURIs,
		TokenEndpointAuthMethod: c.AuthMethod,
		GrantTypes:              c.GrantTypes,
		ResponseTypes:           c.ResponseTypes,
		ClientName:              c.Name,
		Scope:                   ScopeMCP,
	}
	if secret != "" {
		zero := int64(0) // never expires
		resp.ClientSecretExpiresAt = &zero
	}
	s.log.Info("client registered", "client", c.ID, "client_name", c.Name, "auth_method", c.AuthMethod, "addr", addr)
	return resp, nil
}

// evictionCandidateTx picks the registered client that makes room in a full table: one that
// never obtained a token, from the address block that registered most of those, the most
// recently registered of them. A flood from one network evicts its own; a flood spread over
// many networks evicts its latest, not the older registration of someone about to sign in.
// "" when every client has been used.
func evictionCandidateTx(tx *bbolt.Tx) (string, error) {
	var unused []*clientRecord
	perBlock := map[string]int{}
	err := forEachJSON(tx, bucketClients, func(_ []byte, c *clientRecord) error {
		if !c.Preregistered && c.LastUsed.IsZero() {
			unused = append(unused, c)
			perBlock[blockKey(c.RegisteredBy)]++
		}
		return nil
	})
	var victim *clientRecord
	for _, c := range unused {
		if victim == nil {
			victim = c
			continue
		}
		n, m := perBlock[blockKey(c.RegisteredBy)], perBlock[blockKey(victim.RegisteredBy)]
		if n > m || (n == m && c.Created.After(victim.Created)) {
			victim = c
		}
	}
	if victim == nil {
		return "", err
	}
	return victim.ID, err
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeError(w, invalidMetadata("Content-Type must be application/json"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRegisterBody))
	if err != nil {
		writeError(w, oauthErr(http.StatusRequestEntityTooLarge, "invalid_client_metadata", fmt.Sprintf("the body is larger than %d bytes", MaxRegisterBody)))
		return
	}
	resp, e := s.register(body, remoteHost(r))
	if e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, resp)
}
