package oauthserver

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"go.etcd.io/bbolt"
	"golang.org/x/oauth2"
)

// These tests attack the server the way a hostile client, page or network peer would.

// Redirect URI tricks: nothing but the exact registered URI (or the fixed pre-registered
// callbacks, or loopback http with another port) may receive a code.
func TestSecurityRedirectTricks(t *testing.T) {
	pre := &clientRecord{Preregistered: true}
	reg := &clientRecord{RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1:8000/oauth/callback"}}
	refused := []struct {
		c   *clientRecord
		uri string
	}{
		{pre, "https://chatgpt.com@evil.example/connector/oauth/abc"},
		{pre, "https://chatgpt.com:443@evil.example/connector/oauth/abc"},
		{pre, "https://evil.example/https://chatgpt.com/connector/oauth/abc"},
		{pre, "https://evil.example/?https://chatgpt.com/connector/oauth/abc"},
		{pre, "HTTPS://chatgpt.com/connector/oauth/abc"},
		{pre, "https://CHATGPT.COM/connector/oauth/abc"},
		{pre, "https://chatgpt.com./connector/oauth/abc"},
		{pre, "https://chatgpt.com:8443/connector/oauth/abc"},
		{pre, "https://chatgpt.com/connector/oauth/abc/"},
		{pre, "https://chatgpt.com/connector/oauth/abc/extra"},
		{pre, "https://chatgpt.com/connector/oauth/abc%2Fextra"},
		{pre, "https://chatgpt.com/connector/oauth/abc%2fextra"},
		{pre, "https://chatgpt.com/connector/oauth/abc%5C..%5Cx"},
		{pre, "https://chatgpt.com/connector/oauth/abc\\x"},
		{pre, "https://chatgpt.com/connector/oauth/.."},
		{pre, "https://chatgpt.com/connector/oauth/."},
		{pre, "https://chatgpt.com/connector/oauth/abc#frag"},
		{pre, "https://chatgpt.com/connector/oauth/abc#"},
		{pre, "https://chatgpt.com/connector/oauth/abc?next=https://evil.example"},
		{pre, "https://chatgpt.com/connector/oauth/abc?"},
		{pre, "https://chatgpt.com/connector/oauth/a b"},
		{pre, "https://chatgpt.com/connector/oauth/abc@evil.example"},
		{pre, "https://chatgpt.com/connector_platform_oauth_redirect/"},
		{pre, "https://chatgpt.com/connector_platform_oauth_redirect?x=1"},
		{pre, "https://claude.ai/api/mcp/auth_callback?next=x"},
		{pre, "https://claude.ai.evil.example/api/mcp/auth_callback"},
		{pre, "//chatgpt.com/connector/oauth/abc"},
		{pre, "http://localhost.evil.example/cb"},
		{pre, "http://127.0.0.1.evil.example/cb"},
		{pre, "http://127.0.0.1@evil.example/cb"},
		{pre, "http://evil.example#@127.0.0.1/cb"},
		{pre, "http://0x7f.0.0.1/cb"},
		{pre, "http://2130706433/cb"},
		{pre, "javascript://127.0.0.1/%0aalert(1)"},
		{reg, "https://app.example/cb/../cb"},
		{reg, "https://app.example/cb?x=1"},
		{reg, "https://app.example/cb#"},
		{reg, "https://app.example:443/cb"},
		{reg, "https://user@app.example/cb"},
		{reg, "http://app.example/cb"},
		{reg, "http://127.0.0.1:9/oauth%2Fcallback"},
		{reg, "http://127.0.0.1:9/oauth%2fcallback"},
		{reg, "http://127.0.0.1:9/oauth/callback/"},
		{reg, "http://127.0.0.1:9/oauth/callback?"},
		{reg, "http://127.0.0.1:9/oauth/callback#x"},
		{reg, "http://localhost:8000/oauth/callback"},
		{reg, "http://[::1]:8000/oauth/callback"},
	}
	for _, tt := range refused {
		if tt.c.redirectAllowed(tt.uri) {
			t.Errorf("preregistered=%v: %q accepted", tt.c.Preregistered, tt.uri)
		}
	}
	for _, tt := range []struct {
		c   *clientRecord
		uri string
	}{
		{pre, "https://chatgpt.com/connector/oauth/AbC-123_x.y~z"},
		{reg, "http://127.0.0.1:9/oauth/callback"},
		{reg, "http://127.0.0.1/oauth/callback"},
		{reg, "https://app.example/cb"},
	} {
		if !tt.c.redirectAllowed(tt.uri) {
			t.Errorf("preregistered=%v: %q refused", tt.c.Preregistered, tt.uri)
		}
	}
}

// Whoever holds the login page's id and CSRF token (anyone can: they are in the page a GET
// returns) must not be able to collect the code after someone else typed the password.
func TestSecurityWaitBoundToBrowser(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	c := e.registerClient(t, AuthNone)
	// The attacker starts the request and keeps id and csrf; the victim signs in with them.
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	resp, _ := e.postLogin(t, id, csrf, testUser, testPassword)
	victimWait := resp.Header.Get("Location")
	if resp.StatusCode != 303 || !strings.HasPrefix(victimWait, "/authorize/wait?") {
		t.Fatalf("login: %d %s", resp.StatusCode, victimWait)
	}
	if err := e.s.Decide(e.s.PendingSignIns()[0].ID, true); err != nil {
		t.Fatal(err)
	}
	attacker := "?" + url.Values{"id": {id}, "csrf": {csrf}}.Encode()
	for _, path := range []string{"/authorize/wait", "/authorize/status"} {
		r, err := e.http.Get(e.origin + path + attacker)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if strings.Contains(r.Header.Get("Location"), "code=") || strings.Contains(string(b), DecisionApproved) || r.StatusCode < 400 {
			t.Fatalf("%s with the page's id and csrf only: %d %s %.200s", path, r.StatusCode, r.Header.Get("Location"), b)
		}
	}
	// Resubmitting the form without the password does not hand out the waiting page either.
	resp, _ = e.postLogin(t, id, csrf, testUser, "wrong password")
	if resp.StatusCode == 303 {
		t.Fatalf("resubmission with a wrong password: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The browser that typed the password gets the code.
	r, err := e.http.Get(e.origin + victimWait)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	loc, _ := url.Parse(r.Header.Get("Location"))
	if r.StatusCode != 303 || loc.Query().Get("code") == "" {
		t.Fatalf("victim: %d %s", r.StatusCode, loc)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("redirect with a code: Cache-Control %q", cc)
	}
}

// A double-clicked Sign in button (the same form twice, right password) still ends on the
// waiting page, with one pending sign-in.
func TestSecurityResubmittedLoginWaits(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	c := e.registerClient(t, AuthNone)
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	r1, _ := e.postLogin(t, id, csrf, testUser, testPassword)
	r2, _ := e.postLogin(t, id, csrf, testUser, testPassword)
	if r1.StatusCode != 303 || r2.StatusCode != 303 || r1.Header.Get("Location") != r2.Header.Get("Location") {
		t.Fatalf("%d %s / %d %s", r1.StatusCode, r1.Header.Get("Location"), r2.StatusCode, r2.Header.Get("Location"))
	}
	if n := len(e.s.PendingSignIns()); n != 1 {
		t.Fatalf("%d pending sign-ins", n)
	}
}

// RFC 9700 §4.14.2: when a rotated-out refresh token comes back, the grant is revoked. Here the
// attacker steals r1 and uses it before the client's first use of r2: the client then presents
// r2, which must revoke the attacker's chain too.
func TestSecurityRefreshStolenBeforeFirstUse(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	_, r1 := e.tokens(t, c.ClientID)
	refresh := func(rt string) (int, map[string]any) {
		st, out, _ := e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ClientID}}, nil)
		return st, out
	}
	st, out := refresh(r1)
	if st != 200 {
		t.Fatal(st, out)
	}
	r2 := out["refresh_token"].(string) // the client's
	st, out = refresh(r1)               // the attacker's
	if st != 200 {
		t.Fatal(st, out)
	}
	attackerRT, attackerAT := out["refresh_token"].(string), out["access_token"].(string)
	if st, out := refresh(r2); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("client's r2: %d %v", st, out)
	}
	if st, _ := refresh(attackerRT); st != 400 {
		t.Fatal("the attacker's refresh token survived the reuse")
	}
	if resp, _ := e.mcpGet(t, "files", attackerAT, nil); resp.StatusCode != 401 {
		t.Fatal("the attacker's access token survived the reuse")
	}
}

