package oauthserver

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// Buckets of this package in the caller's bbolt file. Every value is JSON; every token, code
// and client secret is keyed or stored by its SHA-256 only, passwords by their argon2id hash.
var (
	bucketUsers     = []byte("oauth_users")     // name -> userRecord
	bucketClients   = []byte("oauth_clients")   // client id -> clientRecord
	bucketCodes     = []byte("oauth_codes")     // sha256(code) -> codeRecord
	bucketTokens    = []byte("oauth_tokens")    // sha256(token) -> tokenRecord (access and refresh)
	bucketGrants    = []byte("oauth_grants")    // grant id -> grantRecord
	bucketApprovals = []byte("oauth_approvals") // user "\x00" client id "\x00" resource -> approval time
	bucketMeta      = []byte("oauth_meta")      // keyPreregistered -> client id
	bucketThrottle  = []byte("oauth_throttle")  // user "\x00" address -> throttleRecord
	bucketSignIns   = []byte("oauth_signins")   // big-endian time, id -> SignIn (decided, the last MaxRecentSignIns)
)

var keyPreregistered = []byte("preregistered_client")

type userRecord struct {
	Name    string    `json:"name"`
	Hash    string    `json:"hash"` // argon2id, PHC string format
	Created time.Time `json:"created"`
}

type clientRecord struct {
	ID            string   `json:"id"`
	Name          string   `json:"name,omitempty"`
	RedirectURIs  []string `json:"redirect_uris"`
	AuthMethod    string   `json:"auth_method"`
	SecretHash    []byte   `json:"secret_hash,omitempty"`
	GrantTypes    []string `json:"grant_types"`
	ResponseTypes []string `json:"response_types"`
	Preregistered bool     `json:"preregistered,omitempty"`
	// Document marks a client known by its metadata document (its ID is the document's URL).
	// Stored only as a listing once it obtained tokens; JWKSURI and JWKS come from the
	// document as fetched, never from the store.
	Document     bool            `json:"document,omitempty"`
	JWKSURI      string          `json:"-"`
	JWKS         json.RawMessage `json:"-"`
	RegisteredBy string          `json:"registered_by,omitempty"` // the address that registered it (DCR)
	Created      time.Time       `json:"created"`
	LastUsed     time.Time       `json:"last_used"`
}

type codeRecord struct {
	ClientID      string    `json:"client_id"`
	ClientName    string    `json:"client_name,omitempty"` // as shown at the sign-in
	RedirectURI   string    `json:"redirect_uri"`
	RedirectGiven bool      `json:"redirect_given"` // redirect_uri was in the authorization request
	Challenge     string    `json:"challenge"`
	Resource      string    `json:"resource"`
	Scope         string    `json:"scope"`
	User          string    `json:"user"`
	Expires       time.Time `json:"expires"`
	Used          bool      `json:"used,omitempty"`
	GrantID       string    `json:"grant_id,omitempty"` // set once exchanged, so a replay can revoke
}

// grantRecord is one user's consent to one client for one resource; every token hangs off a grant
// and revoking it removes them all.
type grantRecord struct {
	ID         string    `json:"id"`
	ClientID   string    `json:"client_id"`
	ClientName string    `json:"client_name,omitempty"` // as shown at the sign-in
	User       string    `json:"user"`
	Resource   string    `json:"resource"`
	Scope      string    `json:"scope"`
	Created    time.Time `json:"created"`
}

const (
	kindAccess  = "access"
	kindRefresh = "refresh"
)

type tokenRecord struct {
	Kind       string    `json:"kind"`
	GrantID    string    `json:"grant_id"`
	ClientID   string    `json:"client_id"`
	ClientName string    `json:"client_name,omitempty"`
	User       string    `json:"user"`
	Resource   string    `json:"resource"` // the audience: the grant's resource, or one it covers
	Scope      string    `json:"scope"`
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"`
	// Refresh rotation: Parent is the refresh token this one replaced, until this one is first
	// used; Child is the one that replaced this one; Superseded marks a refresh token whose
	// successor has been used, so any further use is a replay.
	Parent     []byte `json:"parent,omitempty"`
	Child      []byte `json:"child,omitempty"`
	Superseded bool   `json:"superseded,omitempty"`
}

func openBuckets(db *bbolt.DB) error {
	return db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketUsers, bucketClients, bucketCodes, bucketTokens, bucketGrants, bucketApprovals, bucketMeta, bucketThrottle, bucketSignIns} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
}

func getJSON(tx *bbolt.Tx, bucket, key []byte, v any) (bool, error) {
	data := tx.Bucket(bucket).Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode %s record: %w", bucket, err)
	}
	return true, nil
}

func putJSON(tx *bbolt.Tx, bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, data)
}

// forEachJSON decodes every record of bucket in turn; records that fail to decode are skipped.
func forEachJSON[T any](tx *bbolt.Tx, bucket []byte, fn func(k []byte, v *T) error) error {
	return tx.Bucket(bucket).ForEach(func(k, data []byte) error {
		var v T
		if json.Unmarshal(data, &v) != nil {
			return nil
		}
		return fn(k, &v)
	})
}

// deleteKeys deletes keys from bucket; bbolt forbids deleting while iterating with ForEach.
func deleteKeys(tx *bbolt.Tx, bucket []byte, keys [][]byte) error {
	b := tx.Bucket(bucket)
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// revokeGrantsTx deletes every grant matching match, with all its tokens, and every code of a
// matching user/client (match is called with a code's client and user too).
func revokeGrantsTx(tx *bbolt.Tx, match func(clientID, user, grantID string) bool) error {
	var grants [][]byte
	dead := map[string]bool{}
	if err := forEachJSON(tx, bucketGrants, func(k []byte, g *grantRecord) error {
		if match(g.ClientID, g.User, g.ID) {
			grants = append(grants, bytes.Clone(k))
			dead[g.ID] = true
		}
		return nil
	}); err != nil {
		return err
	}
	var tokens [][]byte
	if err := forEachJSON(tx, bucketTokens, func(k []byte, t *tokenRecord) error {
		if dead[t.GrantID] || match(t.ClientID, t.User, t.GrantID) {
			tokens = append(tokens, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	var codes [][]byte
	if err := forEachJSON(tx, bucketCodes, func(k []byte, c *codeRecord) error {
		if match(c.ClientID, c.User, c.GrantID) {
			codes = append(codes, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	if err := deleteKeys(tx, bucketGrants, grants); err != nil {
		return err
	}
	if err := deleteKeys(tx, bucketTokens, tokens); err != nil {
		return err
	}
	return deleteKeys(tx, bucketCodes, codes)
}

// revokeGrantTx revokes one grant and everything issued from it.
func revokeGrantTx(tx *bbolt.Tx, grantID string) error {
	if grantID == "" {
		return nil
	}
	return revokeGrantsTx(tx, func(_, _, g string) bool { return g == grantID })
}

// Token formats: a recognizable prefix and 256 random bits, base64url without padding.
const (
	prefixAccess  = "mcps_at_"
	prefixRefresh = "mcps_rt_"
	prefixCode    = "mcps_code_"
	prefixSecret  = "mcps_cs_"
)

func newSecret(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func hashToken(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newID() string { return rand.Text() }
