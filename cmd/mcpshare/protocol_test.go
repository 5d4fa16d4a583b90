package main

// TestProtocol audits /work/shared/PROTOCOL.md, items 1-28, against the real
// `mcpshare serve` binary with raw HTTP requests, for the built-in server
// (/mcp/files: the go-sdk's StreamableHTTPHandler behind our guard) and for a
// stdio server from npm through the bridge (/mcp/everything). Each PROTOCOL
// item is one subtest named after it, with one subtest per server below it.
//
// Item 29 is not tested here: it is about the public internet (Claude reaches
// only port 443 on public addresses; a reserved ngrok domain keeps the issuer,
// and so every client registration, stable across restarts). Neither can be
// observed without a real ngrok account and a real Claude. What can be checked
// locally, that the advertised origin is the public one, is item 4.
//
// The instances: for each server, one `serve` without tunnel (the ready file's
// origin) and one with `--tunnel custom --public-url protoPublicOrigin`, whose
// public requests are sent to the local listener with the public Host, as a
// reverse proxy or the ngrok agent would (items 4 and 27).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	protoPublicOrigin = "https://audit.mcpshare.example"
	protoLoopbackCB   = "http://127.0.0.1:9/callback"
	protoChatGPTCB    = "https://chatgpt.com/connector/oauth/audit-callback"
	protoInitTemplate = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"protocol-audit","version":"1"}}}`
	protoPing         = `{"jsonrpc":"2.0","id":2,"method":"ping"}`
	protoToolsList    = `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`
	protoInitialized  = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
)

// ptarget is one shared server under audit.
type ptarget struct {
	name   string    // "files" or "everything"
	inst   *instance // no tunnel
	pub    *instance // --tunnel custom --public-url protoPublicOrigin
	single bool      // the only shared server of its instances
	other  string    // another server shared by the same instances, or ""

	tokens  map[string]string       // cached access tokens: "local", "public"
	clients map[string]*protoClient // cached DCR clients by auth method
}

func (tg *ptarget) origin() string { return tg.inst.ready.Issuer }
func (tg *ptarget) mcp() string    { return tg.origin() + "/mcp/" + tg.name }
func (tg *ptarget) port() string {
	u, _ := url.Parse(tg.origin())
	return u.Port()
}

// localhostOrigin is the same listener named by "localhost".
func (tg *ptarget) localhostOrigin() string { return "http://localhost:" + tg.port() }

// pubClient sends requests for protoPublicOrigin to the public instance's
// local listener, keeping the public Host: what a tunnel or a proxy does.
func (tg *ptarget) pubClient() *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     protoViaLocal{strings.TrimPrefix(tg.pub.ready.Issuer, "http://")},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type protoViaLocal struct{ hostport string }

func (v protoViaLocal) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Host = r.URL.Host
	r2.URL.Scheme = "http"
	r2.URL.Host = v.hostport
	return http.DefaultTransport.RoundTrip(r2)
}

// token is an access token for tg.mcp() from the pre-registered client.
func (tg *ptarget) token(t *testing.T) string {
	t.Helper()
	if tok := tg.tokens["local"]; tok != "" {
		return tok
	}
	_, tok := preregistered(t, tg.inst, tg.mcp())
	tg.tokens["local"] = tok.AccessToken
	return tok.AccessToken
}

// pubToken is an access token for the public MCP URL, obtained through the
// public origin as ChatGPT would.
func (tg *ptarget) pubToken(t *testing.T) string {
	t.Helper()
	if tok := tg.tokens["public"]; tok != "" {
		return tok
	}
	hc := tg.pubClient()
	c := &protoClient{ID: tg.pub.ready.ClientID, Secret: tg.pub.ready.ClientSecret, Method: "client_secret_basic", Redirect: protoChatGPTCB}
	resource := protoPublicOrigin + "/mcp/" + tg.name
	code, verifier, loc := protoAuthorize(t, hc, tg.pub, protoPublicOrigin, c, url.Values{"resource": {resource}})
	if iss := loc.Query().Get("iss"); iss != protoPublicOrigin {
		t.Errorf("item 4: iss in the redirect through the public origin = %q, want %q", iss, protoPublicOrigin)
	}
	st, body, _ := protoToken(t, hc, protoPublicOrigin, c, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {c.Redirect}, "resource": {resource},
	})
	if st != http.StatusOK || body["access_token"] == nil {
		t.Fatalf("token through the public origin: %d %v", st, body)
	}
	tg.tokens["public"] = body["access_token"].(string)
	return tg.tokens["public"]
}

// protoClient is an OAuth client: a dynamically registered one or the pre-registered one.
type protoClient struct {
	ID, Secret, Method, Redirect string
	Status                       int            // status of the registration
	Response                     map[string]any // registration response
	Request                      map[string]any // registration body
}

// client registers (once per target) a client with the given token endpoint
// auth method ("" = none given), shaped like the clients known to register.
func (tg *ptarget) client(t *testing.T, method string) *protoClient {
	t.Helper()
	if c := tg.clients[method]; c != nil {
		return c
	}
	var body map[string]any
	switch method {
	case "none": // MCP Inspector
		body = map[string]any{
			"client_name": "MCP Inspector", "token_endpoint_auth_method": "none", "scope": "mcp",
			"redirect_uris": []string{"http://localhost:6274/oauth/callback", protoLoopbackCB},
			"grant_types":   []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		}
	case "client_secret_post": // ChatGPT: no scope
		body = map[string]any{
			"client_name": "ChatGPT", "token_endpoint_auth_method": "client_secret_post",
			"redirect_uris": []string{"https://chatgpt.com/connector/oauth/abc123", protoLoopbackCB},
			"grant_types":   []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		}
	case "client_secret_basic": // Claude
		body = map[string]any{
			"client_name": "Claude", "token_endpoint_auth_method": "client_secret_basic", "scope": "mcp",
			"redirect_uris": []string{"https://claude.ai/api/mcp/auth_callback", protoLoopbackCB},
			"grant_types":   []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		}
	case "": // no method given, no scope
		body = map[string]any{"client_name": "Default Method", "redirect_uris": []string{protoLoopbackCB}}
	default:
		t.Fatalf("unknown method %q", method)
	}
	b, _ := json.Marshal(body)
	resp, rb := protoDo(t, noRedirect, "POST", tg.origin()+"/register", map[string]string{"Content-Type": "application/json"}, string(b))
	c := &protoClient{Method: method, Redirect: protoLoopbackCB, Status: resp.StatusCode, Request: body}
	json.Unmarshal(rb, &c.Response)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register %s client: %d %s", method, resp.StatusCode, rb)
	}
	c.ID, _ = c.Response["client_id"].(string)
	c.Secret, _ = c.Response["client_secret"].(string)
	if m, _ := c.Response["token_endpoint_auth_method"].(string); method == "" {
		c.Method = m
	}
	tg.clients[method] = c
	return c
}

// TestProtocol is the audit. Items that fail name the item, server and request.
func TestProtocol(t *testing.T) {
	files := &ptarget{
		name: "files", single: true,
		inst: startServe(t, ""),
		pub:  startServe(t, "", "--tunnel", "custom", "--public-url", protoPublicOrigin),
	}
	var ev *ptarget
	if dir, err := filepath.Abs("testdata/node"); err == nil && fileExists(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything")) {
		ev = &ptarget{
			name: "everything", other: "files",
			inst: serveWithEverything(t, dir),
			pub:  protoServeEverything(t, dir, "--tunnel", "custom", "--public-url", protoPublicOrigin),
		}
	}
	for _, tg := range []*ptarget{files, ev} {
		if tg != nil {
			tg.tokens, tg.clients = map[string]string{}, map[string]*protoClient{}
		}
	}
	for _, it := range protocolItems {
		t.Run(it.name, func(t *testing.T) {
			for i, tg := range []*ptarget{files, ev} {
				t.Run([]string{"files", "everything"}[i], func(t *testing.T) {
					if tg == nil {
						requireE2E(t)
						t.Fatal("the npm packages are there but server-everything is not")
					}
					it.fn(t, tg)
				})
			}
		})
	}
}

// protoServeEverything is serveWithEverything with extra `serve` flags.
func protoServeEverything(t *testing.T, dir string, serveArgs ...string) *instance {
	t.Helper()
	configDir := t.TempDir()
	out, err := exec.Command(binary, "server", "add", "everything", "--config-dir", configDir, "--secrets", "file", "--",
		nodeBinary(dir), filepath.Join(dir, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"), "stdio").CombinedOutput()
	if err != nil {
		t.Fatalf("server add: %v\n%s", err, out)
	}
	return startServe(t, configDir, serveArgs...) // its ready file has the first password
}

var protocolItems = []struct {
	name string
	fn   func(t *testing.T, tg *ptarget)
}{
	{"01_unauthenticated_401_challenge", item01},
	{"02_prm_locations", item02},
	{"03_prm_resource_exact", item03},
	{"04_urls_from_request_origin", item04},
	{"05_issuer_equals_authorization_server", item05},
	{"06_as_metadata_fields", item06},
	{"07_endpoints_at_root", item07},
	{"08_well_known_methods_and_json_404", item08},
	{"09_cors", item09},
	{"10_dcr", item10},
	{"11_redirect_uris", item11},
	{"12_unknown_client_invalid_client", item12},
	{"13_pkce_s256_required", item13},
	{"14_resource_indicator", item14},
	{"15_scope_optional_and_identical", item15},
	{"16_redirect_code_state_iss", item16},
	{"17_consent_page_names_client_and_host", item17},
	{"18_token_endpoint_grants_auth_json_errors", item18},
	{"19_code_single_use_and_bound", item19},
	{"20_refresh_rotation", item20},
	{"21_bearer_header_only_and_audience", item21},
	{"22_notifications_and_responses_202", item22},
	{"23_protocol_version_header", item23},
	{"24_session_ids", item24},
	{"25_get_sse_or_405", item25},
	{"26_origin_header", item26},
	{"27_host_allowlist_not_sdk_localhost_protection", item27},
	{"28_no_trailing_slash_redirect", item28},
	// 29: untestable here, see the comment at the top of the file.
}

// ---------------------------------------------------------------- helpers

// protoDo sends one request (host, when set, replaces the Host header) and reads the body.
func protoDo(t *testing.T, hc *http.Client, method, u string, hdr map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b
}

// mcpHeaders are the headers of a Streamable HTTP POST.
func mcpHeaders(token, sid, version string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	if sid != "" {
		h["Mcp-Session-Id"] = sid
	}
	if version != "" {
		h["MCP-Protocol-Version"] = version
	}
	return h
}

// rpcMessage returns the first JSON-RPC response of a POST answer, JSON or SSE.
func rpcMessage(resp *http.Response, body []byte) map[string]any {
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for _, line := range strings.Split(string(body), "\n") {
			if d, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data:"); ok {
				var mm map[string]any
				if json.Unmarshal([]byte(strings.TrimSpace(d)), &mm) == nil && mm["id"] != nil {
					return mm
				}
			}
		}
		return nil
	}
	json.Unmarshal(body, &m)
	return m
}

// initialize opens a session with the given protocol version in the body
// (header: none) and sends notifications/initialized. It returns the session
// id and the negotiated version.
func initialize(t *testing.T, hc *http.Client, mcpURL, token, version string) (sid, negotiated string) {
	t.Helper()
	resp, body := protoDo(t, hc, "POST", mcpURL, mcpHeaders(token, "", ""), fmt.Sprintf(protoInitTemplate, version))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("initialize (%s) at %s: %d %s", version, mcpURL, resp.StatusCode, body)
	}
	sid = resp.Header.Get("Mcp-Session-Id")
	msg := rpcMessage(resp, body)
	res, _ := msg["result"].(map[string]any)
	negotiated, _ = res["protocolVersion"].(string)
	if sid == "" || negotiated == "" {
		t.Fatalf("initialize (%s) at %s: session %q, result %s", version, mcpURL, sid, body)
	}
	resp, body = protoDo(t, hc, "POST", mcpURL, mcpHeaders(token, sid, negotiated), protoInitialized)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("notifications/initialized: %d %s", resp.StatusCode, body)
	}
	return sid, negotiated
}

var protoParamRE = regexp.MustCompile(`([A-Za-z_]+)="([^"]*)"`)

