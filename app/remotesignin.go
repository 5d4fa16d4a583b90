package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app/gateway"
	"github.com/mcpshare/mcpshare/app/secrets"
)

// The owner's sign-in to a remote server, with the go-sdk's client side of
// MCP authorization (discovery RFC 9728 -> RFC 8414 -> OpenID
// configuration; a pasted client, MCP Share's client metadata document
// (remotecimd.go) or dynamic registration; PKCE S256, the resource
// indicator): the browser opens on this computer and comes back to MCP
// Share's own listener.

// SignInTimeout bounds a sign-in: the time the owner has in the browser.
const SignInTimeout = 10 * time.Minute

// ErrNotOAuthServer: the server named is not a remote server that signs in.
var ErrNotOAuthServer = errors.New("not a remote server that signs in with OAuth")

// SignIn signs in to the remote server name. open is given the
// authorization URL to show the owner (the CLI prints it and opens the
// browser; the window opens the browser); SignIn returns once the browser
// came back, the tokens are stored and the server answered with them, with
// what it offers. Sharing picks the new tokens up at once.
func (a *App) SignIn(ctx context.Context, name string, open func(authURL string) error) (gateway.TryResult, error) {
	c, err := a.cfg.server(name)
	if err != nil {
		return gateway.TryResult{}, err
	}
	if c.Kind != KindRemote || !c.OAuth {
		return gateway.TryResult{}, fmt.Errorf("%w: server %q", ErrNotOAuthServer, name)
	}
	ctx, cancel := context.WithTimeout(ctx, SignInTimeout)
	defer cancel()

	p, err := a.probeRemote(ctx, c.URL)
	if err != nil {
		return gateway.TryResult{}, fmt.Errorf("sign in to server %q: %w", name, err)
	}
	if !p.NeedsOAuth {
		return gateway.TryResult{}, fmt.Errorf("sign in to server %q: %s answers without a sign-in; edit the server and turn OAuth off", name, shown(c.URL))
	}
	var pre *oauthex.ClientCredentials
	if c.OAuthClientID != "" {
		pre = &oauthex.ClientCredentials{ClientID: c.OAuthClientID}
		secret, err := a.secrets.Get(ctx, clientSecretKey(name))
		switch {
		case err == nil && secret != "":
			pre.ClientSecretAuth = &oauthex.ClientSecretAuth{ClientSecret: secret}
		case err != nil && !errors.Is(err, secrets.ErrNotFound):
			return gateway.TryResult{}, fmt.Errorf("sign in to server %q: read its client secret: %w", name, err)
		}
	}
	// Without a pasted client: MCP Share's own client metadata document when
	// the authorization server takes one and MCP Share has a fixed public
	// URL (MCP 2025-11-25 prefers it to registration), else registration.
	var metadataURL string
	if pre == nil && p.ClientMetadata {
		metadataURL = a.clientMetadataURL()
	}
	if pre == nil && metadataURL == "" && !p.Registration {
		why := "does not register clients by itself"
		if p.ClientMetadata {
			why = "takes clients only by their metadata document, which MCP Share serves only while it shares on a fixed https public URL (a custom one, or a reserved ngrok domain)"
		}
		return gateway.TryResult{}, fmt.Errorf("sign in to server %q: its authorization server %s %s; share on such a URL, or register MCP Share there and add its client ID (server add --oauth-client-id)", name, p.Issuer, why)
	}
	redirect, stop, err := a.callbackEndpoint(pre == nil)
	if err != nil {
		return gateway.TryResult{}, err
	}
	defer stop()

	// A sign-in again keeps what the last one had and adds what the server
	// asked for since (SEP-2350: the union, not only the new challenge).
	also := a.scopesToAsk(ctx, c)
	var captured *remoteGrant
	cfg := &auth.AuthorizationCodeHandlerConfig{
		ScopeFilter:              func(discovered []string) []string { return unionScopes(discovered, also) },
		RedirectURL:              redirect,
		AuthorizationCodeFetcher: a.codeFetcher(c.URL, open),
		RequestRefreshToken:      true,
		Client:                   a.oauthClient(p.origins),
		NewTokenSource: func(ctx context.Context, oc *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
			captured = &remoteGrant{
				ClientID: oc.ClientID, ClientSecret: oc.ClientSecret, AuthStyle: oc.Endpoint.AuthStyle,
				TokenURL: oc.Endpoint.TokenURL, Scopes: oc.Scopes,
			}
			captured.setToken(tok)
			return oauth2.StaticTokenSource(tok), nil
		},
	}
	switch {
	case pre != nil:
		cfg.PreregisteredClient = pre
	case metadataURL != "":
		cfg.ClientIDMetadataDocumentConfig = &auth.ClientIDMetadataDocumentConfig{URL: metadataURL}
	default:
		cfg.DynamicClientRegistrationConfig = &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			RedirectURIs:            []string{redirect},
			ClientName:              "MCP Share",
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			ResponseTypes:           []string{"code"},
			TokenEndpointAuthMethod: "none",
			SoftwareID:              "mcpshare",
			SoftwareVersion:         gateway.Version,
		}}
	}
	h, err := auth.NewAuthorizationCodeHandler(cfg)
	if err != nil {
		return gateway.TryResult{}, fmt.Errorf("sign in to server %q: %w", name, err)
	}
	if err := h.Authorize(ctx, p.req, p.resp); err != nil {
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("the browser did not come back within %s", SignInTimeout)
		}
		return gateway.TryResult{}, fmt.Errorf("sign in to server %q: %w", name, err)
	}
	if captured == nil || captured.AccessToken == "" {
		return gateway.TryResult{}, fmt.Errorf("sign in to server %q: no token came back", name)
	}
	captured.Fingerprint, captured.Resource, captured.Issuer = remoteFingerprint(c), p.Resource, p.Issuer
	captured.SignedIn = a.now()
	if err := a.saveGrant(ctx, name, captured); err != nil {
		return gateway.TryResult{}, err
	}
	a.signedIn(name, captured)
	a.log.Info("signed in to a remote server", "server", name, "issuer", p.Issuer, "refresh", captured.RefreshToken != "")
	if err := a.restartServer(name, fmt.Sprintf("signed in to server %q", name)); err != nil {
		return gateway.TryResult{}, err
	}
	res, err := gateway.TryWith(ctx, specOf(c, 0), gateway.Config{OAuth: a.remoteOAuth, Network: a.opts.Network})
	if err != nil {
		return res, fmt.Errorf("signed in to server %q, but it did not work with the new token: %w", name, err)
	}
	return res, nil
}

