package secrets

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
)

// Store holds secret strings under short key names.
type Store interface {
	// Get returns the value stored under key, or an error matching ErrNotFound.
	Get(ctx context.Context, key string) (string, error)
	// Set stores value under key, replacing any previous value.
	Set(ctx context.Context, key, value string) error
	// Delete removes key. Deleting a key that is not there is not an error.
	Delete(ctx context.Context, key string) error
}

var (
	// ErrNotFound is returned by Get when no value is stored under the key.
	ErrNotFound = errors.New("secret not found")
	// ErrUnavailable is matched (errors.Is) by every error that means the store cannot be
	// used at all: no Secret Service, no session bus, a keychain that does not answer in
	// time. Its message tells the user how to start one or to use --secrets file.
	ErrUnavailable = errors.New("secret store unavailable")
	// ErrTooLong is matched by the error of a Set whose value (or key) is longer than the OS
	// keychain can hold: 2560 bytes in the Windows Credential Manager, about 3000 in the macOS
	// keychain. The store is usable; only this value cannot go there.
	ErrTooLong = errors.New("secret too long for the OS keychain")
)

// Key names the application stores secrets under.
const (
	// KeyNgrokAuthtoken is the ngrok authtoken.
	KeyNgrokAuthtoken = "ngrok-authtoken"
	// KeyClientSecret is the pre-registered OAuth client's secret, kept so the GUI can
	// show it again (the database holds only its hash).
	KeyClientSecret = "client-secret"
)

// EnvKey is the key of the secret env value name of the shared server called server.
func EnvKey(server, name string) string {
	return "env/" + server + "/" + name
}

// probeKey is the key Check writes, reads back and deletes.
const probeKey = "mcpshare-probe"

// Check makes one round trip through s (set, get, delete of a probe key) and returns nil
// when it worked. Any failure is returned as an error matching ErrUnavailable whose
// message says what to do.
func Check(ctx context.Context, s Store) error {
	want := rand.Text()
	if err := s.Set(ctx, probeKey, want); err != nil {
		return asUnavailable(err)
	}
	got, err := s.Get(ctx, probeKey)
	if err != nil {
		return asUnavailable(err)
	}
	if err := s.Delete(ctx, probeKey); err != nil {
		return asUnavailable(err)
	}
	if got != want {
		return &unavailableError{cause: errors.New("the secret store returned a different value than the one just stored")}
	}
	return nil
}

func asUnavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return &unavailableError{cause: err}
}

// unavailableError explains why no secret store can be used and what to do about it.
type unavailableError struct {
	cause error
}

func (e *unavailableError) Error() string {
	hint := "start a Secret Service such as gnome-keyring"
	switch runtime.GOOS {
	case "darwin", "windows", "ios":
		hint = "make sure the OS keychain is unlocked"
	}
	return fmt.Sprintf("no OS keychain is available (%v); %s, or run with --secrets file to keep secrets in a 0600 file in the config directory", e.cause, hint)
}

func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }
