package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/mcpshare/mcpshare/app/doctor"
)

// ErrNoPublicURL: there is no public URL to check yet.
var ErrNoPublicURL = errors.New("sharing has no public URL yet: start sharing with ngrok or a custom public URL (Settings)")

// CheckConnection checks the public all-servers URL from outside, the way
// ChatGPT and Claude walk it (app/doctor), through hc (nil: the network as
// it is). The test client it registers is revoked again.
func (a *App) CheckConnection(ctx context.Context, hc *http.Client) (doctor.Report, error) {
	origin, public := a.Origin()
	if !public {
		return doctor.Report{}, ErrNoPublicURL
	}
	return doctor.Check(ctx, doctor.Options{
		URL:    origin + "/mcp",
		Client: hc,
		Forget: func(_ context.Context, clientID string) error { return a.RevokeClient(clientID) },
	}), nil
}
