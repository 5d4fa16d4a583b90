package doctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// Status is how a step went.
type Status string

// Statuses of a step.
const (
	Passed Status = "ok"
	Failed Status = "failed"
	// Warned: the step found what keeps ChatGPT and Claude out although the
	// chain works (a URL on this computer); it does not make Report.OK false.
	Warned  Status = "warning"
	Skipped Status = "skipped"
)

// The steps, in the order Check runs them.
const (
	StepPRMHead   = "prm-head"  // HEAD of the protected resource metadata
	StepPRMGet    = "prm-get"   // GET of it
	StepASHead    = "as-head"   // HEAD of the authorization server metadata
	StepASGet     = "as-get"    // GET of it
	StepOIDCHead  = "oidc-head" // HEAD of the OpenID configuration
	StepOIDCGet   = "oidc-get"  // GET of it
	StepChallenge = "challenge" // an anonymous POST to the MCP URL: 401 with resource_metadata and scope
	StepPRM       = "prm"       // the resource metadata's contents
	StepAS        = "as"        // the authorization server metadata's contents
	StepRegister  = "register"  // a dynamic client registration
	StepAuthorize = "authorize" // the authorization endpoint shows the login page
	StepCleanup   = "cleanup"   // the test client is removed again
	StepPublic    = "public"    // the URL is one ChatGPT and Claude can reach: https, not this computer
)

// Step is one check and how it went.
type Step struct {
	ID     string
	Title  string
	Status Status
	// Detail says what was found: on success a short fact, on failure what
	// went wrong, when skipped why.
	Detail string
	// Advice is one sentence of what to do about a failure.
	Advice string
}

// Report is the result of Check.
type Report struct {
	URL   string
	Steps []Step
}

// OK reports whether every step passed, or at most warned: the chain
// works (a warning says what still keeps ChatGPT out).
func (r Report) OK() bool {
	return !slices.ContainsFunc(r.Steps, func(s Step) bool { return s.Status != Passed && s.Status != Warned })
}

// Failure returns the first failed step.
func (r Report) Failure() (Step, bool) {
	i := slices.IndexFunc(r.Steps, func(s Step) bool { return s.Status == Failed })
	if i < 0 {
		return Step{}, false
	}
	return r.Steps[i], true
}

// Options configure Check.
type Options struct {
	// URL is the MCP URL as a client is given it: <public origin>/mcp or
	// <public origin>/mcp/NAME.
	URL string
	// Client makes every request; nil means one with a timeout that follows
	// no redirect (a client must not need one).
	Client *http.Client
	// Forget removes the test client when the authorization server offers
	// no RFC 7592 delete (the app revokes it in MCP Share's database); nil
	// leaves it to expire, and the cleanup step says so.
	Forget func(ctx context.Context, clientID string) error
}

// RequestTimeout bounds each request of the default client.
const RequestTimeout = 15 * time.Second

// testRedirect is the redirect URI the test client registers: ChatGPT's.
const testRedirect = "https://chatgpt.com/connector_platform_oauth_redirect"

// Check walks o.URL as ChatGPT and Claude do and reports each step.
func Check(ctx context.Context, o Options) Report {
	c := &checker{ctx: ctx, opts: o, hc: o.Client, rep: Report{URL: o.URL}}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: RequestTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !(u.Path == "/mcp" || strings.HasPrefix(u.Path, "/mcp/")) {
		c.fail(StepPRMHead, "The URL", fmt.Sprintf("%q is not an MCP Share URL (<origin>/mcp or <origin>/mcp/NAME)", o.URL),
			"Give the MCP URL the Connect tab shows.")
		return c.rep
	}
	c.origin = u.Scheme + "://" + u.Host
	c.prmURL = c.origin + "/.well-known/oauth-protected-resource" + u.Path
	c.run()
	c.public(u)
	return c.rep
}