// Two refreshes with the same token at once: no server error, and at most one refresh token
// of the grant stays usable afterwards.
func TestSecurityConcurrentRefresh(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	_, r1 := e.tokens(t, c.ClientID)
	const n = 8
	var wg sync.WaitGroup
	results := make([]map[string]any, n)
	status := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i], results[i], _ = e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r1}, "client_id": {c.ClientID}}, nil)
		}()
	}
	wg.Wait()
	var issued []string
	for i := range status {
		switch status[i] {
		case 200:
			issued = append(issued, results[i]["refresh_token"].(string))
		case 400:
		default:
			t.Fatalf("refresh %d: %d %v", i, status[i], results[i])
		}
	}
	if len(issued) == 0 {
		t.Fatal("no refresh succeeded")
	}
	live := 0
	e.db.View(func(tx *bbolt.Tx) error {
		return forEachJSON(tx, bucketTokens, func(_ []byte, t *tokenRecord) error {
			if t.Kind == kindRefresh && !t.Superseded {
				live++
			}
			return nil
		})
	})
	// r1 itself (still in its grace period) and exactly one successor.
	if live != 2 {
		t.Fatalf("%d usable refresh tokens after concurrent refreshes", live)
	}
}

// Client-controlled values (client_name from DCR, state) are escaped on every page and in the
// redirect; nothing they contain becomes markup or a header.
func TestSecurityXSSInClientNameAndState(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	payloads := []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(1)>`,
		`';alert(1);//`,
		`</script><script>alert(1)</script>`,
		"javascript:alert(1)",
	}
	for _, p := range payloads {
		body, _ := json.Marshal(map[string]any{"redirect_uris": []string{testRedirect}, "token_endpoint_auth_method": "none", "client_name": p})
		st, out := postRegister(t, e, "application/json", string(body))
		if st != 201 {
			t.Fatalf("register %q: %d %v", p, st, out)
		}
		q := authParams(out["client_id"].(string), oauth2.GenerateVerifier())
		q.Set("state", p+"\r\nSet-Cookie: x=1")
		resp, page, id, csrf := e.loginPage(t, q)
		if resp.StatusCode != 200 {
			t.Fatalf("%q: %d", p, resp.StatusCode)
		}
		for _, bad := range []string{"<script>alert", "<img", "</script><script>"} {
			if strings.Contains(page, bad) {
				t.Fatalf("login page carries %q raw for client_name %q", bad, p)
			}
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatal("frame headers missing")
		}
		r, _ := e.postLogin(t, id, csrf, testUser, testPassword)
		w, err := e.http.Get(e.origin + r.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		wb, _ := io.ReadAll(w.Body)
		w.Body.Close()
		if strings.Contains(string(wb), "<img") || strings.Contains(string(wb), "alert(1)</script>") {
			t.Fatalf("wait page carries raw client_name %q", p)
		}
		e.s.Decide(e.s.PendingSignIns()[0].ID, false)
		w, _ = e.http.Get(e.origin + r.Header.Get("Location"))
		w.Body.Close()
		if w.Header.Get("Set-Cookie") != "" {
			t.Fatal("state injected a header")
		}
		loc, _ := url.Parse(w.Header.Get("Location"))
		if loc.Query().Get("state") != q.Get("state") || loc.Host != "127.0.0.1:9999" {
			t.Fatalf("state not returned unchanged: %s", loc)
		}
	}
	// Right-to-left overrides and other invisible format characters spoof names in the tray.
	for _, name := range []string{"ChatGPT\u202egnp.exe", "Chat\u200bGPT", "Claude\u2066x"} {
		body, _ := json.Marshal(map[string]any{"redirect_uris": []string{testRedirect}, "client_name": name})
		if st, _ := postRegister(t, e, "application/json", string(body)); st != 400 {
			t.Errorf("client_name %q accepted: %d", name, st)
		}
	}
}

