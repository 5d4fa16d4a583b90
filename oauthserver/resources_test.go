package oauthserver

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"
)

// The resource an authorization request names decides the audience: none or /mcp means
// /mcp, /mcp/NAME a shared server, and nothing else is accepted.
func TestRequestedResourceRule(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files", "notes")
	o := e.origin
	tests := []struct {
		resource string
		want     string // resource URL, or "" for invalid_target
	}{
		{"", o + "/mcp"},
		{o + "/mcp", o + "/mcp"},
		{o + "/mcp/files", o + "/mcp/files"},
		{o + "/mcp/notes", o + "/mcp/notes"},
		{o + "/mcp/other", ""},
		{o + "/mcp/", ""},
		{o + "/mcp/files/", ""},
		{o + "/mcp/files/x", ""},
		{o + "/mcp?x=1", ""},
		{o + "/mcp#f", ""},
		{o + "/mcpx", ""},
		{o + "/MCP", ""},
		{o, ""},
		{o + "/", ""},
		{"http://localhost:1/mcp", ""},
		{"http://localhost:1/mcp/files", ""},
		{strings.ToUpper(o[:4]) + o[4:] + "/mcp", ""},
		{"files", ""},
	}
	for _, tt := range tests {
		name, e1 := e.s.requestedResource(o, tt.resource)
		switch {
		case tt.want == "" && (e1 == nil || e1.Code != "invalid_target"):
			t.Errorf("resource %q: got %q, %v; want invalid_target", tt.resource, name, e1)
		case tt.want != "" && (e1 != nil || resourceURL(o, name) != tt.want):
			t.Errorf("resource %q: got %q, %v; want %s", tt.resource, name, e1, tt.want)
		}
	}
	// Nothing shared: not even /mcp, named or by default.
	e.setResources()
	for _, r := range []string{"", o + "/mcp"} {
		if _, e1 := e.s.requestedResource(o, r); e1 == nil || e1.Code != "invalid_target" {
			t.Errorf("nothing shared, resource %q: %v", r, e1)
		}
	}
}

// A client that names no resource (clients older than 2025-06-18) gets a token for /mcp,
// never for the server that sorts first, and the sign-in says so.
func TestNoResourceMeansAllServers(t *testing.T) {
	e := newEnv(t, PolicyAsk, "alpha", "files", "notes")
	c := e.registerClient(t, AuthNone)
	access, _ := e.tokens(t, c.ClientID) // approved through the queue
	if got := e.s.RecentSignIns(); len(got) != 1 || got[0].Resource != e.origin+"/mcp" || got[0].ServerLabel() != "all shared servers" {
		t.Fatalf("the sign-in shows %+v, want resource %s/mcp", got, e.origin)
	}
	for _, name := range []string{AllServers, "alpha", "files", "notes"} {
		if resp, body := e.mcpGet(t, name, access, nil); resp.StatusCode != 200 {
			t.Errorf("token for /mcp at %q: %d %s", e.resource(name), resp.StatusCode, body)
		}
	}
}

// The token endpoint issues the grant's resource, or a server it covers: a grant for /mcp
// may ask for /mcp/NAME (less than it has), no grant may ask for more or for another origin.
func TestTokenResourceRule(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files", "notes")
	e.s.origins.SetPublic("https://public.example")
	c := e.registerClient(t, AuthNone)
	exchange := func(authorized, requested string) (int, map[string]any) {
		v := oauth2.GenerateVerifier()
		f := codeForm(e.codeFor(t, c.ClientID, v, authorized), v, c.ClientID)
		if requested != "" {
			f.Set("resource", requested)
		}
		st, out, _ := e.token(t, f, nil)
		return st, out
	}
	all, files, notes := e.resource(AllServers), e.resource("files"), e.resource("notes")
	tests := []struct {
		name                  string
		authorized, requested string
		want                  string // audience, or "" for invalid_target
	}{
		{"none and none", "", "", all},
		{"all and none", all, "", all},
		{"all and all", all, all, all},
		{"all narrowed to a server", all, files, files},
		{"all narrowed to a server not shared", all, e.resource("other"), ""},
		{"all to the public origin", all, "https://public.example/mcp/files", ""},
		{"server and none", files, "", files},
		{"server and the same", files, files, files},
		{"server widened to all", files, all, ""},
		{"server to another", files, notes, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, out := exchange(tt.authorized, tt.requested)
			if tt.want == "" {
				if st != 400 || out["error"] != "invalid_target" {
					t.Fatalf("%d %v, want invalid_target", st, out)
				}
				return
			}
			if st != 200 {
				t.Fatalf("%d %v", st, out)
			}
			if got := tokenAudience(t, e, out["access_token"].(string)); got != tt.want {
				t.Fatalf("audience %s, want %s", got, tt.want)
			}
		})
	}

	// Narrowing on refresh: the access token is for the server, the grant stays /mcp.
	_, out := exchange("", "")
	rt := out["refresh_token"].(string)
	refresh := func(resource string) map[string]any {
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ClientID}}
		if resource != "" {
			f.Set("resource", resource)
		}
		st, out, _ := e.token(t, f, nil)
		if st != 200 {
			t.Fatalf("refresh for %q: %d %v", resource, st, out)
		}
		rt = out["refresh_token"].(string)
		return out
	}
	narrowed := refresh(notes)["access_token"].(string)
	if resp, _ := e.mcpGet(t, "notes", narrowed, nil); resp.StatusCode != 200 {
		t.Fatalf("narrowed token at its server: %d", resp.StatusCode)
	}
	for _, name := range []string{"files", AllServers} {
		if resp, _ := e.mcpGet(t, name, narrowed, nil); resp.StatusCode != 401 {
			t.Fatalf("token narrowed to notes at %q: %d", name, resp.StatusCode)
		}
	}
	if got := tokenAudience(t, e, refresh("")["access_token"].(string)); got != all {
		t.Fatalf("after a narrowed refresh the grant gives %s, want %s", got, all)
	}
}

// tokenAudience is the resource the guard reports for an access token at /mcp/files (which
// every audience of these tests but notes's may use) or /mcp/notes.
func tokenAudience(t *testing.T, e *env, access string) string {
	t.Helper()
	var got string
	e.setNext(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = auth.TokenInfoFromContext(r.Context()).Extra[InfoResource].(string)
	}))
	defer e.setNext(nil)
	for _, name := range []string{"files", "notes"} {
		if resp, _ := e.mcpGet(t, name, access, nil); resp.StatusCode == 200 {
			return got
		}
	}
	t.Fatal("the token opens neither /mcp/files nor /mcp/notes")
	return ""
}

