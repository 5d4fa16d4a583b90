//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sys/unix"

	"github.com/mcpshare/mcpshare/oauthserver/oauthtest"
)

// The client metadata document tests need hosts on the public internet, which tests may not
// use. They build a piece of it instead: a network namespace of their own, with a
// public-looking address on its loopback and a hosts file (ip netns exec bind-mounts
// /etc/netns/NAME/hosts over /etc/hosts). The binary, the document host and the clients all
// run inside it, and the binary trusts the test CA through SSL_CERT_FILE. Nothing changes in
// the machine's own network.

// docAddr is the public-looking address of the document hosts in the namespace.
const docAddr = "93.184.215.14"

type netns struct {
	name string
}

// newNetns creates a network namespace with docAddr on its loopback and hosts naming it.
// It needs root and iproute2; without them the test is skipped (failed under
// MCPSHARE_REQUIRE_E2E=1, as in CI).
func newNetns(t *testing.T, hosts string) *netns {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("MCPSHARE_REQUIRE_E2E") == "1" {
			t.Fatalf("the client metadata document tests need root and iproute2 (a network namespace): uid %d, %v", os.Geteuid(), err)
		}
		t.Skip("needs root and iproute2 for a network namespace")
	}
	n := &netns{name: "mcpshare-cimd-" + strings.ToLower(rand.Text()[:10])}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", n.name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.name).Run() })
	run("netns", "exec", n.name, "ip", "link", "set", "lo", "up")
	run("netns", "exec", n.name, "ip", "addr", "add", docAddr+"/32", "dev", "lo")
	etc := filepath.Join("/etc/netns", n.name)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(etc) })
	if err := os.WriteFile(filepath.Join(etc, "hosts"), []byte("127.0.0.1 localhost\n::1 localhost\n"+hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// do runs fn on an OS thread inside the namespace. Sockets fn creates belong to it. The thread
// is never used again: its goroutine ends locked, so the runtime discards it.
func (n *netns) do(t *testing.T, fn func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/run/netns", n.name))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		fn()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// client is an HTTP client whose connections start inside the namespace; it shows
// redirects instead of following them.
func (n *netns) client(t *testing.T) *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			n.do(t, func() { c, err = (&net.Dialer{}).DialContext(ctx, network, addr) })
			return c, err
		}},
	}
}

// exec is the command prefix that runs a program inside the namespace.
func (n *netns) exec() []string { return []string{"ip", "netns", "exec", n.name} }

