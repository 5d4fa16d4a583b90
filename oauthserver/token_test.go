package oauthserver

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func codeForm(code, verifier, clientID string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
		"code_verifier": {verifier}, "client_id": {clientID}}
}

func TestCodeExchangeRefusals(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files", "notes")
	c := e.registerClient(t, AuthNone)
	other := e.registerClient(t, AuthNone)
	tests := []struct {
		name   string
		mutate func(f url.Values)
		before func()
		status int
		code   string
	}{
		{"wrong verifier", func(f url.Values) { f.Set("code_verifier", oauth2.GenerateVerifier()) }, nil, 400, "invalid_grant"},
		{"missing verifier", func(f url.Values) { f.Del("code_verifier") }, nil, 400, "invalid_request"},
		{"short verifier", func(f url.Values) { f.Set("code_verifier", "abc") }, nil, 400, "invalid_grant"},
		{"redirect mismatch", func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:9999/other") }, nil, 400, "invalid_grant"},
		{"redirect missing", func(f url.Values) { f.Del("redirect_uri") }, nil, 400, "invalid_grant"},
		{"unknown code", func(f url.Values) { f.Set("code", "mcps_code_nope") }, nil, 400, "invalid_grant"},
		{"missing code", func(f url.Values) { f.Del("code") }, nil, 400, "invalid_request"},
		{"another client", func(f url.Values) { f.Set("client_id", other.ClientID) }, nil, 400, "invalid_grant"},
		{"unknown client", func(f url.Values) { f.Set("client_id", "nope") }, nil, 401, "invalid_client"},
		{"no client", func(f url.Values) { f.Del("client_id") }, nil, 401, "invalid_client"},
		{"resource mismatch", func(f url.Values) { f.Set("resource", e.resource("notes")) }, nil, 400, "invalid_target"},
		{"expired code", nil, func() { e.clock.Add(CodeTTL + 1) }, 400, "invalid_grant"},
		{"unsupported grant", func(f url.Values) { f.Set("grant_type", "password") }, nil, 400, "unsupported_grant_type"},
		{"missing grant", func(f url.Values) { f.Del("grant_type") }, nil, 400, "invalid_request"},
		{"repeated parameter", func(f url.Values) { f.Add("code", "x") }, nil, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := oauth2.GenerateVerifier()
			f := codeForm(e.codeFor(t, c.ClientID, v, e.resource("files")), v, c.ClientID)
			if tt.mutate != nil {
				tt.mutate(f)
			}
			if tt.before != nil {
				tt.before()
			}
			st, out, h := e.token(t, f, nil)
			if st != tt.status || out["error"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", st, out, tt.status, tt.code)
			}
			if h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != "application/json" {
				t.Fatalf("headers %v", h)
			}
		})
	}
}

func TestCodeReplayRevokesTokens(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	v := oauth2.GenerateVerifier()
	code := e.code(t, c.ClientID, v)
	st, out, _ := e.token(t, codeForm(code, v, c.ClientID), nil)
	if st != 200 || out["token_type"] != "Bearer" || out["expires_in"] != float64(3600) || out["scope"] != "mcp" {
		t.Fatalf("exchange: %d %v", st, out)
	}
	access, refresh := out["access_token"].(string), out["refresh_token"].(string)
	if !strings.HasPrefix(access, "mcps_at_") || !strings.HasPrefix(refresh, "mcps_rt_") || !strings.HasPrefix(code, "mcps_code_") {
		t.Fatal("token prefixes")
	}
	if resp, _ := e.mcpGet(t, "files", access, nil); resp.StatusCode != 200 {
		t.Fatalf("access token refused: %d", resp.StatusCode)
	}
	if st, out, _ := e.token(t, codeForm(code, v, c.ClientID), nil); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("replay: %d %v", st, out)
	}
	if resp, _ := e.mcpGet(t, "files", access, nil); resp.StatusCode != 401 {
		t.Fatalf("access token survived the replay: %d", resp.StatusCode)
	}
	if st, _, _ := e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {c.ClientID}}, nil); st != 400 {
		t.Fatalf("refresh token survived the replay: %d", st)
	}
}

