package oauthserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Before the client and redirect URI are verified, errors are a page and never a redirect.
func TestAuthorizeRefusalsShownAsPage(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	two := e.registerClient(t, AuthNone, testRedirect, "https://example.com/cb")
	v := oauth2.GenerateVerifier()
	tests := []struct {
		name   string
		mutate func(q url.Values)
		want   string
	}{
		{"missing client", func(q url.Values) { q.Del("client_id") }, "client_id is missing"},
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }, "not registered"},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, "not registered for this application"},
		{"redirect differs by path", func(q url.Values) { q.Set("redirect_uri", testRedirect+"/x") }, "not registered for this application"},
		{"redirect with fragment", func(q url.Values) { q.Set("redirect_uri", testRedirect+"#f") }, "not registered for this application"},
		{"missing redirect with two registered", func(q url.Values) { q.Set("client_id", two.ClientID); q.Del("redirect_uri") }, "redirect_uri is missing"},
		{"repeated client_id", func(q url.Values) { q.Add("client_id", c.ClientID) }, "more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams(c.ClientID, v)
			tt.mutate(q)
			resp, body, _, _ := e.loginPage(t, q)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(body, tt.want) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("page does not say %q: %.400s", tt.want, body)
			}
		})
	}
}

// Once the client and redirect are verified, errors go back to the client with state and iss.
func TestAuthorizeRefusalsRedirected(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files", "notes")
	c := e.registerClient(t, AuthNone)
	v := oauth2.GenerateVerifier()
	tests := []struct {
		name   string
		mutate func(q url.Values)
		code   string
	}{
		{"missing PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"missing challenge", func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		{"missing method (plain by default)", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain"); q.Set("code_challenge", v) }, "invalid_request"},
		{"malformed challenge", func(q url.Values) { q.Set("code_challenge", "short") }, "invalid_request"},
		{"token response type", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"missing response type", func(q url.Values) { q.Del("response_type") }, "invalid_request"},
		{"unknown resource", func(q url.Values) { q.Set("resource", e.resource("other")) }, "invalid_target"},
		{"resource on another origin", func(q url.Values) { q.Set("resource", "http://localhost:1/mcp/files") }, "invalid_target"},
		{"resource with trailing slash", func(q url.Values) { q.Set("resource", e.resource("files")+"/") }, "invalid_target"},
		{"two resources", func(q url.Values) { q["resource"] = []string{e.resource("files"), e.resource("notes")} }, "invalid_target"},
		{"repeated state", func(q url.Values) { q.Add("state", "x") }, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams(c.ClientID, v)
			tt.mutate(q)
			resp, _, _, _ := e.loginPage(t, q)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d, want 302", resp.StatusCode)
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			got := loc.Query()
			if got.Get("error") != tt.code || got.Get("iss") != e.origin || loc.Host != "127.0.0.1:9999" {
				t.Fatalf("redirect %s: want error %s with iss", loc, tt.code)
			}
			if tt.name != "repeated state" && got.Get("state") != "st-123" {
				t.Fatalf("state not returned: %s", loc)
			}
		})
	}
}

