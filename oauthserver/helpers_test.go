package oauthserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"go.etcd.io/bbolt"
	"golang.org/x/oauth2"
)

// testClock is the injectable clock of the tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testUser     = "alice"
	testPassword = "correct horse battery"
	testRedirect = "http://127.0.0.1:9999/callback"
)

// env is a server behind a real listener with a real bbolt file.
type env struct {
	t         *testing.T
	s         *Server
	ts        *httptest.Server
	origin    string
	clock     *testClock
	db        *bbolt.DB
	mu        sync.Mutex
	resources []string
	http      *http.Client // does not follow redirects
	signIns   int
	next      http.Handler // behind the guard; whoami when nil
	public    string       // a public client for pending; registered on first use
}

func (e *env) setNext(h http.Handler) {
	e.mu.Lock()
	e.next = h
	e.mu.Unlock()
}

func (e *env) nextHandler() http.Handler {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.next != nil {
		return e.next
	}
	return whoami()
}

func (e *env) setResources(names ...string) {
	e.mu.Lock()
	e.resources = names
	e.mu.Unlock()
}

// newEnv starts a server sharing resources ("files" when none given) with policy.
func newEnv(t testing.TB, policy Policy, resources ...string) *env {
	t.Helper()
	return newEnvWith(t, policy, nil, resources...)
}

// newEnvWith is newEnv with a last word on the server's Config (mod may be nil).
func newEnvWith(t testing.TB, policy Policy, mod func(*Config), resources ...string) *env {
	t.Helper()
	if len(resources) == 0 {
		resources = []string{"files"}
	}
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "test.db"), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{db: db, resources: resources, clock: &testClock{t: time.Now()}}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	origins := NewOrigins()
	cfg := Config{
		DB: db, Origins: origins, Policy: policy, Now: e.clock.Now,
		Resources: func() []string {
			e.mu.Lock()
			defer e.mu.Unlock()
			return append([]string(nil), e.resources...)
		},
		OnSignIn: func() { e.mu.Lock(); e.signIns++; e.mu.Unlock() },
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.argon = argon2Params{Time: 1, Memory: 64, Threads: 1} // fast hashes in tests
	if err := s.AddUser(testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	// Each guard is built once, as the app does, before or after its server is shared.
	behind := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.nextHandler().ServeHTTP(w, r) })
	mux.Handle("/mcp", s.Protect(AllServers, behind))
	var guards sync.Map // name -> http.Handler
	mux.Handle("/mcp/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g, _ := guards.LoadOrStore(r.PathValue("name"), s.Protect(r.PathValue("name"), behind))
		g.(http.Handler).ServeHTTP(w, r)
	}))
	e.ts = httptest.NewServer(origins.Handler(mux))
	t.Cleanup(e.ts.Close)
	e.origin = e.ts.URL
	origins.SetLocal(e.origin)
	e.s = s
	e.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// whoami answers with the user the guard put in the context.
func whoami() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ti := auth.TokenInfoFromContext(r.Context())
		if ti == nil {
			http.Error(w, "no token info", 500)
			return
		}
		io.WriteString(w, "user="+ti.UserID)
	})
}

// resource is the URL of the shared server name, or of /mcp for AllServers.
func (e *env) resource(name string) string { return resourceURL(e.origin, name) }

// registerClient registers a client with the given auth method and redirect URI.
func (e *env) registerClient(t testing.TB, method string, redirects ...string) registrationResponse {
	t.Helper()
	if len(redirects) == 0 {
		redirects = []string{testRedirect}
	}
	body, _ := json.Marshal(map[string]any{"redirect_uris": redirects, "token_endpoint_auth_method": method, "client_name": "Test Client"})
	resp, err := http.Post(e.origin+"/register", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out registrationResponse
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: status %d", resp.StatusCode)
	}
	return out
}

var (
	reID   = regexp.MustCompile(`name="id" value="([^"]+)"`)
	reCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// authParams returns a valid authorization request for client with the given PKCE verifier.
func authParams(clientID, verifier string) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {testRedirect},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
		"state": {"st-123"}, "scope": {"mcp"},
	}
}

// loginPage GETs /authorize and returns the status, form id, csrf token and response.
func (e *env) loginPage(t testing.TB, q url.Values) (*http.Response, string, string, string) {
	t.Helper()
	resp, err := e.http.Get(e.origin + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var id, csrf string
	if m := reID.FindStringSubmatch(string(b)); m != nil {
		id = m[1]
	}
	if m := reCSRF.FindStringSubmatch(string(b)); m != nil {
		csrf = m[1]
	}
	return resp, string(b), id, csrf
}

// postLogin submits the login form.
func (e *env) postLogin(t testing.TB, id, csrf, user, password string) (*http.Response, string) {
	t.Helper()
	resp, err := e.http.PostForm(e.origin+"/authorize", url.Values{"id": {id}, "csrf": {csrf}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// authorize runs the authorization request through the login and returns the final redirect
// to the client (policy password, or after an approval is given by approve).
func (e *env) authorize(t testing.TB, q url.Values) *url.URL {
	t.Helper()
	resp, body, id, csrf := e.loginPage(t, q)
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("authorize: status %d, body %.300s", resp.StatusCode, body)
	}
	resp, body = e.postLogin(t, id, csrf, testUser, testPassword)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d, body %.300s", resp.StatusCode, body)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if strings.HasPrefix(loc.Path, "/authorize/wait") {
		for _, si := range e.s.PendingSignIns() {
			if err := e.s.Decide(si.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		r2, err := e.http.Get(e.origin + loc.String())
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		loc, _ = url.Parse(r2.Header.Get("Location"))
	}
	return loc
}

// code runs an authorization for client that names no resource and returns the code.
func (e *env) code(t testing.TB, clientID, verifier string) string {
	t.Helper()
	return e.codeFor(t, clientID, verifier, "")
}

// codeFor runs an authorization for client naming resource ("": none) and returns the code.
func (e *env) codeFor(t testing.TB, clientID, verifier, resource string) string {
	t.Helper()
	q := authParams(clientID, verifier)
	if resource != "" {
		q.Set("resource", resource)
	}
	loc := e.authorize(t, q)
	c := loc.Query().Get("code")
	if c == "" {
		t.Fatalf("no code in %s", loc)
	}
	return c
}

// token posts to /token; basic, when non-nil, is {id, secret} for client_secret_basic.
func (e *env) token(t testing.TB, form url.Values, basic []string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.origin+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

// tokens runs the whole flow for a public client naming no resource (so for /mcp) and
// returns access and refresh tokens.
func (e *env) tokens(t testing.TB, clientID string) (access, refresh string) {
	t.Helper()
	return e.tokensFor(t, clientID, "")
}

// tokensFor runs the whole flow for a public client naming resource ("": none) on both
// requests and returns access and refresh tokens.
func (e *env) tokensFor(t testing.TB, clientID, resource string) (access, refresh string) {
	t.Helper()
	v := oauth2.GenerateVerifier()
	c := e.codeFor(t, clientID, v, resource)
	f := url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {testRedirect},
		"code_verifier": {v}, "client_id": {clientID}}
	if resource != "" {
		f.Set("resource", resource)
	}
	st, out, _ := e.token(t, f, nil)
	if st != 200 {
		t.Fatalf("token: %d %v", st, out)
	}
	return out["access_token"].(string), out["refresh_token"].(string)
}

// mcpGet calls the protected resource name with token.
func (e *env) mcpGet(t testing.TB, name, token string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.resource(name), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}
