package oauthserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app/egress"
	"github.com/mcpshare/mcpshare/oauthserver/oauthtest"
)

const (
	chatgptDoc      = "https://chatgpt.com/oauth/abc123/client.json"
	chatgptJWKS     = "https://chatgpt.com/oauth/jwks.json"
	chatgptCallback = "https://chatgpt.com/connector/oauth/cb123"
	claudeDoc       = "https://claude.ai/oauth/mcp-oauth-client-metadata"
	claudeCallback  = "https://claude.ai/api/mcp/auth_callback"
)

func docJSON(t testing.TB, fields map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hostPath is "host/path" of a URL, as docWeb keys its pages.
func hostPath(raw string) string {
	u, _ := url.Parse(raw)
	return u.Host + u.Path
}

// chatgpt publishes a document like ChatGPT's (private_key_jwt with a jwks_uri) and its key set.
func chatgpt(t testing.TB, w *docWeb) *oauthtest.ClientKey {
	t.Helper()
	key, err := oauthtest.NewRSAKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	w.serveJSON(hostPath(chatgptDoc), "max-age=300", docJSON(t, map[string]any{
		"client_id": chatgptDoc, "client_name": "ChatGPT", "redirect_uris": []string{chatgptCallback},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": chatgptJWKS,
		"scope": "openid email profile offline_access", "logo_uri": "https://chatgpt.com/logo.png",
	}))
	w.serveJSON(hostPath(chatgptJWKS), "max-age=3600", oauthtest.JWKS(key))
	return key
}

// claude publishes a document like Claude's (public client, auth none).
func claude(t testing.TB, w *docWeb) {
	t.Helper()
	w.serveJSON(hostPath(claudeDoc), "", docJSON(t, map[string]any{
		"client_id": claudeDoc, "client_name": "Claude", "redirect_uris": []string{claudeCallback},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "none",
	}))
}

// docAuthorize runs an authorization request of a document client through the login page and
// returns the code and the page that was shown.
func docAuthorize(t *testing.T, e *env, clientID, redirect, verifier string, mod func(url.Values)) (code, page string) {
	t.Helper()
	q := authParams(clientID, verifier)
	q.Set("redirect_uri", redirect)
	if mod != nil {
		mod(q)
	}
	resp, page, id, csrf := e.loginPage(t, q)
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("login page for %s: %d %.600s", clientID, resp.StatusCode, page)
	}
	resp, body := e.postLogin(t, id, csrf, testUser, testPassword)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("code") == "" {
		t.Fatalf("login: %d %s %.300s", resp.StatusCode, loc, body)
	}
	return loc.Query().Get("code"), page
}

// appLoginPage GETs the login page for the document client id that returns to
// https://app.example/cb, as most documents of these tests do.
func appLoginPage(t *testing.T, e *env, id string) (*http.Response, string) {
	t.Helper()
	q := authParams(id, oauth2.GenerateVerifier())
	q.Set("redirect_uri", "https://app.example/cb")
	resp, body, _, _ := e.loginPage(t, q)
	return resp, body
}

// assertionForm is a token request authenticated by a client assertion.
func assertionForm(f url.Values, assertion string) url.Values {
	f.Set("client_assertion_type", JWTBearerAssertion)
	f.Set("client_assertion", assertion)
	return f
}

