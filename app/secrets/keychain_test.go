package secrets

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// fakeKeyring answers every call with err, after block is closed when it is not nil.
type fakeKeyring struct {
	err   error
	block chan struct{}
}

func (f fakeKeyring) wait() {
	if f.block != nil {
		<-f.block
	}
}
func (f fakeKeyring) Get(service, user string) (string, error) { f.wait(); return "v", f.err }
func (f fakeKeyring) Set(service, user, password string) error { f.wait(); return f.err }
func (f fakeKeyring) Delete(service, user string) error        { f.wait(); return f.err }

func TestKeychainErrors(t *testing.T) {
	tests := []struct {
		name            string
		err             error
		wantNotFound    bool
		wantUnavailable bool
	}{
		{"ok", nil, false, false},
		{"not found", keyring.ErrNotFound, true, false},
		{"too big", keyring.ErrSetDataTooBig, false, false},
		{"unsupported platform", errors.New("unsupported platform: plan9"), false, true},
		{"no dbus-launch", &exec.Error{Name: "dbus-launch", Err: exec.ErrNotFound}, false, true},
		{"no secret service", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"}}, false, true},
		{"dial", &net.OpError{Op: "dial", Net: "unix", Err: os.ErrNotExist}, false, true},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &keychainStore{service: "test", timeout: time.Second, kr: fakeKeyring{err: tt.err}}
			_, getErr := k.Get(ctx, KeyClientSecret)
			setErr := k.Set(ctx, KeyClientSecret, "v")
			delErr := k.Delete(ctx, KeyClientSecret)
			if got := errors.Is(getErr, ErrNotFound); got != tt.wantNotFound {
				t.Errorf("Get: errors.Is(%v, ErrNotFound) = %v, want %v", getErr, got, tt.wantNotFound)
			}
			if tt.wantNotFound && delErr != nil {
				t.Errorf("Delete of an absent key: %v, want nil", delErr)
			}
			for op, err := range map[string]error{"Get": getErr, "Set": setErr, "Delete": delErr} {
				if got := errors.Is(err, ErrUnavailable); got != tt.wantUnavailable {
					t.Errorf("%s: errors.Is(%v, ErrUnavailable) = %v, want %v", op, err, got, tt.wantUnavailable)
				}
				if tt.wantUnavailable && !strings.Contains(err.Error(), "--secrets file") {
					t.Errorf("%s: %q does not name --secrets file", op, err)
				}
				if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, tt.err) && !strings.Contains(err.Error(), tt.err.Error()) {
					t.Errorf("%s: %q hides the cause %q", op, err, tt.err)
				}
			}
		})
	}
}

func TestKeychainTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	k := &keychainStore{service: "test", timeout: 50 * time.Millisecond, kr: fakeKeyring{block: block}}

	start := time.Now()
	_, err := k.Get(context.Background(), KeyNgrokAuthtoken)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get on a hung keychain: err = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("error %q does not say the keychain did not answer", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Get took %v with a 50ms timeout", d)
	}

	// The caller's context is honoured too.
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	k.timeout = time.Hour
	if err := k.Set(ctx, KeyNgrokAuthtoken, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Set with a cancelled context: err = %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := k.Delete(ctx, KeyNgrokAuthtoken); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Delete past the caller's deadline: err = %v, want ErrUnavailable", err)
	}
}

func TestSessionBusError(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service check is for Linux")
	}
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
	if err := sessionBusError(); err != nil {
		t.Fatalf("with an address set: %v", err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
		t.Skip("this machine has a session bus in /run/user")
	}
	err := sessionBusError()
	if err == nil || !strings.Contains(err.Error(), "DBUS_SESSION_BUS_ADDRESS") {
		t.Fatalf("with no bus: err = %v", err)
	}
	k := Keychain("test").(*keychainStore)
	k.kr = fakeKeyring{err: errors.New("go-keyring must not be called")}
	if _, err := k.Get(context.Background(), KeyClientSecret); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no D-Bus session bus") {
		t.Fatalf("Get with no bus: err = %v", err)
	}
}

