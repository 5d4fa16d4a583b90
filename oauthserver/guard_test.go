package oauthserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"go.etcd.io/bbolt"
	"golang.org/x/oauth2"
)

func TestGuardRefusals(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files", "notes")
	c := e.registerClient(t, AuthNone)
	good, _ := e.tokensFor(t, c.ClientID, e.resource("files"))
	revoked, revokedRT := e.tokensFor(t, c.ClientID, e.resource("files"))
	if st, _, _ := e.token(t, url.Values{}, nil); st == 200 {
		t.Fatal("empty token request accepted")
	}
	revokeForm(t, e, url.Values{"token": {revokedRT}, "client_id": {c.ClientID}})
	// A token with no scope, written directly: the guard must answer insufficient_scope.
	noScope := newSecret(prefixAccess)
	e.db.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketTokens, hashToken(noScope), tokenRecord{Kind: kindAccess, User: testUser,
			Resource: e.resource("files"), Expires: e.clock.Now().Add(AccessTokenTTL)})
	})
	prm := e.origin + "/.well-known/oauth-protected-resource/mcp/files"
	tests := []struct {
		name     string
		resource string
		authz    string
		hdr      map[string]string
		status   int
		www      string
	}{
		{"no token", "files", "", nil, 401, fmt.Sprintf(`Bearer resource_metadata=%q, scope="mcp"`, prm)},
		{"basic scheme", "files", "Basic eDp5", nil, 401, fmt.Sprintf(`Bearer resource_metadata=%q, scope="mcp"`, prm)},
		{"garbage token", "files", "Bearer nope", nil, 401, `Bearer error="invalid_token"`},
		{"unknown token", "files", "Bearer " + newSecret(prefixAccess), nil, 401, `Bearer error="invalid_token"`},
		{"bearer without token", "files", "Bearer", nil, 401, `Bearer error="invalid_token"`},
		{"refresh token as access", "files", "Bearer " + revokedRT, nil, 401, `Bearer error="invalid_token"`},
		{"revoked", "files", "Bearer " + revoked, nil, 401, `Bearer error="invalid_token"`},
		{"other resource", "notes", "Bearer " + good, nil, 401, `Bearer error="invalid_token"`},
		{"no scope", "files", "Bearer " + noScope, nil, 403, fmt.Sprintf(`Bearer error="insufficient_scope", scope="mcp", resource_metadata=%q`, prm)},
		{"origin not allowed", "files", "Bearer " + good, map[string]string{"Origin": "https://evil.example"}, 403, ""},
		{"not shared", "other", "Bearer " + good, nil, 404, ""},
		{"host not allowed", "files", "Bearer " + good, map[string]string{"Host": "evil.example"}, 421, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.resource(tt.resource), nil)
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
				if k == "Host" {
					req.Host = v
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || err != nil {
				t.Fatalf("status %d (json err %v), want %d", resp.StatusCode, err, tt.status)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, tt.www) || (tt.www == "" && got != "") {
				t.Fatalf("WWW-Authenticate %q, want prefix %q", got, tt.www)
			}
			if strings.Contains(tt.www, "invalid_token") {
				ch, err := oauthex.ParseWWWAuthenticate([]string{resp.Header.Get("WWW-Authenticate")})
				want := e.origin + "/.well-known/oauth-protected-resource/mcp/" + tt.resource
				if err != nil || ch[0].Params["resource_metadata"] != want || ch[0].Params["scope"] != "mcp" {
					t.Fatalf("challenge %v %v", ch, err)
				}
			}
		})
	}
	// The good token works, from an allowed Origin too.
	if resp, body := e.mcpGet(t, "files", good, map[string]string{"Origin": e.origin}); resp.StatusCode != 200 || body != "user="+testUser {
		t.Fatalf("good token: %d %s", resp.StatusCode, body)
	}
	// Expired.
	e.clock.Add(AccessTokenTTL)
	if resp, _ := e.mcpGet(t, "files", good, nil); resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "expired") {
		t.Fatalf("expired token: %d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// A token minted on the local origin is refused on the public one, and the other way round.
func TestGuardAudienceIsPerOrigin(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	local, _ := e.tokens(t, c.ClientID)
	e.s.origins.SetPublic("https://public.example")
	req, _ := http.NewRequest("GET", e.resource("files"), nil)
	req.Host = "public.example"
	req.Header.Set("Authorization", "Bearer "+local)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `Bearer error="invalid_token", error_description="the access token was issued for another resource", resource_metadata="https://public.example/.well-known/oauth-protected-resource/mcp/files", scope="mcp"`
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestGuardPreflight(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	req, _ := http.NewRequest("OPTIONS", e.resource("files"), nil)
	req.Header.Set("Origin", e.origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "*" ||
		h.Get("Access-Control-Allow-Headers") != mcpAllowHeaders || h.Get("Access-Control-Expose-Headers") != mcpExposeHeaders {
		t.Fatalf("%d %v", resp.StatusCode, h)
	}
}

// mcpServer returns the go-sdk Streamable HTTP handler of a server with a "whoami" tool.
func mcpServer() http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		user := ""
		if req.Extra != nil && req.Extra.TokenInfo != nil {
			user = req.Extra.TokenInfo.UserID
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "user=" + user}}}, nil, nil
	})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
}

