package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// State is where a provider stands, as the GUI shows it.
type State string

// The states a provider reports through [NgrokConfig.OnStatus].
const (
	StateConnecting   State = "connecting"
	StateOnline       State = "online"
	StateReconnecting State = "reconnecting"
	StateFailed       State = "failed"
	StateStopped      State = "stopped"
)

// Status is one state change. URL is the public origin while online or
// reconnecting; Err says why for failed and reconnecting, and for a
// connecting attempt that did not work (the provider is still trying).
type Status struct {
	State State
	URL   string
	Err   error
}

// Provider brings a public origin up and down.
type Provider interface {
	// Start brings the public origin up. ln is non-nil when the provider
	// accepts connections itself (ngrok): the caller serves its http.Handler
	// on it. origin is "https://host" with no trailing slash, or "" for None.
	Start(ctx context.Context) (origin string, ln net.Listener, err error)
	// Close takes the origin down and closes the listener Start returned.
	// It is safe to call more than once.
	Close() error
}

// None is the provider for local-only use: no public origin.
func None() Provider { return noneProvider{} }

type noneProvider struct{}

func (noneProvider) Start(context.Context) (string, net.Listener, error) { return "", nil, nil }
func (noneProvider) Close() error                                        { return nil }

// Custom is the provider for the user's own reverse proxy or tunnel, which
// forwards publicURL to the local listener. The URL must be an origin: https
// (http only on a loopback host), no user info, path, query or fragment.
func Custom(publicURL string) (Provider, error) {
	origin, err := ParseOrigin(publicURL)
	if err != nil {
		return nil, err
	}
	return customProvider{origin: origin}, nil
}

type customProvider struct{ origin string }

func (p customProvider) Start(context.Context) (string, net.Listener, error) {
	return p.origin, nil, nil
}
func (customProvider) Close() error { return nil }

// ErrInvalidOrigin is returned (wrapped, with the reason) for a public URL
// that is not a usable origin.
var ErrInvalidOrigin = errors.New("invalid public URL")

// ParseOrigin checks that raw is a public origin and returns it in canonical
// form: lowercase scheme and host, no default port, no trailing slash. It
// accepts https, and http only on a loopback host (for tests and local
// proxies), because OAuth clients refuse plain http elsewhere.
func ParseOrigin(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	bad := func(reason string) (string, error) {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidOrigin, raw, reason)
	}
	if s == "" {
		return bad("it is empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("it does not parse as a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return bad("use an https:// URL such as https://mcp.example.com")
	}
	if u.Opaque != "" || u.Host == "" {
		return bad("it has no host; use a form such as https://mcp.example.com")
	}
	if u.User != nil {
		return bad("it must not contain a user name or password")
	}
	if u.Path != "" && u.Path != "/" {
		return bad("it must be an origin without a path; the server adds /mcp/NAME itself")
	}
	if u.RawQuery != "" || u.ForceQuery || strings.Contains(s, "#") {
		return bad("it must not have a query or fragment")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return bad("it has no host")
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("the port is not a number from 1 to 65535")
		}
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			port = ""
		} else {
			port = strconv.Itoa(n)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return bad("the port is empty")
	}
	if scheme == "http" && !isLoopback(host) {
		return bad("plain http is only allowed on a loopback host; use https")
	}
	hostport := host
	if strings.Contains(host, ":") {
		hostport = "[" + host + "]"
	}
	if port != "" {
		hostport = net.JoinHostPort(host, port)
	}
	return scheme + "://" + hostport, nil
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