// bearerParams parses a Bearer challenge; ok is false when the scheme is not Bearer.
func bearerParams(ch string) (map[string]string, bool) {
	if len(ch) < 7 || !strings.EqualFold(ch[:7], "Bearer ") {
		return nil, false
	}
	p := map[string]string{}
	for _, m := range protoParamRE.FindAllStringSubmatch(ch[7:], -1) {
		p[strings.ToLower(m[1])] = m[2]
	}
	return p, true
}

// getJSONDoc fetches a JSON document; it fails unless the answer is 200 application/json.
func getJSONDoc(t *testing.T, hc *http.Client, u string, hdr map[string]string) (map[string]any, []byte) {
	t.Helper()
	resp, body := protoDo(t, hc, "GET", u, hdr, "")
	var m map[string]any
	if resp.StatusCode != http.StatusOK || !isJSON(resp) || json.Unmarshal(body, &m) != nil {
		t.Fatalf("GET %s (%v): %d %s %s", u, hdr, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return m, body
}

func isJSON(resp *http.Response) bool {
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	return strings.HasPrefix(ct, "application/json") || (strings.HasPrefix(ct, "application/") && strings.Contains(ct, "+json"))
}

func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return reflect.DeepEqual(a, b)
}

// signInVia is signIn through any HTTP client (the public one included).
func signInVia(t *testing.T, hc *http.Client, authURL, user, password string) (*url.URL, string) {
	t.Helper()
	resp, body := protoDo(t, hc, "GET", authURL, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s (Location %s)", authURL, resp.StatusCode, body, resp.Header.Get("Location"))
	}
	action, form := fillLoginForm(t, body, authURL, user, password)
	resp2, body2 := protoDo(t, hc, "POST", action.String(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode())
	if resp2.StatusCode != http.StatusFound && resp2.StatusCode != http.StatusSeeOther {
		t.Fatalf("login POST: %d %s", resp2.StatusCode, body2)
	}
	loc, err := url.Parse(resp2.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc, string(body)
}

// authParams are the parameters of an authorization request; extra replaces
// them (an empty value list removes one).
func authParams(c *protoClient, resource string, extra url.Values) (url.Values, string) {
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {c.Redirect},
		"state": {"audit-state"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"}, "scope": {"mcp"}, "resource": {resource},
	}
	for k, v := range extra {
		if len(v) == 0 {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return q, verifier
}

// protoAuthorize signs in and returns the code from the redirect.
func protoAuthorize(t *testing.T, hc *http.Client, inst *instance, origin string, c *protoClient, extra url.Values) (code, verifier string, loc *url.URL) {
	t.Helper()
	resource := ""
	if r := extra["resource"]; len(r) > 0 {
		resource = r[0]
	}
	q, verifier := authParams(c, resource, extra)
	if resource == "" && extra["resource"] == nil {
		q.Del("resource")
	}
	loc, _ = signInVia(t, hc, origin+"/authorize?"+q.Encode(), inst.user, inst.password)
	if e := loc.Query().Get("error"); e != "" || loc.Query().Get("code") == "" {
		t.Fatalf("authorization redirect %s", loc)
	}
	return loc.Query().Get("code"), verifier, loc
}

// protoToken posts to /token with the client's authentication method.
func protoToken(t *testing.T, hc *http.Client, origin string, c *protoClient, form url.Values) (int, map[string]any, *http.Response) {
	t.Helper()
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	switch c.Method {
	case "client_secret_basic":
		hdr["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.ID)+":"+url.QueryEscape(c.Secret)))
	case "client_secret_post":
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	default:
		form.Set("client_id", c.ID)
	}
	resp, body := protoDo(t, hc, "POST", origin+"/token", hdr, form.Encode())
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || !isJSON(resp) {
		t.Errorf("item 18: /token answered %d with %q, not JSON: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return resp.StatusCode, m, resp
}

// codeFor runs a whole authorization for c at tg and returns the code and verifier.
func codeFor(t *testing.T, tg *ptarget, c *protoClient, extra url.Values) (string, string) {
	t.Helper()
	if extra == nil {
		extra = url.Values{}
	}
	if _, ok := extra["resource"]; !ok {
		extra.Set("resource", tg.mcp())
	}
	code, verifier, _ := protoAuthorize(t, noRedirect, tg.inst, tg.origin(), c, extra)
	return code, verifier
}

func exchangeForm(code, verifier, redirect, resource string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {redirect}}
	if resource != "" {
		f.Set("resource", resource)
	}
	return f
}

// mcpStatus is the status of an MCP POST of body with token (and host, when set).
func mcpStatus(t *testing.T, u, token, host, body string) (int, string) {
	t.Helper()
	h := mcpHeaders(token, "", "")
	if host != "" {
		h["Host"] = host
	}
	resp, _ := protoDo(t, noRedirect, "POST", u, h, body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// ---------------------------------------------------------------- items

// 1. Any request without a valid token, initialize included: 401 with
// WWW-Authenticate: Bearer resource_metadata="<absolute PRM URL>", scope="<scopes>".
func item01(t *testing.T, tg *ptarget) {
	wantPRM := tg.origin() + "/.well-known/oauth-protected-resource/mcp/" + tg.name
	prm, _ := getJSONDoc(t, noRedirect, wantPRM, nil)
	wantScope := strings.Join(strs(prm["scopes_supported"]), " ")
	cases := []struct {
		what, method, body string
		hdr                map[string]string
	}{
		{"anonymous initialize", "POST", fmt.Sprintf(protoInitTemplate, "2025-11-25"), mcpHeaders("", "", "")},
		{"anonymous initialize 2025-03-26", "POST", fmt.Sprintf(protoInitTemplate, "2025-03-26"), mcpHeaders("", "", "")},
		{"anonymous ping", "POST", protoPing, mcpHeaders("", "", "2025-11-25")},
		{"anonymous GET", "GET", "", map[string]string{"Accept": "text/event-stream"}},
		{"anonymous DELETE", "DELETE", "", map[string]string{"Mcp-Session-Id": "x"}},
		{"invalid token", "POST", fmt.Sprintf(protoInitTemplate, "2025-11-25"), mcpHeaders("mcpat_not-a-token", "", "")},
	}
	for _, c := range cases {
		resp, body := protoDo(t, noRedirect, c.method, tg.mcp(), c.hdr, c.body)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s %s: %d %s, want 401", c.what, c.method, tg.mcp(), resp.StatusCode, body)
			continue
		}
		ch := resp.Header.Get("WWW-Authenticate")
		p, ok := bearerParams(ch)
		if !ok || p["resource_metadata"] != wantPRM || p["scope"] != wantScope || wantScope == "" {
			t.Errorf("%s: WWW-Authenticate = %q, want Bearer resource_metadata=%q, scope=%q", c.what, ch, wantPRM, wantScope)
		}
	}
}

// 2. PRM at the path-inserted URL; the bare one is that of the all-servers endpoint /mcp.
func item02(t *testing.T, tg *ptarget) {
	doc, _ := getJSONDoc(t, noRedirect, tg.origin()+"/.well-known/oauth-protected-resource/mcp/"+tg.name, nil)
	if doc["resource"] != tg.mcp() {
		t.Errorf("path-inserted PRM resource = %v, want %s", doc["resource"], tg.mcp())
	}
	resp, body := protoDo(t, noRedirect, "GET", tg.origin()+"/.well-known/oauth-protected-resource", nil, "")
	var m map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &m) != nil || m["resource"] != tg.origin()+"/mcp" {
		t.Errorf("bare PRM: %d %s, want 200 with resource %s/mcp", resp.StatusCode, body, tg.origin())
	}
}

// 3. PRM resource is the exact MCP URL (lowercase scheme and host, no
// trailing slash), also when the request names the listener "localhost".
func item03(t *testing.T, tg *ptarget) {
	path := "/.well-known/oauth-protected-resource/mcp/" + tg.name
	for _, host := range []string{"", "localhost:" + tg.port(), "LOCALHOST:" + tg.port(), "127.0.0.1:" + tg.port()} {
		want := tg.mcp()
		if strings.EqualFold(strings.Split(host, ":")[0], "localhost") {
			want = tg.localhostOrigin() + "/mcp/" + tg.name
		}
		hdr := map[string]string{}
		if host != "" {
			hdr["Host"] = host
		}
		doc, _ := getJSONDoc(t, noRedirect, tg.origin()+path, hdr)
		res, _ := doc["resource"].(string)
		if res != want || res != strings.ToLower(res) || strings.HasSuffix(res, "/") {
			t.Errorf("PRM with Host %q: resource %q, want %q", host, res, want)
		}
		// The challenge on that origin points to that origin's PRM.
		h := mcpHeaders("", "", "")
		if host != "" {
			h["Host"] = host
		}
		resp, _ := protoDo(t, noRedirect, "POST", tg.mcp(), h, fmt.Sprintf(protoInitTemplate, "2025-11-25"))
		p, _ := bearerParams(resp.Header.Get("WWW-Authenticate"))
		if wantPRM := strings.TrimSuffix(want, "/mcp/"+tg.name) + path; p["resource_metadata"] != wantPRM {
			t.Errorf("challenge with Host %q: resource_metadata %q, want %q", host, p["resource_metadata"], wantPRM)
		}
	}
}

// 4. Every advertised URL is built from the origin the request arrived on
// (the public origin through the tunnel), never from the local listener.
func item04(t *testing.T, tg *ptarget) {
	hc := tg.pubClient()
	pub := protoPublicOrigin
	as, asBody := getJSONDoc(t, hc, pub+"/.well-known/oauth-authorization-server", nil)
	if as["issuer"] != pub {
		t.Errorf("AS metadata through the public origin: issuer %v, want %s", as["issuer"], pub)
	}
	for k, v := range as {
		if s, ok := v.(string); ok && strings.HasSuffix(k, "_endpoint") && !strings.HasPrefix(s, pub+"/") {
			t.Errorf("AS metadata through the public origin: %s = %s", k, s)
		}
	}
	_, oidcBody := getJSONDoc(t, hc, pub+"/.well-known/openid-configuration", nil)
	prm, prmBody := getJSONDoc(t, hc, pub+"/.well-known/oauth-protected-resource/mcp/"+tg.name, nil)
	if prm["resource"] != pub+"/mcp/"+tg.name || !reflect.DeepEqual(strs(prm["authorization_servers"]), []string{pub}) {
		t.Errorf("PRM through the public origin: %s", prmBody)
	}
	resp, body := protoDo(t, hc, "POST", pub+"/mcp/"+tg.name, mcpHeaders("", "", ""), fmt.Sprintf(protoInitTemplate, "2025-11-25"))
	ch := resp.Header.Get("WWW-Authenticate")
	p, _ := bearerParams(ch)
	if resp.StatusCode != http.StatusUnauthorized || p["resource_metadata"] != pub+"/.well-known/oauth-protected-resource/mcp/"+tg.name {
		t.Errorf("anonymous initialize through the public origin: %d %q %s", resp.StatusCode, ch, body)
	}
	// The login page through the public origin (pubToken also checks the iss of the redirect).
	c := &protoClient{ID: tg.pub.ready.ClientID, Redirect: protoChatGPTCB}
	q, _ := authParams(c, pub+"/mcp/"+tg.name, nil)
	presp, page := protoDo(t, hc, "GET", pub+"/authorize?"+q.Encode(), nil, "")
	if presp.StatusCode != http.StatusOK {
		t.Errorf("login page through the public origin: %d %s", presp.StatusCode, page)
	}
	_ = tg.pubToken(t)
	local := strings.TrimPrefix(tg.pub.ready.Issuer, "http://")
	for what, b := range map[string]string{"AS metadata": string(asBody), "openid-configuration": string(oidcBody), "PRM": string(prmBody), "challenge": ch, "login page": string(page)} {
		for _, leak := range []string{local, "127.0.0.1", "localhost"} {
			if strings.Contains(b, leak) {
				t.Errorf("%s through the public origin names the local listener (%s):\n%s", what, leak, b)
			}
		}
	}
}

// 5. issuer equals authorization_servers[0] byte for byte, no trailing slash, no path.
func item05(t *testing.T, tg *ptarget) {
	for _, host := range []string{"", "localhost:" + tg.port()} {
		hdr := map[string]string{}
		if host != "" {
			hdr["Host"] = host
		}
		prm, _ := getJSONDoc(t, noRedirect, tg.origin()+"/.well-known/oauth-protected-resource/mcp/"+tg.name, hdr)
		as := strs(prm["authorization_servers"])
		if len(as) == 0 {
			t.Fatalf("PRM (Host %q) has no authorization_servers", host)
		}
		// Fetch the AS metadata from the URL a client derives from authorization_servers[0].
		u, err := url.Parse(as[0])
		if err != nil || u.Path != "" || strings.HasSuffix(as[0], "/") || u.RawQuery != "" {
			t.Errorf("authorization_servers[0] = %q: has a path or trailing slash", as[0])
		}
		doc, _ := getJSONDoc(t, noRedirect, tg.origin()+"/.well-known/oauth-authorization-server", hdr)
		if doc["issuer"] != as[0] {
			t.Errorf("Host %q: issuer %q != authorization_servers[0] %q", host, doc["issuer"], as[0])
		}
		want := tg.origin()
		if host != "" {
			want = tg.localhostOrigin()
		}
		if doc["issuer"] != want {
			t.Errorf("Host %q: issuer %q does not match the URL the metadata was fetched from (%s)", host, doc["issuer"], want)
		}
	}
}

// 6. AS metadata fields; openid-configuration the same document.
func item06(t *testing.T, tg *ptarget) {
	doc, raw := getJSONDoc(t, noRedirect, tg.origin()+"/.well-known/oauth-authorization-server", nil)
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "registration_endpoint", "revocation_endpoint"} {
		if s, _ := doc[k].(string); s == "" {
			t.Errorf("%s missing: %s", k, raw)
		}
	}
	checks := []struct {
		field string
		want  []string
		exact bool // the list must be exactly this (as a set)
	}{
		{"response_types_supported", []string{"code"}, true},
		{"grant_types_supported", []string{"authorization_code", "refresh_token"}, true},
		{"code_challenge_methods_supported", []string{"S256"}, true},
		{"token_endpoint_auth_methods_supported", []string{"none", "client_secret_post", "client_secret_basic", "private_key_jwt"}, true},
	}
	for _, c := range checks {
		if got := strs(doc[c.field]); !sameSet(got, c.want) {
			t.Errorf("%s = %v, want %v", c.field, got, c.want)
		}
	}
	if len(strs(doc["scopes_supported"])) == 0 {
		t.Errorf("scopes_supported missing or empty: %s", raw)
	}
	if doc["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("authorization_response_iss_parameter_supported = %v, want true", doc["authorization_response_iss_parameter_supported"])
	}
	// Client ID metadata documents work (cimd_e2e_test.go), with private_key_jwt, whose
	// signing algorithms RFC 8414 then requires.
	if doc["client_id_metadata_document_supported"] != true || len(strs(doc["token_endpoint_auth_signing_alg_values_supported"])) == 0 {
		t.Errorf("client_id_metadata_document_supported = %v, token_endpoint_auth_signing_alg_values_supported = %v; want true and a list",
			doc["client_id_metadata_document_supported"], doc["token_endpoint_auth_signing_alg_values_supported"])
	}
	oidc, _ := getJSONDoc(t, noRedirect, tg.origin()+"/.well-known/openid-configuration", nil)
	if !reflect.DeepEqual(doc, oidc) {
		t.Errorf("openid-configuration differs from oauth-authorization-server:\n%v\n%v", oidc, doc)
	}
}

// 7. Endpoints at the root: /authorize, /token, /register, /revoke.
func item07(t *testing.T, tg *ptarget) {
	doc, _ := getJSONDoc(t, noRedirect, tg.origin()+"/.well-known/oauth-authorization-server", nil)
	for field, path := range map[string]string{"authorization_endpoint": "/authorize", "token_endpoint": "/token", "registration_endpoint": "/register", "revocation_endpoint": "/revoke"} {
		if doc[field] != tg.origin()+path {
			t.Errorf("%s = %v, want %s", field, doc[field], tg.origin()+path)
		}
		method := "POST"
		if path == "/authorize" {
			method = "GET"
		}
		resp, body := protoDo(t, noRedirect, method, tg.origin()+path, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "")
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode/100 == 3 {
			t.Errorf("%s %s: %d %s: the endpoint is not there", method, path, resp.StatusCode, body)
		}
	}
}

// 8. Well-known URLs answer GET, HEAD and OPTIONS; application/json; an
// unknown well-known path is a JSON 404. OPTIONS is read as a CORS preflight:
// a 2xx without a body (no Content-Type needed), but never HTML.
func item08(t *testing.T, tg *ptarget) {
	wk := []string{
		"/.well-known/oauth-authorization-server",
		"/.well-known/openid-configuration",
		"/.well-known/oauth-protected-resource/mcp/" + tg.name,
	}
	if tg.single {
		wk = append(wk, "/.well-known/oauth-protected-resource")
	}
	for _, p := range wk {
		for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
			hdr := map[string]string{}
			if m == "OPTIONS" {
				hdr = map[string]string{"Origin": "https://chatgpt.com", "Access-Control-Request-Method": "GET"}
			}
			resp, body := protoDo(t, noRedirect, m, tg.origin()+p, hdr, "")
			switch {
			case m == "OPTIONS":
				if resp.StatusCode/100 != 2 || strings.Contains(resp.Header.Get("Content-Type"), "html") {
					t.Errorf("OPTIONS %s: %d %s %s", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
				}
			case resp.StatusCode != http.StatusOK || !isJSON(resp):
				t.Errorf("%s %s: %d %q, want 200 application/json", m, p, resp.StatusCode, resp.Header.Get("Content-Type"))
			case m == "HEAD" && len(body) != 0:
				t.Errorf("HEAD %s has a body", p)
			}
		}
	}
	for _, p := range []string{"/.well-known/unknown-document", "/.well-known/oauth-protected-resource/mcp/no-such-server",
		"/.well-known/oauth-authorization-server/mcp/" + tg.name, "/.well-known/openid-configuration/mcp/" + tg.name, "/.well-known/"} {
		for _, m := range []string{"GET", "HEAD"} {
			resp, body := protoDo(t, noRedirect, m, tg.origin()+p, nil, "")
			if resp.StatusCode != http.StatusNotFound || !isJSON(resp) || (m == "GET" && !json.Valid(body)) {
				t.Errorf("%s %s: %d %q %s, want a JSON 404", m, p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
	}
}

// 9. CORS: Access-Control-Allow-Origin: * on metadata, /register, /token,
// /revoke; OPTIONS on the MCP URL answered before the auth check, allowing
// the listed request headers and exposing WWW-Authenticate, Mcp-Session-Id.
func item09(t *testing.T, tg *ptarget) {
	o := map[string]string{"Origin": "https://chatgpt.com"}
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/.well-known/oauth-protected-resource/mcp/" + tg.name} {
		resp, _ := protoDo(t, noRedirect, "GET", tg.origin()+p, o, "")
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q", p, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	for _, p := range []string{"/register", "/token", "/revoke"} {
		// The actual request (an error answer is fine, the header must be there)...
		resp, _ := protoDo(t, noRedirect, "POST", tg.origin()+p, map[string]string{"Origin": "https://chatgpt.com", "Content-Type": "application/x-www-form-urlencoded"}, "x=1")
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("POST %s: Access-Control-Allow-Origin %q", p, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		// ...and the preflight.
		resp, body := protoDo(t, noRedirect, "OPTIONS", tg.origin()+p, map[string]string{"Origin": "https://chatgpt.com",
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}, "")
		if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!headerListHas(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization", "Content-Type") ||
			!headerListHas(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("OPTIONS %s: %d %v %s", p, resp.StatusCode, resp.Header, body)
		}
	}
	allow := []string{"Authorization", "Content-Type", "MCP-Protocol-Version", "Mcp-Session-Id", "Last-Event-ID", "Mcp-Method", "Mcp-Name"}
	expose := []string{"WWW-Authenticate", "Mcp-Session-Id"}
	for _, origin := range []string{"", tg.origin()} {
		hdr := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,mcp-protocol-version,mcp-session-id"}
		if origin != "" {
			hdr["Origin"] = origin
		}
		for _, u := range []string{tg.mcp(), tg.mcp() + "/"} {
			resp, body := protoDo(t, noRedirect, "OPTIONS", u, hdr, "")
			if resp.StatusCode/100 != 2 {
				t.Errorf("OPTIONS %s (Origin %q), no token: %d %s, want 2xx before the auth check", u, origin, resp.StatusCode, body)
				continue
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !headerListHas(resp.Header.Get("Access-Control-Allow-Headers"), allow...) ||
				!headerListHas(resp.Header.Get("Access-Control-Expose-Headers"), expose...) ||
				!headerListHas(resp.Header.Get("Access-Control-Allow-Methods"), "GET", "POST", "DELETE") {
				t.Errorf("OPTIONS %s (Origin %q): CORS headers %v, want allow %v, expose %v", u, origin, resp.Header, allow, expose)
			}
		}
	}
	// A browser client must be able to read the challenge and the session id.
	resp, _ := protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders("", "", ""), fmt.Sprintf(protoInitTemplate, "2025-11-25"))
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !headerListHas(resp.Header.Get("Access-Control-Expose-Headers"), expose...) {
		t.Errorf("401 from the MCP URL: CORS headers %v", resp.Header)
	}
	resp, _ = protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tg.token(t), "", ""), fmt.Sprintf(protoInitTemplate, "2025-11-25"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !headerListHas(resp.Header.Get("Access-Control-Expose-Headers"), expose...) {
		t.Errorf("initialize with a token: %d, CORS headers %v", resp.StatusCode, resp.Header)
	}
	protoDelete(t, tg.mcp(), tg.token(t), resp.Header.Get("Mcp-Session-Id"))
}

func headerListHas(list string, want ...string) bool {
	var have []string
	for _, f := range strings.Split(list, ",") {
		have = append(have, strings.ToLower(strings.TrimSpace(f)))
	}
	if slices.Contains(have, "*") {
		return true
	}
	for _, w := range want {
		if !slices.Contains(have, strings.ToLower(w)) {
			return false
		}
	}
	return true
}

func protoDelete(t *testing.T, u, token, sid string) {
	t.Helper()
	if sid != "" {
		protoDo(t, noRedirect, "DELETE", u, mcpHeaders(token, sid, ""), "")
	}
}

// 10. DCR: open POST, 201 JSON; scope optional; client_secret only when the
// method is not none. Registrations shaped like ChatGPT's, Claude's and the
// MCP Inspector's, and one naming no method.
func item10(t *testing.T, tg *ptarget) {
	for _, method := range []string{"client_secret_post", "client_secret_basic", "none", ""} {
		c := tg.client(t, method)
		_, scoped := c.Request["scope"]
		if c.Status != http.StatusCreated || c.ID == "" {
			t.Errorf("register %q (scope given: %v): %d %v", method, scoped, c.Status, c.Response)
		}
		got, _ := c.Response["token_endpoint_auth_method"].(string)
		if method != "" && got != method {
			t.Errorf("register %q: token_endpoint_auth_method %q in the response", method, got)
		}
		_, hasSecret := c.Response["client_secret"]
		if got == "none" && hasSecret {
			t.Errorf("register %q: a client_secret for a public client: %v", method, c.Response)
		}
		if got != "none" && c.Secret == "" {
			t.Errorf("register %q (method %q): no client_secret: %v", method, got, c.Response)
		}
	}
	// The response is JSON (checked again on the wire, with no Authorization at all).
	resp, body := protoDo(t, noRedirect, "POST", tg.origin()+"/register", map[string]string{"Content-Type": "application/json"},
		`{"redirect_uris":["`+protoLoopbackCB+`"],"token_endpoint_auth_method":"none"}`)
	if resp.StatusCode != http.StatusCreated || !isJSON(resp) {
		t.Errorf("minimal registration: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// 11. Redirect URIs: https, or http on loopback (localhost, 127.0.0.1,
// [::1], any port); the known callbacks register; matching is exact.
func item11(t *testing.T, tg *ptarget) {
	known := []string{
		"https://chatgpt.com/connector/oauth/audit-11", "https://chatgpt.com/connector_platform_oauth_redirect",
		"https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback",
		"http://localhost:6274/oauth/callback", "http://localhost:6274/oauth/callback/debug",
		"http://127.0.0.1:53682/cb", "http://[::1]:8080/cb", "http://localhost/cb",
	}
	b, _ := json.Marshal(map[string]any{"client_name": "Callbacks", "redirect_uris": known, "token_endpoint_auth_method": "none"})
	resp, body := protoDo(t, noRedirect, "POST", tg.origin()+"/register", map[string]string{"Content-Type": "application/json"}, string(b))
	var reg map[string]any
	json.Unmarshal(body, &reg)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("registering the known callbacks: %d %s", resp.StatusCode, body)
	}
	resp, body = protoDo(t, noRedirect, "POST", tg.origin()+"/register", map[string]string{"Content-Type": "application/json"},
		`{"redirect_uris":["http://attacker.example/cb"],"token_endpoint_auth_method":"none"}`)
	if resp.StatusCode != http.StatusBadRequest || !isJSON(resp) {
		t.Errorf("registering http on a public host: %d %s, want 400 JSON", resp.StatusCode, body)
	}
	c := &protoClient{ID: reg["client_id"].(string), Method: "none"}
	for _, r := range known {
		c.Redirect = r
		q, _ := authParams(c, tg.mcp(), nil)
		resp, body := protoDo(t, noRedirect, "GET", tg.origin()+"/authorize?"+q.Encode(), nil, "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("authorize with the registered %s: %d %s", r, resp.StatusCode, resp.Header.Get("Location"))
		}
		_ = body
	}
	for _, r := range []string{"http://localhost:6274/oauth/callback/", "http://localhost:6274/oauth/callback?x=1",
		"https://claude.ai/api/mcp/auth_callback/extra", "HTTPS://CLAUDE.AI/api/mcp/auth_callback#f", "https://chatgpt.com/connector/oauth/other"} {
		c.Redirect = r
		q, _ := authParams(c, tg.mcp(), nil)
		resp, _ := protoDo(t, noRedirect, "GET", tg.origin()+"/authorize?"+q.Encode(), nil, "")
		if resp.StatusCode/100 == 3 || resp.StatusCode == http.StatusOK {
			t.Errorf("authorize with the unregistered %s: %d (Location %q), want an error page", r, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// 12. An unknown client at /token gets 401 invalid_client.
func item12(t *testing.T, tg *ptarget) {
	forms := []struct {
		what string
		hdr  map[string]string
		form url.Values
	}{
		{"client_id in the form, authorization_code", nil, url.Values{"grant_type": {"authorization_code"}, "client_id": {"mcpc_unknown"}, "code": {"x"}, "code_verifier": {strings.Repeat("a", 43)}, "redirect_uri": {protoLoopbackCB}}},
		{"client_secret_post, refresh_token", nil, url.Values{"grant_type": {"refresh_token"}, "client_id": {"mcpc_unknown"}, "client_secret": {"s"}, "refresh_token": {"r"}}},
		{"client_secret_basic", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("mcpc_unknown:secret"))}, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {strings.Repeat("a", 43)}, "redirect_uri": {protoLoopbackCB}}},
	}
	for _, f := range forms {
		hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		for k, v := range f.hdr {
			hdr[k] = v
		}
		resp, body := protoDo(t, noRedirect, "POST", tg.origin()+"/token", hdr, f.form.Encode())
		var m map[string]any
		json.Unmarshal(body, &m)
		if resp.StatusCode != http.StatusUnauthorized || m["error"] != "invalid_client" || !isJSON(resp) {
			t.Errorf("unknown client (%s): %d %s, want 401 invalid_client JSON", f.what, resp.StatusCode, body)
		}
	}
}

// 13. PKCE S256 required; plain and a missing challenge refused.
func item13(t *testing.T, tg *ptarget) {
	c := tg.client(t, "none")
	verifier := oauth2.GenerateVerifier()
	cases := map[string]url.Values{
		"plain":                {"code_challenge_method": {"plain"}, "code_challenge": {verifier}},
		"no challenge":         {"code_challenge_method": nil, "code_challenge": nil},
		"challenge, no method": {"code_challenge_method": nil},
		"S256, no challenge":   {"code_challenge": nil},
	}
	for what, extra := range cases {
		q, _ := authParams(c, tg.mcp(), extra)
		resp, body := protoDo(t, noRedirect, "GET", tg.origin()+"/authorize?"+q.Encode(), nil, "")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		refused := resp.StatusCode/100 == 4 || (resp.StatusCode/100 == 3 && loc != nil && loc.Query().Get("error") != "" && loc.Query().Get("code") == "")
		if !refused {
			t.Errorf("authorize with PKCE %s: %d (Location %q) %.200s, want a refusal", what, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
	// The verifier is checked at /token.
	code, _ := codeFor(t, tg, c, nil)
	st, m, _ := protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, oauth2.GenerateVerifier(), c.Redirect, tg.mcp()))
	if st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("token with the wrong code_verifier: %d %v, want 400 invalid_grant", st, m)
	}
	code, _ = codeFor(t, tg, c, nil)
	f := exchangeForm(code, "", c.Redirect, tg.mcp())
	f.Del("code_verifier")
	if st, m, _ := protoToken(t, noRedirect, tg.origin(), c, f); st != http.StatusBadRequest {
		t.Errorf("token without code_verifier: %d %v, want 400", st, m)
	}
}

// 14. resource on /authorize and /token: checked against the shared servers,
// bound into the grant; absent means the default resource.
func item14(t *testing.T, tg *ptarget) {
	c := tg.client(t, "none")
	// An unknown resource is refused at /authorize.
	q, _ := authParams(c, tg.origin()+"/mcp/no-such-server", nil)
	resp, _ := protoDo(t, noRedirect, "GET", tg.origin()+"/authorize?"+q.Encode(), nil, "")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode == http.StatusOK || loc == nil || loc.Query().Get("error") != "invalid_target" {
		t.Errorf("authorize with an unknown resource: %d %q, want a redirect with error=invalid_target", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The PRM resource on both requests (ChatGPT).
	code, verifier := codeFor(t, tg, c, nil)
	st, m, _ := protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, verifier, c.Redirect, tg.mcp()))
	if st != http.StatusOK {
		t.Fatalf("token with resource: %d %v", st, m)
	}
	if code, _ := mcpStatus(t, tg.mcp(), m["access_token"].(string), "", protoPing); code == http.StatusUnauthorized {
		t.Errorf("the token for resource %s is refused there", tg.mcp())
	}
	// On /authorize only: the grant carries it.
	code, verifier = codeFor(t, tg, c, nil)
	st, m, _ = protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, verifier, c.Redirect, ""))
	if st != http.StatusOK {
		t.Errorf("token without resource after authorize with it: %d %v", st, m)
	} else if code, _ := mcpStatus(t, tg.mcp(), m["access_token"].(string), "", protoPing); code == http.StatusUnauthorized {
		t.Errorf("the token bound at /authorize to %s is refused there", tg.mcp())
	}
	// A different resource at /token than at /authorize is refused.
	code, verifier = codeFor(t, tg, c, nil)
	other := tg.origin() + "/mcp/no-such-server"
	if tg.other != "" {
		other = tg.origin() + "/mcp/" + tg.other
	}
	st, m, _ = protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, verifier, c.Redirect, other))
	if st != http.StatusBadRequest || (m["error"] != "invalid_target" && m["error"] != "invalid_grant") {
		t.Errorf("token with resource %s after authorize for %s: %d %v, want 400 invalid_target", other, tg.mcp(), st, m)
	}
	// Absent on both (2025-03-26 clients): the all-servers resource /mcp, whose tokens
	// every /mcp/NAME accepts (item 35), never one server chosen for the client.
	code, verifier = codeFor(t, tg, c, url.Values{"resource": nil})
	st, m, _ = protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, verifier, c.Redirect, ""))
	if st != http.StatusOK {
		t.Fatalf("token without resource anywhere: %d %v", st, m)
	}
	tok := m["access_token"].(string)
	servers := []string{tg.mcp()}
	if !tg.single {
		servers = append(servers, tg.origin()+"/mcp/"+tg.other)
	}
	for _, u := range servers {
		if code, _ := mcpStatus(t, u, tok, "", protoPing); code == http.StatusUnauthorized {
			t.Errorf("a token without resource (for /mcp) is refused at %s", u)
		}
	}
}

// 15. scope optional; PRM scopes_supported == AS scopes_supported == challenge
// scope; no openid, email, profile, offline_access; refresh tokens without offline_access.
func item15(t *testing.T, tg *ptarget) {
	prm, _ := getJSONDoc(t, noRedirect, tg.origin()+"/.well-known/oauth-protected-resource/mcp/"+tg.name, nil)
	as, _ := getJSONDoc(t, noRedirect, tg.origin()+"/.well-known/oauth-authorization-server", nil)
	resp, _ := protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders("", "", ""), fmt.Sprintf(protoInitTemplate, "2025-11-25"))
	p, _ := bearerParams(resp.Header.Get("WWW-Authenticate"))
	a, b, c := strs(prm["scopes_supported"]), strs(as["scopes_supported"]), strings.Fields(p["scope"])
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a, c) || len(a) == 0 {
		t.Errorf("scopes differ: PRM %v, AS %v, challenge %v", a, b, c)
	}
	for _, s := range append(append(a, b...), c...) {
		if slices.Contains([]string{"openid", "email", "profile", "offline_access"}, s) {
			t.Errorf("advertised scope %q", s)
		}
	}
	// No scope at /authorize (ChatGPT's reconnect): a token and a refresh token.
	cl := tg.client(t, "client_secret_post")
	code, verifier := codeFor(t, tg, cl, url.Values{"scope": nil})
	st, m, _ := protoToken(t, noRedirect, tg.origin(), cl, exchangeForm(code, verifier, cl.Redirect, tg.mcp()))
	if st != http.StatusOK || m["refresh_token"] == nil || m["refresh_token"] == "" {
		t.Fatalf("token after authorize without scope: %d %v, want an access and a refresh token", st, m)
	}
	if s, _ := m["scope"].(string); strings.Contains(s, "offline_access") {
		t.Errorf("token scope %q", s)
	}
	if code, _ := mcpStatus(t, tg.mcp(), m["access_token"].(string), "", protoPing); code == http.StatusUnauthorized || code == http.StatusForbidden {
		t.Errorf("the token from a request without scope is refused: %d", code)
	}
}

// 16. The redirect back carries code, the client's state unchanged, and iss.
func item16(t *testing.T, tg *ptarget) {
	c := tg.client(t, "none")
	state := "s t/a+t=e&?é~" + strings.Repeat("x", 100)
	_, _, loc := protoAuthorize(t, noRedirect, tg.inst, tg.origin(), c, url.Values{"state": {state}, "resource": {tg.mcp()}})
	q := loc.Query()
	if q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != tg.origin() {
		t.Errorf("redirect %s: code %q, state %q (want %q), iss %q (want %q)", loc, q.Get("code"), q.Get("state"), state, q.Get("iss"), tg.origin())
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != c.Redirect {
		t.Errorf("redirected to %s, want %s", got, c.Redirect)
	}
}

// 17. The consent page names the client and the redirect URI's host.
func item17(t *testing.T, tg *ptarget) {
	for _, c := range []*protoClient{
		{ID: tg.inst.ready.ClientID, Redirect: protoChatGPTCB},
		tg.client(t, "none"),
	} {
		q, _ := authParams(c, tg.mcp(), nil)
		resp, body := protoDo(t, noRedirect, "GET", tg.origin()+"/authorize?"+q.Encode(), nil, "")
		page := html.UnescapeString(string(body))
		u, _ := url.Parse(c.Redirect)
		name := ""
		if c.Response != nil {
			name, _ = c.Response["client_name"].(string)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, u.Hostname()) || (name != "" && !strings.Contains(page, name)) {
			t.Errorf("login page for client %q (%s): %d; names the client: %v, the host %s: %v", name, c.ID, resp.StatusCode,
				name == "" || strings.Contains(page, name), u.Hostname(), strings.Contains(page, u.Hostname()))
		}
	}
}

// 18. /token: authorization_code and refresh_token; client auth none,
// client_secret_post, client_secret_basic; errors are JSON, never HTML.
func item18(t *testing.T, tg *ptarget) {
	for _, method := range []string{"none", "client_secret_post", "client_secret_basic"} {
		c := tg.client(t, method)
		code, verifier := codeFor(t, tg, c, nil)
		st, m, resp := protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, verifier, c.Redirect, tg.mcp()))
		if st != http.StatusOK || m["access_token"] == nil || !strings.EqualFold(fmt.Sprint(m["token_type"]), "bearer") {
			t.Errorf("authorization_code with %s: %d %v", method, st, m)
			continue
		}
		if !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
			t.Errorf("token response Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
		st, m, _ = protoToken(t, noRedirect, tg.origin(), c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fmt.Sprint(m["refresh_token"])}})
		if st != http.StatusOK || m["access_token"] == nil {
			t.Errorf("refresh_token with %s: %d %v", method, st, m)
		}
	}
	post := tg.client(t, "client_secret_post")
	wrong := *post
	wrong.Secret = "wrong"
	errs := []struct {
		what   string
		c      *protoClient
		form   url.Values
		status int
		code   string
	}{
		{"unsupported grant", post, url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, 400, "unsupported_grant_type"},
		{"no grant_type", post, url.Values{}, 400, "invalid_request"},
		{"bad code", post, exchangeForm("mcpcode_bogus", strings.Repeat("a", 43), post.Redirect, ""), 400, "invalid_grant"},
		{"bad refresh token", post, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bogus"}}, 400, "invalid_grant"},
		{"wrong secret", &wrong, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bogus"}}, 401, "invalid_client"},
	}
	for _, e := range errs {
		st, m, _ := protoToken(t, noRedirect, tg.origin(), e.c, e.form)
		if st != e.status || m["error"] != e.code {
			t.Errorf("/token %s: %d %v, want %d %s", e.what, st, m, e.status, e.code)
		}
	}
	for _, m := range []string{"GET", "PUT"} {
		resp, body := protoDo(t, noRedirect, m, tg.origin()+"/token", nil, "")
		if !isJSON(resp) || !json.Valid(body) || resp.StatusCode/100 != 4 {
			t.Errorf("%s /token: %d %q %s, want a JSON error", m, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	resp, body := protoDo(t, noRedirect, "POST", tg.origin()+"/token", map[string]string{"Content-Type": "application/json"}, `{"grant_type":"authorization_code"}`)
	if !isJSON(resp) || !json.Valid(body) || resp.StatusCode/100 != 4 {
		t.Errorf("POST /token with a JSON body: %d %q %s, want a JSON error", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// 19. The code is single-use and bound to client, redirect URI (which must
// come back at /token), PKCE challenge and resource. Its short life (60 s)
// is not waited for here; the PKCE binding is in 13, the resource in 14.
func item19(t *testing.T, tg *ptarget) {
	c := tg.client(t, "none")
	code, verifier := codeFor(t, tg, c, nil)
	if st, m, _ := protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, verifier, c.Redirect, tg.mcp())); st != http.StatusOK {
		t.Fatalf("first use of a code: %d %v", st, m)
	}
	if st, m, _ := protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, verifier, c.Redirect, tg.mcp())); st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("second use of a code: %d %v, want 400 invalid_grant", st, m)
	}
	code, verifier = codeFor(t, tg, c, nil)
	if st, m, _ := protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, verifier, "http://127.0.0.1:9/other", tg.mcp())); st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("code with another redirect_uri: %d %v, want 400 invalid_grant", st, m)
	}
	code, verifier = codeFor(t, tg, c, nil)
	f := exchangeForm(code, verifier, "", tg.mcp())
	f.Del("redirect_uri")
	if st, m, _ := protoToken(t, noRedirect, tg.origin(), c, f); st != http.StatusBadRequest {
		t.Errorf("code without the redirect_uri given at /authorize: %d %v, want 400", st, m)
	}
	code, verifier = codeFor(t, tg, c, nil)
	other := tg.client(t, "client_secret_post")
	if st, m, _ := protoToken(t, noRedirect, tg.origin(), other, exchangeForm(code, verifier, c.Redirect, tg.mcp())); st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("code of another client: %d %v, want 400 invalid_grant", st, m)
	}
}

// 20. Refresh tokens rotate; the previous one stays valid until the new one
// is first used; a reuse after that revokes the grant.
func item20(t *testing.T, tg *ptarget) {
	c := tg.client(t, "client_secret_basic")
	code, verifier := codeFor(t, tg, c, nil)
	st, m, _ := protoToken(t, noRedirect, tg.origin(), c, exchangeForm(code, verifier, c.Redirect, tg.mcp()))
	if st != http.StatusOK {
		t.Fatalf("token: %d %v", st, m)
	}
	refresh := func(rt string) (int, map[string]any) {
		st, m, _ := protoToken(t, noRedirect, tg.origin(), c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		return st, m
	}
	r0 := m["refresh_token"].(string)
	st, m1 := refresh(r0)
	if st != http.StatusOK || m1["refresh_token"] == r0 || m1["refresh_token"] == nil {
		t.Fatalf("first refresh: %d %v (must rotate)", st, m1)
	}
	// The response was "lost": r0 again, before its successor was used.
	st, m1b := refresh(r0)
	if st != http.StatusOK {
		t.Fatalf("r0 again before its successor was used: %d %v, want 200", st, m1b)
	}
	st, m2 := refresh(m1b["refresh_token"].(string))
	if st != http.StatusOK {
		t.Fatalf("refresh with the newest token: %d %v", st, m2)
	}
	// Its successor was used: r0 now is a replay, and the grant is revoked.
	if st, m := refresh(r0); st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("r0 after its successor was used: %d %v, want 400 invalid_grant", st, m)
	}
	if st, m := refresh(m2["refresh_token"].(string)); st != http.StatusBadRequest {
		t.Errorf("the newest refresh token after the replay: %d %v, want the grant revoked", st, m)
	}
	if code, _ := mcpStatus(t, tg.mcp(), m2["access_token"].(string), "", protoPing); code != http.StatusUnauthorized {
		t.Errorf("access token of the revoked grant: %d, want 401", code)
	}
}

// 21. Token only from the Authorization header; audience must be this MCP
// URL; 401 for missing/invalid. A 403 insufficient_scope cannot be produced:
// the only scope is "mcp" and every token carries it, so the 401 shapes are
// checked instead.
func item21(t *testing.T, tg *ptarget) {
	tok := tg.token(t)
	if st, _ := mcpStatus(t, tg.mcp(), tok, "", fmt.Sprintf(protoInitTemplate, "2025-11-25")); st != http.StatusOK {
		t.Errorf("initialize with the token in the header: %d", st)
	}
	// In the query instead: refused.
	resp, body := protoDo(t, noRedirect, "POST", tg.mcp()+"?access_token="+url.QueryEscape(tok), mcpHeaders("", "", ""), fmt.Sprintf(protoInitTemplate, "2025-11-25"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token as the access_token query parameter: %d %s, want 401", resp.StatusCode, body)
	}
	prm := func(origin string) string { return origin + "/.well-known/oauth-protected-resource/mcp/" + tg.name }
	shapes := []struct {
		what, token, host string
		wantErr           bool
		wantPRM           string
	}{
		{"no token", "", "", false, prm(tg.origin())},
		{"unknown token", "mcpat_" + strings.Repeat("A", 43), "", true, prm(tg.origin())},
		{"garbage token", "not a token at all", "", true, prm(tg.origin())},
		// The same listener named localhost is another MCP URL: another audience.
		{"token for 127.0.0.1 at localhost", tok, "localhost:" + tg.port(), true, prm(tg.localhostOrigin())},
	}
	for _, s := range shapes {
		h := mcpHeaders("", "", "")
		if s.token != "" {
			h["Authorization"] = "Bearer " + s.token
		}
		if s.host != "" {
			h["Host"] = s.host
		}
		resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), h, fmt.Sprintf(protoInitTemplate, "2025-11-25"))
		p, ok := bearerParams(resp.Header.Get("WWW-Authenticate"))
		if resp.StatusCode != http.StatusUnauthorized || !ok || p["resource_metadata"] != s.wantPRM || p["scope"] == "" ||
			(s.wantErr && p["error"] != "invalid_token") {
			t.Errorf("%s: %d %q %s, want 401 with resource_metadata=%s, scope and error=invalid_token: %v", s.what, resp.StatusCode,
				resp.Header.Get("WWW-Authenticate"), body, s.wantPRM, s.wantErr)
		}
	}
	if tg.other != "" {
		otherURL := tg.origin() + "/mcp/" + tg.other
		st, ch := mcpStatus(t, otherURL, tok, "", fmt.Sprintf(protoInitTemplate, "2025-11-25"))
		if p, _ := bearerParams(ch); st != http.StatusUnauthorized || p["error"] != "invalid_token" {
			t.Errorf("token for %s at %s: %d %q, want 401 invalid_token", tg.mcp(), otherURL, st, ch)
		}
	}
	// A token issued on the local origin is refused on the public one.
	_, localTok := preregistered(t, tg.pub, tg.pub.ready.Issuer+"/mcp/"+tg.name)
	resp, _ = protoDo(t, tg.pubClient(), "POST", protoPublicOrigin+"/mcp/"+tg.name, mcpHeaders(localTok.AccessToken, "", ""), fmt.Sprintf(protoInitTemplate, "2025-11-25"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a token for the local MCP URL through the public origin: %d, want 401", resp.StatusCode)
	}
}

// 22. Notifications and responses from the client get 202.
func item22(t *testing.T, tg *ptarget) {
	tok := tg.token(t)
	for _, v := range []string{"2025-11-25", "2025-06-18", "2025-03-26"} {
		resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tok, "", ""), fmt.Sprintf(protoInitTemplate, v))
		sid := resp.Header.Get("Mcp-Session-Id")
		if resp.StatusCode != http.StatusOK || sid == "" {
			t.Fatalf("initialize %s: %d %s", v, resp.StatusCode, body)
		}
		for what, msg := range map[string]string{
			"notifications/initialized": protoInitialized,
			"notifications/cancelled":   `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99,"reason":"audit"}}`,
			"a response":                `{"jsonrpc":"2.0","id":"audit-response","result":{}}`,
			"an error response":         `{"jsonrpc":"2.0","id":"audit-error","error":{"code":-32601,"message":"no"}}`,
		} {
			resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tok, sid, v), msg)
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("%s (%s): %d %s, want 202", what, v, resp.StatusCode, body)
			}
		}
		protoDelete(t, tg.mcp(), tok, sid)
	}
}

