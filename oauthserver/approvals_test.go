package oauthserver

import (
	"errors"
	"testing"

	"golang.org/x/oauth2"
)

func TestDecideUnknownAndPolicies(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	if err := e.s.Decide("nope", true); !errors.Is(err, ErrSignInNotFound) {
		t.Fatal(err)
	}
	for in, want := range map[Policy]Policy{"": PolicyAsk, "bogus": PolicyAsk, PolicyOnce: PolicyOnce, PolicyPassword: PolicyPassword} {
		if in.orDefault() != want {
			t.Errorf("%q -> %q", in, in.orDefault())
		}
	}
}

func TestRecentSignInsBounded(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	c := e.registerClient(t, AuthNone)
	for i := 0; i < MaxRecentSignIns+3; i++ {
		_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
		e.postLogin(t, id, csrf, testUser, testPassword)
		p := e.s.PendingSignIns()
		if len(p) != 1 {
			t.Fatalf("pending %d", len(p))
		}
		e.s.Decide(p[0].ID, i%2 == 0)
	}
	r := e.s.RecentSignIns()
	if len(r) != MaxRecentSignIns || !r[0].Time.After(r[len(r)-1].Time) && r[0].Time != r[len(r)-1].Time {
		t.Fatalf("recent %d", len(r))
	}
	// The sweeper expires what the app never decided.
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	e.postLogin(t, id, csrf, testUser, testPassword)
	e.clock.Add(SignInTimeout)
	e.s.sweep()
	if len(e.s.PendingSignIns()) != 0 || e.s.RecentSignIns()[0].Decision != DecisionExpired {
		t.Fatal("not expired by the sweeper")
	}
}
