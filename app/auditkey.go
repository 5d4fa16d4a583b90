package app

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/mcpshare/mcpshare/app/secrets"
)

// keyAuditHMAC is where the installation's key of the audit log's argument
// digests (audit.HMAC) is kept in the secret store: generated once, so
// that equal calls have equal digests across runs, and never in the
// config directory beside the log, so that a copy of the log does not let
// anyone confirm a guess of short arguments.
const keyAuditHMAC = "audit-hmac-key"

// auditKeyTimeout bounds the secret store calls for the key.
const auditKeyTimeout = 10 * time.Second

// loadAuditKey reads the installation's audit key from the secret store,
// creating it on first use. When the store cannot be used, the key is one
// of this run only (said in the app's log): the digests still hide the
// arguments, but cannot be compared with those of other runs.
func (a *App) loadAuditKey() []byte {
	ctx, cancel := context.WithTimeout(context.Background(), auditKeyTimeout)
	defer cancel()
	v, err := a.secrets.Get(ctx, keyAuditHMAC)
	if errors.Is(err, secrets.ErrNotFound) {
		v = rand.Text() + rand.Text() // 260 bits
		err = a.secrets.Set(ctx, keyAuditHMAC, v)
	}
	if err != nil || v == "" {
		a.log.Warn("the audit log's digests use a key of this run only: the secret store cannot keep one", "err", err)
		return []byte(rand.Text() + rand.Text())
	}
	return []byte(v)
}
