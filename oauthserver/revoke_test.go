package oauthserver

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func revokeForm(t testing.TB, e *env, f url.Values) int {
	t.Helper()
	resp, err := http.Post(e.origin+"/revoke", "application/x-www-form-urlencoded", strings.NewReader(f.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	other := e.registerClient(t, AuthNone)
	refreshWorks := func(rt string) bool {
		st, _, _ := e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ClientID}}, nil)
		return st == 200
	}

	// Access token: only it goes.
	at, rt := e.tokens(t, c.ClientID)
	if st := revokeForm(t, e, url.Values{"token": {at}, "token_type_hint": {"access_token"}, "client_id": {c.ClientID}}); st != 200 {
		t.Fatalf("revoke access: %d", st)
	}
	if resp, _ := e.mcpGet(t, "files", at, nil); resp.StatusCode != 401 {
		t.Fatal("revoked access token still works")
	}
	if !refreshWorks(rt) {
		t.Fatal("revoking the access token revoked the refresh token")
	}

	// Refresh token: the whole grant goes.
	at, rt = e.tokens(t, c.ClientID)
	if st := revokeForm(t, e, url.Values{"token": {rt}, "client_id": {c.ClientID}}); st != 200 {
		t.Fatalf("revoke refresh: %d", st)
	}
	if resp, _ := e.mcpGet(t, "files", at, nil); resp.StatusCode != 401 {
		t.Fatal("access token of a revoked grant still works")
	}

	// Another client's token is not revoked; unknown tokens get 200.
	at, _ = e.tokens(t, c.ClientID)
	if st := revokeForm(t, e, url.Values{"token": {at}, "client_id": {other.ClientID}}); st != 200 {
		t.Fatalf("other client: %d", st)
	}
	if resp, _ := e.mcpGet(t, "files", at, nil); resp.StatusCode != 200 {
		t.Fatal("another client revoked a token")
	}
	if st := revokeForm(t, e, url.Values{"token": {"mcps_at_unknown"}, "client_id": {c.ClientID}}); st != 200 {
		t.Fatalf("unknown token: %d", st)
	}
	// Refusals.
	for name, f := range map[string]url.Values{
		"no client":     {"token": {at}},
		"unknown":       {"token": {at}, "client_id": {"nope"}},
		"missing token": {"client_id": {c.ClientID}},
	} {
		if st := revokeForm(t, e, f); st == 200 {
			t.Fatalf("%s: accepted", name)
		}
	}
}
