package secrets

import (
	"fmt"
	"regexp"
	"strings"
)

// A keychainLimit returns an error matching ErrTooLong when the keychain cannot hold value
// under service and key, before anything is sent to it: Windows would refuse it with an error
// that says nothing of the size, and go-keyring on macOS leaves a `security` process behind
// when it refuses a value.
type keychainLimit func(service, key, value string) error

// limitFor returns the limit of the keychain of goos; nil means no limit worth checking (the
// Secret Service takes megabytes).
func limitFor(goos string) keychainLimit {
	switch goos {
	case "windows":
		return windowsLimit
	case "darwin", "ios":
		return macOSLimit
	}
	return nil
}

// The Windows Credential Manager keeps a secret in a credential's blob and its key in the
// user name (go-keyring's layout): at most CRED_MAX_CREDENTIAL_BLOB_SIZE (5*512) bytes of
// blob, and CRED_MAX_USERNAME_LENGTH (513) characters of user name, one of them the end.
const (
	windowsMaxValue = 2560
	windowsMaxKey   = 512
)

func windowsLimit(service, key, value string) error {
	if len(key) > windowsMaxKey {
		return &tooLongError{key: key, what: "its name", size: len(key), max: windowsMaxKey, keychain: "the Windows Credential Manager"}
	}
	if len(value) > windowsMaxValue {
		return &tooLongError{key: key, what: "its value", size: len(value), max: windowsMaxValue, keychain: "the Windows Credential Manager"}
	}
	return nil
}

// go-keyring on macOS sends one line to `security -i`: add-generic-password -U -s SERVICE -a
// KEY -w go-keyring-base64:BASE64(VALUE), each word quoted as for a shell when it needs it,
// and refuses a line over 4096 bytes. The base64 word needs no quotes.
const (
	macOSMaxCommand  = 4096
	macOSValuePrefix = "go-keyring-base64:"
)

func macOSLimit(service, key, value string) error {
	fixed := len("add-generic-password -U -s "+shellQuote(service)+" -a "+shellQuote(key)+" -w \n") + len(macOSValuePrefix)
	maxValue := (macOSMaxCommand - fixed) / 4 * 3 // base64 writes 4 bytes for every 3
	if maxValue < 0 {
		maxValue = 0
	}
	if len(value) > maxValue {
		return &tooLongError{key: key, what: "its value", size: len(value), max: maxValue, keychain: "the macOS keychain (through the security tool)"}
	}
	return nil
}

// shellUnsafe and shellQuote quote a word as go-keyring does before it hands it to `security`.
var shellUnsafe = regexp.MustCompile(`[^\w@%+=:,./-]`)

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if shellUnsafe.MatchString(s) {
		return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
	}
	return s
}

// tooLongError says which secret is too long for which keychain, and what to do instead.
type tooLongError struct {
	key, what string
	size, max int
	keychain  string
}

func (e *tooLongError) Error() string {
	return fmt.Sprintf("keychain: cannot store the secret %q: %s is %d bytes, and %s holds at most %d; keep a value this long in a file and give the server its path instead",
		e.key, e.what, e.size, e.keychain, e.max)
}

func (e *tooLongError) Unwrap() error { return ErrTooLong }
