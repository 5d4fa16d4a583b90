package app

import (
	"context"
	"fmt"

	"github.com/mcpshare/mcpshare/app/gateway"
)

// tryRemote is TryServer of a remote server: with its stored sign-in when
// the settings are the saved ones; a server that wants a sign-in nobody
// made yet says so (saving comes first, then the sign-in).
func (a *App) tryRemote(ctx context.Context, cfg ServerConfig) (TryResult, error) {
	if cfg.OAuth {
		saved, err := a.cfg.server(cfg.Name)
		if err != nil || remoteFingerprint(saved) != remoteFingerprint(cfg) {
			p, err := a.probeRemote(ctx, cfg.URL)
			if err != nil {
				return TryResult{}, err
			}
			if p.NeedsOAuth {
				return TryResult{}, fmt.Errorf("%s signs in with OAuth at %s: save the server, then sign in to it (Sign in on its card)", shown(cfg.URL), p.Issuer)
			}
			cfg.OAuth = false
		}
	}
	return gateway.TryWith(ctx, specOf(cfg, 0), gateway.Config{OAuth: a.remoteOAuth, Network: a.opts.Network})
}
