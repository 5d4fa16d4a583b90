package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/mcpshare/mcpshare/app/secrets"
	"github.com/mcpshare/mcpshare/tunnel"
)

// Credentials are the pre-registered OAuth client's ID and secret, the values a
// user pastes into ChatGPT's "user-defined OAuth client" settings.
type Credentials struct {
	ClientID     string
	ClientSecret string
}

// ConnectInfo is everything the "Connect ChatGPT" card shows.
type ConnectInfo struct {
	// Origin is the public origin when the tunnel is up, else the local one.
	Origin string
	// Public tells whether Origin is reachable from ChatGPT and Claude.
	Public bool
	// Issuer is the authorization server's issuer for Origin.
	Issuer string
	// AllServersURL is the one MCP URL that serves every enabled server
	// (<origin>/mcp): what to paste first.
	AllServersURL string
	// Servers maps each enabled server to its MCP URL on Origin.
	Servers map[string]string
	// MCPURL is the URL of the first enabled server (the built-in one when enabled).
	MCPURL string
	Credentials
}

// ClientCredentials returns the pre-registered client's ID and secret. The
// secret lives in the secret store; if it was lost there, a new one is made
// (the old one stops working) and stored.
func (a *App) ClientCredentials(ctx context.Context) (Credentials, error) {
	id, secret, created, err := a.auth.EnsurePreregisteredClient()
	if err != nil {
		return Credentials{}, fmt.Errorf("pre-registered client: %w", err)
	}
	if created {
		if err := a.secrets.Set(ctx, secrets.KeyClientSecret, secret); err != nil {
			return Credentials{}, fmt.Errorf("store the client secret: %w", err)
		}
		return Credentials{id, secret}, nil
	}
	secret, err = a.secrets.Get(ctx, secrets.KeyClientSecret)
	if errors.Is(err, secrets.ErrNotFound) {
		a.log.Warn("the client secret is missing from the secret store; making a new one")
		id, secret, err = a.auth.RotatePreregisteredSecret()
		if err != nil {
			return Credentials{}, fmt.Errorf("pre-registered client: %w", err)
		}
		if err := a.secrets.Set(ctx, secrets.KeyClientSecret, secret); err != nil {
			return Credentials{}, fmt.Errorf("store the client secret: %w", err)
		}
	} else if err != nil {
		return Credentials{}, fmt.Errorf("read the client secret: %w", err)
	}
	return Credentials{id, secret}, nil
}

// RotateClientSecret replaces the pre-registered client's secret; ChatGPT
// connectors that use the old one must be updated.
func (a *App) RotateClientSecret(ctx context.Context) (Credentials, error) {
	id, secret, err := a.auth.RotatePreregisteredSecret()
	if err != nil {
		return Credentials{}, err
	}
	if err := a.secrets.Set(ctx, secrets.KeyClientSecret, secret); err != nil {
		return Credentials{}, fmt.Errorf("store the client secret: %w", err)
	}
	return Credentials{id, secret}, nil
}

// ConnectInfo gathers the URLs and credentials to paste into ChatGPT or Claude.
// Without sharing, the URLs use the configured local address.
func (a *App) ConnectInfo(ctx context.Context) (ConnectInfo, error) {
	creds, err := a.ClientCredentials(ctx)
	if err != nil {
		return ConnectInfo{}, err
	}
	info := ConnectInfo{Credentials: creds, Servers: map[string]string{}}
	info.Origin, info.Public = a.Origin()
	info.Issuer = info.Origin
	info.AllServersURL = info.Origin + "/mcp"
	names := a.EnabledServers()
	for _, n := range names {
		info.Servers[n] = info.Origin + "/mcp/" + n
	}
	switch {
	case info.Servers[BuiltinName] != "":
		info.MCPURL = info.Servers[BuiltinName]
	case len(names) > 0:
		info.MCPURL = info.Servers[names[0]]
	}
	return info, nil
}

// SetNgrokToken stores the ngrok authtoken in the secret store; empty removes it.
func (a *App) SetNgrokToken(ctx context.Context, token string) error {
	if token == "" {
		return a.secrets.Delete(ctx, secrets.KeyNgrokAuthtoken)
	}
	return a.secrets.Set(ctx, secrets.KeyNgrokAuthtoken, token)
}

// HasNgrokToken tells whether an ngrok authtoken is stored.
func (a *App) HasNgrokToken(ctx context.Context) (bool, error) {
	_, err := a.secrets.Get(ctx, secrets.KeyNgrokAuthtoken)
	if errors.Is(err, secrets.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ngrokCheckTimeout bounds CheckNgrok.
const ngrokCheckTimeout = 30 * time.Second

// CheckNgrok connects to ngrok once with token (the stored one when empty)
// and domain, and disconnects again: it returns the public origin they give,
// or why they do not work (tunnel.ErrAuthtokenRejected, ErrDomainNotReserved,
// ErrNoNetwork, ...). It does not store anything.
func (a *App) CheckNgrok(ctx context.Context, token, domain string) (origin string, err error) {
	if token == "" {
		token, err = a.secrets.Get(ctx, secrets.KeyNgrokAuthtoken)
		if errors.Is(err, secrets.ErrNotFound) {
			return "", ErrNgrokToken
		}
		if err != nil {
			return "", fmt.Errorf("read the ngrok authtoken: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, ngrokCheckTimeout)
	defer cancel()
	p, err := tunnel.Ngrok(tunnel.NgrokConfig{
		Authtoken: token, Domain: domain, Timeout: ngrokCheckTimeout - 5*time.Second,
		Logger:     a.log.With("part", "ngrok-check"),
		ConnectURL: a.opts.NgrokConnectURL, ConnectCAs: a.opts.NgrokConnectCAs,
	})
	if err != nil {
		return "", err
	}
	defer p.Close()
	origin, ln, err := p.Start(ctx)
	if ln != nil {
		ln.Close()
	}
	return origin, err
}

// NgrokReady tells whether ngrok can be chosen: an authtoken is stored or
// set in NGROK_AUTHTOKEN.
func (a *App) NgrokReady(ctx context.Context) (bool, error) {
	if os.Getenv("NGROK_AUTHTOKEN") != "" {
		return true, nil
	}
	return a.HasNgrokToken(ctx)
}

func originOf(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func validateListenAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: address %q: %v", ErrInvalidConfig, addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%w: address %q: bad port", ErrInvalidConfig, addr)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("%w: address %q: MCP Share listens on this computer only (127.0.0.1); use a tunnel to share publicly", ErrInvalidConfig, addr)
	}
	return nil
}
