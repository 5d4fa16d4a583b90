package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcpshare/mcpshare/app/egress"
	"github.com/mcpshare/mcpshare/app/gateway"
)

// RemoteProbe is what a remote MCP server says before anyone signs in.
type RemoteProbe struct {
	// NeedsOAuth: it answered an anonymous initialize with 401 and a
	// Bearer challenge.
	NeedsOAuth bool
	// Resource is the resource its metadata names (the URL, normally).
	Resource string
	// Issuer is its authorization server.
	Issuer string
	// Registration: the authorization server registers clients itself
	// (RFC 7591), so no client ID needs to be pasted.
	Registration bool
	// ClientMetadata: the authorization server takes clients by their
	// client ID metadata document, which MCP Share serves on a fixed https
	// public URL (remotecimd.go).
	ClientMetadata bool
	// Scopes are those its challenge or metadata asks for.
	Scopes []string
}

// probe is a RemoteProbe with what the sign-in goes on with: the origins
// the sign-in may reach (remoteTarget let each in), and the 401 the go-sdk's
// handler starts from.
type probe struct {
	RemoteProbe
	serverURL string
	origins   []string
	req       *http.Request
	resp      *http.Response
}

// ProbeRemote asks the MCP server at rawURL, the way a client does, whether
// it wants a sign-in and with which authorization server: an anonymous
// initialize, then (on a 401) its protected resource metadata and its
// authorization server's metadata. Only the server's origin and the
// authorization server it names are reached, and that only where
// remoteTarget allows.
func (a *App) ProbeRemote(ctx context.Context, rawURL string) (RemoteProbe, error) {
	p, err := a.probeRemote(ctx, rawURL)
	if err != nil {
		return RemoteProbe{}, err
	}
	return p.RemoteProbe, nil
}

// ErrRemoteDiscovery is matched by a remote server that wants OAuth but
// whose metadata MCP Share cannot use; the message says what is wrong.
var ErrRemoteDiscovery = errors.New("the server's sign-in cannot be used")

func (a *App) probeRemote(ctx context.Context, rawURL string) (*probe, error) {
	if err := egress.CheckURL(rawURL); err != nil {
		return nil, err
	}
	serverOrigin, _ := egress.Origin(rawURL)
	p := &probe{serverURL: rawURL, origins: []string{serverOrigin}}
	client := func() *http.Client { return a.oauthClient(p.origins) }

	req, resp, err := anonymousChallenge(ctx, client, rawURL)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return p, nil // serves without a sign-in
	}
	challenges, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if err != nil || !slices.ContainsFunc(challenges, func(c oauthex.Challenge) bool { return c.Scheme == "bearer" }) {
		return nil, fmt.Errorf("%w: %s answered 401 without a Bearer challenge; it wants a sign-in MCP Share does not speak (only OAuth)", ErrRemoteDiscovery, shown(rawURL))
	}
	p.NeedsOAuth = true
	p.req, p.resp = req, resp
	if s := bearerParam(challenges, "scope"); s != "" {
		p.Scopes = strings.Fields(s)
	}

	prm, err := resourceMetadata(ctx, client(), bearerParam(challenges, "resource_metadata"), rawURL, serverOrigin)
	if err != nil {
		return nil, err
	}
	issuer := serverOrigin // the 2025-03-26 fallback: the server is its own authorization server
	p.Resource = rawURL
	if prm != nil {
		issuer, p.Resource = prm.AuthorizationServers[0], prm.Resource
		if len(p.Scopes) == 0 {
			p.Scopes = prm.ScopesSupported
		}
	}
	if err := p.allow(issuer); err != nil {
		return nil, fmt.Errorf("%w: its authorization server %s: %w", ErrRemoteDiscovery, issuer, err)
	}
	p.Issuer = issuer
	asm, err := auth.GetAuthServerMetadata(ctx, issuer, client())
	if err != nil {
		return nil, fmt.Errorf("%w: the metadata of its authorization server %s: %v", ErrRemoteDiscovery, issuer, err)
	}
	if asm == nil {
		// No metadata: the 2025-03-26 default endpoints at the issuer.
		p.Registration = true
		return p, nil
	}
	for _, e := range []string{asm.TokenEndpoint, asm.RegistrationEndpoint} {
		if e == "" {
			continue
		}
		if err := p.allow(e); err != nil {
			return nil, fmt.Errorf("%w: its authorization server names the endpoint %s: %w", ErrRemoteDiscovery, e, err)
		}
	}
	// The sign-in page is opened in the owner's browser, not fetched: it is
	// judged by the same rule (codeFetcher does again) but not allowed.
	if e := asm.AuthorizationEndpoint; e != "" {
		if _, err := remoteTarget(rawURL, e); err != nil {
			return nil, fmt.Errorf("%w: its authorization server names the sign-in page %s: %w", ErrRemoteDiscovery, e, err)
		}
	}
	p.Registration = asm.RegistrationEndpoint != ""
	p.ClientMetadata = asm.ClientIDMetadataDocumentSupported
	return p, nil
}

// allow adds the origin of rawURL, named by the server or its
// authorization server, to those the sign-in reaches, if remoteTarget lets
// it.
func (p *probe) allow(rawURL string) error {
	o, err := remoteTarget(p.serverURL, rawURL)
	if err != nil {
		return err
	}
	if !slices.Contains(p.origins, o) {
		p.origins = append(p.origins, o)
	}
	return nil
}