// The go-sdk's StreamableHTTPHandler sees TokenInfo.UserID through Protect: a session created
// by one user cannot be used by another.
func TestGuardBindsSDKSessionsToUsers(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	e.setNext(mcpServer())
	if err := e.s.AddUser("bob", "bob's password"); err != nil {
		t.Fatal(err)
	}
	c := e.registerClient(t, AuthNone)
	aliceTok, _ := e.tokens(t, c.ClientID)
	// Bob's token, through the same flow.
	v := oauth2.GenerateVerifier()
	_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, v))
	resp, _ := e.postLogin(t, id, csrf, "bob", "bob's password")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	_, out, _ := e.token(t, codeForm(loc.Query().Get("code"), v, c.ClientID), nil)
	bobTok := out["access_token"].(string)

	post := func(tok, session, body string) *http.Response {
		req, _ := http.NewRequest("POST", e.resource("files"), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	r := post(aliceTok, "", init)
	session := r.Header.Get("Mcp-Session-Id")
	if r.StatusCode != 200 || session == "" {
		t.Fatalf("initialize: %d session %q", r.StatusCode, session)
	}
	note := `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	if r := post(bobTok, session, note); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
		t.Fatalf("bob used alice's session: %d", r.StatusCode)
	}
	if r := post(aliceTok, session, note); r.StatusCode != http.StatusAccepted {
		t.Fatalf("alice: %d", r.StatusCode)
	}
}

// loginFetcher performs the browser part for the go-sdk client: it fetches the login page,
// posts the form and returns the code from the redirect.
func loginFetcher(e *env, user, password string) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		u, err := url.Parse(args.URL)
		if err != nil {
			return nil, err
		}
		resp, body, id, csrf := e.loginPage(e.t, u.Query())
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("login page: %d %.300s", resp.StatusCode, body)
		}
		resp, body = e.postLogin(e.t, id, csrf, user, password)
		if resp.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("login: %d %.300s", resp.StatusCode, body)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, err
		}
		q := loc.Query()
		if q.Get("error") != "" {
			return nil, fmt.Errorf("authorization error %s", q.Get("error"))
		}
		return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
	}
}

func callWhoami(t *testing.T, e *env, h auth.OAuthHandler) string {
	t.Helper()
	return callWhoamiAt(t, e.resource("files"), h)
}

func callWhoamiAt(t *testing.T, endpoint string, h auth.OAuthHandler) string {
	t.Helper()
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "go-sdk-test", Version: "1"}, nil)
	sess, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, OAuthHandler: h}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer sess.Close()
	res, err := sess.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	return res.Content[0].(*mcp.TextContent).Text
}

// TestFlowGoSDKClient runs the go-sdk's OAuth client (strict about issuer and resource)
// against an mcp.Server behind Protect: discovery, DCR, PKCE, login, token, tool call.
func TestFlowGoSDKClient(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	e.setNext(mcpServer())
	for _, method := range []string{AuthNone, AuthSecretPost, AuthSecretBasic} {
		t.Run("dcr "+method, func(t *testing.T) {
			h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
				RedirectURL: testRedirect,
				DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
					RedirectURIs: []string{testRedirect}, ClientName: "go-sdk " + method, TokenEndpointAuthMethod: method,
					GrantTypes: []string{"authorization_code", "refresh_token"},
				}},
				AuthorizationCodeFetcher: loginFetcher(e, testUser, testPassword),
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := callWhoami(t, e, h); got != "user="+testUser {
				t.Fatalf("tool said %q", got)
			}
		})
	}
	t.Run("dcr none at /mcp", func(t *testing.T) {
		h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
			RedirectURL: testRedirect,
			DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
				RedirectURIs: []string{testRedirect}, ClientName: "go-sdk all", TokenEndpointAuthMethod: AuthNone,
			}},
			AuthorizationCodeFetcher: loginFetcher(e, testUser, testPassword),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := callWhoamiAt(t, e.resource(AllServers), h); got != "user="+testUser {
			t.Fatalf("tool said %q", got)
		}
	})
	t.Run("preregistered", func(t *testing.T) {
		id, secret, _, err := e.s.EnsurePreregisteredClient()
		if err != nil {
			t.Fatal(err)
		}
		h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
			RedirectURL:              "http://127.0.0.1:43210/any/callback",
			PreregisteredClient:      &oauthex.ClientCredentials{ClientID: id, ClientSecretAuth: &oauthex.ClientSecretAuth{ClientSecret: secret}, Issuer: e.origin},
			AuthorizationCodeFetcher: loginFetcher(e, testUser, testPassword),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := callWhoami(t, e, h); got != "user="+testUser {
			t.Fatalf("tool said %q", got)
		}
	})
}

// BenchmarkGuardVerify measures the guard's token check (hash, bbolt lookup, expiry,
// audience, scope) with a handler behind it that does nothing.
func BenchmarkGuardVerify(b *testing.B) {
	e := newEnv(b, PolicyPassword)
	c := e.registerClient(b, AuthNone)
	tok, _ := e.tokens(b, c.ClientID)
	h := e.s.Protect("files", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req, _ := http.NewRequest("POST", e.resource("files"), nil)
	req.Host = strings.TrimPrefix(e.origin, "http://")
	req.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := newRecorder()
		h.ServeHTTP(w, req)
		if w.status != 0 && w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}