// public checks what the chain cannot show from here: whether ChatGPT and
// Claude, on the internet, can reach the URL at all.
func (c *checker) public(u *url.URL) {
	const title = "ChatGPT and Claude can reach this URL"
	ip := net.ParseIP(u.Hostname())
	switch {
	case localLooking(c.origin) || (ip != nil && (ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())):
		c.warn(StepPublic, title, c.origin+" is on this computer or its network",
			"ChatGPT and Claude reach only public https URLs: add an ngrok authtoken in Settings (or a custom public URL), start sharing, and check the public URL.")
	case u.Scheme != "https":
		c.warn(StepPublic, title, c.origin+" is not https",
			"ChatGPT and Claude accept only https: put the share behind ngrok or an https proxy.")
	default:
		c.pass(StepPublic, title, "a public https URL")
	}
}

type checker struct {
	ctx  context.Context
	opts Options
	hc   *http.Client
	rep  Report

	origin, prmURL string
	prm            *oauthex.ProtectedResourceMetadata
	asm            *oauthex.AuthServerMeta
	scope          string
	clientID       string
	regURI, regTok string
	// unreachable is set once a request to the origin got no answer at
	// all: the steps after it are skipped rather than failed the same way.
	unreachable bool
}

func (c *checker) add(id, title string, st Status, detail, advice string) bool {
	c.rep.Steps = append(c.rep.Steps, Step{ID: id, Title: title, Status: st, Detail: detail, Advice: advice})
	return st == Passed
}
func (c *checker) pass(id, title, detail string) bool { return c.add(id, title, Passed, detail, "") }
func (c *checker) fail(id, title, detail, advice string) bool {
	return c.add(id, title, Failed, detail, advice)
}
func (c *checker) skip(id, title, why string) bool { return c.add(id, title, Skipped, why, "") }
func (c *checker) warn(id, title, detail, advice string) bool {
	return c.add(id, title, Warned, detail, advice)
}

func (c *checker) run() {
	asURL := c.origin + "/.well-known/oauth-authorization-server"
	oidcURL := c.origin + "/.well-known/openid-configuration"
	// HEAD and GET both, always: ChatGPT sends HEAD first, others only GET.
	c.head(StepPRMHead, "HEAD of the protected resource metadata", c.prmURL)
	if !c.getJSON(StepPRMGet, "GET of the protected resource metadata", c.prmURL, &c.prm) {
		c.prm = nil
	}
	c.head(StepASHead, "HEAD of the authorization server metadata", asURL)
	if !c.getJSON(StepASGet, "GET of the authorization server metadata", asURL, &c.asm) {
		c.asm = nil
	}
	var oidc *oauthex.AuthServerMeta
	c.head(StepOIDCHead, "HEAD of the OpenID configuration", oidcURL)
	if !c.getJSON(StepOIDCGet, "GET of the OpenID configuration", oidcURL, &oidc) {
		oidc = nil
	}
	c.challenge()
	if c.prm != nil {
		c.checkPRM()
	} else {
		c.skip(StepPRM, "The protected resource metadata names this URL", "the document could not be read")
	}
	if c.asm != nil {
		c.checkAS(oidc)
	} else {
		c.skip(StepAS, "The authorization server metadata", "the document could not be read")
	}
	// What follows goes where the metadata says: only on the public origin.
	if c.asm != nil && c.asm.RegistrationEndpoint != "" && c.onOrigin(c.asm.RegistrationEndpoint) && c.onOrigin(c.asm.AuthorizationEndpoint) {
		if c.register() {
			c.authorize()
			c.cleanup()
			return
		}
	} else if c.asm != nil && c.asm.RegistrationEndpoint != "" {
		c.skip(StepRegister, "A client registers itself", "the metadata's endpoints are not on the public origin")
	}
	if c.asm == nil {
		c.skip(StepRegister, "A client registers itself", "the authorization server metadata could not be read")
	} else if c.asm.RegistrationEndpoint == "" {
		c.fail(StepRegister, "A client registers itself", "the metadata names no registration_endpoint",
			"ChatGPT and Cursor register themselves; is this MCP Share's authorization server?")
	}
	c.skip(StepAuthorize, "The sign-in page", "no test client")
	c.skip(StepCleanup, "The test client is removed", "no test client")
}