// A form posted from another site is refused before anything else, even with a valid token
// pair, and so is one from an opaque origin ("null": a sandboxed frame, a data: URL); the form
// posted from our own page (our origin, or no Origin header) works.
func TestSecurityLoginFormOrigin(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	post := func(origin string) int {
		_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
		req, _ := http.NewRequest("POST", e.origin+"/authorize", strings.NewReader(url.Values{"id": {id}, "csrf": {csrf}, "username": {testUser}, "password": {testPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for origin, want := range map[string]int{"https://evil.example": 403, e.origin: 303, "null": 403, "": 303} {
		if got := post(origin); got != want {
			t.Errorf("Origin %q: %d, want %d", origin, got, want)
		}
	}
}

// The token endpoint answers JSON, never HTML, whatever goes wrong, and never lets a response
// be cached.
func TestSecurityTokenEndpointAlwaysJSON(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthSecretBasic)
	big := strings.Repeat("a", MaxFormBody+10)
	tests := []struct {
		name, method, ct, body, host, authz string
		status                              int
	}{
		{"GET", "GET", "", "", "", "", 405},
		{"PUT", "PUT", "application/x-www-form-urlencoded", "grant_type=x", "", "", 405},
		{"json body", "POST", "application/json", `{"grant_type":"authorization_code"}`, "", "", 400},
		{"no content type", "POST", "", "grant_type=authorization_code", "", "", 400},
		{"oversized", "POST", "application/x-www-form-urlencoded", "client_id=" + big, "", "", 413},
		{"bad form", "POST", "application/x-www-form-urlencoded", "a=%zz", "", "", 400},
		{"host not allowed", "POST", "application/x-www-form-urlencoded", "grant_type=x", "evil.example", "", 421},
		{"bearer instead of basic", "POST", "application/x-www-form-urlencoded", "grant_type=authorization_code", "", "Bearer x", 401},
		{"wrong basic secret", "POST", "application/x-www-form-urlencoded", "grant_type=authorization_code", "", "Basic " + basic(c.ClientID, "nope"), 401},
		{"unknown grant", "POST", "application/x-www-form-urlencoded", "grant_type=password&username=a&password=b", "", "Basic " + basic(c.ClientID, c.ClientSecret), 400},
		{"implicit", "POST", "application/x-www-form-urlencoded", "grant_type=client_credentials", "", "Basic " + basic(c.ClientID, c.ClientSecret), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.origin+"/token", strings.NewReader(tt.body))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out map[string]any
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != tt.status || err != nil || out["error"] == nil || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s %v (%v)", resp.StatusCode, resp.Header.Get("Content-Type"), out, err)
			}
			if tt.status == 401 && strings.HasPrefix(tt.authz, "Basic") && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 to basic without WWW-Authenticate")
			}
		})
	}
}