func TestLoginPageHeadersAndContent(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	resp, body, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	if resp.StatusCode != 200 || id == "" || csrf == "" {
		t.Fatalf("status %d id %q csrf %q", resp.StatusCode, id, csrf)
	}
	h := resp.Header
	// same-origin, so that browsers send our Origin with the form (never "null", refused).
	if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		h.Get("Referrer-Policy") != "same-origin" || !strings.Contains(body, `<meta name="referrer" content="same-origin">`) {
		t.Fatalf("headers: %v", h)
	}
	for _, want := range []string{"Test Client", "127.0.0.1:9999", "all the servers you share", `type="password"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	q := authParams(c.ClientID, oauth2.GenerateVerifier())
	q.Set("resource", e.resource("files"))
	if _, body, _, _ := e.loginPage(t, q); !strings.Contains(body, "the server <strong>files</strong>") {
		t.Errorf("login page for /mcp/files does not name it: %.600s", body)
	}
}

func TestLoginCSRFAndPasswords(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	_, _, id2, csrf2 := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	tests := []struct {
		name, id, csrf, user, pass string
		status                     int
		want                       string
	}{
		{"missing csrf", id, "", testUser, testPassword, 403, "security token"},
		{"wrong csrf", id, "AAAA" + csrf[4:], testUser, testPassword, 403, "security token"},
		{"csrf of another request", id, csrf2, testUser, testPassword, 403, "security token"},
		{"unknown request", "nope", e.s.csrfToken("nope"), testUser, testPassword, 400, "expired"},
		{"wrong password", id, csrf, testUser, "wrong password", 401, "Wrong user name or password"},
		{"unknown user", id, csrf, "bob", testPassword, 401, "Wrong user name or password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.postLogin(t, tt.id, tt.csrf, tt.user, tt.pass)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("status %d, body %.300s", resp.StatusCode, body)
			}
		})
	}
	// The request survives failed attempts; the right password then works.
	resp, _ := e.postLogin(t, id2, csrf2, testUser, testPassword)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 303 || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-123" || loc.Query().Get("iss") != e.origin {
		t.Fatalf("status %d location %s", resp.StatusCode, loc)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" { // the code goes no further than the client
		t.Fatalf("redirect with a code: Referrer-Policy %q", resp.Header.Get("Referrer-Policy"))
	}
	// The request is consumed: the form sent again says it is done, and issues nothing.
	resp, body := e.postLogin(t, id2, csrf2, testUser, testPassword)
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(body, "This sign-in is complete") {
		t.Fatalf("reuse of a finished request: %d %q %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

func TestAuthorizeDefaultsAndRedirectQuery(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files", "notes")
	c := e.registerClient(t, AuthNone, "http://localhost:4000/cb?keep=1")
	v := oauth2.GenerateVerifier()
	q := authParams(c.ClientID, v)
	q.Del("scope")
	q.Del("redirect_uri") // the only registered one is used
	q.Del("state")
	loc := e.authorize(t, q)
	if loc.Query().Get("keep") != "1" || loc.Query().Get("code") == "" || loc.Query().Has("state") {
		t.Fatalf("redirect %s", loc)
	}
	// No resource and several servers: /mcp (see resources_test.go); no scope: mcp.
	st, out, _ := e.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"code_verifier": {v}, "client_id": {c.ClientID}}, nil)
	if st != 200 || out["scope"] != "mcp" {
		t.Fatalf("token %d %v", st, out)
	}
	if resp, _ := e.mcpGet(t, AllServers, out["access_token"].(string), nil); resp.StatusCode != 200 {
		t.Fatalf("default resource is not /mcp: %d", resp.StatusCode)
	}
	// Loopback port may differ for registered loopback redirect URIs (RFC 8252 §7.3).
	q = authParams(c.ClientID, v)
	q.Set("redirect_uri", "http://localhost:5123/cb?keep=1")
	if loc := e.authorize(t, q); loc.Host != "localhost:5123" || loc.Query().Get("code") == "" {
		t.Fatalf("loopback port: %s", loc)
	}
}

func TestPolicyAskApproveDenyTimeout(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	c := e.registerClient(t, AuthNone)
	start := func() (string, string) {
		_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
		resp, _ := e.postLogin(t, id, csrf, testUser, testPassword)
		if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/authorize/wait?") {
			t.Fatalf("login under ask: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		return resp.Header.Get("Location"), strings.Replace(resp.Header.Get("Location"), "/wait?", "/status?", 1)
	}
	get := func(path string) *http.Response {
		resp, err := e.http.Get(e.origin + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	status := func(path string) string {
		resp, err := e.http.Get(e.origin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		json.NewDecoder(resp.Body).Decode(&out)
		return out["status"]
	}

	t.Run("approve", func(t *testing.T) {
		wait, st := start()
		if resp := get(wait); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("wait page: %d", resp.StatusCode)
		}
		p := e.s.PendingSignIns()
		if len(p) != 1 || p[0].User != testUser || p[0].ClientName != "Test Client" || p[0].RedirectHost != "127.0.0.1:9999" ||
			p[0].Resource != e.resource(AllServers) || p[0].RemoteAddr != "127.0.0.1" || p[0].Decision != DecisionPending {
			t.Fatalf("pending: %+v", p)
		}
		if status(st) != DecisionPending {
			t.Fatal("status not pending")
		}
		if err := e.s.Decide(p[0].ID, true); err != nil {
			t.Fatal(err)
		}
		if status(st) != DecisionApproved {
			t.Fatal("status not approved")
		}
		resp := get(wait)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 303 || loc.Query().Get("code") == "" || loc.Query().Get("iss") != e.origin || loc.Query().Get("state") != "st-123" {
			t.Fatalf("after approval: %d %s", resp.StatusCode, loc)
		}
		if resp := get(wait); resp.StatusCode != 200 || resp.Header.Get("Location") != "" {
			t.Fatalf("second visit: %d %q, want the page saying it is done, no new code", resp.StatusCode, resp.Header.Get("Location"))
		}
		if r := e.s.RecentSignIns(); len(r) != 1 || r[0].Decision != DecisionApproved {
			t.Fatalf("recent: %+v", r)
		}
		if err := e.s.Decide(p[0].ID, true); err == nil {
			t.Fatal("deciding twice succeeded")
		}
	})
	t.Run("deny", func(t *testing.T) {
		wait, _ := start()
		p := e.s.PendingSignIns()
		if err := e.s.Decide(p[0].ID, false); err != nil {
			t.Fatal(err)
		}
		resp := get(wait)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st-123" || loc.Query().Get("iss") != e.origin {
			t.Fatalf("after deny: %s", loc)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		wait, st := start()
		e.clock.Add(SignInTimeout)
		if status(st) != DecisionExpired {
			t.Fatal("not expired")
		}
		loc, _ := url.Parse(get(wait).Header.Get("Location"))
		if loc.Query().Get("error") != "access_denied" {
			t.Fatalf("after timeout: %s", loc)
		}
		if len(e.s.PendingSignIns()) != 0 || e.s.RecentSignIns()[0].Decision != DecisionExpired {
			t.Fatal("expired sign-in still pending")
		}
	})
	e.mu.Lock()
	n := e.signIns
	e.mu.Unlock()
	if n < 6 {
		t.Fatalf("OnSignIn called %d times", n)
	}
}

func TestPolicyOnceRemembers(t *testing.T) {
	e := newEnv(t, PolicyOnce)
	c := e.registerClient(t, AuthNone)
	if loc := e.authorize(t, authParams(c.ClientID, oauth2.GenerateVerifier())); loc.Query().Get("code") == "" {
		t.Fatalf("first: %s", loc)
	}
	// Second time: no approval needed.
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	resp, _ := e.postLogin(t, id, csrf, testUser, testPassword)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("code") == "" {
		t.Fatalf("second sign-in asked again: %s", loc)
	}
	// Another client is asked.
	c2 := e.registerClient(t, AuthNone)
	_, _, id, csrf = e.loginPage(t, authParams(c2.ClientID, oauth2.GenerateVerifier()))
	resp, _ = e.postLogin(t, id, csrf, testUser, testPassword)
	if !strings.HasPrefix(resp.Header.Get("Location"), "/authorize/wait") {
		t.Fatalf("new client not asked: %s", resp.Header.Get("Location"))
	}
	e.s.SetPolicy(PolicyPassword)
	_, _, id, csrf = e.loginPage(t, authParams(c2.ClientID, oauth2.GenerateVerifier()))
	resp, _ = e.postLogin(t, id, csrf, testUser, testPassword)
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc.Query().Get("code") == "" {
		t.Fatalf("policy password asked: %s", loc)
	}
}

// An approval remembered under PolicyOnce is for that user, client and server: approving a
// client for /mcp/files does not let it into /mcp/notes or /mcp without asking.
func TestPolicyOnceIsPerResource(t *testing.T) {
	e := newEnv(t, PolicyOnce, "files", "notes")
	c := e.registerClient(t, AuthNone)
	login := func(resource string) string {
		q := authParams(c.ClientID, oauth2.GenerateVerifier())
		q.Set("resource", resource)
		_, _, id, csrf := e.loginPage(t, q)
		resp, _ := e.postLogin(t, id, csrf, testUser, testPassword)
		return resp.Header.Get("Location")
	}
	first := authParams(c.ClientID, oauth2.GenerateVerifier())
	first.Set("resource", e.resource("files"))
	if loc := e.authorize(t, first); loc.Query().Get("code") == "" { // asked, approved, remembered
		t.Fatalf("first sign-in: %s", loc)
	}
	if loc := login(e.resource("files")); !strings.Contains(loc, "code=") {
		t.Fatalf("the same server asked again: %s", loc)
	}
	for _, other := range []string{e.resource("notes"), e.resource(AllServers)} {
		if loc := login(other); !strings.HasPrefix(loc, "/authorize/wait") {
			t.Errorf("approval for /mcp/files let the client into %s without asking: %s", other, loc)
		}
	}
}

func TestAuthRequestExpires(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	e.clock.Add(AuthRequestTTL + time.Second)
	if resp, body := e.postLogin(t, id, csrf, testUser, testPassword); resp.StatusCode != 400 || !strings.Contains(body, "expired") {
		t.Fatalf("expired request: %d", resp.StatusCode)
	}
}

// FuzzAuthorizeRequest feeds arbitrary query strings to the authorization request parser.
func FuzzAuthorizeRequest(f *testing.F) {
	f.Add("response_type=code&client_id=x&redirect_uri=http://127.0.0.1/cb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&scope=mcp&state=s")
	f.Add("resource=http://127.0.0.1/mcp/files&resource=x&scope=%00")
	f.Add("client_id=&redirect_uri=%zz")
	e := newEnv(f, PolicyPassword)
	c := e.registerClient(f, AuthNone)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if q.Get("client_id") == "x" {
			q.Set("client_id", c.ClientID)
		}
		req, oe, pe := e.s.startAuthorization(context.Background(), q, e.origin, "127.0.0.1")
		if pe == nil && req == nil {
			t.Fatal("no result")
		}
		if oe != nil && oe.Code == "" {
			t.Fatal("empty error code")
		}
	})
}