func TestClientAuthentication(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	none := e.registerClient(t, AuthNone)
	post := e.registerClient(t, AuthSecretPost)
	basic := e.registerClient(t, AuthSecretBasic)
	preID, preSecret, _, err := e.s.EnsurePreregisteredClient()
	if err != nil {
		t.Fatal(err)
	}
	if none.ClientSecret != "" || post.ClientSecret == "" || basic.ClientSecret == "" {
		t.Fatal("secrets: only for non-none methods")
	}
	type auth struct {
		id, secret string
		basic      bool
	}
	tests := []struct {
		name   string
		a      auth
		status int
		code   string
		wwwBas bool
	}{
		{"none", auth{none.ClientID, "", false}, 200, "", false},
		{"post", auth{post.ClientID, post.ClientSecret, false}, 200, "", false},
		{"basic", auth{basic.ClientID, basic.ClientSecret, true}, 200, "", false},
		{"preregistered post", auth{preID, preSecret, false}, 200, "", false},
		{"preregistered basic", auth{preID, preSecret, true}, 200, "", false},
		{"post without secret", auth{post.ClientID, "", false}, 401, "invalid_client", false},
		{"post wrong secret", auth{post.ClientID, "wrong", false}, 401, "invalid_client", false},
		{"post client using basic", auth{post.ClientID, post.ClientSecret, true}, 401, "invalid_client", true},
		{"basic wrong secret", auth{basic.ClientID, "wrong", true}, 401, "invalid_client", true},
		{"basic client using post", auth{basic.ClientID, basic.ClientSecret, false}, 401, "invalid_client", false},
		{"basic unknown client", auth{"nope", "x", true}, 401, "invalid_client", true},
		{"none client sending a secret", auth{none.ClientID, "x", false}, 401, "invalid_client", false},
		{"preregistered without secret", auth{preID, "", false}, 401, "invalid_client", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := oauth2.GenerateVerifier()
			q := authParams(tt.a.id, v)
			if tt.a.id == "nope" {
				q = authParams(none.ClientID, v)
			}
			code := e.code(t, q.Get("client_id"), v)
			f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {v}}
			var b []string
			if tt.a.basic {
				b = []string{tt.a.id, tt.a.secret}
			} else {
				f.Set("client_id", tt.a.id)
				if tt.a.secret != "" {
					f.Set("client_secret", tt.a.secret)
				}
			}
			st, out, h := e.token(t, f, b)
			if st != tt.status || (tt.code != "" && out["error"] != tt.code) {
				t.Fatalf("got %d %v", st, out)
			}
			if got := strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic"); got != tt.wwwBas {
				t.Fatalf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
			}
		})
	}
	// Both methods at once.
	f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_secret": {basic.ClientSecret}}
	if st, out, _ := e.token(t, f, []string{basic.ClientID, basic.ClientSecret}); st != 400 || out["error"] != "invalid_request" {
		t.Fatalf("two methods: %d %v", st, out)
	}
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files", "notes")
	c := e.registerClient(t, AuthNone)
	other := e.registerClient(t, AuthNone)
	access0, r1 := e.tokensFor(t, c.ClientID, e.resource("files"))
	refresh := func(rt string, extra url.Values) (int, map[string]any) {
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ClientID}}
		for k, v := range extra {
			f[k] = v
		}
		st, out, _ := e.token(t, f, nil)
		return st, out
	}
	// Refusals that leave the grant alone.
	for name, tc := range map[string]struct {
		f    url.Values
		code string
	}{
		"other client":      {url.Values{"client_id": {other.ClientID}}, "invalid_grant"},
		"resource mismatch": {url.Values{"resource": {e.resource("notes")}}, "invalid_target"},
		"access token":      {url.Values{"refresh_token": {access0}}, "invalid_grant"},
	} {
		if st, out := refresh(r1, tc.f); st != 400 || out["error"] != tc.code {
			t.Fatalf("%s: %d %v", name, st, out)
		}
	}
	st, out := refresh(r1, url.Values{"resource": {e.resource("files")}, "scope": {"mcp"}})
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, out)
	}
	r2 := out["refresh_token"].(string)
	// Grace: the response was lost, r1 is used again while r2 was never used.
	st, out = refresh(r1, nil)
	if st != 200 {
		t.Fatalf("grace: %d %v", st, out)
	}
	r3 := out["refresh_token"].(string)
	// (r2 presented now would revoke the grant: TestSecurityRefreshStolenBeforeFirstUse.)
	_ = r2
	// First use of r3 ends r1.
	st, out = refresh(r3, nil)
	if st != 200 {
		t.Fatalf("r3: %d %v", st, out)
	}
	r4, access4 := out["refresh_token"].(string), out["access_token"].(string)
	if resp, _ := e.mcpGet(t, "files", access4, nil); resp.StatusCode != 200 {
		t.Fatal("new access token refused")
	}
	// r1 reused after its successor was used: the whole grant is revoked.
	if st, out := refresh(r1, nil); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("reuse: %d %v", st, out)
	}
	if st, _ := refresh(r4, nil); st != 400 {
		t.Fatal("grant survived a reuse")
	}
	if resp, _ := e.mcpGet(t, "files", access4, nil); resp.StatusCode != 401 {
		t.Fatal("access token survived a reuse")
	}
	// Expired refresh token.
	_, r := e.tokens(t, c.ClientID)
	e.clock.Add(RefreshTokenTTL + 1)
	if st, _ := refresh(r, nil); st != 400 {
		t.Fatal("expired refresh token accepted")
	}
}

