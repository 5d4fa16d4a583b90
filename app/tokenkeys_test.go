package app_test

import (
	"testing"

	"github.com/mcpshare/mcpshare/app/gateway"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// The gateway tells clients apart (what a server asks goes to a call of
// its own client only) by the key the guard names the client under.
func TestGatewayNamesTheClientAsTheGuardDoes(t *testing.T) {
	if gateway.TokenClientID != oauthserver.InfoClientID {
		t.Fatalf("gateway.TokenClientID %q, the guard's InfoClientID %q", gateway.TokenClientID, oauthserver.InfoClientID)
	}
}