// A token for /mcp opens every /mcp/NAME of its origin; a token for one server opens neither
// another server nor /mcp; no token opens anything on another origin.
func TestGuardAudience(t *testing.T) {
	e := newEnv(t, PolicyPassword, "a", "b")
	c := e.registerClient(t, AuthNone)
	all, _ := e.tokensFor(t, c.ClientID, e.resource(AllServers))
	a, _ := e.tokensFor(t, c.ClientID, e.resource("a"))
	tests := []struct {
		token, at string
		status    int
	}{
		{all, AllServers, 200}, {all, "a", 200}, {all, "b", 200},
		{a, "a", 200}, {a, "b", 401}, {a, AllServers, 401},
	}
	for _, tt := range tests {
		resp, _ := e.mcpGet(t, tt.at, tt.token, nil)
		if resp.StatusCode != tt.status {
			t.Errorf("token for %s at %s: %d, want %d", map[string]string{all: "/mcp", a: "/mcp/a"}[tt.token], e.resource(tt.at), resp.StatusCode, tt.status)
		}
	}
	// The same tokens through the public origin: refused everywhere, with the public PRM.
	e.s.origins.SetPublic("https://public.example")
	for _, tok := range []string{all, a} {
		for _, name := range []string{AllServers, "a"} {
			req, _ := http.NewRequest("GET", e.resource(name), nil)
			req.Host = "public.example"
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := `resource_metadata="` + prmURL("https://public.example", name) + `"`
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), want) {
				t.Errorf("local token at public %s: %d %s", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
}

// /mcp answers like /mcp/NAME: a challenge naming its own metadata, 404 while nothing is
// shared. Guards are built once and follow what is shared at each request.
func TestGuardBuiltOnceFollowsShares(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files")
	c := e.registerClient(t, AuthNone)
	access, _ := e.tokens(t, c.ClientID)
	resp, _ := e.mcpGet(t, AllServers, "", nil)
	want := `Bearer resource_metadata="` + e.origin + `/.well-known/oauth-protected-resource/mcp", scope="mcp"`
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("/mcp without a token: %d %q, want %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}
	later := e.s.Protect("later", whoami())
	call := func(h http.Handler) int {
		req, _ := http.NewRequest("GET", e.resource("later"), nil)
		req.Host = strings.TrimPrefix(e.origin, "http://")
		req.Header.Set("Authorization", "Bearer "+access)
		w := newRecorder()
		h.ServeHTTP(w, req)
		return w.status
	}
	if st := call(later); st != 404 {
		t.Fatalf("not yet shared: %d", st)
	}
	e.setResources("files", "later")
	if st := call(later); st != 200 {
		t.Fatalf("shared after the guard was built: %d", st)
	}
	e.setResources()
	if st := call(later); st != 404 {
		t.Fatalf("unshared: %d", st)
	}
	if resp, _ := e.mcpGet(t, AllServers, access, nil); resp.StatusCode != 404 {
		t.Fatalf("/mcp with nothing shared: %d", resp.StatusCode)
	}
}

// The handler behind the guard learns who (user), through what (client id and the name shown
// at the sign-in), for which audience, and until when.
func TestGuardTokenInfo(t *testing.T) {
	e := newEnv(t, PolicyPassword, "files", "notes")
	id, secret, _, err := e.s.EnsurePreregisteredClient()
	if err != nil {
		t.Fatal(err)
	}
	dcr := e.registerClient(t, AuthNone)
	var got *auth.TokenInfo
	e.setNext(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = auth.TokenInfoFromContext(r.Context())
	}))

	// Through the pre-registered client from ChatGPT's callback, for /mcp, used at /mcp/notes.
	chatgpt := "https://chatgpt.com/connector/oauth/abc123"
	v := oauth2.GenerateVerifier()
	q := authParams(id, v)
	q.Set("redirect_uri", chatgpt)
	_, _, fid, csrf := e.loginPage(t, q)
	resp, _ := e.postLogin(t, fid, csrf, testUser, testPassword)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	issued := e.clock.Now()
	st, out, _ := e.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {chatgpt}, "code_verifier": {v}}, []string{id, secret})
	if st != 200 {
		t.Fatalf("token: %d %v", st, out)
	}
	if resp, _ := e.mcpGet(t, "notes", out["access_token"].(string), nil); resp.StatusCode != 200 || got == nil {
		t.Fatalf("status %d, info %v", resp.StatusCode, got)
	}
	want := map[string]any{InfoClientID: id, InfoClientName: "ChatGPT", InfoResource: e.resource(AllServers)}
	if got.UserID != testUser || strings.Join(got.Scopes, " ") != "mcp" || !got.Expiration.Equal(issued.Add(AccessTokenTTL)) || !equalJSON(got.Extra, want) {
		t.Fatalf("token info %+v, want user %s, scope mcp, extra %v", got, testUser, want)
	}

	// Through a registered client, for /mcp/files.
	got = nil
	access, _ := e.tokensFor(t, dcr.ClientID, e.resource("files"))
	e.clock.Add(time.Minute)
	if resp, _ := e.mcpGet(t, "files", access, nil); resp.StatusCode != 200 || got == nil {
		t.Fatalf("status %d, info %v", resp.StatusCode, got)
	}
	want = map[string]any{InfoClientID: dcr.ClientID, InfoClientName: "Test Client", InfoResource: e.resource("files")}
	if !equalJSON(got.Extra, want) {
		t.Fatalf("extra %v, want %v", got.Extra, want)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
