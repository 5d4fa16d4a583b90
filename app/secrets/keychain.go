package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/zalando/go-keyring"
)

// DefaultTimeout bounds every keychain call. A healthy Secret Service answers in
// milliseconds; one that waits on an unlock prompt nobody sees would otherwise hang the app.
const DefaultTimeout = 5 * time.Second

// keyringAPI is the part of go-keyring the keychain store uses; tests replace it.
type keyringAPI interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, password string) error {
	return keyring.Set(service, user, password)
}
func (goKeyring) Delete(service, user string) error { return keyring.Delete(service, user) }

// keychainStore keeps each key as the account name of an item of service in the OS keychain.
type keychainStore struct {
	service string
	timeout time.Duration
	kr      keyringAPI
	// busCheck reports a missing session bus before go-keyring is asked; see sessionBusError.
	busCheck func() error
	// limit refuses a value this system's keychain cannot hold; nil when there is no limit.
	limit keychainLimit
}

var _ Store = (*keychainStore)(nil)

// Keychain returns the Store backed by the OS keychain, with items filed under service
// (for example "mcpshare"). Every call returns within DefaultTimeout or when ctx ends,
// whichever comes first; go-keyring has no way to cancel a call, so one that does not
// answer is left to finish in the background.
func Keychain(service string) Store {
	return &keychainStore{service: service, timeout: DefaultTimeout, kr: goKeyring{}, busCheck: sessionBusError, limit: limitFor(runtime.GOOS)}
}

func (k *keychainStore) Get(ctx context.Context, key string) (string, error) {
	var v string
	err := k.call(ctx, "reading", key, func() (err error) {
		v, err = k.kr.Get(k.service, key)
		return err
	})
	if err != nil {
		return "", err
	}
	return v, nil
}

func (k *keychainStore) Set(ctx context.Context, key, value string) error {
	if k.limit != nil {
		if err := k.limit(k.service, key, value); err != nil {
			return err
		}
	}
	return k.call(ctx, "storing", key, func() error { return k.kr.Set(k.service, key, value) })
}

func (k *keychainStore) Delete(ctx context.Context, key string) error {
	err := k.call(ctx, "deleting", key, func() error { return k.kr.Delete(k.service, key) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// call runs fn in a goroutine bounded by the timeout and ctx, and translates its error.
func (k *keychainStore) call(ctx context.Context, op, key string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("keychain: %s %q: %w", op, key, err)
	}
	if k.busCheck != nil {
		if err := k.busCheck(); err != nil {
			return &unavailableError{cause: fmt.Errorf("%s %q: %w", op, key, err)}
		}
	}
	tctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()

	done := make(chan error, 1) // buffered: a late answer must not block the goroutine forever
	go func() { done <- fn() }()

	select {
	case err := <-done:
		return k.translate(op, key, err)
	case <-tctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("keychain: %s %q: %w", op, key, ctx.Err())
		}
		within := fmt.Sprintf("within %v", k.timeout)
		if ctx.Err() != nil {
			within = "before the caller's deadline"
		}
		return &unavailableError{cause: fmt.Errorf("the keychain did not answer %s %q %s: %w", op, key, within, context.DeadlineExceeded)}
	}
}

// translate maps go-keyring's errors onto this package's. go-keyring exports only
// ErrNotFound, ErrSetDataTooBig and ErrUnsupportedPlatform; a missing session bus or Secret
// Service comes back as a plain dial, exec or D-Bus error. Every error other than the
// first two therefore means the keychain cannot be used, and says so.
func (k *keychainStore) translate(op, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("keychain: %s %q: %w", op, key, ErrNotFound)
	case errors.Is(err, keyring.ErrSetDataTooBig): // a limit limitFor does not know
		return fmt.Errorf("keychain: %s %q: %w: %w", op, key, ErrTooLong, err)
	default:
		return &unavailableError{cause: fmt.Errorf("%s %q: %w", op, key, err)}
	}
}

// sessionBusError returns an error when, on a system whose keychain is the Secret Service,
// no D-Bus session bus can be found the way godbus looks for one
// (DBUS_SESSION_BUS_ADDRESS, then $XDG_RUNTIME_DIR/bus or /run/user/UID/bus). Without this
// check godbus runs dbus-launch, which starts a session bus and an unlockable keyring
// daemon that outlive the app and still cannot store anything.
func sessionBusError() error {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
	default:
		return nil
	}
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	dirs := []string{filepath.Join("/run/user", strconv.Itoa(os.Getuid()))}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		for _, name := range []string{"bus", "dbus-session"} {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				return nil
			}
		}
	}
	return errors.New("no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set")
}
