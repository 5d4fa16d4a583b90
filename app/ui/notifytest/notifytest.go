// Package notifytest is a freedesktop Desktop Notifications service for
// tests, in the style of httptest: it owns org.freedesktop.Notifications on
// a D-Bus bus the test controls, records what it is asked to show and
// close, and presses a notification's buttons as a person would. It is
// never used by the product.
//
// What it does not do: it draws nothing, expires nothing by itself and
// supports no hints beyond recording the call.
package notifytest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

const (
	name  = "org.freedesktop.Notifications"
	path  = dbus.ObjectPath("/org/freedesktop/Notifications")
	iface = "org.freedesktop.Notifications"
)

// Notice is one Notify call.
type Notice struct {
	ID      uint32
	Summary string
	Body    string
	// Actions are the pairs of action key and button label, as sent.
	Actions []string
}

// Service is a running notification service.
type Service struct {
	conn   *dbus.Conn
	mu     sync.Mutex
	shown  []Notice
	closed map[uint32]bool
}

// Bus starts a private D-Bus session bus for the test and returns its
// address; the bus ends with the test. It skips the test when dbus-daemon
// is not installed, unless MCPSHARE_REQUIRE_E2E=1.
func Bus(t testing.TB, env []string) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		if os.Getenv("MCPSHARE_REQUIRE_E2E") == "1" {
			t.Fatal("dbus-daemon is missing (run cmd/setup.sh --test)")
		}
		t.Skip("dbus-daemon is missing (run cmd/setup.sh --test)")
	}
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1",
		"--address=unix:path="+filepath.Join(t.TempDir(), "bus"))
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(line)
}

// Start runs the service on the bus at address, until the test ends.
func Start(t testing.TB, address string) *Service {
	t.Helper()
	conn, err := dbus.Connect(address)
	if err != nil {
		t.Fatalf("connect to %s: %v", address, err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &Service{conn: conn, closed: map[uint32]bool{}}
	if err := conn.Export((*methods)(s), path, iface); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", name, reply, err)
	}
	return s
}

// Notices returns what was shown so far, in order.
func (s *Service) Notices() []Notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notice(nil), s.shown...)
}

// Closed tells whether notification id was closed by its sender.
func (s *Service) Closed(id uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed[id]
}

// Press is a person pressing the button with the given action key of
// notification id ("default" for a click on the notification itself).
func (s *Service) Press(t testing.TB, id uint32, action string) {
	t.Helper()
	if err := s.conn.Emit(path, iface+".ActionInvoked", id, action); err != nil {
		t.Fatal(err)
	}
}

// methods are the D-Bus methods of the service.
type methods Service

func (m *methods) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"actions", "body"}, nil
}

func (m *methods) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := uint32(len(m.shown) + 1)
	m.shown = append(m.shown, Notice{ID: id, Summary: summary, Body: body, Actions: actions})
	return id, nil
}

func (m *methods) CloseNotification(id uint32) *dbus.Error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed[id] = true
	return nil
}

func (m *methods) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "notifytest", "mcpshare", "1", "1.2", nil
}
