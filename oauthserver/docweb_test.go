package oauthserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"

	"github.com/mcpshare/mcpshare/oauthserver/oauthtest"
)

// docWeb is a small fake of the public internet for the document fetcher: host names resolve
// to public-looking addresses (or to whatever a test says), and every connection to a checked
// address goes to one local TLS server whose certificate, from a test CA, covers those names.
// It records what was resolved and dialed, so tests can tell that nothing else was.
type docWeb struct {
	ts *httptest.Server

	mu       sync.Mutex
	answers  map[string][][]netip.Addr // per host: the next answers (the last one repeats)
	pages    map[string]http.HandlerFunc
	dialed   []string
	resolved map[string]int
	hits     map[string]int // per host+path
	ca       *oauthtest.CA
}

// docHosts are the names the test certificate covers.
var docHosts = []string{"chatgpt.com", "claude.ai", "vscode.dev", "app.example", "evil.example", "keys.example", "93.184.215.14"}

func newDocWeb(t testing.TB) *docWeb {
	t.Helper()
	ca, err := oauthtest.NewCA(docHosts...)
	if err != nil {
		t.Fatal(err)
	}
	w := &docWeb{answers: map[string][][]netip.Addr{}, pages: map[string]http.HandlerFunc{},
		resolved: map[string]int{}, hits: map[string]int{}, ca: ca}
	w.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		key := r.Host + r.URL.Path
		w.mu.Lock()
		h := w.pages[key]
		w.hits[key]++
		w.mu.Unlock()
		if h == nil {
			http.NotFound(rw, r)
			return
		}
		h(rw, r)
	}))
	w.ts.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Cert}}
	w.ts.StartTLS()
	t.Cleanup(w.ts.Close)
	for i, h := range docHosts[:len(docHosts)-1] {
		w.resolve(h, netip.AddrFrom4([4]byte{93, 184, 216, byte(10 + i)}))
	}
	return w
}

// options are the FetchOptions that make the server fetch from this fake internet.
func (w *docWeb) options() FetchOptions {
	return FetchOptions{
		RootCAs: w.ca.Pool,
		Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.resolved[host]++
			q := w.answers[host]
			if len(q) == 0 {
				return nil, fmt.Errorf("no such host %s", host)
			}
			a := q[0]
			if len(q) > 1 {
				w.answers[host] = q[1:]
			}
			return a, nil
		},
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			w.mu.Lock()
			w.dialed = append(w.dialed, address)
			w.mu.Unlock()
			var d net.Dialer
			return d.DialContext(ctx, network, w.ts.Listener.Addr().String())
		},
	}
}

// resolve sets the answers for host: each call of the resolver takes the next, the last repeats.
func (w *docWeb) resolve(host string, answers ...netip.Addr) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answers[host] = [][]netip.Addr{answers}
}

// rebind makes host answer first with one set of addresses, then with another.
func (w *docWeb) rebind(host string, first, then []netip.Addr) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answers[host] = [][]netip.Addr{first, then}
}

// serve answers GET https://host/path with h.
func (w *docWeb) serve(hostPath string, h http.HandlerFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pages[hostPath] = h
}

// serveJSON answers with body as application/json and the given Cache-Control ("" for none).
func (w *docWeb) serveJSON(hostPath, cacheControl string, body []byte) {
	w.serve(hostPath, func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		if cacheControl != "" {
			rw.Header().Set("Cache-Control", cacheControl)
		}
		rw.Write(body)
	})
}

func (w *docWeb) hitCount(hostPath string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hits[hostPath]
}

func (w *docWeb) dials() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.dialed...)
}

// newDocEnv is a server whose fetcher reaches this fake internet.
func newDocEnv(t testing.TB, policy Policy, resources ...string) (*env, *docWeb) {
	t.Helper()
	w := newDocWeb(t)
	e := newEnvWith(t, policy, func(c *Config) { c.Fetch = w.options() }, resources...)
	return e, w
}
