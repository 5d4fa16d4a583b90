package oauthserver

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"
)

// TestOwnerRulesRefuseUsersAServerIsNotSharedWith: once Config.MayUse says no, the user's
// tokens for that server are refused at the guard (403, no challenge that would send the
// client into a new sign-in), a refresh for it is refused, and a new sign-in for it is
// refused after the password, while /mcp and the other servers stay open to them.
func TestOwnerRulesRefuseUsersAServerIsNotSharedWith(t *testing.T) {
	var denyNotes atomic.Bool
	e := newEnvWith(t, PolicyPassword, func(c *Config) {
		c.MayUse = func(user, name string) bool {
			if name == AllServers {
				t.Errorf("MayUse asked about the all-servers resource")
			}
			return !(denyNotes.Load() && user == testUser && name == "notes")
		}
	}, "files", "notes")
	client := e.registerClient(t, AuthNone).ClientID
	notesAccess, notesRefresh := e.tokensFor(t, client, e.resource("notes"))
	allAccess, _ := e.tokens(t, client)

	if resp, body := e.mcpGet(t, "notes", notesAccess, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the rule: %d %s", resp.StatusCode, body)
	}
	denyNotes.Store(true)

	resp, body := e.mcpGet(t, "notes", notesAccess, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not shared this server with you") {
		t.Errorf("the server's own token after the rule: %d %s", resp.StatusCode, body)
	}
	if c := resp.Header.Get("WWW-Authenticate"); c != "" {
		t.Errorf("the refusal carries a challenge %q", c)
	}
	if resp, body := e.mcpGet(t, "notes", allAccess, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a /mcp token at /mcp/notes after the rule: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.mcpGet(t, "files", allAccess, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("a /mcp token at /mcp/files: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.mcpGet(t, AllServers, allAccess, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("a /mcp token at /mcp: %d %s", resp.StatusCode, body)
	}

	st, out, _ := e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {notesRefresh}, "client_id": {client}}, nil)
	if st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Errorf("refresh for notes after the rule: %d %v", st, out)
	}

	q := authParams(client, oauth2.GenerateVerifier())
	q.Set("resource", e.resource("notes"))
	_, page, id, csrf := e.loginPage(t, q)
	if id == "" {
		t.Fatalf("no login page: %.300s", page)
	}
	resp, body = e.postLogin(t, id, csrf, testUser, "wrong password")
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "not shared") {
		t.Errorf("a wrong password must not learn the rule: %d %.300s", resp.StatusCode, body)
	}
	resp, body = e.postLogin(t, id, csrf, testUser, testPassword)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "has not shared this server with "+testUser) {
		t.Errorf("sign-in for notes after the rule: %d %.300s", resp.StatusCode, body)
	}

	denyNotes.Store(false)
	if resp, body := e.mcpGet(t, "notes", notesAccess, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the rule lifted: %d %s", resp.StatusCode, body)
	}
}