// oauthClient is the egress client of discovery, sign-in and renewal,
// limited to origins.
func (a *App) oauthClient(origins []string) *http.Client {
	return egress.Client(egress.Options{Allow: origins, Timeout: oauthTimeout, MaxBody: maxOAuthBody, Net: a.opts.Network})
}

// anonymousChallenge asks the server what a client that has not signed in
// gets: an initialize; when that is answered, the initialized notification
// and a tools/list in its session (some servers let anyone initialize and
// want a sign-in for everything else); when the initialize is refused as a
// request of another era, a 2026-07-28 server/discover. It returns the
// request and the 401 that answered it (with its body drained), or nil, nil
// when the server serves without a sign-in.
func anonymousChallenge(ctx context.Context, client func() *http.Client, rawURL string) (*http.Request, *http.Response, error) {
	post := func(version, session, body string) (*http.Request, *http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", version)
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := client().Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("could not reach %s: %w", shown(rawURL), err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxOAuthBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(nil))
		return req, resp, nil
	}
	clientInfo := `{"name":"mcpshare","version":"` + gateway.Version + `"}`
	req, resp, err := post(probeVersion, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+probeVersion+`","capabilities":{},"clientInfo":`+clientInfo+`}}`)
	switch {
	case err != nil:
		return nil, nil, err
	case resp.StatusCode == http.StatusUnauthorized:
		return req, resp, nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		session := resp.Header.Get("Mcp-Session-Id")
		defer endSession(ctx, client(), rawURL, session)
		for _, body := range []string{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`} {
			req, resp, err := post(probeVersion, session, body)
			if err != nil || resp.StatusCode == http.StatusUnauthorized {
				return req, resp, err
			}
		}
		return nil, nil, nil
	case resp.StatusCode == http.StatusBadRequest:
		first := resp.Status
		req, resp, err := post(modernProbeVersion, "", `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{`+
			`"io.modelcontextprotocol/protocolVersion":"`+modernProbeVersion+`","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":`+clientInfo+`}}}`)
		switch {
		case err != nil:
			return nil, nil, err
		case resp.StatusCode == http.StatusUnauthorized:
			return req, resp, nil
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("%s answered an MCP initialize with %s and a server/discover with %s; is it the URL of an MCP server's Streamable HTTP endpoint?", shown(rawURL), first, resp.Status)
	}
	return nil, nil, fmt.Errorf("%s answered an MCP initialize with %s; is it the URL of an MCP server's Streamable HTTP endpoint?", shown(rawURL), resp.Status)
}

// The versions of the probe's requests: the newest of the session era, and
// the first stateless one.
const (
	probeVersion       = "2025-11-25"
	modernProbeVersion = "2026-07-28"
)

// resourceMetadata finds the server's protected resource metadata where
// the MCP specification says clients look (the challenge's URL, then the
// path-inserted and the root well-known URL), on the server's own origin
// only. nil, nil means there is none (a 2025-03-26 server).
func resourceMetadata(ctx context.Context, hc *http.Client, fromChallenge, mcpURL, serverOrigin string) (*oauthex.ProtectedResourceMetadata, error) {
	type candidate struct{ url, resource string }
	var cands []candidate
	if fromChallenge != "" {
		o, err := egress.Origin(fromChallenge)
		if err != nil || o != serverOrigin {
			return nil, fmt.Errorf("%w: its metadata is at %s, on another origin than the server's; MCP Share reaches only the server's own origin and its authorization server", ErrRemoteDiscovery, fromChallenge)
		}
		cands = append(cands, candidate{fromChallenge, mcpURL})
	}
	u, err := url.Parse(mcpURL)
	if err != nil {
		return nil, err
	}
	cands = append(cands,
		candidate{serverOrigin + "/.well-known/oauth-protected-resource/" + strings.TrimLeft(u.Path, "/"), mcpURL},
		candidate{serverOrigin + "/.well-known/oauth-protected-resource", serverOrigin})
	var mismatch error
	for _, c := range cands {
		prm, err := oauthex.GetProtectedResourceMetadata(ctx, c.url, c.resource, hc)
		if err != nil {
			if strings.Contains(err.Error(), "got metadata resource") && mismatch == nil {
				mismatch = err
			}
			continue
		}
		if prm == nil {
			continue
		}
		if len(prm.AuthorizationServers) == 0 {
			return nil, fmt.Errorf("%w: its metadata at %s names no authorization server", ErrRemoteDiscovery, c.url)
		}
		return prm, nil
	}
	if mismatch != nil {
		return nil, fmt.Errorf("%w: its metadata is for another URL than %s (%v); add the server with the URL its metadata names", ErrRemoteDiscovery, mcpURL, mismatch)
	}
	return nil, nil
}

// endSession ends a session an anonymous probe opened, if it did.
func endSession(ctx context.Context, hc *http.Client, rawURL, session string) {
	if session == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, rawURL, nil)
	if err != nil {
		return
	}
	req.Header.Set("Mcp-Session-Id", session)
	if resp, err := hc.Do(req); err == nil {
		resp.Body.Close()
	}
}

// shown is a URL fit for messages: without query or fragment, which may
// hold a key.
func shown(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "the URL"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