func basic(id, secret string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// The code is bound to everything of its request; each mismatch is refused and the code can
// still be redeemed properly afterwards (a refusal is no replay), once.
func TestSecurityCodeBinding(t *testing.T) {
	e := newEnv(t, PolicyPassword, "a", "b")
	c := e.registerClient(t, AuthNone)
	other := e.registerClient(t, AuthNone)
	v := oauth2.GenerateVerifier()
	q := authParams(c.ClientID, v)
	q.Set("resource", e.resource("a"))
	code := e.authorize(t, q).Query().Get("code")
	base := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
			"code_verifier": {v}, "client_id": {c.ClientID}, "resource": {e.resource("a")}}
	}
	for name, mod := range map[string]func(url.Values){
		"other client":        func(f url.Values) { f.Set("client_id", other.ClientID) },
		"other redirect":      func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:9999/callback2") },
		"missing redirect":    func(f url.Values) { f.Del("redirect_uri") },
		"other resource":      func(f url.Values) { f.Set("resource", e.resource("b")) },
		"wrong verifier":      func(f url.Values) { f.Set("code_verifier", oauth2.GenerateVerifier()) },
		"plain verifier":      func(f url.Values) { f.Set("code_verifier", oauth2.S256ChallengeFromVerifier(v)) },
		"no verifier":         func(f url.Values) { f.Del("code_verifier") },
		"short verifier":      func(f url.Values) { f.Set("code_verifier", "abc") },
		"code with prefix":    func(f url.Values) { f.Set("code", code[:len(code)-1]) },
		"access as code":      func(f url.Values) { f.Set("code", prefixAccess+code) },
		"resource on another": func(f url.Values) { f.Set("resource", "https://evil.example/mcp/a") },
	} {
		f := base()
		mod(f)
		if st, out, _ := e.token(t, f, nil); st == 200 || out["error"] == nil {
			t.Fatalf("%s: %d %v", name, st, out)
		}
	}
	// Asking for more scope at /token grants nothing more: the only scope is mcp.
	f := base()
	f.Set("scope", "mcp admin")
	st, out, _ := e.token(t, f, nil)
	if st != 200 || out["scope"] != ScopeMCP {
		t.Fatalf("redeem: %d %v", st, out)
	}
	at := out["access_token"].(string)
	if resp, _ := e.mcpGet(t, "b", at, nil); resp.StatusCode != 401 {
		t.Fatal("token for a accepted at b")
	}
	// Replay: refused and what the code issued is revoked.
	if st, _, _ := e.token(t, base(), nil); st != 400 {
		t.Fatal("replay accepted")
	}
	if resp, _ := e.mcpGet(t, "a", at, nil); resp.StatusCode != 401 {
		t.Fatal("replay did not revoke")
	}
	// An expired code.
	code = e.authorize(t, q).Query().Get("code")
	e.clock.Add(CodeTTL + 1)
	if st, out, _ := e.token(t, base(), nil); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("expired code: %d %v", st, out)
	}
}

// PKCE: a missing, plain or malformed challenge never reaches the login page.
func TestSecurityPKCERequired(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	v := oauth2.GenerateVerifier()
	for name, mod := range map[string]func(url.Values){
		"no challenge":     func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") },
		"no method":        func(q url.Values) { q.Del("code_challenge_method") },
		"plain":            func(q url.Values) { q.Set("code_challenge_method", "plain"); q.Set("code_challenge", v) },
		"lowercase s256":   func(q url.Values) { q.Set("code_challenge_method", "s256") },
		"short challenge":  func(q url.Values) { q.Set("code_challenge", "abc") },
		"two methods":      func(q url.Values) { q.Add("code_challenge_method", "plain") },
		"two challenges":   func(q url.Values) { q.Add("code_challenge", oauth2.S256ChallengeFromVerifier(v)) },
		"padded challenge": func(q url.Values) { q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(v)+"=") },
	} {
		q := authParams(c.ClientID, v)
		mod(q)
		resp, _, id, _ := e.loginPage(t, q)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || id != "" || loc.Query().Get("error") == "" || loc.Query().Get("state") != "st-123" || loc.Query().Get("iss") != e.origin {
			t.Errorf("%s: %d %s", name, resp.StatusCode, loc)
		}
	}
}

// User removal and client revocation end every token of theirs at once.
func TestSecurityRemovalRevokes(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	at, rt := e.tokens(t, c.ClientID)
	if err := e.s.RemoveUser(testUser); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.mcpGet(t, "files", at, nil); resp.StatusCode != 401 {
		t.Fatal("access token of a removed user works")
	}
	if st, _, _ := e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ClientID}}, nil); st != 400 {
		t.Fatal("refresh token of a removed user works")
	}
	e.s.AddUser(testUser, testPassword) // same name again: the old tokens stay dead
	if resp, _ := e.mcpGet(t, "files", at, nil); resp.StatusCode != 401 {
		t.Fatal("access token came back with the user name")
	}
	at, rt = e.tokens(t, c.ClientID)
	if err := e.s.RevokeClient(c.ClientID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.mcpGet(t, "files", at, nil); resp.StatusCode != 401 {
		t.Fatal("access token of a revoked client works")
	}
	if st, out, _ := e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ClientID}}, nil); st != 401 || out["error"] != "invalid_client" {
		t.Fatalf("refresh of a revoked client: %d %v", st, out)
	}
}

