// Package secrets keeps the few secrets MCP Share needs outside its database: the ngrok
// authtoken, the pre-registered OAuth client's secret (so the GUI can show it again) and
// the env values a server configuration marks secret.
//
// A [Store] is either the OS keychain ([Keychain], through github.com/zalando/go-keyring:
// the Secret Service on Linux, Keychain on macOS, Credential Manager on Windows) or, only
// when the user asks for it with --secrets file, a JSON file readable by its owner alone
// ([File]). Every keychain call is bounded by a timeout, so a missing or hung Secret
// Service turns into [ErrUnavailable] with a message that says what to do, never a hang.
// [Check] probes a store once at start-up. A value longer than the keychain holds (the Windows
// Credential Manager's 2.5 KB) is refused before the keychain is asked, with an error matching
// [ErrTooLong] that names the secret and the limit, on every system with such a limit.
//
// The package does not choose between the backends, does not fall back from the keychain
// to the file on its own, and never logs a secret value.
package secrets