func TestTokenBodies(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	post := func(ct, body string) (int, string) {
		resp, err := http.Post(e.origin+"/token", ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, ct, body string
		status         int
	}{
		{"json body", "application/json", `{"grant_type":"authorization_code"}`, 400},
		{"no content type", "", "grant_type=x", 400},
		{"oversized", "application/x-www-form-urlencoded", "a=" + strings.Repeat("x", MaxFormBody), 413},
		{"malformed", "application/x-www-form-urlencoded", "%zz=%", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := post(tt.ct, tt.body)
			if st != tt.status || !strings.Contains(body, `"error":"invalid_request"`) {
				t.Fatalf("%d %s", st, body)
			}
		})
	}
	resp, _ := http.Get(e.origin + "/token")
	if resp.StatusCode != 405 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /token: %d", resp.StatusCode)
	}
}

// TestFlowGolangOAuth2 runs the whole flow with golang.org/x/oauth2 as the client.
func TestFlowGolangOAuth2(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	reg := e.registerClient(t, AuthSecretBasic)
	cfg := &oauth2.Config{
		ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RedirectURL: testRedirect, Scopes: []string{"mcp"},
		Endpoint: oauth2.Endpoint{AuthURL: e.origin + "/authorize", TokenURL: e.origin + "/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-xyz", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", e.resource("files")))
	u, _ := url.Parse(authURL)
	loc := e.authorize(t, u.Query())
	if loc.Query().Get("state") != "state-xyz" || loc.Query().Get("iss") != e.origin {
		t.Fatalf("redirect %s", loc)
	}
	ctx := context.Background()
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", e.resource("files")))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token %+v", tok)
	}
	client := cfg.Client(ctx, tok)
	resp, err := client.Get(e.resource("files"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "user="+testUser {
		t.Fatalf("resource said %q", b)
	}
	// Refresh through the library.
	tok.Expiry = tok.Expiry.Add(-2 * AccessTokenTTL)
	newTok, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if newTok.AccessToken == tok.AccessToken || newTok.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not rotate")
	}
}

// FuzzTokenForm feeds arbitrary bodies to the token endpoint.
func FuzzTokenForm(f *testing.F) {
	f.Add("grant_type=authorization_code&code=mcps_code_x&code_verifier=abc&client_id=x", "")
	f.Add("grant_type=refresh_token&refresh_token=mcps_rt_x&client_id=x&client_secret=y", "Basic eDp5")
	f.Add("%%%", "Basic !!!")
	e := newEnv(f, PolicyPassword)
	f.Fuzz(func(t *testing.T, body, authz string) {
		req, _ := http.NewRequest("POST", e.origin+"/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // not a valid HTTP header value
		}
		resp.Body.Close()
		if resp.StatusCode == 200 || resp.StatusCode >= 500 {
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
	})
}

// BenchmarkTokenEndpoint measures a refresh through the handler (rotation, one bbolt write).
func BenchmarkTokenEndpoint(b *testing.B) {
	e := newEnv(b, PolicyPassword)
	c := e.registerClient(b, AuthNone)
	_, rt := e.tokens(b, c.ClientID)
	mux := http.NewServeMux()
	e.s.Routes(mux)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rt = serveToken(b, mux, e.origin, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ClientID}})
	}
}

// serveToken serves one successful /token request on origin through mux, without a network
// (for benchmarks), and returns the new refresh token.
func serveToken(b *testing.B, mux http.Handler, origin string, form url.Values) string {
	req, _ := http.NewRequest("POST", origin+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = strings.TrimPrefix(origin, "http://")
	w := newRecorder()
	mux.ServeHTTP(w, req)
	if w.status != 200 {
		b.Fatalf("status %d: %s", w.status, w.body.String())
	}
	return w.json()["refresh_token"].(string)
}

// Scopes as real clients send them: ChatGPT with a metadata document asks for
// "openid email profile offline_access", others add their own or send none. Each gets "mcp",
// says so in the token response, and a refresh token without offline_access.
func TestScopesAsRealClientsSendThem(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	for _, asked := range []string{"openid email profile offline_access", "mcp", "", "mcp admin", "read:all write", "offline_access"} {
		v := oauth2.GenerateVerifier()
		q := authParams(c.ClientID, v)
		q.Set("scope", asked)
		loc := e.authorize(t, q)
		st, out, _ := e.token(t, codeForm(loc.Query().Get("code"), v, c.ClientID), nil)
		if st != 200 || out["scope"] != ScopeMCP || out["refresh_token"] == nil {
			t.Fatalf("scope %q: %d %v, want scope mcp and a refresh token", asked, st, out)
		}
		if resp, _ := e.mcpGet(t, "files", out["access_token"].(string), nil); resp.StatusCode != 200 {
			t.Fatalf("scope %q: the token is refused: %d", asked, resp.StatusCode)
		}
		// A refresh that asks for what ChatGPT asks for gets mcp again.
		st, out, _ = e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)},
			"client_id": {c.ClientID}, "scope": {"openid offline_access"}}, nil)
		if st != 200 || out["scope"] != ScopeMCP {
			t.Fatalf("refresh with scope: %d %v", st, out)
		}
	}
}