// TestKeychainReal stores, reads back and deletes each kind of secret the app keeps in the
// real OS keychain. CI runs it under gnome-keyring (see .ci/run):
//
//	XDG_DATA_HOME=$(mktemp -d) dbus-run-session -- sh -c 'echo -n pw |
//	  gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
//	  MCPSHARE_REQUIRE_KEYCHAIN=1 go test ./app/secrets/'
//
// Without a keychain it skips, unless MCPSHARE_REQUIRE_KEYCHAIN=1 makes that a failure.
func TestKeychainReal(t *testing.T) {
	ctx := context.Background()
	s := Keychain("mcpshare-test-" + rand.Text()[:8])
	if err := Check(ctx, s); err != nil {
		if os.Getenv("MCPSHARE_REQUIRE_KEYCHAIN") == "1" {
			t.Fatalf("MCPSHARE_REQUIRE_KEYCHAIN=1 but the keychain is not usable: %v", err)
		}
		t.Skipf("no OS keychain here (set MCPSHARE_REQUIRE_KEYCHAIN=1 to fail instead): %v", err)
	}
	for key, value := range map[string]string{
		KeyNgrokAuthtoken:             "2xYz_ngrok_" + rand.Text(),
		KeyClientSecret:               "mcs_" + rand.Text(),
		EnvKey("notes", "OPENAI_KEY"): "sk-" + rand.Text() + " ünïcode",
	} {
		t.Run(key, func(t *testing.T) {
			t.Cleanup(func() { s.Delete(ctx, key) })
			if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get before Set: err = %v, want ErrNotFound", err)
			}
			if err := s.Set(ctx, key, value); err != nil {
				t.Fatalf("Set: %v", err)
			}
			if got, err := s.Get(ctx, key); err != nil || got != value {
				t.Fatalf("Get = %q, %v; want the stored value", got, err)
			}
			if err := s.Set(ctx, key, value+"-2"); err != nil {
				t.Fatalf("Set again: %v", err)
			}
			if got, err := s.Get(ctx, key); err != nil || got != value+"-2" {
				t.Fatalf("Get after overwrite = %q, %v; want the new value", got, err)
			}
			if err := s.Delete(ctx, key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, key); err != nil {
				t.Fatalf("Delete of an absent key: %v, want nil", err)
			}
		})
	}
}

// TestKeychainUnavailable shows the error a user without a Secret Service gets. godbus
// keeps its session bus connection for the life of the process, so the check runs in a
// fresh copy of this test binary whose DBUS_SESSION_BUS_ADDRESS points nowhere.
func TestKeychainUnavailable(t *testing.T) {
	if os.Getenv("MCPSHARE_TEST_NO_KEYCHAIN") == "1" {
		checkNoKeychain(t)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestKeychainUnavailable$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"MCPSHARE_TEST_NO_KEYCHAIN=1",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/mcpshare-test-bus",
	)
	out, err := cmd.CombinedOutput()
	t.Logf("subprocess output:\n%s", out)
	if err != nil {
		t.Fatalf("subprocess failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestKeychainUnavailable") {
		t.Fatal("subprocess did not run the check")
	}
}

func checkNoKeychain(t *testing.T) {
	ctx := context.Background()
	s := Keychain("mcpshare-test")
	start := time.Now()
	_, getErr := s.Get(ctx, KeyClientSecret)
	ops := map[string]error{
		"Get":    getErr,
		"Set":    s.Set(ctx, KeyClientSecret, "x"),
		"Delete": s.Delete(ctx, KeyClientSecret),
		"Check":  Check(ctx, s),
	}
	elapsed := time.Since(start)
	for op, err := range ops {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: err = %v, want ErrUnavailable", op, err)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"no OS keychain is available", "--secrets file", "/nonexistent/mcpshare-test-bus"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q does not contain %q", op, msg, want)
			}
		}
	}
	if elapsed > time.Second {
		t.Errorf("four calls took %v; an absent bus should fail fast, not wait for the timeout", elapsed)
	}
	fmt.Printf("error shown to the user (after %v):\n%v\n", elapsed.Round(time.Millisecond), ops["Check"])
}