// codeFetcher is the browser part of a sign-in to the server at serverURL:
// it shows the owner the authorization URL (where remoteTarget allows it)
// and waits until the browser comes back with its state.
func (a *App) codeFetcher(serverURL string, open func(string) error) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		if _, err := remoteTarget(serverURL, args.URL); err != nil {
			return nil, fmt.Errorf("the authorization server's sign-in page %s: %w", shown(args.URL), err)
		}
		u, _ := url.Parse(args.URL)
		state := u.Query().Get("state")
		ch := a.expectCallback(state)
		defer a.forgetCallback(state)
		if err := open(args.URL); err != nil {
			return nil, fmt.Errorf("open the sign-in page: %w", err)
		}
		select {
		case r := <-ch:
			if r.err != nil {
				return nil, r.err
			}
			return &auth.AuthorizationResult{Code: r.code, State: r.state, Iss: r.iss}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// SignOut forgets every token of the remote server name.
func (a *App) SignOut(ctx context.Context, name string) error {
	if err := a.purgeGrant(ctx, name); err != nil {
		return err
	}
	a.forgetRemote(name)
	return a.restartServer(name, fmt.Sprintf("signed out of server %q", name))
}

// remoteChanged purges the tokens of a server whose URL or OAuth settings
// changed (or that was removed: next is nil), and its pasted client secret
// when it is gone from the settings.
func (a *App) remoteChanged(ctx context.Context, prev ServerConfig, next *ServerConfig) error {
	if prev.Kind != KindRemote {
		return nil
	}
	if next != nil && remoteFingerprint(prev) == remoteFingerprint(*next) {
		return nil
	}
	if err := a.purgeGrant(ctx, prev.Name); err != nil {
		return err
	}
	a.forgetRemote(prev.Name)
	if next == nil || next.OAuthClientID == "" {
		if err := a.secrets.Delete(ctx, clientSecretKey(prev.Name)); err != nil {
			return fmt.Errorf("forget the client secret of server %q: %w", prev.Name, err)
		}
	}
	return nil
}

// SetOAuthClientSecret stores the secret of the client the owner pasted for
// server name (empty removes it); its tokens are purged, since they belong
// to the old client.
func (a *App) SetOAuthClientSecret(ctx context.Context, name, secret string) error {
	c, err := a.cfg.server(name)
	if err != nil {
		return err
	}
	if c.Kind != KindRemote || c.OAuthClientID == "" {
		return fmt.Errorf("%w: server %q has no client ID of the owner's", ErrInvalidConfig, name)
	}
	if secret == "" {
		err = a.secrets.Delete(ctx, clientSecretKey(name))
	} else {
		err = a.secrets.Set(ctx, clientSecretKey(name), secret)
	}
	if err != nil {
		return fmt.Errorf("store the client secret of server %q: %w", name, err)
	}
	if err := a.purgeGrant(ctx, name); err != nil {
		return err
	}
	a.forgetRemote(name)
	return nil
}

// restartServer makes a running share start the server's backends afresh
// (new tokens, no crash backoff).
func (a *App) restartServer(name, msg string) error {
	a.mu.Lock()
	sh := a.share
	if sh != nil {
		sh.bumpRevision(name)
	}
	a.mu.Unlock()
	return a.serversChanged(msg)
}
