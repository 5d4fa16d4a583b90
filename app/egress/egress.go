package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of every client.
const (
	DialTimeout = 10 * time.Second
	// HeaderTimeout bounds the wait for a response's headers. A Streamable
	// HTTP server sends its headers when it starts answering (an event
	// stream) or when the answer is ready (JSON), so a tool that works for
	// longer than this must stream; most servers do.
	HeaderTimeout = 2 * time.Minute
	// DefaultMaxBody bounds a response body that is not an event stream
	// (event streams are bounded per event by the go-sdk).
	DefaultMaxBody = 16 << 20
	maxHeaderBytes = 64 << 10
)

// ErrRefused is wrapped by every request the client refuses to make: an
// origin not on the allowlist, plain http off loopback, an address that is
// not public, a body over the cap.
var ErrRefused = errors.New("refused by MCP Share's outbound rules")

// Network is how a client reaches hosts. The zero value is the system's
// resolver, dialer and certificate roots; tests route public-looking
// addresses to servers of their own.
type Network struct {
	// Resolve returns the addresses of a host name.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// Dial connects to one checked address ("ip:port").
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// RootCAs verify servers' certificates.
	RootCAs *x509.CertPool
}

// Options configure a Client.
type Options struct {
	// Allow lists the origins requests may go to, as Origin returns them.
	Allow []string
	// Timeout bounds a whole exchange, body included (http.Client.Timeout);
	// zero means none, for MCP streams that stay open.
	Timeout time.Duration
	// MaxBody bounds a body that is not an event stream; zero means
	// DefaultMaxBody.
	MaxBody int64
	Net     Network
}

// Client returns an HTTP client that follows the package's rules.
func Client(o Options) *http.Client {
	n := o.Net
	if n.Resolve == nil {
		n.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if n.Dial == nil {
		n.Dial = (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	allow := make([]string, 0, len(o.Allow))
	for _, a := range o.Allow {
		if norm, err := Origin(a); err == nil {
			allow = append(allow, norm)
		}
	}
	d := &dialer{net: n}
	base := &http.Transport{
		Proxy:                  nil, // a proxy would connect wherever it likes
		DialContext:            d.dial,
		TLSClientConfig:        &tls.Config{RootCAs: n.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    DialTimeout,
		ResponseHeaderTimeout:  HeaderTimeout,
		MaxResponseHeaderBytes: maxHeaderBytes,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{
		Transport:     &transport{base: base, allow: allow, maxBody: o.MaxBody},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       o.Timeout,
	}
}

// Origin returns the origin of rawURL in the form the allowlist compares:
// lowercase scheme and host, the port only when it is not the scheme's
// default. Only http and https URLs have one.
func Origin(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("invalid URL %q: %w", rawURL, err)
	}
	return originOf(u)
}

func originOf(u *url.URL) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%w: %q is not an http or https URL", ErrRefused, u.Redacted())
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", fmt.Errorf("%w: %q has no host", ErrRefused, u.Redacted())
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
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

// IsLoopback reports whether host (a name or an address, without port) is
// this computer: localhost or a loopback address.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}

// CheckURL says whether rawURL may be reached at all under the package's
// rules, before any allowlist: http or https, https unless the host is
// loopback, no user name or password in it.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", rawURL, err)
	}
	if _, err := originOf(u); err != nil {
		return err
	}
	if u.User != nil {
		return fmt.Errorf("%w: %s carries a user name or password; MCP Share keeps credentials out of URLs", ErrRefused, u.Redacted())
	}
	if strings.EqualFold(u.Scheme, "http") && !IsLoopback(u.Hostname()) {
		return fmt.Errorf("%w: %s uses plain http off this computer; use https", ErrRefused, u.Redacted())
	}
	return nil
}

// transport checks each request against the allowlist and caps bodies.
type transport struct {
	base    *http.Transport
	allow   []string
	maxBody int64
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	refuse := func(err error) (*http.Response, error) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if err := CheckURL(req.URL.String()); err != nil {
		return refuse(err)
	}
	origin, _ := originOf(req.URL)
	if !slices.Contains(t.allow, origin) {
		return refuse(fmt.Errorf("%w: %s is neither the server's origin nor its authorization server's", ErrRefused, origin))
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: t.maxBody, origin: origin}
	}
	return resp, nil
}

// cappedBody fails a read past its cap instead of handing on a truncated body.
type cappedBody struct {
	io.ReadCloser
	left   int64
	origin string
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body that ends exactly at the cap from one
		// that goes on.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: the response of %s is larger than MCP Share accepts", ErrRefused, b.origin)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// dialer connects only to addresses that passed the check.
type dialer struct{ net Network }

func (d *dialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%w: bad port in %q", ErrRefused, address)
	}
	addrs, err := d.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	loopback := IsLoopback(host)
	for _, ip := range addrs {
		if loopback && !ip.IsLoopback() {
			return nil, fmt.Errorf("%w: %s resolves to %s, which is not this computer", ErrRefused, host, ip)
		}
		if !loopback && !PublicAddr(ip) {
			return nil, fmt.Errorf("%w: %s resolves to %s, which is not a public address", ErrRefused, host, ip)
		}
	}
	var last error
	for _, ip := range addrs {
		conn, err := d.net.Dial(ctx, "tcp", netip.AddrPortFrom(ip, uint16(pn)).String())
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, fmt.Errorf("cannot connect to %s: %w", host, last)
}

func (d *dialer) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		ctx, cancel := context.WithTimeout(ctx, DialTimeout)
		defer cancel()
		if addrs, err = d.net.Resolve(ctx, host); err != nil {
			return nil, fmt.Errorf("cannot resolve %s: %w", host, err)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	out := make([]netip.Addr, len(addrs))
	for i, ip := range addrs {
		// Go's resolver gives IPv4 addresses in their IPv4-mapped form at
		// times (golang/go#53554): judge, and connect to, the IPv4 address.
		out[i] = ip.Unmap()
	}
	return out, nil
}

// specialPrefixes are the ranges that are not the public internet (the IANA
// special-purpose registries, RFC 6890 and its updates) beyond what netip's
// predicates cover.
var specialPrefixes = func() []netip.Prefix {
	var list []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24",
		"192.52.193.0/24", "192.88.99.0/24", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16",
		"3fff::/20", "5f00::/16",
	} {
		list = append(list, netip.MustParsePrefix(s))
	}
	return list
}()

var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// PublicAddr reports whether ip is on the public internet: not loopback,
// private, link-local, CGNAT, multicast, unspecified, documentation,
// benchmarking or another special range. IPv4-mapped, NAT64 and 6to4 forms
// are refused (they can lead to any IPv4 address); IPv6 must be global
// unicast.
func PublicAddr(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
		return false
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return false
	}
	for _, p := range specialPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
