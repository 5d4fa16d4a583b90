package oauthserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// private_key_jwt (RFC 7523 §2.2, §3; OpenID Connect Core §9): a client known by its metadata
// document authenticates at /token with a JWT it signed with a key its document publishes
// (ChatGPT's does, with jwks_uri https://chatgpt.com/oauth/jwks.json). The JOSE work is
// go-jose's; the rules are here.

// JWTBearerAssertion is the client_assertion_type of private_key_jwt.
const JWTBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Bounds of client assertions.
const (
	MaxAssertionLifetime = 5 * time.Minute  // exp at most this far after now (and after iat)
	AssertionClockSkew   = 30 * time.Second // tolerance for exp, nbf and iat
	MaxAssertionIDs      = 10000            // jti values remembered until their assertions expire
	MaxKeysPerSet        = 20
)

// assertionAlgorithms are the signature algorithms accepted: asymmetric ones only. "none" and
// the HMAC algorithms are refused before any key is tried, so that a public key can never
// serve as an HMAC secret.
var assertionAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// parseKeySet parses a JWK set and returns its signature keys. Private or symmetric key
// material is refused (a metadata document is public, CIMD §4.1), and so are RSA keys
// shorter than 2048 bits.
func parseKeySet(raw []byte) ([]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("not a JWK set: %s", truncate(err.Error(), 100))
	}
	if len(set.Keys) == 0 || len(set.Keys) > MaxKeysPerSet {
		return nil, fmt.Errorf("a JWK set must hold 1 to %d keys", MaxKeysPerSet)
	}
	var keys []jose.JSONWebKey
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return nil, errors.New("the JWK set contains private or symmetric key material")
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				continue
			}
		case *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("the JWK set has no usable signature key (RSA of 2048 bits or more, EC, Ed25519)")
	}
	return keys, nil
}

// clientKeys returns the signature keys of a client known by its metadata document: inline,
// or fetched from its jwks_uri under the fetch guard and cached like documents. refresh
// fetches them again unless they were fetched within MinDocumentTTL.
func (s *Server) clientKeys(ctx context.Context, c *clientRecord, refresh bool, addr string) ([]jose.JSONWebKey, error) {
	if len(c.JWKS) > 0 {
		return parseKeySet(c.JWKS)
	}
	v, err := s.documents.get(ctx, "jwks "+c.JWKSURI, refresh, s.fetchAllowed(addr), func(ctx context.Context) (any, time.Duration, error) {
		f, err := s.fetch.get(ctx, c.JWKSURI, MaxJWKSDocument)
		if err != nil {
			s.log.Warn("client key set not fetched", "client", c.ID, "err", err)
			return nil, 0, err
		}
		keys, err := parseKeySet(f.Body)
		if err != nil {
			s.log.Warn("client key set refused", "client", c.ID, "err", err)
			return nil, 0, err
		}
		return keys, f.TTL, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]jose.JSONWebKey), nil
}

// verifyAssertion authenticates client c by its client_assertion (RFC 7523 §3): signed with
// an asymmetric algorithm by one of the client's keys; iss and sub are the client ID; aud
// names this server (its issuer, its token endpoint, or the endpoint called); exp is present,
// not past and at most MaxAssertionLifetime ahead; nbf and iat are not in the future; jti is
// present and not seen before.
func (s *Server) verifyAssertion(ctx context.Context, c *clientRecord, assertion, origin, endpoint, addr string) *Error {
	refuse := func(format string, args ...any) *Error { return invalidClient(fmt.Sprintf(format, args...)) }
	tok, err := jwt.ParseSigned(assertion, assertionAlgorithms)
	if err != nil {
		return refuse("client_assertion is not a JWT signed with an asymmetric algorithm (RS256, ES256, EdDSA, …)")
	}
	if len(tok.Headers) != 1 {
		return refuse("client_assertion must have exactly one signature")
	}
	var claims jwt.Claims
	verified := false
	for _, refresh := range []bool{false, true} {
		keys, err := s.clientKeys(ctx, c, refresh, addr)
		if err != nil {
			return refuse("the client's keys could not be read: %s", truncate(err.Error(), 160))
		}
		if verified = verifyWithKeys(tok, keys, &claims); verified || len(c.JWKS) > 0 {
			break // inline keys cannot change; fetched ones may have rotated: try once more
		}
	}
	if !verified {
		return refuse("client_assertion is not signed by a key of the client")
	}
	now := s.now()
	switch {
	case claims.Issuer != c.ID || claims.Subject != c.ID:
		return refuse("client_assertion iss and sub must both be the client_id")
	case !slices.ContainsFunc([]string{origin, origin + "/token", endpoint}, claims.Audience.Contains):
		return refuse("client_assertion aud must name this server (%s or %s/token)", origin, origin)
	case claims.Expiry == nil:
		return refuse("client_assertion has no exp")
	case !now.Before(claims.Expiry.Time().Add(AssertionClockSkew)):
		return refuse("client_assertion expired")
	case claims.Expiry.Time().After(now.Add(MaxAssertionLifetime + AssertionClockSkew)):
		return refuse("client_assertion exp is more than %s ahead", MaxAssertionLifetime)
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(AssertionClockSkew)):
		return refuse("client_assertion is not valid yet (nbf)")
	case claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(AssertionClockSkew)):
		return refuse("client_assertion was issued in the future (iat)")
	case claims.IssuedAt != nil && claims.Expiry.Time().Sub(claims.IssuedAt.Time()) > MaxAssertionLifetime+AssertionClockSkew:
		return refuse("client_assertion lives longer than %s", MaxAssertionLifetime)
	case claims.ID == "" || len(claims.ID) > 256:
		return refuse("client_assertion needs a jti of at most 256 characters")
	}
	if !s.firstUseOfAssertion(c.ID, claims.ID, claims.Expiry.Time().Add(AssertionClockSkew), now) {
		return refuse("client_assertion was used before (jti replayed)")
	}
	return nil
}

// verifyWithKeys checks tok against the keys that may have signed it (by kid, when the token
// names one, and by algorithm) and decodes its claims on the first that verifies.
func verifyWithKeys(tok *jwt.JSONWebToken, keys []jose.JSONWebKey, claims *jwt.Claims) bool {
	h := tok.Headers[0]
	for _, k := range keys {
		if (h.KeyID != "" && k.KeyID != h.KeyID) || (k.Algorithm != "" && k.Algorithm != h.Algorithm) {
			continue
		}
		if err := tok.Claims(k.Key, claims); err == nil {
			return true
		}
	}
	return false
}

// firstUseOfAssertion records the jti of a client until it expires, and reports whether it was
// new. When MaxAssertionIDs are remembered, expired ones are forgotten; if none has expired
// the assertion is refused rather than let a replay through.
func (s *Server) firstUseOfAssertion(clientID, jti string, until, now time.Time) bool {
	key := clientID + "\x00" + jti
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.assertionIDs[key]; ok && now.Before(exp) {
		return false
	}
	if len(s.assertionIDs) >= MaxAssertionIDs {
		s.forgetAssertionIDsLocked(now)
		if len(s.assertionIDs) >= MaxAssertionIDs {
			return false
		}
	}
	s.assertionIDs[key] = until
	return true
}

func (s *Server) forgetAssertionIDsLocked(now time.Time) {
	for k, exp := range s.assertionIDs {
		if !now.Before(exp) {
			delete(s.assertionIDs, k)
		}
	}
}
