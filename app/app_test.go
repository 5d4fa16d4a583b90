package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpshare/mcpshare/app/secrets"
)

// openTest opens a fresh installation in a temp dir with file secrets.
func openTest(t *testing.T, mod func(*Options)) *App {
	t.Helper()
	opts := Options{
		ConfigDir: t.TempDir(), Secrets: SecretsFile, FilesRoot: filepath.Join(t.TempDir(), "share"),
		Addr: "127.0.0.1:0", Approval: ApprovalPassword,
	}
	if mod != nil {
		mod(&opts)
	}
	a, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestFirstRunAndReopen(t *testing.T) {
	dir, root := t.TempDir(), filepath.Join(t.TempDir(), "share")
	opts := Options{ConfigDir: dir, Secrets: SecretsFile, FilesRoot: root}
	a, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	user, pw := a.FirstRunCredentials()
	if user == "" || len(pw) < 16 {
		t.Fatalf("first run credentials %q / %d chars", user, len(pw))
	}
	servers, err := a.Servers()
	if err != nil || len(servers) != 1 || servers[0].Config.Name != BuiltinName || !servers[0].Config.Enabled || servers[0].Config.Root != root {
		t.Fatalf("first run servers: %+v %v", servers, err)
	}
	if _, err := os.Stat(filepath.Join(root, "README.md")); err != nil {
		t.Errorf("shared folder not prepared: %v", err)
	}
	if st := a.Settings(); st.Approval != ApprovalAsk || st.Tunnel != TunnelNone || st.Addr != DefaultAddr {
		t.Errorf("default settings %+v", st)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if u, p := b.FirstRunCredentials(); u != user || p != pw {
		t.Errorf("a second start lost the first password nobody has seen yet: %q %q", u, p)
	}
	users, err := b.Auth().Users()
	if err != nil || len(users) != 1 || users[0].Name != user {
		t.Errorf("users after reopen: %+v %v", users, err)
	}
}

func TestSecondOpenSaysAlreadyRunning(t *testing.T) {
	a := openTest(t, nil)
	start := time.Now()
	_, err := Open(Options{ConfigDir: a.ConfigDir(), Secrets: SecretsFile})
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Open: %v, want ErrAlreadyRunning", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v", d)
	}
	if !strings.Contains(err.Error(), "--config-dir") {
		t.Errorf("the error does not say what to do: %v", err)
	}
}

func TestOpenRefusesBadOverrides(t *testing.T) {
	for _, o := range []Options{
		{Approval: "sometimes"}, {Tunnel: "carrier-pigeon"}, {Addr: "0.0.0.0:80"}, {Addr: "nonsense"},
		{Tunnel: TunnelCustom}, {Secrets: "paper"},
	} {
		o.ConfigDir, o.FilesRoot = t.TempDir(), t.TempDir()
		if o.Secrets == "" {
			o.Secrets = SecretsFile
		}
		if _, err := Open(o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Open(%+v) = %v, want ErrInvalidConfig", o, err)
		}
	}
}

