package oauthserver

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

// 1100 authorization requests from one address, then from one network, leave every sign-in
// of others working (before, they filled the table of 1000 and every /authorize got
// temporarily_unavailable for 10 minutes), and the flooder's latest requests keep working.
func TestAuthorizeFloodCannotBlockOthers(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	c := e.registerClient(t, AuthNone)
	// Someone whose password was accepted waits for approval during the flood.
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	if resp, _ := e.postLogin(t, id, csrf, testUser, testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	for _, flood := range []func(i int) string{
		func(int) string { return "203.0.113.9" },
		func(i int) string { return fmt.Sprintf("198.51.100.%d", i%250) },
		func(i int) string { return fmt.Sprintf("10.%d.%d.1", i/250, i%250) }, // many networks
	} {
		var last *authRequest
		for i := 0; i < MaxAuthRequests+100; i++ {
			req, oe, pe := e.s.startAuthorization(context.Background(), authParams(c.ClientID, oauth2.GenerateVerifier()), e.origin, flood(i))
			if oe != nil || pe != nil {
				t.Fatalf("flood request %d: %v %v", i, oe, pe)
			}
			last = req
		}
		resp, body, id, _ := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
		if resp.StatusCode != http.StatusOK || id == "" {
			t.Fatalf("a sign-in after the flood: %d %.300s", resp.StatusCode, body)
		}
		if _, pe := e.s.pendingRequest(last.ID, e.s.csrfToken(last.ID)); pe != nil {
			t.Fatalf("the flooder's latest request is gone: %v", pe)
		}
		if len(e.s.PendingSignIns()) != 1 {
			t.Fatal("the sign-in waiting for approval was evicted")
		}
	}
	e.s.mu.Lock()
	n := len(e.s.requests)
	e.s.mu.Unlock()
	if n > MaxAuthRequests {
		t.Fatalf("%d pending requests, bound %d", n, MaxAuthRequests)
	}
}
