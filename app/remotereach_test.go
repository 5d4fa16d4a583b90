package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpshare/mcpshare/app/egress"
	"github.com/mcpshare/mcpshare/app/gateway"
)

func TestRemoteTargetKeepsThisComputerToServersOnIt(t *testing.T) {
	const (
		onNet   = "https://mcp.example.com/mcp"
		onLocal = "http://127.0.0.1:8931/mcp"
	)
	for _, tc := range []struct {
		server, named string
		want          string // the origin, or "" when refused
	}{
		// A server on the internet: public https only.
		{onNet, "https://auth.example.com", "https://auth.example.com"},
		{onNet, "https://auth.example.com:8443/token", "https://auth.example.com:8443"},
		{onNet, "http://127.0.0.1:9000", ""},
		{onNet, "https://127.0.0.1:9000/token", ""},
		{onNet, "https://127.1.2.3", ""},
		{onNet, "http://localhost:9000", ""},
		{onNet, "https://localhost", ""},
		{onNet, "https://auth.localhost", ""},
		{onNet, "https://LOCALHOST.", ""},
		{onNet, "http://[::1]:9000", ""},
		{onNet, "https://[::ffff:127.0.0.1]", ""},
		{onNet, "https://10.0.0.1/register", ""},
		{onNet, "https://192.168.1.1", ""},
		{onNet, "https://169.254.169.254", ""},
		{onNet, "https://0.0.0.0", ""},
		{onNet, "https://[fe80::1]", ""},
		{onNet, "https://93.184.215.14", "https://93.184.215.14"},
		{onNet, "http://auth.example.com", ""},
		{onNet, "https://user:pw@auth.example.com", ""},
		{onNet, "ftp://auth.example.com", ""},
		{"https://127.0.0.1.example.com/mcp", "http://127.0.0.1:9000", ""},
		// A server on this computer: what egress reaches at all.
		{onLocal, "http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{onLocal, "http://localhost:9000/token", "http://localhost:9000"},
		{onLocal, "https://auth.example.com", "https://auth.example.com"},
		{onLocal, "http://auth.example.com", ""},
		{"https://localhost/mcp", "http://[::1]:9000", "http://[::1]:9000"},
	} {
		got, err := remoteTarget(tc.server, tc.named)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("remoteTarget(%s, %s) = %q, %v; want %q", tc.server, tc.named, got, err, tc.want)
		}
		if err != nil && !errors.Is(err, egress.ErrRefused) {
			t.Errorf("remoteTarget(%s, %s): %v does not match egress.ErrRefused", tc.server, tc.named, err)
		}
	}
}

// TestRenewalOfARemoteServerOffThisComputerStaysOffIt: a grant whose token
// endpoint is on this computer while the server is not (stored before the
// rule held) is not renewed there: the owner is asked to sign in again, and
// nothing reaches the listener.
func TestRenewalOfARemoteServerOffThisComputerStaysOffIt(t *testing.T) {
	var conns atomic.Int64
	tr := httptest.NewUnstartedServer(http.NotFoundHandler())
	tr.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	tr.Start()
	defer tr.Close()
	a, err := Open(Options{ConfigDir: t.TempDir(), Secrets: SecretsFile, FilesRoot: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := &tokenHolder{a: a, cfg: ServerConfig{Name: "far", Kind: KindRemote, URL: "https://mcp.example.com/mcp", OAuth: true}}
	h.grant = &remoteGrant{
		ClientID: "c", TokenURL: tr.URL + "/token",
		AccessToken: "old", RefreshToken: "refresh", Expiry: a.now().Add(-time.Minute),
	}
	if _, err := h.current(context.Background()); !errors.Is(err, gateway.ErrSignInRequired) {
		t.Fatalf("current: %v; want ErrSignInRequired", err)
	}
	if why, _ := a.SignInState("far"); !strings.Contains(why, "may name only public https addresses") {
		t.Fatalf("the owner is told %q; want the rule", why)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("%d connections reached the listener on this computer", n)
	}
}
