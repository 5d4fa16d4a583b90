package oauthserver

import (
	"net/http"

	"go.etcd.io/bbolt"
)

// revoke revokes a token of client c (RFC 7009 §2.1). An access token is deleted; a refresh
// token revokes its whole grant (with the access tokens issued from it). Unknown tokens and
// tokens of other clients are ignored, so the answer never tells whether a token exists.
func (s *Server) revoke(c *clientRecord, token string) *Error {
	if token == "" {
		return invalidRequest("token is required")
	}
	key := hashToken(token)
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var t tokenRecord
		ok, err := getJSON(tx, bucketTokens, key, &t)
		if err != nil || !ok || t.ClientID != c.ID {
			return err
		}
		if t.Kind == kindRefresh {
			return revokeGrantTx(tx, t.GrantID)
		}
		return tx.Bucket(bucketTokens).Delete(key)
	})
	if err != nil {
		s.log.Error("revocation failed", "client", c.ID, "err", err)
		return serverError()
	}
	return nil
}

// handleRevoke is the revocation endpoint (RFC 7009): 200 with an empty body on success,
// including for unknown tokens.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c, e := s.authenticateRequest(w, r)
	if e != nil {
		return
	}
	if e := s.revoke(c, r.PostForm.Get("token")); e != nil {
		writeError(w, e)
		return
	}
	w.WriteHeader(http.StatusOK)
}
