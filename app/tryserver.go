package app

import (
	"context"
	"fmt"
	"time"

	"github.com/mcpshare/mcpshare/app/gateway"
	"github.com/mcpshare/mcpshare/app/secrets"
)

// tryTimeout bounds TryServer when ctx has no earlier deadline: npx may
// have to download a package first.
const tryTimeout = 90 * time.Second

// TryResult is what TryServer found out about a server before it is saved.
type TryResult = gateway.TryResult

// TryServer starts the server cfg describes (not yet saved: its secret
// values come from secretValues, or from the secret store for those not
// given) the way a share starts it, lists its tools, collects its stderr
// and stops it again, all within ctx. The error says why it could not start
// or answer.
func (a *App) TryServer(ctx context.Context, cfg ServerConfig, secretValues map[string]string) (TryResult, error) {
	if err := cfg.Validate(); err != nil {
		return TryResult{}, err
	}
	if cfg.Kind == KindRemote {
		ctx, cancel := context.WithTimeout(ctx, tryTimeout)
		defer cancel()
		return a.tryRemote(ctx, cfg)
	}
	if cfg.Kind != KindStdio && cfg.Kind != KindHTTP {
		return TryResult{}, fmt.Errorf("%w: server %q: only commands and local URLs can be tried", ErrInvalidConfig, cfg.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, tryTimeout)
	defer cancel()
	secret := func(ctx context.Context, server, key string) (string, error) {
		if v, ok := secretValues[key]; ok {
			return v, nil
		}
		return a.secrets.Get(ctx, secrets.EnvKey(server, key))
	}
	return gateway.Try(ctx, specOf(cfg, 0), secret)
}
