package oauthserver

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/oauthserver/oauthtest"
)

// BenchmarkDocumentClientCold measures what a sign-in of a client never seen before costs
// the server: resolving, the address check, a TLS connection (to a local server), the fetch
// and the validation of its metadata document.
func BenchmarkDocumentClientCold(b *testing.B) {
	e, w := newDocEnv(b, PolicyPassword)
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("https://app.example/bench/%d.json", i)
		w.serveJSON(hostPath(ids[i]), "max-age=600", docJSON(b, map[string]any{"client_id": ids[i], "client_name": "Bench",
			"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "none"}))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each from another network, so the per-network fetch bound stays out of the way.
		if _, err := e.s.documentClient(b.Context(), ids[i], fmt.Sprintf("10.%d.%d.1", i/250%250, i%250)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDocumentClientCached measures the same for a client whose document is cached.
func BenchmarkDocumentClientCached(b *testing.B) {
	e, w := newDocEnv(b, PolicyPassword)
	const id = "https://app.example/bench.json"
	w.serveJSON(hostPath(id), "max-age=600", docJSON(b, map[string]any{"client_id": id, "client_name": "Bench",
		"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "none"}))
	if _, err := e.s.documentClient(b.Context(), id, "10.0.0.1"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.s.documentClient(b.Context(), id, "10.0.0.1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenEndpointPrivateKeyJWT is BenchmarkTokenEndpoint (a refresh by a public client,
// "none") for ChatGPT's kind of client: a refresh authenticated by an RS256 assertion checked
// against its cached key set, the jti remembered. The assertions are signed beforehand: that
// is the client's cost.
func BenchmarkTokenEndpointPrivateKeyJWT(b *testing.B) {
	e, w := newDocEnv(b, PolicyPassword)
	key := chatgpt(b, w)
	v := oauth2.GenerateVerifier()
	q := authParams(chatgptDoc, v)
	q.Set("redirect_uri", chatgptCallback)
	code := e.authorize(b, q).Query().Get("code")
	assertions := make([]string, b.N+1)
	for i := range assertions {
		a, err := key.Assertion(oauthtest.Claims{Issuer: chatgptDoc, Subject: chatgptDoc, Audience: []string{e.origin + "/token"},
			ID: fmt.Sprint("bench-", i), Expiry: e.clock.Now().Add(MaxAssertionLifetime)})
		if err != nil {
			b.Fatal(err)
		}
		assertions[i] = a
	}
	st, out, _ := e.token(b, assertionForm(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {chatgptCallback}, "code_verifier": {v}}, assertions[b.N]), nil)
	if st != 200 {
		b.Fatalf("token: %d %v", st, out)
	}
	rt := out["refresh_token"].(string)
	mux := http.NewServeMux()
	e.s.Routes(mux)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rt = serveToken(b, mux, e.origin, assertionForm(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, assertions[i]))
	}
}