// do sends one request; a failure to get an answer becomes a failed step.
func (c *checker) do(id, title string, req *http.Request) (*http.Response, []byte, bool) {
	if c.unreachable && c.onOrigin(req.URL.String()) {
		return nil, nil, c.skip(id, title, "nothing answers at "+c.origin+" (the first failed step)")
	}
	resp, err := c.hc.Do(req.WithContext(c.ctx))
	if err != nil {
		c.unreachable = c.unreachable || c.onOrigin(req.URL.String())
		return nil, nil, c.fail(id, title, fmt.Sprintf("%s %s: %v", req.Method, req.URL, err), c.reachAdvice(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, body, true
}

func (c *checker) head(id, title, u string) bool {
	req, _ := http.NewRequest(http.MethodHead, u, nil)
	resp, _, ok := c.do(id, title, req)
	if !ok {
		return false
	}
	if !c.statusOK(id, title, req, resp) || !c.isJSON(id, title, req, resp) {
		return false
	}
	return c.pass(id, title, "200, application/json")
}

func (c *checker) getJSON(id, title, u string, into any) bool {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/json")
	resp, body, ok := c.do(id, title, req)
	if !ok || !c.statusOK(id, title, req, resp) || !c.isJSON(id, title, req, resp) {
		return false
	}
	if err := json.Unmarshal(body, into); err != nil {
		return c.fail(id, title, fmt.Sprintf("GET %s: the body is not the JSON document: %v", u, err),
			"Something other than MCP Share answers this URL; check what your proxy forwards.")
	}
	return c.pass(id, title, fmt.Sprintf("200, %d bytes of JSON", len(body)))
}

// statusOK fails the step unless the answer is 200, with advice for the
// usual reasons.
func (c *checker) statusOK(id, title string, req *http.Request, resp *http.Response) bool {
	if resp.StatusCode == http.StatusOK {
		return true
	}
	detail := fmt.Sprintf("%s %s: %s", req.Method, req.URL, resp.Status)
	var advice string
	switch {
	case resp.StatusCode == http.StatusMisdirectedRequest:
		advice = c.hostAdvice()
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		detail += " to " + resp.Header.Get("Location")
		advice = "Clients do not follow redirects here: make the proxy serve this path itself, without redirecting (http to https included)."
	case resp.StatusCode == http.StatusNotFound && req.URL.String() == c.prmURL && strings.Count(req.URL.Path, "/") > 3:
		advice = "MCP Share has no such server here: check that the server in the URL is shared (enabled), and that this origin reaches MCP Share."
	case resp.StatusCode == http.StatusNotFound:
		advice = "This origin does not serve MCP Share's documents: check that the public URL points to MCP Share, not to another site."
	case resp.StatusCode >= 500:
		advice = "The tunnel or proxy answered, but not MCP Share behind it: start sharing, and check that the tunnel forwards to MCP Share's local address."
	default:
		advice = "Something in front of MCP Share refuses the request: check the proxy's rules for " + req.URL.Path + "."
	}
	return c.fail(id, title, detail, advice)
}

func (c *checker) isJSON(id, title string, req *http.Request, resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/json" {
		return true
	}
	return c.fail(id, title, fmt.Sprintf("%s %s: Content-Type %q, not application/json", req.Method, req.URL, mt),
		"Something other than MCP Share answers this URL (a proxy's or tunnel's own page?): check where it forwards.")
}

// reachAdvice explains a request that got no answer.
func (c *checker) reachAdvice(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("The name of %s does not resolve: check the public URL in Settings, and the DNS of your domain.", c.origin)
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return fmt.Sprintf("The certificate of %s is not valid for it: ChatGPT and Claude accept only a valid https certificate; fix the proxy's.", c.origin)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("%s did not answer in time: check that the tunnel or proxy runs and forwards to MCP Share.", c.origin)
	default:
		return fmt.Sprintf("Nothing answers at %s: start sharing, and check that the tunnel or proxy of this URL runs and forwards to MCP Share.", c.origin)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// hostAdvice is the advice when MCP Share saw another Host than the public one.
func (c *checker) hostAdvice() string {
	return fmt.Sprintf("MCP Share did not get %s as the Host: the proxy in front rewrites the Host header, or the public URL in Settings differs; make the proxy pass the original Host (nginx: proxy_set_header Host $host) and set the public URL to %s.", c.origin, c.origin)
}

// onOrigin says whether u is on the public origin.
func (c *checker) onOrigin(u string) bool {
	return u == c.origin || strings.HasPrefix(u, c.origin+"/")
}

// localLooking tells an advertised URL that names this computer: the sign
// of a Host rewritten to MCP Share's local address.
func localLooking(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// wrongOrigin is the advice for an advertised URL off the public origin.
func (c *checker) wrongOrigin(u string) string {
	if localLooking(u) {
		return fmt.Sprintf("MCP Share names its local address (%s) instead of %s: the proxy in front rewrites the Host header to it; make the proxy pass the original Host (nginx: proxy_set_header Host $host).", u, c.origin)
	}
	return fmt.Sprintf("MCP Share names %s instead of %s: set the public URL in Settings to %s, or make the proxy pass the original Host.", u, c.origin, c.origin)
}

var initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcpshare-doctor","version":"1"}}}`

// challenge sends what every client sends first: an initialize without a
// token, which must be answered 401 with where to sign in.
func (c *checker) challenge() {
	const title = "An anonymous request is challenged"
	req, _ := http.NewRequest(http.MethodPost, c.opts.URL, strings.NewReader(initializeBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, _, ok := c.do(StepChallenge, title, req)
	if !ok {
		return
	}
	switch {
	case resp.StatusCode == http.StatusMisdirectedRequest:
		c.fail(StepChallenge, title, "POST "+c.opts.URL+": "+resp.Status, c.hostAdvice())
		return
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		c.fail(StepChallenge, title, fmt.Sprintf("POST %s without a token: %s", c.opts.URL, resp.Status),
			"The MCP URL answers without a sign-in, so clients never start OAuth: something other than MCP Share answers it; check where the proxy forwards.")
		return
	case resp.StatusCode != http.StatusUnauthorized:
		c.statusOK(StepChallenge, title, req, resp)
		return
	}
	chs, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	i := slices.IndexFunc(chs, func(ch oauthex.Challenge) bool { return ch.Scheme == "bearer" })
	if err != nil || i < 0 {
		c.fail(StepChallenge, title, fmt.Sprintf("401 with WWW-Authenticate %q: no Bearer challenge", resp.Header.Get("WWW-Authenticate")),
			"A proxy in front replaces MCP Share's challenge (basic auth?): let the MCP URL through unauthenticated.")
		return
	}
	rm, scope := chs[i].Params["resource_metadata"], chs[i].Params["scope"]
	switch {
	case rm == "":
		c.fail(StepChallenge, title, "the Bearer challenge has no resource_metadata",
			"Claude gives up without it: a proxy in front rewrites the WWW-Authenticate header; let it through unchanged.")
	case rm != c.prmURL:
		advice := c.wrongOrigin(rm)
		if c.onOrigin(rm) {
			advice = "The challenge points to another server's metadata: the URL's path does not match what MCP Share serves there."
		}
		c.fail(StepChallenge, title, fmt.Sprintf("resource_metadata is %s, want %s", rm, c.prmURL), advice)
	case scope == "":
		c.fail(StepChallenge, title, "the Bearer challenge has no scope",
			"A proxy in front rewrites the WWW-Authenticate header; let it through unchanged.")
	default:
		c.scope = scope
		c.pass(StepChallenge, title, fmt.Sprintf("401, resource_metadata %s, scope %q", rm, scope))
	}
}

func (c *checker) checkPRM() {
	const title = "The protected resource metadata names this URL"
	p := c.prm
	switch {
	case p.Resource != c.opts.URL:
		advice := c.wrongOrigin(p.Resource)
		if c.onOrigin(p.Resource) {
			advice = "Give clients the URL exactly as the metadata names it (no trailing slash, same case)."
		}
		c.fail(StepPRM, title, fmt.Sprintf("resource is %q, want %q", p.Resource, c.opts.URL), advice)
	case len(p.AuthorizationServers) == 0:
		c.fail(StepPRM, title, "authorization_servers is empty", "Is this MCP Share? Its metadata always names its authorization server.")
	case p.AuthorizationServers[0] != c.origin:
		c.fail(StepPRM, title, fmt.Sprintf("authorization_servers[0] is %q, want %q", p.AuthorizationServers[0], c.origin), c.wrongOrigin(p.AuthorizationServers[0]))
	case c.scope != "" && !slices.Equal(p.ScopesSupported, strings.Fields(c.scope)):
		c.fail(StepPRM, title, fmt.Sprintf("scopes_supported %v differ from the challenge's scope %q", p.ScopesSupported, c.scope),
			"Clients ask for the scopes of the challenge; something rewrites one of them.")
	default:
		c.pass(StepPRM, title, fmt.Sprintf("resource %s, authorization server %s", p.Resource, p.AuthorizationServers[0]))
	}
}

func (c *checker) checkAS(oidc *oauthex.AuthServerMeta) {
	const title = "The authorization server metadata"
	m := c.asm
	if m.Issuer != c.origin {
		c.fail(StepAS, title, fmt.Sprintf("issuer is %q, want %q exactly", m.Issuer, c.origin), c.issuerAdvice(m.Issuer))
		return
	}
	if oidc != nil && oidc.Issuer != m.Issuer {
		c.fail(StepAS, title, fmt.Sprintf("the OpenID configuration's issuer %q differs from %q", oidc.Issuer, m.Issuer), c.issuerAdvice(oidc.Issuer))
		return
	}
	if !slices.Contains(m.CodeChallengeMethodsSupported, "S256") {
		c.fail(StepAS, title, fmt.Sprintf("code_challenge_methods_supported is %v, without S256", m.CodeChallengeMethodsSupported),
			"ChatGPT refuses an authorization server that does not advertise PKCE S256: something rewrites the metadata.")
		return
	}
	for name, u := range map[string]string{
		"authorization_endpoint": m.AuthorizationEndpoint, "token_endpoint": m.TokenEndpoint,
		"registration_endpoint": m.RegistrationEndpoint, "revocation_endpoint": m.RevocationEndpoint,
	} {
		if u != "" && !c.onOrigin(u) {
			c.fail(StepAS, title, fmt.Sprintf("%s is %s, not on %s", name, u, c.origin), c.wrongOrigin(u))
			return
		}
	}
	if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" {
		c.fail(StepAS, title, "the metadata lacks authorization_endpoint or token_endpoint", "Is this MCP Share's authorization server?")
		return
	}
	c.pass(StepAS, title, fmt.Sprintf("issuer %s, PKCE S256, endpoints on the public origin", m.Issuer))
}

func (c *checker) issuerAdvice(issuer string) string {
	if localLooking(issuer) || !strings.HasPrefix(issuer, c.origin) {
		return c.wrongOrigin(issuer) + " ChatGPT and the SDKs refuse an issuer that differs from the URL by one byte."
	}
	return "ChatGPT and the SDKs refuse an issuer that differs from the URL by one byte (a trailing slash, a path): something rewrites the metadata."
}

// register registers a test client as ChatGPT does.
func (c *checker) register() bool {
	const title = "A client registers itself"
	body, _ := json.Marshal(map[string]any{
		"client_name": "MCP Share connection check", "redirect_uris": []string{testRedirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "client_secret_post",
	})
	req, _ := http.NewRequest(http.MethodPost, c.asm.RegistrationEndpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, out, ok := c.do(StepRegister, title, req)
	if !ok {
		return false
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return c.fail(StepRegister, title, fmt.Sprintf("POST %s: %s %.200s", c.asm.RegistrationEndpoint, resp.Status, out),
			"ChatGPT and Cursor register themselves here; if MCP Share refuses for too many registrations, try again in a minute, else check what the proxy does to POST requests.")
	}
	var got struct {
		ClientID       string `json:"client_id"`
		RegClientURI   string `json:"registration_client_uri"`
		RegAccessToken string `json:"registration_access_token"`
	}
	if err := json.Unmarshal(out, &got); err != nil || got.ClientID == "" {
		return c.fail(StepRegister, title, fmt.Sprintf("the registration answered %.200s", out), "Something other than MCP Share answered the registration.")
	}
	c.clientID, c.regURI, c.regTok = got.ClientID, got.RegClientURI, got.RegAccessToken
	return c.pass(StepRegister, title, fmt.Sprintf("%s, client %s", resp.Status, got.ClientID))
}

var passwordInput = regexp.MustCompile(`(?is)<form\b.*<input\b[^>]*type\s*=\s*"?password`)

// authorize opens the sign-in page the way the browser does after a
// client sends the user there.
func (c *checker) authorize() {
	const title = "The sign-in page opens"
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.clientID}, "redirect_uri": {testRedirect},
		"state": {rand.Text()}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "resource": {c.opts.URL},
	}
	if c.scope != "" {
		q.Set("scope", c.scope)
	}
	u := c.asm.AuthorizationEndpoint + "?" + q.Encode()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	resp, body, ok := c.do(StepAuthorize, title, req)
	if !ok {
		return
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 {
		detail := "redirected to " + loc
		if lu, err := url.Parse(loc); err == nil && lu.Query().Get("error") != "" {
			detail = fmt.Sprintf("redirected with error %q (%s)", lu.Query().Get("error"), lu.Query().Get("error_description"))
		}
		c.fail(StepAuthorize, title, detail, "The authorization endpoint should show the login page: check that the server in the URL is shared, and what the proxy does to /authorize.")
		return
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != "text/html" || !passwordInput.Match(body) {
		c.fail(StepAuthorize, title, fmt.Sprintf("GET /authorize: %s, %s, without a login form", resp.Status, mt),
			"Something other than MCP Share's login page answers /authorize: check what the proxy forwards.")
		return
	}
	c.pass(StepAuthorize, title, "200, the login form")
}

// cleanup removes the test client: RFC 7592 when the server offers it on
// the public origin (like every other request, the DELETE goes nowhere
// else the answers name), else Options.Forget, else it is left to expire.
func (c *checker) cleanup() {
	const title = "The test client is removed"
	if c.regURI != "" && c.regTok != "" && c.onOrigin(c.regURI) {
		req, _ := http.NewRequest(http.MethodDelete, c.regURI, nil)
		req.Header.Set("Authorization", "Bearer "+c.regTok)
		resp, _, ok := c.do(StepCleanup, title, req)
		if !ok {
			return
		}
		if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK {
			c.pass(StepCleanup, title, "deleted (RFC 7592)")
			return
		}
		c.fail(StepCleanup, title, "DELETE of the registration: "+resp.Status, "The test client stays registered; remove it in MCP Share's Clients tab.")
		return
	}
	if c.opts.Forget != nil {
		if err := c.opts.Forget(c.ctx, c.clientID); err != nil {
			c.fail(StepCleanup, title, fmt.Sprintf("revoking client %s: %v", c.clientID, err), "Remove it in MCP Share's Clients tab.")
			return
		}
		c.pass(StepCleanup, title, "revoked in MCP Share")
		return
	}
	c.pass(StepCleanup, title, fmt.Sprintf("client %s is left to expire: the authorization server offers no delete (RFC 7592), and MCP Share removes a client that never got a token after a day", c.clientID))
}
