package oauthserver

import (
	"strings"
	"testing"

	"go.etcd.io/bbolt"
	"golang.org/x/oauth2"
)

func count(t *testing.T, db *bbolt.DB, bucket []byte) int {
	t.Helper()
	n := 0
	db.View(func(tx *bbolt.Tx) error { n = tx.Bucket(bucket).Stats().KeyN; return nil })
	return n
}

func TestSweepAndNoSecretsInStore(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthSecretPost)
	v := oauth2.GenerateVerifier()
	code := e.code(t, c.ClientID, v)
	f := codeForm(code, v, c.ClientID)
	f.Set("client_secret", c.ClientSecret)
	_, out, _ := e.token(t, f, nil)
	at, rt := out["access_token"].(string), out["refresh_token"].(string)
	e.code(t, c.ClientID, v) // an unused code
	// Nothing secret in clear anywhere in the file.
	e.db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			return b.ForEach(func(k, val []byte) error {
				for _, secret := range []string{at, rt, code, c.ClientSecret, testPassword} {
					if strings.Contains(string(k)+string(val), secret) {
						t.Errorf("bucket %s holds a secret in clear", name)
					}
				}
				return nil
			})
		})
	})
	if count(t, e.db, bucketCodes) != 2 || count(t, e.db, bucketTokens) != 2 || count(t, e.db, bucketGrants) != 1 {
		t.Fatal("unexpected counts before sweep")
	}
	e.clock.Add(CodeTTL + 1)
	e.s.sweep()
	if count(t, e.db, bucketCodes) != 0 || count(t, e.db, bucketTokens) != 2 {
		t.Fatal("codes not swept")
	}
	e.clock.Add(AccessTokenTTL)
	e.s.sweep()
	if count(t, e.db, bucketTokens) != 1 || count(t, e.db, bucketGrants) != 1 {
		t.Fatal("access token not swept")
	}
	e.clock.Add(RefreshTokenTTL)
	e.s.sweep()
	if count(t, e.db, bucketTokens) != 0 || count(t, e.db, bucketGrants) != 0 {
		t.Fatal("refresh token or grant not swept")
	}
	// Used 30+ days ago: the client goes too.
	e.clock.Add(ClientUnusedTTL)
	e.s.sweep()
	if count(t, e.db, bucketClients) != 0 {
		t.Fatal("stale client not swept")
	}
}

func TestNewAndClose(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without DB")
	}
	e := newEnv(t, "")
	if e.s.currentPolicy() != PolicyAsk {
		t.Fatal("default policy")
	}
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	e.s.Close() // twice is fine
	// A second server on the same DB keeps the data.
	s2, err := New(Config{DB: e.db, Origins: NewOrigins()})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if users, _ := s2.Users(); len(users) != 1 {
		t.Fatal("users lost")
	}
}