// A client like ChatGPT signs in with its metadata document and private_key_jwt: the page
// names it with its host, the token endpoint takes its signed assertion, it is listed among
// the clients, and the guard names it for the gateway.
func TestCIMDChatGPTPrivateKeyJWT(t *testing.T) {
	e, w := newDocEnv(t, PolicyPassword, "files", "notes")
	key := chatgpt(t, w)
	v := oauth2.GenerateVerifier()
	code, page := docAuthorize(t, e, chatgptDoc, chatgptCallback, v, func(q url.Values) {
		q.Set("scope", "openid email profile offline_access")
		q.Set("resource", e.resource(AllServers))
	})
	if !strings.Contains(page, "ChatGPT — chatgpt.com") || strings.Contains(page, "unverified") {
		t.Fatalf("login page does not name ChatGPT — chatgpt.com: %.800s", page)
	}
	as, _ := key.ClientAssertion(chatgptDoc, e.origin, e.clock.Now())
	st, out, _ := e.token(t, assertionForm(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {chatgptCallback}, "code_verifier": {v}, "resource": {e.resource(AllServers)}}, as), nil)
	if st != 200 || out["scope"] != ScopeMCP || out["refresh_token"] == nil {
		t.Fatalf("token: %d %v", st, out)
	}
	// The same assertion again is a replay.
	st, out2, _ := e.token(t, assertionForm(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}}, as), nil)
	if st != 401 || out2["error"] != "invalid_client" || !strings.Contains(fmt.Sprint(out2["error_description"]), "replayed") {
		t.Fatalf("replayed assertion: %d %v", st, out2)
	}
	// A fresh one refreshes.
	as2, _ := key.ClientAssertion(chatgptDoc, e.origin, e.clock.Now())
	st, out2, _ = e.token(t, assertionForm(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}}, as2), nil)
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, out2)
	}
	var info *auth.TokenInfo
	e.setNext(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { info = auth.TokenInfoFromContext(r.Context()) }))
	if resp, _ := e.mcpGet(t, "notes", out2["access_token"].(string), nil); resp.StatusCode != 200 {
		t.Fatalf("token refused: %d", resp.StatusCode)
	}
	if info.Extra[InfoClientID] != chatgptDoc || info.Extra[InfoClientName] != "ChatGPT — chatgpt.com" {
		t.Fatalf("token info %v", info.Extra)
	}
	list, _ := e.s.Clients()
	if len(list) != 1 || list[0].ID != chatgptDoc || !list[0].Document || list[0].Name != "ChatGPT" || list[0].AuthMethod != AuthPrivateKeyJWT || list[0].LastUsed.IsZero() {
		t.Fatalf("clients %+v", list)
	}
	// Revoking it ends its grants; the document can sign in again later.
	if err := e.s.RevokeClient(chatgptDoc); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.mcpGet(t, "notes", out2["access_token"].(string), nil); resp.StatusCode != 401 {
		t.Fatalf("token of a revoked document client: %d", resp.StatusCode)
	}
}

// A client like Claude (document, auth none) signs in with its exact redirect URI only.
func TestCIMDClaudePublicClient(t *testing.T) {
	e, w := newDocEnv(t, PolicyAsk)
	claude(t, w)
	v := oauth2.GenerateVerifier()
	loc := e.authorize(t, func() url.Values {
		q := authParams(claudeDoc, v)
		q.Set("redirect_uri", claudeCallback)
		return q
	}())
	if r := e.s.RecentSignIns(); len(r) != 1 || r[0].ClientName != "Claude — claude.ai" || len(r[0].Warnings) != 0 {
		t.Fatalf("approval showed %+v", r)
	}
	st, out, _ := e.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {claudeCallback}, "code_verifier": {v}, "client_id": {claudeDoc}}, nil)
	if st != 200 {
		t.Fatalf("token: %d %v", st, out)
	}
	for _, redirect := range []string{"https://claude.ai/api/mcp/auth_callback/x", "https://claude.com/api/mcp/auth_callback", "https://evil.example/cb"} {
		q := authParams(claudeDoc, v)
		q.Set("redirect_uri", redirect)
		if resp, body, _, _ := e.loginPage(t, q); resp.StatusCode != 400 || !strings.Contains(body, "not registered for this application") {
			t.Errorf("redirect %s: %d %.300s", redirect, resp.StatusCode, body)
		}
	}
	// A document client cannot switch to a secret.
	st, out, _ = e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}}, []string{claudeDoc, "guess"})
	if st != 401 {
		t.Fatalf("secret for a document client: %d %v", st, out)
	}
}