// After a complete flow with every kind of secret, neither the bbolt file's bytes nor the log
// contain any of them.
func TestSecurityNoSecretAtRestOrInLogs(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	var logs bytes.Buffer
	var logMu sync.Mutex
	e.s.log = slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	preID, preSecret, _, err := e.s.EnsurePreregisteredClient()
	if err != nil {
		t.Fatal(err)
	}
	c := e.registerClient(t, AuthSecretPost)
	secrets := []string{testPassword, preSecret, c.ClientSecret}
	// The password typed into the user name field, as people do.
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	e.postLogin(t, id, csrf, testPassword, testPassword)
	for _, cl := range []struct{ id, secret string }{{preID, preSecret}, {c.ClientID, c.ClientSecret}} {
		v := oauth2.GenerateVerifier()
		code := e.code(t, cl.id, v)
		f := codeForm(code, v, cl.id)
		f.Set("client_secret", cl.secret)
		st, out, _ := e.token(t, f, nil)
		if st != 200 {
			t.Fatal(st, out)
		}
		rt := out["refresh_token"].(string)
		st, out2, _ := e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {cl.id}, "client_secret": {cl.secret}}, nil)
		if st != 200 {
			t.Fatal(st, out2)
		}
		// A replay and a wrong secret, to get the refusal paths logged too.
		e.token(t, f, nil)
		f.Set("client_secret", cl.secret+"x")
		e.token(t, f, nil)
		secrets = append(secrets, code, v, out["access_token"].(string), rt, out2["access_token"].(string), out2["refresh_token"].(string))
	}
	raw, err := os.ReadFile(e.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	logMu.Lock()
	logged := logs.String()
	logMu.Unlock()
	for _, s := range secrets {
		// Also the random part alone, and the base64url-decoded form is covered by the hash.
		for _, needle := range []string{s, s[len(s)-20:]} {
			if bytes.Contains(raw, []byte(needle)) {
				t.Errorf("the bbolt file contains a secret (%.12s…)", s)
			}
			if strings.Contains(logged, needle) {
				t.Errorf("the log contains a secret (%.12s…)", s)
			}
		}
	}
	if !strings.Contains(logged, "sign-in failed") {
		t.Fatal("no log captured")
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Per-address limits key IPv6 clients by their /64: one host has a whole /64 to rotate through.
func TestSecurityIPv6RateLimitKey(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2:bbbb::2"},
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
	} {
		if limitKey(tt.a) != limitKey(tt.b) {
			t.Errorf("%s and %s have different keys", tt.a, tt.b)
		}
	}
	if limitKey("2001:db8:1:2::1") == limitKey("2001:db8:1:3::1") {
		t.Error("different /64 share a key")
	}
	if limitKey("203.0.113.7") == limitKey("203.0.113.8") {
		t.Error("different IPv4 addresses share a key")
	}
}

// A user removed while their sign-in waits for approval gets no tokens when it is approved.
func TestSecurityRemovedUserPendingSignIn(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	c := e.registerClient(t, AuthNone)
	v := oauth2.GenerateVerifier()
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, v))
	resp, _ := e.postLogin(t, id, csrf, testUser, testPassword)
	wait := resp.Header.Get("Location")
	if err := e.s.RemoveUser(testUser); err != nil {
		t.Fatal(err)
	}
	for _, si := range e.s.PendingSignIns() {
		e.s.Decide(si.ID, true)
	}
	r, err := e.http.Get(e.origin + wait)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	loc, _ := url.Parse(r.Header.Get("Location"))
	if code := loc.Query().Get("code"); code != "" {
		if st, out, _ := e.token(t, codeForm(code, v, c.ClientID), nil); st == 200 {
			t.Fatalf("tokens for a removed user: %v", out)
		}
	}
}
