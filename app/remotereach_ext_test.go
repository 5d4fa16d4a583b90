package app_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/egress"
)

// trap is a listener on this computer that counts every connection made to
// it, whatever is said over it.
type trap struct {
	*httptest.Server
	conns atomic.Int64
}

func newTrap(t *testing.T) *trap {
	t.Helper()
	tr := &trap{}
	tr.Server = httptest.NewUnstartedServer(http.NotFoundHandler())
	tr.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			tr.conns.Add(1)
		}
	}
	tr.Start()
	t.Cleanup(tr.Close)
	return tr
}

// publicAddr is where the test's public names "are": a public address that
// publicNet routes to a local server instead.
var publicAddr = netip.MustParseAddr("93.184.215.14")

// publicNet routes example.com and its subdomains to srv (an httptest TLS
// server, whose certificate names them) as if they were on the public
// internet. Any other address is dialled as it is, so a request to this
// computer really arrives there.
func publicNet(srv *httptest.Server) egress.Network {
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return egress.Network{
		Resolve: func(ctx context.Context, host string) ([]netip.Addr, error) {
			if host == "example.com" || strings.HasSuffix(host, ".example.com") {
				return []netip.Addr{publicAddr}, nil
			}
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if ap, err := netip.ParseAddrPort(address); err == nil && ap.Addr() == publicAddr {
				address = srv.Listener.Addr().String()
			}
			return (&net.Dialer{}).DialContext(ctx, network, address)
		},
		RootCAs: roots,
	}
}

// The rule every refusal names.
const publicRule = "may name only public https addresses"

// TestRemoteServerOffThisComputerCannotPointTheSignInAtIt: a remote server
// on the public internet (mcp.example.com) whose metadata names this
// computer as its authorization server, or one of that server's endpoints,
// is refused by the probe and the sign-in, and nothing reaches this
// computer; the same server with an authorization server on the internet
// is probed (so the refusals are the rule's, not the test network's).
func TestRemoteServerOffThisComputerCannotPointTheSignInAtIt(t *testing.T) {
	const mcpURL = "https://mcp.example.com/mcp"
	const issuerOnNet = "https://auth.example.com"
	tr := newTrap(t)
	trapHost := strings.TrimPrefix(tr.URL, "http://")
	for _, tc := range []struct {
		name    string
		issuer  string
		asm     map[string]string // endpoints of the metadata of issuerOnNet
		refused bool
	}{
		{name: "authorization server on the internet", issuer: issuerOnNet},
		{name: "authorization server on loopback", issuer: tr.URL, refused: true},
		{name: "authorization server on loopback over https", issuer: "https://" + trapHost, refused: true},
		{name: "authorization server on localhost", issuer: "http://localhost:" + strconv.Itoa(tr.Listener.Addr().(*net.TCPAddr).Port), refused: true},
		{name: "token endpoint on loopback", issuer: issuerOnNet, asm: map[string]string{"token_endpoint": tr.URL + "/token"}, refused: true},
		{name: "registration endpoint on loopback", issuer: issuerOnNet, asm: map[string]string{"registration_endpoint": tr.URL + "/register"}, refused: true},
		{name: "sign-in page on loopback", issuer: issuerOnNet, asm: map[string]string{"authorization_endpoint": tr.URL + "/authorize"}, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.Host == "mcp.example.com" && r.URL.Path == "/.well-known/oauth-protected-resource/mcp":
					json.NewEncoder(w).Encode(map[string]any{"resource": mcpURL, "authorization_servers": []string{tc.issuer}})
				case r.Host == "mcp.example.com" && r.URL.Path == "/mcp":
					w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`)
					w.WriteHeader(http.StatusUnauthorized)
				case r.Host == "auth.example.com" && r.URL.Path == "/.well-known/oauth-authorization-server":
					meta := map[string]any{
						"issuer": issuerOnNet, "authorization_endpoint": issuerOnNet + "/authorize",
						"token_endpoint": issuerOnNet + "/token", "registration_endpoint": issuerOnNet + "/register",
						"code_challenge_methods_supported": []string{"S256"},
					}
					for k, v := range tc.asm {
						meta[k] = v
					}
					json.NewEncoder(w).Encode(meta)
				default:
					http.NotFound(w, r)
				}
			}))
			defer remote.Close()
			a := openTestApp(t, app.Options{Network: publicNet(remote)})
			ctx := context.Background()
			before := tr.conns.Load()

			p, err := a.ProbeRemote(ctx, mcpURL)
			if !tc.refused {
				if err != nil || !p.NeedsOAuth || p.Issuer != issuerOnNet || !p.Registration {
					t.Fatalf("ProbeRemote = %+v, %v; want the sign-in at %s", p, err, issuerOnNet)
				}
				return
			}
			if n := tr.conns.Load() - before; n != 0 {
				t.Fatalf("the probe made %d connections to the listener on this computer", n)
			}
			if !errors.Is(err, app.ErrRemoteDiscovery) || !errors.Is(err, egress.ErrRefused) || !strings.Contains(err.Error(), publicRule) {
				t.Fatalf("ProbeRemote: %v; want ErrRemoteDiscovery and egress.ErrRefused, saying the server %s", err, publicRule)
			}

			if err := a.AddServer(ctx, app.ServerConfig{Name: "far", Kind: app.KindRemote, Enabled: true, URL: mcpURL, OAuth: true}, nil); err != nil {
				t.Fatal(err)
			}
			opened := false
			_, err = a.SignIn(ctx, "far", func(string) error { opened = true; return nil })
			if err == nil || !strings.Contains(err.Error(), publicRule) {
				t.Fatalf("SignIn: %v; want the refusal saying the server %s", err, publicRule)
			}
			if opened {
				t.Fatal("the sign-in opened a browser")
			}
			if n := tr.conns.Load() - before; n != 0 {
				t.Fatalf("the sign-in made %d connections to the listener on this computer", n)
			}
		})
	}
}
