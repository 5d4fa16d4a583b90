// Package oauthserver is MCP Share's embedded OAuth 2.1 authorization server and the guard
// of the shared MCP URLs.
//
// It issues opaque tokens to ChatGPT, Claude and other MCP clients for the resources
// <origin>/mcp/<name>, one per shared server, and <origin>/mcp (AllServers), the endpoint
// that reaches them all; it checks them in front of each MCP endpoint.
// It does not serve MCP itself, run local servers, open tunnels or show any window: the app
// wires it to those and answers its sign-in approvals.
//
// Map of the package:
//
//   - origins.go: the Host allowlist (Origins). A request whose Host is not an allowed origin
//     gets 421; the matched origin is the issuer and the base of every advertised URL, so
//     tokens minted on 127.0.0.1 are refused through the tunnel and the other way round.
//   - metadata.go: RFC 8414 authorization server metadata and RFC 9728 protected resource
//     metadata; the single scope "mcp".
//   - register.go: dynamic client registration (RFC 7591), bounded in body size, rate per
//     address and network, total count; clients that never obtained a token expire within
//     the hour and make room first.
//   - clients.go: clients, redirect URI rules, client authentication, the pre-registered client.
//   - cimd.go: clients known by a client ID metadata document (an https client_id): the URL
//     rules, the document rules, and their listing once they obtain tokens.
//   - fetch.go, doccache.go: the fetcher of those documents and key sets (public addresses
//     only, as app/egress.PublicAddr rules them for the app's own outbound requests too; the
//     connection pinned to the checked address, no redirects, small and quick) and
//     their cache (Cache-Control within bounds, failures briefly, stale copies on failure).
//   - assertion.go: private_key_jwt (RFC 7523) for document clients, with go-jose.
//   - display.go: what a person sees of a client: safe text, xn-- hosts, unverified names.
//   - authorize.go, pages.go, pages/: the authorization endpoint, login and waiting pages.
//   - approvals.go: approval policies and the queue of sign-ins the app approves or denies.
//   - token.go: the token endpoint: code exchange with PKCE S256 and refresh rotation.
//   - revoke.go: token revocation (RFC 7009).
//   - resources.go: the resource rule (RFC 8707): which resource a request gets, which
//     audience a token may have, where it is accepted.
//   - guard.go: Protect, the bearer-token check in front of an MCP URL, and the
//     auth.TokenInfo it hands on.
//   - users.go: users with argon2id password hashes.
//   - throttle.go: failed passwords, throttled per (user, address) with growing delays and
//     bounded per address, network and user; FailedSignIns and Unblock for the owner.
//   - store.go: the bbolt records; tokens, codes and secrets are stored as SHA-256 only.
//   - server.go: Config, New, Routes (every route in one place) and the expiry sweeper.
//   - errors.go: Error, the RFC 6749 §5.2 error every OAuth rule returns.
//
// Rules worth knowing:
//
//   - An authorization request that names no resource gets <origin>/mcp, never one server
//     chosen for it. A token for <origin>/mcp is accepted at every <origin>/mcp/<name> (it
//     reaches them all through /mcp anyway); a token for one server opens no other, nor /mcp.
//     The bare /.well-known/oauth-protected-resource is the metadata of /mcp.
//   - A client_id that starts with https:// is a metadata document's URL; nothing issued here
//     does. Such clients authenticate with "none" or private_key_jwt (never a secret); their
//     document is the authority for redirect URIs and keys, refetched as its cache allows.
//   - The pre-registered client authenticates with client_secret_post or client_secret_basic,
//     and may redirect to ChatGPT's and Claude's callbacks or to loopback http on any port.
//     Registered clients must redirect to a registered URI exactly, except that the port of a
//     loopback http URI may differ (RFC 8252 §7.3).
//   - Refresh tokens are issued without offline_access and rotate; the previous one stays
//     valid until the new one is first used, and a reuse after that revokes the grant. A
//     successor replaced by such a retry is kept as rotated out: presenting it revokes too.
//   - The login page's id and CSRF token are in every copy of that page; only the browser that
//     typed the right password gets the wait key that continues the sign-in after approval.
//   - Every scope asked for is granted as "mcp", the only one; the others are ignored.
//   - A remembered approval (PolicyOnce) is for one user, client and resource.
//   - Pending authorization requests and sign-ins live in memory: a restart ends them. Decided
//     sign-ins (the last MaxRecentSignIns) and failed-password records of existing users are
//     kept in bbolt.
package oauthserver
