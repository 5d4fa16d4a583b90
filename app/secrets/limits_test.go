package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

func TestKeychainLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("k", n) }
	tests := []struct {
		goos, key string
		size      int
		tooLong   bool
	}{
		{"windows", "env/notes/API_KEY", 2560, false},
		{"windows", "env/notes/API_KEY", 2561, true},
		{"windows", long(512), 10, false},
		{"windows", long(513), 10, true},
		// add-generic-password -U -s mcpshare -a env/notes/API_KEY -w go-keyring-base64:…\n is
		// 27+8+4+17+4+1+18 = 79 bytes besides the base64 of the value: (4096-79)/4*3 = 3012.
		{"darwin", "env/notes/API_KEY", 3012, false},
		{"darwin", "env/notes/API_KEY", 3013, true},
		// A key with a space is quoted: two bytes more, and (4096-81)/4*3 = 3009 for a
		// 17-byte key.
		{"darwin", "env/notes/API KEY", 3009, false},
		{"darwin", "env/notes/API KEY", 3010, true},
		{"darwin", "env/a'b/API_KEY..", 3006, false}, // ' becomes '"'"': 2+4 bytes more, 3006 bytes
		{"darwin", "env/a'b/API_KEY..", 3007, true},
		{"linux", "env/notes/API_KEY", 1 << 20, false},
	}
	for _, tt := range tests {
		limit := limitFor(tt.goos)
		var err error
		if limit != nil {
			err = limit("mcpshare", tt.key, strings.Repeat("v", tt.size))
		}
		if got := errors.Is(err, ErrTooLong); got != tt.tooLong {
			t.Errorf("%s, key of %d bytes, value of %d: err = %v, want too long: %v", tt.goos, len(tt.key), tt.size, err, tt.tooLong)
		}
	}
}

// recordingKeyring counts the values it is asked to store.
type recordingKeyring struct {
	fakeKeyring
	sets int
}

func (r *recordingKeyring) Set(service, user, password string) error {
	r.sets++
	return r.fakeKeyring.Set(service, user, password)
}

// A value the Windows Credential Manager cannot hold is refused before the keychain is asked,
// with an error that names the secret and the limit, and is not "keychain unavailable".
func TestTooLongSecretIsRefusedClearly(t *testing.T) {
	kr := &recordingKeyring{}
	k := &keychainStore{service: "mcpshare", timeout: time.Second, kr: kr, limit: limitFor("windows")}
	key := EnvKey("bigquery", "GOOGLE_CREDENTIALS")
	err := k.Set(context.Background(), key, strings.Repeat("x", 2600))
	if !errors.Is(err, ErrTooLong) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Set of 2600 bytes: err = %v, want ErrTooLong and not ErrUnavailable", err)
	}
	for _, want := range []string{key, "2600 bytes", "at most 2560", "Windows Credential Manager", "in a file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if kr.sets != 0 {
		t.Errorf("the keychain was asked to store a value it cannot hold")
	}
	if err := k.Set(context.Background(), key, strings.Repeat("x", 2560)); err != nil || kr.sets != 1 {
		t.Errorf("Set of 2560 bytes: %v (keychain asked %d times), want stored", err, kr.sets)
	}

	// go-keyring's own refusal says the same.
	k = &keychainStore{service: "mcpshare", timeout: time.Second, kr: fakeKeyring{err: keyring.ErrSetDataTooBig}}
	if err := k.Set(context.Background(), key, "v"); !errors.Is(err, ErrTooLong) || errors.Is(err, ErrUnavailable) {
		t.Errorf("go-keyring's ErrSetDataTooBig: err = %v, want ErrTooLong", err)
	}
}
