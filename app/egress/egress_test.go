package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// publicIP is an address on the public internet that the tests route to a
// local server instead (Network.Dial).
var publicIP = netip.MustParseAddr("93.184.215.14")

// publicServer runs an https server that the client reaches as
// https://NAME (resolved by the test to resolveTo, dialled to the server).
func publicServer(t *testing.T, h http.Handler, resolveTo ...netip.Addr) (Network, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	if len(resolveTo) == 0 {
		resolveTo = []netip.Addr{publicIP}
	}
	n := Network{
		Resolve: func(context.Context, string) ([]netip.Addr, error) { return resolveTo, nil },
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		},
		RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs,
	}
	return n, srv
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") }

func TestAllowedPublicOriginIsReachedAtTheCheckedAddress(t *testing.T) {
	n, _ := publicServer(t, http.HandlerFunc(ok))
	var dialled string
	dial := n.Dial
	n.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
		dialled = address
		return dial(ctx, network, address)
	}
	c := Client(Options{Allow: []string{"https://example.com"}, Net: n})
	// The test certificate is for example.com (httptest's), so TLS verifies.
	resp, err := c.Get("https://example.com/mcp")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body = %q", body)
	}
	if dialled != publicIP.String()+":443" {
		t.Fatalf("dialled %q, want the checked address %s:443", dialled, publicIP)
	}
}

func TestRequestsBeyondTheAllowlistAreRefused(t *testing.T) {
	n, _ := publicServer(t, http.HandlerFunc(ok))
	c := Client(Options{Allow: []string{"https://example.com"}, Net: n})
	for _, u := range []string{
		"https://example.org/",        // another host
		"https://example.com:8443/",   // another port
		"http://example.com/",         // plain http off loopback
		"https://user:pw@example.com", // credentials in the URL
		"ftp://example.com/",
	} {
		_, err := c.Get(u)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("GET %s: err = %v, want ErrRefused", u, err)
		}
	}
}

func TestNamesThatResolveToNonPublicAddressesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		to   []netip.Addr
	}{
		{"private", []netip.Addr{netip.MustParseAddr("10.0.0.5")}},
		{"loopback", []netip.Addr{netip.MustParseAddr("127.0.0.1")}},
		{"metadata service", []netip.Addr{netip.MustParseAddr("169.254.169.254")}},
		{"one public one private (rebinding)", []netip.Addr{publicIP, netip.MustParseAddr("192.168.1.1")}},
		{"IPv4-mapped loopback", []netip.Addr{netip.MustParseAddr("::ffff:127.0.0.1")}},
		{"NAT64", []netip.Addr{netip.MustParseAddr("64:ff9b::a00:1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := publicServer(t, http.HandlerFunc(ok), tc.to...)
			c := Client(Options{Allow: []string{"https://example.com"}, Net: n})
			_, err := c.Get("https://example.com/")
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("err = %v, want ErrRefused", err)
			}
		})
	}
}

func TestLoopbackOriginsReachOnlyLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(ok))
	defer srv.Close()
	c := Client(Options{Allow: []string{srv.URL}})
	resp, err := c.Get(srv.URL + "/mcp")
	if err != nil {
		t.Fatalf("GET the loopback server: %v", err)
	}
	resp.Body.Close()

	// localhost that a hostile resolver sends elsewhere is refused.
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	bad := Client(Options{Allow: []string{"http://localhost:" + port}, Net: Network{
		Resolve: func(context.Context, string) ([]netip.Addr, error) { return []netip.Addr{publicIP}, nil },
	}})
	if _, err := bad.Get("http://localhost:" + port + "/"); !errors.Is(err, ErrRefused) {
		t.Fatalf("localhost resolved to a public address: err = %v, want ErrRefused", err)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
	}))
	defer srv.Close()
	c := Client(Options{Allow: []string{srv.URL}})
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want the 302 itself", resp.StatusCode)
	}
}

func TestBodiesOverTheCapFailButEventStreamsAreNotCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		io.WriteString(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	c := Client(Options{Allow: []string{srv.URL}, MaxBody: 100})
	get := func(path string) ([]byte, error) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	if b, err := get("/exact"); err != nil || len(b) != 100 {
		t.Fatalf("a body of exactly the cap: %d bytes, %v", len(b), err)
	}
	c = Client(Options{Allow: []string{srv.URL}, MaxBody: 99})
	if _, err := get("/json"); !errors.Is(err, ErrRefused) {
		t.Fatalf("a body over the cap: err = %v, want ErrRefused", err)
	}
	if b, err := get("/sse"); err != nil || len(b) != 100 {
		t.Fatalf("an event stream: %d bytes, %v", len(b), err)
	}
}

func TestOriginNormalizes(t *testing.T) {
	for in, want := range map[string]string{
		"HTTPS://Example.COM/mcp?x=1":   "https://example.com",
		"https://example.com:443/":      "https://example.com",
		"http://127.0.0.1:80":           "http://127.0.0.1",
		"http://localhost:3000/mcp":     "http://localhost:3000",
		"https://[2001:db8::1]:8443/a":  "https://[2001:db8::1]:8443",
		"https://[2001:DB8::1]/":        "https://[2001:db8::1]",
		"https://auth.example.com:444/": "https://auth.example.com:444",
	} {
		got, err := Origin(in)
		if err != nil || got != want {
			t.Errorf("Origin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Origin("mailto:a@b"); err == nil {
		t.Error("Origin of a mailto URL: no error")
	}
}

func TestPublicAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"93.184.215.14": true, "8.8.8.8": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "100.64.0.1": false,
		"169.254.169.254": false, "0.0.0.0": false, "255.255.255.255": false, "224.0.0.1": false, "240.1.1.1": false,
		"192.0.2.1": false, "198.51.100.1": false, "203.0.113.1": false, "198.18.0.1": false, "192.0.0.8": false,
		"::1": false, "::": false, "::ffff:8.8.8.8": false, "64:ff9b::808:808": false, "2002:808:808::1": false,
		"2001:db8::1": false, "fc00::1": false, "fd12::1": false, "fe80::1": false, "ff02::1": false, "2001::1": false,
		"100::1": false, "fec0::1": false, "3fff::1": false,
	} {
		if got := PublicAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("PublicAddr(%s) = %v, want %v", s, got, want)
		}
	}
}
