package oauthserver

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
	"strconv"
	"strings"
	"time"

	"github.com/mcpshare/mcpshare/app/egress"
)

// FetchOptions configure how client metadata documents and their key sets are fetched from
// the URLs that clients name. Every field is for tests; the zero value is what the app uses.
type FetchOptions struct {
	// Resolve returns the addresses of a host name; nil means the system's resolver. Tests
	// answer with addresses of their choice (a public one, then a private one: rebinding).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// Dial connects to one address that passed the check ("ip:port"); nil means a
	// net.Dialer. Tests route public-looking addresses to a local server.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// RootCAs verify the certificates of the servers; nil means the system's roots.
	RootCAs *x509.CertPool
}

// Bounds of a fetch (MCP Share's PROTOCOL.md item 33; CIMD draft §8.6, §8.7).
const (
	FetchTimeout      = 5 * time.Second // resolving, connecting, TLS and reading, all together
	MaxClientDocument = 16 << 10        // bytes of a client metadata document
	MaxJWKSDocument   = 64 << 10        // bytes of a JWK set
)

// ErrFetch is wrapped by every refusal and failure of a fetch, for errors.Is.
var ErrFetch = errors.New("oauthserver: fetch refused or failed")

// fetcher fetches small JSON documents from the public internet and nowhere else: https only,
// every address the host name resolves to must be public, the connection goes to an address
// that was checked (so a DNS answer that changes between check and connect cannot take it
// elsewhere), no redirects, no proxy, no cookies or credentials, a short timeout and a size cap.
type fetcher struct {
	resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	dial    func(ctx context.Context, network, address string) (net.Conn, error)
	client  *http.Client
}

func newFetcher(o FetchOptions) *fetcher {
	f := &fetcher{resolve: o.Resolve, dial: o.Dial}
	if f.resolve == nil {
		f.resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if f.dial == nil {
		d := &net.Dialer{Timeout: FetchTimeout}
		f.dial = d.DialContext
	}
	f.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // a proxy would connect wherever it likes
			DialContext:            f.dialChecked,
			TLSClientConfig:        &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:    FetchTimeout,
			ResponseHeaderTimeout:  FetchTimeout,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: 16 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       FetchTimeout,
	}
	return f
}

// dialChecked resolves the host of address, refuses unless every address is public, and
// connects to one of those addresses (never resolving again).
func (f *fetcher) dialChecked(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else if addrs, err = f.resolve(ctx, host); err != nil {
		return nil, fmt.Errorf("%w: cannot resolve %s: %v", ErrFetch, host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: %s has no address", ErrFetch, host)
	}
	for i, ip := range addrs {
		// Go's resolver gives IPv4 addresses in their IPv4-mapped form at times
		// (golang/go#53554): judge, and connect to, the IPv4 address itself.
		addrs[i] = ip.Unmap()
	}
	for _, ip := range addrs {
		if !egress.PublicAddr(ip) {
			return nil, fmt.Errorf("%w: %s resolves to %s, which is not a public address", ErrFetch, host, ip)
		}
	}
	var last error
	for _, ip := range addrs {
		conn, err := f.dial(ctx, "tcp", netip.AddrPortFrom(ip, portNumber(port)).String())
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, fmt.Errorf("%w: cannot connect to %s: %v", ErrFetch, host, last)
}

func portNumber(s string) uint16 {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 443
	}
	return uint16(n)
}

// fetched is a document as it came back.
type fetched struct {
	Body []byte
	TTL  time.Duration // what Cache-Control allows, -1 when it says nothing
}

// get fetches rawURL (already validated as an https URL) and returns its JSON body: status
// 200 exactly, a JSON media type, at most max bytes.
func (f *fetcher) get(ctx context.Context, rawURL string, max int64) (*fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil || req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%w: %q is not an https URL", ErrFetch, truncate(rawURL, 200))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "MCP-Share (client metadata)")
	resp, err := f.client.Do(req)
	if err != nil {
		var ferr error = err
		if !errors.Is(err, ErrFetch) {
			ferr = fmt.Errorf("%w: %v", ErrFetch, err)
		}
		return nil, ferr
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return nil, fmt.Errorf("%w: %s answered with a redirect (%d), which is not followed", ErrFetch, req.URL.Host, resp.StatusCode)
		}
		return nil, fmt.Errorf("%w: %s answered %d", ErrFetch, req.URL.Host, resp.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil, fmt.Errorf("%w: %s sent %q, not JSON", ErrFetch, req.URL.Host, truncate(mt, 60))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading from %s: %v", ErrFetch, req.URL.Host, err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: the document at %s is larger than %d bytes", ErrFetch, req.URL.Host, max)
	}
	return &fetched{Body: body, TTL: cacheLifetime(resp.Header)}, nil
}

// cacheLifetime reads how long a response may be used: 0 for no-store or no-cache, max-age
// less Age, -1 when the headers say nothing.
func cacheLifetime(h http.Header) time.Duration {
	ttl := time.Duration(-1)
	for _, d := range strings.Split(strings.ToLower(h.Get("Cache-Control")), ",") {
		d = strings.TrimSpace(d)
		switch {
		case d == "no-store" || d == "no-cache":
			return 0
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64); err == nil && n >= 0 {
				ttl = time.Duration(min(n, 1<<32)) * time.Second
			}
		}
	}
	if age, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && age > 0 && ttl > 0 {
		ttl = max(ttl-time.Duration(min(age, 1<<32))*time.Second, 0)
	}
	return ttl
}
