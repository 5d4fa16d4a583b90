package app

import (
	"fmt"
	"net/netip"
	"net/url"

	"github.com/mcpshare/mcpshare/app/egress"
)

// Where a remote server may send MCP Share. Its metadata, and its
// authorization server's, name URLs that MCP Share then calls (the
// authorization server, its token and registration endpoints) or opens in
// the owner's browser (the sign-in page). egress lets a loopback origin
// reach this computer; that allowance is the owner's to give, by adding a
// server on this computer, and not a remote server's to take by naming
// http://127.0.0.1:PORT.

// remoteTarget decides whether MCP Share may reach named, a URL that the MCP
// server at serverURL or its authorization server named, and returns its
// origin for the allowlist of the egress client. For a server on this
// computer anything egress accepts goes (its authorization server is often
// beside it); for any other server, named must be https on a host that is
// not this computer and not a non-public address. (Names are resolved only
// when dialled: egress refuses a name of a public server that resolves to a
// non-public address then.)
func remoteTarget(serverURL, named string) (origin string, err error) {
	if err := egress.CheckURL(named); err != nil {
		return "", err
	}
	origin, err = egress.Origin(named)
	if err != nil {
		return "", err
	}
	su, err := url.Parse(serverURL)
	if err != nil {
		return "", fmt.Errorf("invalid server URL %q: %w", serverURL, err)
	}
	if egress.IsLoopback(su.Hostname()) {
		return origin, nil
	}
	// CheckURL refused plain http off this computer: what is left is https
	// anywhere, or http on this computer.
	u, _ := url.Parse(named)
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); egress.IsLoopback(host) || (err == nil && !egress.PublicAddr(ip)) {
		return "", fmt.Errorf("%w: %s is not on the public internet, and the server %s is not on this computer: "+
			"a server that is not on this computer may name only public https addresses for its sign-in",
			egress.ErrRefused, origin, shown(serverURL))
	}
	return origin, nil
}