// serveIn runs `mcpshare serve` inside the namespace, trusting caPEM, and waits for its ready file.
func serveIn(t *testing.T, n *netns, caPEM []byte) *instance {
	t.Helper()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, caPEM, 0o600)
	inst := &instance{configDir: filepath.Join(dir, "config"), readyFile: filepath.Join(dir, "ready.json"),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	argv := append(n.exec(), binary, "serve", "--config-dir", inst.configDir, "--addr", "127.0.0.1:0", "--secrets", "file",
		"--approval", "password", "--ready-file", inst.readyFile, "--folder", dir)
	inst.cmd = exec.Command(argv[0], argv[1:]...)
	inst.cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile)
	inst.cmd.Stdout, inst.cmd.Stderr = inst.stdout, inst.stderr
	if err := inst.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { inst.exited <- inst.cmd.Wait() }()
	t.Cleanup(func() {
		inst.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-inst.exited:
		case <-time.After(15 * time.Second):
			inst.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("mcpshare stdout:\n%s\nstderr:\n%s", inst.stdout, inst.stderr)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		if b, err := os.ReadFile(inst.readyFile); err == nil && json.Unmarshal(b, &inst.ready) == nil {
			break
		}
		select {
		case err := <-inst.exited:
			t.Fatalf("mcpshare serve exited early (%v)\n%s\n%s", err, inst.stdout, inst.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mcpshare serve not ready after 30s\n%s", inst.stderr)
		}
	}
	inst.user, inst.password = inst.ready.FirstUser, inst.ready.FirstPassword
	if inst.password == "" {
		t.Fatalf("no first password in the ready file:\n%s", inst.stdout)
	}
	return inst
}

// docHost serves documents at https://NAME/PATH on docAddr:443 inside the namespace.
func docHost(t *testing.T, n *netns, ca *oauthtest.CA, docs map[string][]byte) {
	t.Helper()
	var l net.Listener
	var err error
	n.do(t, func() { l, err = net.Listen("tcp", docAddr+":443") })
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := docs[r.Host+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write(body)
	}))
	ts.Listener.Close()
	ts.Listener = l
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Cert}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// The binary signs in clients known by their metadata documents the way ChatGPT and
// Claude do it: ChatGPT's document (private_key_jwt, jwks_uri) with a signed assertion at the
// token endpoint, and a public document client through the MCP conformance suite. A document
// on a private address is refused.
func TestCIMDEndToEnd(t *testing.T) {
	requireE2E(t)
	n := newNetns(t, docAddr+" chatgpt.com app.test\n10.0.0.1 internal.test\n")
	ca, err := oauthtest.NewCA("chatgpt.com", "app.test", "internal.test")
	if err != nil {
		t.Fatal(err)
	}
	key, err := oauthtest.NewRSAKey("e2e-1")
	if err != nil {
		t.Fatal(err)
	}
	const (
		chatgptID   = "https://chatgpt.com/oauth/e2e/client.json"
		chatgptCB   = "https://chatgpt.com/connector/oauth/e2e1"
		conformance = "https://app.test/conformance-client.json"
	)
	docHost(t, n, ca, map[string][]byte{
		"chatgpt.com/oauth/e2e/client.json": mustJSON(map[string]any{"client_id": chatgptID, "client_name": "ChatGPT",
			"redirect_uris": []string{chatgptCB}, "grant_types": []string{"authorization_code", "refresh_token"},
			"response_types": []string{"code"}, "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://chatgpt.com/oauth/jwks.json"}),
		"chatgpt.com/oauth/jwks.json": oauthtest.JWKS(key),
		"app.test/conformance-client.json": mustJSON(map[string]any{"client_id": conformance, "client_name": "Conformance suite",
			"redirect_uris": []string{"http://127.0.0.1/callback"}, "token_endpoint_auth_method": "none"}),
	})
	inst := serveIn(t, n, ca.CertPEM)
	hc := n.client(t)
	origin := inst.ready.Issuer

	get := func(u string) (*http.Response, string) {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	login := func(authURL string) *url.URL {
		resp, page := get(authURL)
		if resp.StatusCode != 200 {
			t.Fatalf("login page: %d %.500s", resp.StatusCode, page)
		}
		action, form := fillLoginForm(t, []byte(page), authURL, inst.user, inst.password)
		resp, err := hc.PostForm(action.String(), form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc
	}

	t.Run("ChatGPT's document with private_key_jwt", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		authURL := origin + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {chatgptID}, "redirect_uri": {chatgptCB},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(v)}, "code_challenge_method": {"S256"}, "state": {"s1"},
			"scope": {"openid email profile offline_access"}, "resource": {origin + "/mcp"}}.Encode()
		if _, page := get(authURL); !strings.Contains(page, "ChatGPT — chatgpt.com") || strings.Contains(page, "unverified") {
			t.Fatalf("the login page does not name ChatGPT — chatgpt.com:\n%.900s", page)
		}
		loc := login(authURL)
		if loc.Host != "chatgpt.com" || loc.Query().Get("code") == "" || loc.Query().Get("iss") != origin {
			t.Fatalf("redirect %s", loc)
		}
		token := func(f url.Values, assertion string) (int, map[string]any) {
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			f.Set("client_assertion", assertion)
			resp, err := hc.PostForm(origin+"/token", f)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out
		}
		a1, _ := key.ClientAssertion(chatgptID, origin, time.Now())
		st, out := token(url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {chatgptCB},
			"code_verifier": {v}, "resource": {origin + "/mcp"}}, a1)
		if st != 200 || out["scope"] != "mcp" || out["refresh_token"] == nil {
			t.Fatalf("token: %d %v", st, out)
		}
		// The token for /mcp opens /mcp/files.
		req, _ := http.NewRequest("POST", origin+"/mcp/files", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`))
		req.Header.Set("Authorization", "Bearer "+out["access_token"].(string))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("initialize with the token: %d", resp.StatusCode)
		}
		rt := out["refresh_token"].(string)
		if st, out := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, a1); st != 401 || out["error"] != "invalid_client" {
			t.Fatalf("a replayed assertion: %d %v", st, out)
		}
		a2, _ := key.ClientAssertion(chatgptID, origin, time.Now())
		if st, out := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, a2); st != 200 {
			t.Fatalf("refresh: %d %v", st, out)
		}
	})

	t.Run("a public document client through the conformance suite", func(t *testing.T) {
		port := freePort(t)
		runAuthorizationConformance(t, origin, conformance, origin+"/mcp", port, n.exec(),
			func(authURL string) string { return login(authURL).String() },
			func(cb string) {
				resp, _ := get(cb)
				if resp.StatusCode != 200 {
					t.Fatalf("the suite's callback: %d", resp.StatusCode)
				}
			})
	})

	t.Run("a document on a private address", func(t *testing.T) {
		for _, id := range []string{"https://internal.test/client.json", "https://127.0.0.1/client.json"} {
			authURL := origin + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"https://internal.test/cb"},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}.Encode()
			if resp, page := get(authURL); resp.StatusCode != 400 || !strings.Contains(page, "not a public address") {
				t.Errorf("%s: %d %.500s", id, resp.StatusCode, page)
			}
		}
	})
}