// 23. MCP-Protocol-Version: invalid gives 400; missing means 2025-03-26;
// 2025-11-25 is negotiated when asked for.
func item23(t *testing.T, tg *ptarget) {
	tok := tg.token(t)
	for _, v := range []string{"2025-11-25", "2025-06-18", "2025-03-26"} {
		sid, got := initialize(t, noRedirect, tg.mcp(), tok, v)
		if got != v {
			t.Errorf("initialize asking for %s negotiated %s", v, got)
		}
		resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tok, sid, ""), protoPing)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("ping without MCP-Protocol-Version (session %s): %d %s, want 200", v, resp.StatusCode, body)
		}
		for _, bad := range []string{"garbage", "2024-01-01", "2025-13-45", "2099-12-31"} {
			resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tok, sid, bad), protoPing)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("ping with MCP-Protocol-Version %q (session %s): %d %.200s, want 400", bad, v, resp.StatusCode, body)
			}
		}
		protoDelete(t, tg.mcp(), tok, sid)
	}
	// Also on the initialize request itself.
	for _, bad := range []string{"garbage", "2024-01-01"} {
		resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tok, "", bad), fmt.Sprintf(protoInitTemplate, "2025-11-25"))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("initialize with MCP-Protocol-Version %q: %d %.200s, want 400", bad, resp.StatusCode, body)
			protoDelete(t, tg.mcp(), tok, resp.Header.Get("Mcp-Session-Id"))
		}
	}
}