// Every way a metadata document can be refused, each shown as a page (never a redirect)
// that says why. Nothing is fetched from a non-public address: the fetcher never dials one.
func TestCIMDRefusals(t *testing.T) {
	e, w := newDocEnv(t, PolicyPassword)
	good := func(id string) map[string]any {
		return map[string]any{"client_id": id, "client_name": "App", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "none"}
	}
	w.resolve("private.example", netip.MustParseAddr("10.0.0.5"))
	w.resolve("mixed.example", netip.MustParseAddr("93.184.216.99"), netip.MustParseAddr("127.0.0.1"))
	w.resolve("mapped.example", netip.MustParseAddr("::ffff:127.0.0.1"))
	w.resolve("cgnat.example", netip.MustParseAddr("100.64.1.1"))
	w.resolve("linklocal.example", netip.MustParseAddr("169.254.169.254"))
	w.resolve("nat64.example", netip.MustParseAddr("64:ff9b::a00:1"))
	w.serve("app.example/redirect", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://app.example/ok", http.StatusFound)
	})
	w.serveJSON("app.example/ok", "", docJSON(t, good("https://app.example/ok")))
	w.serveJSON("app.example/big", "", []byte(`{"client_id":"https://app.example/big","pad":"`+strings.Repeat("x", MaxClientDocument)+`"}`))
	w.serve("app.example/html", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		rw.Write(docJSON(t, good("https://app.example/html")))
	})
	w.serveJSON("app.example/array", "", []byte(`[1,2]`))
	w.serveJSON("app.example/mismatch", "", docJSON(t, good("https://app.example/other")))
	w.serveJSON("app.example/secret-method", "", docJSON(t, map[string]any{"client_id": "https://app.example/secret-method", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "client_secret_post"}))
	w.serveJSON("app.example/secret", "", docJSON(t, map[string]any{"client_id": "https://app.example/secret", "redirect_uris": []string{"https://app.example/cb"}, "client_secret": "s3cret"}))
	w.serveJSON("app.example/no-keys", "", docJSON(t, map[string]any{"client_id": "https://app.example/no-keys", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt"}))
	w.serveJSON("app.example/private-jwk", "", docJSON(t, map[string]any{"client_id": "https://app.example/private-jwk", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt",
		"jwks": map[string]any{"keys": []any{map[string]any{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}}}}))
	w.serveJSON("app.example/http-redirect-uri", "", docJSON(t, map[string]any{"client_id": "https://app.example/http-redirect-uri", "redirect_uris": []string{"http://app.example/cb"}}))
	w.serveJSON("app.example/grant", "", docJSON(t, map[string]any{"client_id": "https://app.example/grant", "redirect_uris": []string{"https://app.example/cb"}, "grant_types": []string{"client_credentials"}}))
	tests := []struct {
		clientID string
		says     string
	}{
		{"https://private.example/client.json", "not a public address"},
		{"https://mixed.example/client.json", "not a public address"},
		{"https://mapped.example/client.json", "not a public address"},
		{"https://cgnat.example/client.json", "not a public address"},
		{"https://linklocal.example/client.json", "not a public address"},
		{"https://nat64.example/client.json", "not a public address"},
		{"https://127.0.0.1/client.json", "not a public address"},
		{"https://[::1]/client.json", "not a public address"},
		{"https://10.1.2.3:8443/client.json", "not a public address"},
		{"https://nowhere.example/client.json", "cannot resolve"},
		{"https://app.example/redirect", "redirect"},
		{"https://app.example/big", "larger than"},
		{"https://app.example/html", "not JSON"},
		{"https://app.example/array", "not a JSON object"},
		{"https://app.example/missing", "answered 404"},
		{"https://app.example/mismatch", "another client_id"},
		{"https://app.example/secret-method", "not supported"},
		{"https://app.example/secret", "client secret"},
		{"https://app.example/no-keys", "publishes no keys"},
		{"https://app.example/private-jwk", "private or symmetric"},
		{"https://app.example/http-redirect-uri", "invalid redirect URI"},
		{"https://app.example/grant", "grant type"},
		{"https://app.example/x?y=1", "query"},
		{"https://app.example/x#f", "fragment"},
		{"https://user@app.example/x", "user info"},
		{"https://app.example", "no path"},
		{"https://app.example/a/../b", ". or .. segment"},
		{"https://app.example/a/%2e%2e/b", ". or .. segment"},
		{"https://chatgрt.com/client.json", "not printable ASCII"},
		{"https://app.example/" + strings.Repeat("x", MaxClientIDURL), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.clientID[:min(len(tt.clientID), 60)], func(t *testing.T) {
			resp, body := appLoginPage(t, e, tt.clientID)
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(body, "could not be recognized") || !strings.Contains(body, tt.says) {
				t.Fatalf("status %d location %q, want a page saying %q: %.700s", resp.StatusCode, resp.Header.Get("Location"), tt.says, body)
			}
		})
	}
	for _, d := range w.dials() {
		if ap := netip.MustParseAddrPort(d); !egress.PublicAddr(ap.Addr()) {
			t.Errorf("the fetcher dialed %s", d)
		}
	}
	if w.hitCount("app.example/ok") != 0 {
		t.Error("a redirect was followed")
	}
}

// The connection goes to the address that was checked: when the DNS answer changes after the
// check (rebinding), the fetch still goes to the checked address, and a later fetch that gets
// a private answer is refused without connecting.
func TestCIMDConnectionPinnedToCheckedAddress(t *testing.T) {
	e, w := newDocEnv(t, PolicyPassword)
	const id = "https://app.example/rebind.json"
	pub, private := netip.MustParseAddr("93.184.216.77"), netip.MustParseAddr("127.0.0.1")
	w.rebind("app.example", []netip.Addr{pub}, []netip.Addr{private})
	w.serveJSON(hostPath(id), "max-age=60", docJSON(t, map[string]any{"client_id": id, "client_name": "App", "redirect_uris": []string{"https://app.example/cb"}}))
	if resp, body := appLoginPage(t, e, id); resp.StatusCode != 200 {
		t.Fatalf("first fetch: %d %.400s", resp.StatusCode, body)
	}
	if d := w.dials(); len(d) != 1 || d[0] != "93.184.216.77:443" {
		t.Fatalf("dialed %v, want only the checked 93.184.216.77:443", d)
	}
	// The system resolver may answer IPv4 in its IPv4-mapped form: that is the IPv4 address.
	const mapped = "https://keys.example/mapped.json"
	w.resolve("keys.example", netip.MustParseAddr("::ffff:93.184.216.78"))
	w.serveJSON(hostPath(mapped), "", docJSON(t, map[string]any{"client_id": mapped, "redirect_uris": []string{"https://app.example/cb"}}))
	if resp, body := appLoginPage(t, e, mapped); resp.StatusCode != 200 {
		t.Fatalf("an IPv4-mapped public answer: %d %.400s", resp.StatusCode, body)
	}
	if d := w.dials(); len(d) != 2 || d[1] != "93.184.216.78:443" {
		t.Fatalf("dialed %v, want 93.184.216.78:443", d)
	}
	// The cached copy expires; the next answer is loopback: no connection, and the stale copy
	// stands in (nothing was sent to the private address).
	e.clock.Add(MinDocumentTTL + time.Second)
	if resp, body := appLoginPage(t, e, id); resp.StatusCode != 200 {
		t.Fatalf("after rebinding (stale copy): %d %.400s", resp.StatusCode, body)
	}
	if d := w.dials(); len(d) != 2 {
		t.Fatalf("dialed %v after the answer became loopback", d)
	}
	// A client never seen before on the rebound name is refused.
	if resp, body := appLoginPage(t, e, "https://app.example/other.json"); resp.StatusCode != 400 || !strings.Contains(body, "not a public address") {
		t.Fatalf("new client on a rebound name: %d %.400s", resp.StatusCode, body)
	}
}

// Documents are cached for what Cache-Control allows within bounds; a failure is not retried
// for a while; a stale copy stands in when a refetch fails.
func TestCIMDCaching(t *testing.T) {
	e, w := newDocEnv(t, PolicyPassword)
	const id = "https://app.example/cached.json"
	doc := docJSON(t, map[string]any{"client_id": id, "client_name": "App", "redirect_uris": []string{"https://app.example/cb"}})
	w.serveJSON(hostPath(id), "max-age=600", doc)
	page := func() int {
		resp, _ := appLoginPage(t, e, id)
		return resp.StatusCode
	}
	for i := 0; i < 3; i++ {
		if st := page(); st != 200 {
			t.Fatalf("page %d: %d", i, st)
		}
	}
	if n := w.hitCount(hostPath(id)); n != 1 {
		t.Fatalf("fetched %d times within max-age, want 1", n)
	}
	e.clock.Add(10 * time.Minute)
	page()
	if n := w.hitCount(hostPath(id)); n != 2 {
		t.Fatalf("fetched %d times after max-age, want 2", n)
	}
	// The publisher's server fails: the stale copy is used, and the failure is not retried
	// for DocumentFailureTTL.
	w.serve(hostPath(id), func(rw http.ResponseWriter, _ *http.Request) { http.Error(rw, "down", 500) })
	e.clock.Add(10 * time.Minute)
	if st := page(); st != 200 {
		t.Fatalf("with a stale copy: %d", st)
	}
	page()
	if n := w.hitCount(hostPath(id)); n != 3 {
		t.Fatalf("fetched %d times, want 3 (the failure not retried at once)", n)
	}
	e.clock.Add(DocumentFailureTTL)
	page()
	if n := w.hitCount(hostPath(id)); n != 4 {
		t.Fatalf("fetched %d times, want 4 (retried after %s)", n, DocumentFailureTTL)
	}
	// no-store still caches for MinDocumentTTL, so no one can make us fetch on every request.
	const id2 = "https://app.example/nostore.json"
	w.serveJSON(hostPath(id2), "no-store", docJSON(t, map[string]any{"client_id": id2, "redirect_uris": []string{"https://app.example/cb"}}))
	for i := 0; i < 3; i++ {
		appLoginPage(t, e, id2)
	}
	if n := w.hitCount(hostPath(id2)); n != 1 {
		t.Fatalf("no-store document fetched %d times within %s", n, MinDocumentTTL)
	}
	// Without a copy, a failure is a page that says to try again.
	const id3 = "https://app.example/down.json"
	w.serve(hostPath(id3), func(rw http.ResponseWriter, _ *http.Request) { http.Error(rw, "down", 503) })
	if resp, body := appLoginPage(t, e, id3); resp.StatusCode != 400 || !strings.Contains(body, "Try again in a minute") {
		t.Fatalf("document down: %d %.400s", resp.StatusCode, body)
	}
}

// Fetches of documents not in the cache are bounded per network.
func TestCIMDFetchesBoundedPerNetwork(t *testing.T) {
	e, w := newDocEnv(t, PolicyPassword)
	for i := 0; i <= MaxDocumentFetchesPerMinute; i++ {
		id := fmt.Sprintf("https://app.example/c%d.json", i)
		w.serveJSON(hostPath(id), "", docJSON(t, map[string]any{"client_id": id, "redirect_uris": []string{"https://app.example/cb"}}))
		_, _, pe := e.s.startAuthorization(t.Context(), func() url.Values {
			q := authParams(id, oauth2.GenerateVerifier())
			q.Set("redirect_uri", "https://app.example/cb")
			return q
		}(), e.origin, "203.0.113.9")
		if (i < MaxDocumentFetchesPerMinute) != (pe == nil) {
			t.Fatalf("fetch %d: %v", i, pe)
		}
	}
	if n := len(w.dials()); n != MaxDocumentFetchesPerMinute {
		t.Fatalf("%d fetches, want %d", n, MaxDocumentFetchesPerMinute)
	}
}

// Every way a private_key_jwt assertion can be wrong is refused with invalid_client; the
// right one, also after the client rotates its keys, is accepted.
func TestCIMDAssertionRefusals(t *testing.T) {
	e, w := newDocEnv(t, PolicyPassword)
	key := chatgpt(t, w)
	other, _ := oauthtest.NewRSAKey("k1") // same kid, another key
	ec, _ := oauthtest.NewECKey("k2")
	now := e.clock.Now()
	base := oauthtest.Claims{Issuer: chatgptDoc, Subject: chatgptDoc, Audience: []string{e.origin + "/token"}, IssuedAt: now, Expiry: now.Add(time.Minute)}
	with := func(mod func(*oauthtest.Claims)) oauthtest.Claims {
		c := base
		c.ID = fmt.Sprint(time.Now().UnixNano())
		mod(&c)
		return c
	}
	sign := func(k *oauthtest.ClientKey, c oauthtest.Claims) string {
		s, err := k.Assertion(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hmac, err := key.HMACWithPublicKey(with(func(*oauthtest.Claims) {}))
	if err != nil {
		t.Fatal(err)
	}
	used := sign(key, with(func(*oauthtest.Claims) {}))
	tests := []struct {
		name      string
		assertion string
	}{
		{"alg none", oauthtest.UnsignedAssertion(with(func(*oauthtest.Claims) {}))},
		{"HMAC keyed with the public key", hmac},
		{"signed by another key", sign(other, with(func(*oauthtest.Claims) {}))},
		{"signed by a key not published", sign(ec, with(func(*oauthtest.Claims) {}))},
		{"expired", sign(key, with(func(c *oauthtest.Claims) { c.IssuedAt, c.Expiry = now.Add(-10*time.Minute), now.Add(-time.Minute) }))},
		{"exp too far ahead", sign(key, with(func(c *oauthtest.Claims) { c.Expiry = now.Add(time.Hour) }))},
		{"no exp", sign(key, with(func(c *oauthtest.Claims) { c.Expiry = time.Time{} }))},
		{"not yet valid", sign(key, with(func(c *oauthtest.Claims) { c.NotBefore = now.Add(2 * time.Minute); c.Expiry = now.Add(3 * time.Minute) }))},
		{"issued in the future", sign(key, with(func(c *oauthtest.Claims) { c.IssuedAt = now.Add(2 * time.Minute); c.Expiry = now.Add(3 * time.Minute) }))},
		{"no jti", sign(key, with(func(c *oauthtest.Claims) { c.ID = "" }))},
		{"wrong audience", sign(key, with(func(c *oauthtest.Claims) { c.Audience = []string{"https://other.example/token"} }))},
		{"iss is another client", sign(key, with(func(c *oauthtest.Claims) { c.Issuer = claudeDoc }))},
		{"sub is another client", sign(key, with(func(c *oauthtest.Claims) { c.Subject = claudeDoc }))},
		{"replayed", used},
		{"garbage", "not.a.jwt"},
	}
	v := oauth2.GenerateVerifier()
	code, _ := docAuthorize(t, e, chatgptDoc, chatgptCallback, v, nil)
	form := func(a string) url.Values {
		return assertionForm(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {chatgptCallback},
			"code_verifier": {v}, "client_id": {chatgptDoc}}, a)
	}
	// The first use of "used" is a refusal for another reason (no such code) that still
	// consumes its jti... so use it at the revocation endpoint, which takes assertions too.
	if st := revokeForm(t, e, assertionForm(url.Values{"token": {"nothing"}, "client_id": {chatgptDoc}}, used)); st != 200 {
		t.Fatalf("revocation with an assertion: %d", st)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, out, _ := e.token(t, form(tt.assertion), nil)
			if st != 401 || out["error"] != "invalid_client" {
				t.Fatalf("%d %v, want 401 invalid_client", st, out)
			}
		})
	}
	for name, f := range map[string]url.Values{
		"no authentication": {"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {chatgptCallback}, "code_verifier": {v}, "client_id": {chatgptDoc}},
		"a secret":          {"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {chatgptCallback}, "code_verifier": {v}, "client_id": {chatgptDoc}, "client_secret": {"x"}},
		"wrong type":        {"grant_type": {"authorization_code"}, "code": {code}, "client_id": {chatgptDoc}, "client_assertion_type": {"urn:x"}, "client_assertion": {used}},
	} {
		if st, out, _ := e.token(t, f, nil); st != 401 || out["error"] != "invalid_client" {
			t.Errorf("%s: %d %v", name, st, out)
		}
	}
	// The client rotates its key: assertions with the new key work once the cached set is
	// older than MinDocumentTTL (the first failure fetches it again).
	rotated, _ := oauthtest.NewRSAKey("k9")
	w.serveJSON(hostPath(chatgptJWKS), "max-age=3600", oauthtest.JWKS(rotated))
	e.clock.Add(MinDocumentTTL)
	now = e.clock.Now()
	a, _ := rotated.ClientAssertion(chatgptDoc, e.origin, now)
	if st, out, _ := e.token(t, form(a), nil); st != 200 {
		t.Fatalf("after key rotation: %d %v", st, out)
	}
}

// The issuer alone is an accepted audience (the rfc7523bis recommendation), and an EC key
// in an inline jwks works as well as an RSA key at a jwks_uri.
func TestCIMDAssertionIssuerAudienceAndInlineKeys(t *testing.T) {
	e, w := newDocEnv(t, PolicyPassword)
	ec, _ := oauthtest.NewECKey("ec1")
	const id = "https://app.example/ec.json"
	var jwks any
	json.Unmarshal(oauthtest.JWKS(ec), &jwks)
	w.serveJSON(hostPath(id), "", docJSON(t, map[string]any{"client_id": id, "client_name": "EC app", "redirect_uris": []string{"https://app.example/cb"},
		"token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}))
	v := oauth2.GenerateVerifier()
	code, _ := docAuthorize(t, e, id, "https://app.example/cb", v, nil)
	now := e.clock.Now()
	a, _ := ec.Assertion(oauthtest.Claims{Issuer: id, Subject: id, Audience: []string{e.origin}, ID: "j1", Expiry: now.Add(time.Minute)})
	st, out, _ := e.token(t, assertionForm(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {v}}, a), nil)
	if st != 200 {
		t.Fatalf("token: %d %v", st, out)
	}
}

func TestCacheLifetime(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"": -1, "max-age=300": 300 * time.Second, "public, max-age=60": time.Minute, "no-store": 0, "no-cache, max-age=600": 0,
		"max-age=abc": -1, `max-age="120"`: 2 * time.Minute,
	} {
		h := http.Header{}
		if cc != "" {
			h.Set("Cache-Control", cc)
		}
		if got := cacheLifetime(h); got != want {
			t.Errorf("%q: %s, want %s", cc, got, want)
		}
	}
	h := http.Header{"Cache-Control": {"max-age=300"}, "Age": {"100"}}
	if got := cacheLifetime(h); got != 200*time.Second {
		t.Errorf("with Age: %s", got)
	}
}

// The go-sdk's own OAuth client, given a client ID metadata document, uses it because the
// server advertises client_id_metadata_document_supported, and reaches a tool through /mcp.
func TestCIMDGoSDKClient(t *testing.T) {
	e, w := newDocEnv(t, PolicyPassword)
	e.setNext(mcpServer())
	const id = "https://app.example/go-sdk-client.json"
	w.serveJSON(hostPath(id), "max-age=600", docJSON(t, map[string]any{"client_id": id, "client_name": "go-sdk test client",
		"redirect_uris": []string{testRedirect}, "token_endpoint_auth_method": "none"}))
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		RedirectURL:                    testRedirect,
		ClientIDMetadataDocumentConfig: &auth.ClientIDMetadataDocumentConfig{URL: id},
		AuthorizationCodeFetcher:       loginFetcher(e, testUser, testPassword),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := callWhoamiAt(t, e.resource(AllServers), h); got != "user="+testUser {
		t.Fatalf("tool said %q", got)
	}
	if w.hitCount(hostPath(id)) != 1 {
		t.Fatalf("document fetched %d times", w.hitCount(hostPath(id)))
	}
	if list, _ := e.s.Clients(); len(list) != 1 || list[0].ID != id {
		t.Fatalf("clients: %+v", list)
	}
}

// FuzzClientDocument feeds arbitrary documents to the document rules: no panic, and whatever
// is accepted is a client of this URL with a method that needs no shared secret.
func FuzzClientDocument(f *testing.F) {
	const id = "https://app.example/c.json"
	f.Add([]byte(`{"client_id":"https://app.example/c.json","redirect_uris":["https://app.example/cb"]}`))
	f.Add([]byte(`{"client_id":"https://app.example/c.json","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[]}}`))
	f.Add([]byte(`{"client_id":"https://app.example/c.json","redirect_uris":["x"],"client_secret":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseClientDocument(id, body)
		if err != nil {
			if c != nil {
				t.Fatal("a client and an error")
			}
			return
		}
		if c.ID != id || !c.Document || (c.AuthMethod != AuthNone && c.AuthMethod != AuthPrivateKeyJWT) || len(c.RedirectURIs) == 0 {
			t.Fatalf("accepted %+v", c)
		}
		if c.AuthMethod == AuthPrivateKeyJWT && c.JWKSURI == "" && len(c.JWKS) == 0 {
			t.Fatal("private_key_jwt without keys")
		}
	})
}

// FuzzClientIDURL: whatever passes the client ID URL rules is https with a host and a path,
// without user info, query or fragment.
func FuzzClientIDURL(f *testing.F) {
	for _, s := range []string{"https://chatgpt.com/oauth/x/client.json", "https://a/..", "https://u@h/p", "https://h/p?q", "https://h:99999/p", "https://[::1]/p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := checkClientIDURL(raw)
		if err != nil {
			return
		}
		if u.Scheme != "https" || u.Host == "" || u.Path == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
			t.Fatalf("accepted %q", raw)
		}
	})
}
