package app

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// forwardedClient gives requests that come through the user's own reverse
// proxy (the custom tunnel) the client address the proxy saw, so that the
// per-address limits of the authorization server (failed passwords, client
// registrations) apply per visitor rather than to the proxy as a whole.
//
// The header is trusted only when all of these hold: the user turned it on
// (Options.TrustForwardedFor, --trust-forwarded-for), the tunnel is custom,
// the request came from this machine (the proxy runs here or forwards to
// here), and its Host is the public origin. Only the last X-Forwarded-For
// entry is used: it is the one the proxy itself appended; earlier entries are
// whatever the visitor sent. It is off by default because a TCP tunnel (an
// SSH -R forward, a plain port forward) passes a visitor's forged header
// through untouched: every visitor could then pick an address, and the
// per-address limits would limit no one.
func (a *App) forwardedClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip, ok := a.proxiedClient(r); ok {
			r2 := r.Clone(r.Context())
			r2.RemoteAddr = net.JoinHostPort(ip.String(), "0")
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

func (a *App) proxiedClient(r *http.Request) (netip.Addr, bool) {
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 || !a.opts.TrustForwardedFor || a.Settings().Tunnel != TunnelCustom {
		return netip.Addr{}, false
	}
	public := a.origins.Public()
	if public == "" || !strings.EqualFold(strings.TrimPrefix(strings.TrimPrefix(public, "https://"), "http://"), r.Host) {
		return netip.Addr{}, false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !peer.Unmap().IsLoopback() {
		return netip.Addr{}, false
	}
	hops := strings.Split(xff[len(xff)-1], ",")
	ip, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1]))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}
