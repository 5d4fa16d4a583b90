// Package tunnel gives the local MCP Share server a public HTTPS origin that
// ChatGPT and Claude can reach.
//
// A [Provider] has one of three kinds:
//
//   - [None]: local only; Start returns no origin.
//   - [Custom]: the user runs their own reverse proxy or tunnel and names its
//     public origin; Start returns that origin and no listener, and the caller
//     keeps serving on its local listener.
//   - [Ngrok]: the ngrok agent runs in-process (golang.ngrok.com/ngrok/v2).
//     Start connects, binds the endpoint (a reserved domain when one is
//     configured) and returns its origin and a [net.Listener]; the caller
//     serves the same http.Handler on it as on the local listener, so there
//     is no second hop through 127.0.0.1.
//
// The ngrok SDK retries forever, also on authentication errors, and does not
// check for a missing token. Start therefore checks the token first, always
// gives up after [NgrokConfig.Timeout], fails at once on errors that retrying
// cannot fix, and turns ngrok's error codes into [ErrNoAuthtoken],
// [ErrAuthtokenRejected], [ErrDomainNotReserved], [ErrDomainInUse] and
// [ErrNoNetwork], whose messages say what to do. Once online, a dropped
// session reconnects with the SDK's backoff and [NgrokConfig.OnStatus]
// reports "reconnecting" and then "online" again.
//
// The package does not decide what is reachable through the tunnel, keep the
// Host allowlist, read the authtoken from the keychain or the environment, or
// store settings: the app does, with the origin and listener Start returns.
package tunnel