func TestServerLifecycleAndSecrets(t *testing.T) {
	a := openTest(t, nil)
	ctx := context.Background()
	var mu sync.Mutex
	var seen []string
	a.Subscribe(func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Kind == EventServers {
			seen = append(seen, ev.Message)
		}
	})
	cfg := ServerConfig{Name: "gh", Kind: KindStdio, Enabled: true, Command: "gh-mcp", Env: map[string]string{"LEVEL": "1"}, SecretEnv: []string{"TOKEN"}}
	if err := a.AddServer(ctx, cfg, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("AddServer without the secret's value: %v", err)
	}
	if err := a.AddServer(ctx, cfg, map[string]string{"TOKEN": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddServer(ctx, cfg, map[string]string{"TOKEN": "other"}); !errors.Is(err, ErrServerExists) {
		t.Fatalf("AddServer twice: %v", err)
	}
	if v, err := a.Secrets().Get(ctx, secrets.EnvKey("gh", "TOKEN")); err != nil || v != "s3cret" {
		t.Fatalf("secret value %q %v", v, err)
	}
	db, _ := os.ReadFile(filepath.Join(a.ConfigDir(), DBFile))
	if strings.Contains(string(db), "s3cret") {
		t.Error("the secret value is in the database")
	}
	if err := a.SetServerEnabled("gh", false); err != nil {
		t.Fatal(err)
	}
	if names := a.enabledNames(); len(names) != 1 || names[0] != BuiltinName {
		t.Errorf("enabled after disable: %v", names)
	}
	if err := a.RemoveServer(ctx, "gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Secrets().Get(ctx, secrets.EnvKey("gh", "TOKEN")); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("secret left after remove: %v", err)
	}
	if err := a.RemoveServer(ctx, "gh"); !errors.Is(err, ErrServerNotFound) {
		t.Errorf("RemoveServer twice: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Errorf("server events %v, want added, disabled, removed", seen)
	}
}

func TestStartServesRoutesBehindHostCheck(t *testing.T) {
	a := openTest(t, nil)
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := a.Status()
	if st.State != StateSharing || !strings.HasPrefix(st.LocalOrigin, "http://127.0.0.1:") {
		t.Fatalf("status %+v", st)
	}
	port := strings.TrimPrefix(st.LocalOrigin, "http://127.0.0.1:")
	do := func(method, path, host string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, st.LocalOrigin+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		if host != "" {
			req.Host = host
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	tests := []struct {
		method, path, host string
		want               int
	}{
		{"POST", "/mcp/files", "", http.StatusUnauthorized},
		{"POST", "/mcp/files/", "", http.StatusUnauthorized}, // no redirect to drop the token
		{"POST", "/mcp/files", "localhost:" + port, http.StatusUnauthorized},
		{"POST", "/mcp/nope", "", http.StatusNotFound},
		{"POST", "/mcp/files", "evil.example", http.StatusMisdirectedRequest},
		{"POST", "/mcp/files", "127.0.0.1:1", http.StatusMisdirectedRequest},
		{"GET", "/.well-known/oauth-authorization-server", "", http.StatusOK},
		{"GET", "/.well-known/oauth-protected-resource/mcp/files", "", http.StatusOK},
		{"GET", "/.well-known/oauth-authorization-server", "evil.example", http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		if resp := do(tt.method, tt.path, tt.host); resp.StatusCode != tt.want {
			t.Errorf("%s %s (Host %q) = %d, want %d", tt.method, tt.path, tt.host, resp.StatusCode, tt.want)
		}
	}
	if err := a.SetServerEnabled(BuiltinName, false); err != nil {
		t.Fatal(err)
	}
	if resp := do("POST", "/mcp/files", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("disabled server answers %d, want 404", resp.StatusCode)
	}
	info, err := a.ConnectInfo(context.Background())
	if err != nil || info.Public || info.ClientID == "" || info.ClientSecret == "" || len(info.Servers) != 0 {
		t.Errorf("ConnectInfo with no enabled server: %+v %v", info, err)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		t.Error("the listener still accepts after Stop")
	}
	if a.Status().State != StateStopped {
		t.Errorf("state after Stop: %+v", a.Status())
	}
}

func TestStartPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a := openTest(t, func(o *Options) { o.Addr = ln.Addr().String() })
	err = a.Start(context.Background())
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Start on a taken port: %v, want ErrPortInUse", err)
	}
	if st := a.Status(); st.State != StateError || !errors.Is(st.Err, ErrPortInUse) {
		t.Errorf("status %+v", st)
	}
}

func TestStartFallsBackFromTakenDefaultPort(t *testing.T) {
	ln, err := net.Listen("tcp", DefaultAddr)
	if err != nil {
		t.Skipf("the default port is in use by something else: %v", err)
	}
	defer ln.Close()
	a := openTest(t, func(o *Options) { o.Addr = DefaultAddr })
	warned := make(chan string, 1)
	a.Subscribe(func(ev Event) {
		if ev.Kind == EventWarning {
			warned <- ev.Message
		}
	})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := a.Status().LocalOrigin; o == "http://"+DefaultAddr || o == "" {
		t.Errorf("local origin %q", o)
	}
	select {
	case msg := <-warned:
		if !strings.Contains(msg, "in use") {
			t.Errorf("warning %q", msg)
		}
	default:
		t.Error("no warning about the fallback port")
	}
}

func TestFirstStartWithoutKeychainFailsAndCreatesNoPassword(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/mcpshare-test-bus")
	dir := t.TempDir()
	_, err := Open(Options{ConfigDir: dir, Secrets: SecretsKeychain, KeychainService: "mcpshare-test-absent", FilesRoot: t.TempDir()})
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "--secrets file") {
		t.Fatalf("first Open without a keychain: %v, want the keychain advice", err)
	}
	// The failed start left no user behind whose password nobody was given.
	a, err := Open(Options{ConfigDir: dir, Secrets: SecretsFile})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	users, _ := a.Auth().Users()
	if user, pw := a.FirstRunCredentials(); len(users) != 1 || user != users[0].Name || pw == "" {
		t.Errorf("after the failed start: users %+v, first credentials %q/%q; want one user with a new password to show", users, user, pw)
	}
}

func TestStartWithoutKeychainSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(Options{ConfigDir: dir, Secrets: SecretsFile, FilesRoot: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	a.FirstPasswordSeen(context.Background())
	a.Close()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/mcpshare-test-bus")
	a = openTest(t, func(o *Options) {
		o.ConfigDir, o.Secrets, o.KeychainService = dir, SecretsKeychain, "mcpshare-test-absent"
	})
	err = a.Start(context.Background())
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "--secrets file") {
		t.Fatalf("Start without a keychain: %v", err)
	}
}

func TestClientSecretSurvivesAndIsRecoveredWhenLost(t *testing.T) {
	a := openTest(t, nil)
	ctx := context.Background()
	c1, err := a.ClientCredentials(ctx)
	if err != nil || c1.ClientID == "" || c1.ClientSecret == "" {
		t.Fatalf("%+v %v", c1, err)
	}
	c2, _ := a.ClientCredentials(ctx)
	if c1 != c2 {
		t.Errorf("credentials changed between calls: %+v %+v", c1, c2)
	}
	// The keychain lost the secret: a new one is made and kept, same client ID.
	if err := a.Secrets().Delete(ctx, secrets.KeyClientSecret); err != nil {
		t.Fatal(err)
	}
	c3, err := a.ClientCredentials(ctx)
	if err != nil || c3.ClientID != c1.ClientID || c3.ClientSecret == c1.ClientSecret || c3.ClientSecret == "" {
		t.Fatalf("after loss: %+v %v", c3, err)
	}
	c4, _ := a.ClientCredentials(ctx)
	if c4 != c3 {
		t.Errorf("recovered secret not kept: %+v %+v", c3, c4)
	}
}
