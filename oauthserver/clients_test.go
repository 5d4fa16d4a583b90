package oauthserver

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestRedirectAllowed(t *testing.T) {
	pre := &clientRecord{Preregistered: true}
	reg := &clientRecord{RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1:8000/cb?x=1", "http://localhost/cb"}}
	tests := []struct {
		c    *clientRecord
		uri  string
		want bool
	}{
		{pre, "https://chatgpt.com/connector/oauth/abc123", true},
		{pre, "https://chatgpt.com/connector/oauth/", false},
		{pre, "https://chatgpt.com/connector/oauth/a/b", false},
		{pre, "https://chatgpt.com/connector/oauth/a?x=1", false},
		{pre, "https://chatgpt.com/connector/oauth/a%2Fb", false},
		{pre, "http://chatgpt.com/connector/oauth/a", false},
		{pre, "https://chatgpt.com.evil/connector/oauth/a", false},
		{pre, "https://chatgpt.com/connector_platform_oauth_redirect", true},
		{pre, "https://claude.ai/api/mcp/auth_callback", true},
		{pre, "https://claude.com/api/mcp/auth_callback", true},
		{pre, "https://claude.ai/api/mcp/auth_callback/x", false},
		{pre, "http://127.0.0.1:5555/anything", true},
		{pre, "http://localhost:1/cb", true},
		{pre, "http://[::1]:2/cb", true},
		{pre, "http://example.com/cb", false},
		{pre, "https://claude.ai/api/mcp/auth_callback#f", false},
		{reg, "https://app.example/cb", true},
		{reg, "https://app.example/cb/", false},
		{reg, "https://APP.example/cb", false},
		{reg, "http://127.0.0.1:9/cb?x=1", true},
		{reg, "http://127.0.0.1:9/cb", false},
		{reg, "http://localhost:3000/cb", true},
		{reg, "http://127.0.0.1:3000/other", false},
		{reg, "https://chatgpt.com/connector/oauth/abc", false},
	}
	for _, tt := range tests {
		if got := tt.c.redirectAllowed(tt.uri); got != tt.want {
			t.Errorf("preregistered=%v %q: got %v", tt.c.Preregistered, tt.uri, got)
		}
	}
}

func TestPreregisteredClient(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	id, secret, created, err := e.s.EnsurePreregisteredClient()
	if err != nil || !created || secret == "" {
		t.Fatal(id, created, err)
	}
	id2, secret2, created2, err := e.s.EnsurePreregisteredClient()
	if err != nil || created2 || secret2 != "" || id2 != id {
		t.Fatal("second call", id2, created2, err)
	}
	_, newSecret, err := e.s.RotatePreregisteredSecret()
	if err != nil || newSecret == secret {
		t.Fatal(err)
	}
	if _, e2 := e.s.authenticateClient(context.Background(), clientCredentials{ID: id, Secret: secret, Method: AuthSecretPost}, e.origin, e.origin+"/token", "127.0.0.1"); e2 == nil {
		t.Fatal("old secret still works")
	}
	if _, e2 := e.s.authenticateClient(context.Background(), clientCredentials{ID: id, Secret: newSecret, Method: AuthSecretBasic}, e.origin, e.origin+"/token", "127.0.0.1"); e2 != nil {
		t.Fatal(e2)
	}
	list, _ := e.s.Clients()
	// Listed with a name (it was "(no name)" in the window).
	if len(list) != 1 || !list[0].Preregistered || list[0].ID != id || len(list[0].RedirectURIs) == 0 || list[0].Name != "ChatGPT / Claude (pre-registered client)" {
		t.Fatalf("%+v", list)
	}
}

func TestRevokeClient(t *testing.T) {
	e := newEnv(t, PolicyOnce)
	c := e.registerClient(t, AuthNone)
	at, _ := e.tokens(t, c.ClientID) // approved through the queue: remembered
	if !e.s.approvedBefore(testUser, c.ClientID, e.resource(AllServers)) {
		t.Fatal("approval not remembered")
	}
	list, _ := e.s.Clients()
	if len(list) != 1 || list[0].LastUsed.IsZero() || list[0].Name != "Test Client" {
		t.Fatalf("%+v", list)
	}
	if err := e.s.RevokeClient(c.ClientID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.mcpGet(t, "files", at, nil); resp.StatusCode != 401 {
		t.Fatal("token of a revoked client works")
	}
	if e.s.approvedBefore(testUser, c.ClientID, e.resource(AllServers)) {
		t.Fatal("approval survived")
	}
	if err := e.s.RevokeClient(c.ClientID); !errors.Is(err, ErrClientNotFound) {
		t.Fatal(err)
	}
	v := oauth2.GenerateVerifier()
	if st, _, _ := e.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {v}, "client_id": {c.ClientID}}, nil); st != 401 {
		t.Fatalf("revoked client at /token: %d", st)
	}
}

// FuzzRedirectAllowed checks that the matcher never accepts what registration would refuse.
func FuzzRedirectAllowed(f *testing.F) {
	for _, s := range []string{"https://chatgpt.com/connector/oauth/x", "http://127.0.0.1:1/", "http://localhost.evil/", "https://claude.ai/api/mcp/auth_callback?x"} {
		f.Add(s)
	}
	pre := &clientRecord{Preregistered: true}
	f.Fuzz(func(t *testing.T, uri string) {
		if pre.redirectAllowed(uri) && validateRedirectURI(uri) != nil {
			t.Fatalf("pre-registered client accepts %q, which is not a valid redirect URI", uri)
		}
	})
}

// The pre-registered client is shared by ChatGPT and Claude: the sign-in
// names whichever of them the (verified) redirect belongs to.
func TestPreregisteredClientNamedByRedirect(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	id, _, _, err := e.s.EnsurePreregisteredClient()
	if err != nil {
		t.Fatal(err)
	}
	for redirect, want := range map[string]string{
		"https://chatgpt.com/connector/oauth/abc123": "ChatGPT",
		"https://claude.ai/api/mcp/auth_callback":    "Claude",
		"http://127.0.0.1:6274/oauth/callback":       "ChatGPT / Claude (pre-registered client)",
	} {
		q := authParams(id, oauth2.GenerateVerifier())
		q.Set("redirect_uri", redirect)
		resp, page, _, _ := e.loginPage(t, q)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("login page for %s: %d, want it to name %q", redirect, resp.StatusCode, want)
		}
	}
}