// 24. Mcp-Session-Id: random; missing when required gives 400; unknown or
// ended gives 404; DELETE ends the session.
func item24(t *testing.T, tg *ptarget) {
	tok := tg.token(t)
	sid1, v := initialize(t, noRedirect, tg.mcp(), tok, "2025-11-25")
	sid2, _ := initialize(t, noRedirect, tg.mcp(), tok, "2025-11-25")
	for _, sid := range []string{sid1, sid2} {
		if len(sid) < 16 || strings.IndexFunc(sid, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			t.Errorf("session id %q: shorter than 16 characters or not visible ASCII", sid)
		}
	}
	if sid1 == sid2 {
		t.Errorf("two sessions got the same id %q", sid1)
	}
	for what, msg := range map[string]string{"tools/list": protoToolsList, "ping": protoPing} {
		resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tok, "", v), msg)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s without Mcp-Session-Id: %d %.300s, want 400", what, resp.StatusCode, body)
			protoDelete(t, tg.mcp(), tok, resp.Header.Get("Mcp-Session-Id"))
		}
	}
	// PROTOCOL.md item 31: a 2026-07-28 request has no session id by design and
	// is served on the same URL; one that claims the version in its header but
	// lacks the per-request _meta gets the JSON-RPC error the spec names (never
	// a bare 400, never a silent session).
	modern := `{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{` +
		`"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
		`"io.modelcontextprotocol/clientInfo":{"name":"protocol-test","version":"1"},` +
		`"io.modelcontextprotocol/clientCapabilities":{}}}}`
	mh := mcpHeaders(tok, "", "2026-07-28")
	mh["Mcp-Method"] = "tools/list"
	resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), mh, modern)
	if msg := rpcMessage(resp, body); resp.StatusCode != http.StatusOK || msg["result"] == nil || resp.Header.Get("Mcp-Session-Id") != "" {
		t.Errorf("sessionless 2026-07-28 tools/list: %d %v %.300s, want 200 with a result and no session", resp.StatusCode, resp.Header, body)
	}
	resp, body = protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tok, "", "2026-07-28"), protoToolsList)
	if msg := rpcMessage(resp, body); resp.StatusCode != http.StatusBadRequest || msg["error"] == nil {
		t.Errorf("2026-07-28 header without _meta: %d %.300s, want 400 with a JSON-RPC error", resp.StatusCode, body)
	}
	resp, body = protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tok, "no-such-session-"+strings.Repeat("x", 10), v), protoToolsList)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown session id: %d %s, want 404", resp.StatusCode, body)
	}
	resp, body = protoDo(t, noRedirect, "DELETE", tg.mcp(), mcpHeaders(tok, sid1, v), "")
	if resp.StatusCode/100 != 2 {
		t.Errorf("DELETE session: %d %s, want 2xx", resp.StatusCode, body)
	}
	resp, body = protoDo(t, noRedirect, "POST", tg.mcp(), mcpHeaders(tok, sid1, v), protoToolsList)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST on a deleted session: %d %s, want 404", resp.StatusCode, body)
	}
	h := mcpHeaders(tok, sid1, v)
	h["Accept"] = "text/event-stream"
	resp, body = protoDo(t, noRedirect, "GET", tg.mcp(), h, "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET on a deleted session: %d %s, want 404", resp.StatusCode, body)
	}
	resp, body = protoDo(t, noRedirect, "DELETE", tg.mcp(), mcpHeaders(tok, sid1, v), "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE on a deleted session: %d %s, want 404", resp.StatusCode, body)
	}
	protoDelete(t, tg.mcp(), tok, sid2)
}

// 25. GET on the MCP URL opens the SSE stream or answers 405 with Allow,
// never 404. Without a session id, 400 is the answer of item 24.
func item25(t *testing.T, tg *ptarget) {
	tok := tg.token(t)
	for _, u := range []string{tg.mcp(), tg.mcp() + "/"} {
		// A session of its own per URL: a session has one standalone stream,
		// and the server may not have noticed yet that the last one closed.
		sid, v := initialize(t, noRedirect, tg.mcp(), tok, "2025-11-25")
		defer protoDelete(t, tg.mcp(), tok, sid)
		for _, withSession := range []bool{true, false} {
			h := map[string]string{"Authorization": "Bearer " + tok, "Accept": "text/event-stream", "MCP-Protocol-Version": v}
			if withSession {
				h["Mcp-Session-Id"] = sid
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
			for k, val := range h {
				req.Header.Set(k, val)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				cancel()
				t.Errorf("GET %s (session %v): %v (no headers within 10s)", u, withSession, err)
				continue
			}
			ct, allow := resp.Header.Get("Content-Type"), resp.Header.Get("Allow")
			var body []byte
			if !strings.HasPrefix(ct, "text/event-stream") {
				body, _ = io.ReadAll(resp.Body)
			}
			resp.Body.Close()
			cancel()
			sse := resp.StatusCode == http.StatusOK && strings.HasPrefix(ct, "text/event-stream")
			m405 := resp.StatusCode == http.StatusMethodNotAllowed && allow != ""
			switch {
			case withSession && !sse && !m405:
				t.Errorf("GET %s with a session: %d %q %s, want 200 text/event-stream or 405 with Allow", u, resp.StatusCode, ct, body)
			case !withSession && !sse && !m405 && resp.StatusCode != http.StatusBadRequest:
				t.Errorf("GET %s without a session: %d %q %s, want SSE, 405 with Allow or 400", u, resp.StatusCode, ct, body)
			}
		}
	}
}

// 26. Origin, when present, must be allowed (403 otherwise); no Origin passes.
func item26(t *testing.T, tg *ptarget) {
	tok := tg.token(t)
	init := fmt.Sprintf(protoInitTemplate, "2025-11-25")
	for _, o := range []string{"https://evil.example", "http://localhost:6274", "null", "https://chatgpt.com.evil.example"} {
		h := mcpHeaders(tok, "", "")
		h["Origin"] = o
		resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), h, init)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("initialize with Origin %q: %d %.200s, want 403", o, resp.StatusCode, body)
			protoDelete(t, tg.mcp(), tok, resp.Header.Get("Mcp-Session-Id"))
		}
		delete(h, "Authorization")
		if resp, _ := protoDo(t, noRedirect, "POST", tg.mcp(), h, init); resp.StatusCode/100 == 2 {
			t.Errorf("anonymous initialize with Origin %q: %d", o, resp.StatusCode)
		}
	}
	for _, o := range []string{"", tg.origin()} {
		h := mcpHeaders(tok, "", "")
		if o != "" {
			h["Origin"] = o
		}
		resp, body := protoDo(t, noRedirect, "POST", tg.mcp(), h, init)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("initialize with Origin %q: %d %s, want 200", o, resp.StatusCode, body)
		}
		protoDelete(t, tg.mcp(), tok, resp.Header.Get("Mcp-Session-Id"))
	}
	// The public origin is allowed through the public origin.
	h := mcpHeaders(tg.pubToken(t), "", "")
	h["Origin"] = protoPublicOrigin
	resp, body := protoDo(t, tg.pubClient(), "POST", protoPublicOrigin+"/mcp/"+tg.name, h, init)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("initialize through the public origin with Origin %s: %d %s, want 200", protoPublicOrigin, resp.StatusCode, body)
	}
}

// 27. A loopback listener with a non-loopback Host (the tunnel's case) must
// work: the SDK's localhost protection off, our Host allowlist on (421).
func item27(t *testing.T, tg *ptarget) {
	pubURL := protoPublicOrigin + "/mcp/" + tg.name
	hc := tg.pubClient()
	tok := tg.pubToken(t)
	sid, _ := initialize(t, hc, pubURL, tok, "2025-11-25")
	resp, body := protoDo(t, hc, "POST", pubURL, mcpHeaders(tok, sid, "2025-11-25"), protoToolsList)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"tools"`) {
		t.Errorf("tools/list through the public origin: %d %.300s", resp.StatusCode, body)
	}
	protoDo(t, hc, "DELETE", pubURL, mcpHeaders(tok, sid, ""), "")
	// Hosts on no allowlist: 421, with or without a token, on the MCP URL and the metadata.
	for _, host := range []string{"evil.example", "evil.example:" + tg.port(), "127.0.0.1.evil.example"} {
		for _, c := range []struct{ method, path, token string }{
			{"POST", "/mcp/" + tg.name, ""}, {"POST", "/mcp/" + tg.name, tg.token(t)},
			{"GET", "/.well-known/oauth-protected-resource/mcp/" + tg.name, ""}, {"GET", "/.well-known/oauth-authorization-server", ""},
		} {
			h := mcpHeaders(c.token, "", "")
			h["Host"] = host
			resp, body := protoDo(t, noRedirect, c.method, tg.origin()+c.path, h, fmt.Sprintf(protoInitTemplate, "2025-11-25"))
			if resp.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("%s %s with Host %s (token %v): %d %.200s, want 421", c.method, c.path, host, c.token != "", resp.StatusCode, body)
			}
		}
	}
}

// 28. Never redirect between /mcp/NAME and /mcp/NAME/.
func item28(t *testing.T, tg *ptarget) {
	tok := tg.token(t)
	for _, u := range []string{tg.mcp(), tg.mcp() + "/"} {
		for _, c := range []struct {
			method, token, body string
		}{
			{"POST", "", fmt.Sprintf(protoInitTemplate, "2025-11-25")},
			{"POST", tok, fmt.Sprintf(protoInitTemplate, "2025-11-25")},
			{"GET", tok, ""}, {"DELETE", tok, ""}, {"OPTIONS", "", ""}, {"GET", "", ""},
		} {
			h := mcpHeaders(c.token, "", "")
			resp, body := protoDo(t, noRedirect, c.method, u, h, c.body)
			if resp.StatusCode/100 == 3 || resp.Header.Get("Location") != "" {
				t.Errorf("%s %s (token %v): %d Location %q %.200s", c.method, u, c.token != "", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if c.method == "POST" && c.token != "" {
				if resp.StatusCode != http.StatusOK {
					t.Errorf("initialize at %s: %d %.200s", u, resp.StatusCode, body)
				}
				protoDelete(t, u, tok, resp.Header.Get("Mcp-Session-Id"))
			}
		}
	}
}
