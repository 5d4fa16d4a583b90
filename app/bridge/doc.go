// Package bridge serves one local MCP server — a stdio command or a local
// Streamable HTTP endpoint — as a Streamable HTTP MCP endpoint, so that it can
// be shared behind the OAuth guard at /mcp/NAME.
//
// A Bridge is an http.Handler. It expects the guard in front of it to have
// authenticated the request: auth.TokenInfoFromContext(r.Context()).UserID is
// the user, and every session is bound to the user who opened it (anyone else
// presenting its id gets 404, as for an unknown or ended session).
//
// For a stdio server each MCP session gets its own child process, started
// by the session's initialize and ended by DELETE, by IdleTimeout without
// requests, by Close, or (on Linux, through Pdeathsig) by the death of the
// app. The child runs in its own process group, which is killed when the
// session ends, and is always reaped. Its environment is Config.Env plus a
// minimal base of the app's (PATH, HOME, USER, locale, temp directory). The
// HTTP side is the go-sdk's StreamableServerTransport and the child side its
// CommandTransport; the bridge pumps JSON-RPC messages between the two without
// changing them, in both directions (requests, responses, notifications,
// server-to-client requests such as sampling, elicitation and roots/list,
// progress and cancellation). Messages from the child go on the SSE response
// of the client call they belong to while it is open (progress by its token,
// server requests and log messages to the latest call), otherwise on the
// session's GET stream. Live sessions are bounded by MaxSessions; an
// initialize over the bound gets HTTP 503 with a JSON-RPC error and touches
// nothing else. A child that fails to start, exits, or does not answer
// initialize within InitTimeout answers the client's pending calls with a
// JSON-RPC error carrying its last stderr lines, and ends the session; the
// next initialize starts a fresh child. Every child's stderr is kept in a
// ring (Log) and logged at debug level.
//
// For a local HTTP server (a loopback URL only) the bridge is a reverse proxy
// that keeps the Streamable HTTP semantics: SSE responses are streamed and
// flushed, the session, protocol-version and Last-Event-ID headers pass, and
// the upstream's session ids are bound to users too. Only an allowlist of
// headers is forwarded: never Authorization or Cookie. An unreachable
// upstream gives 502 with a JSON-RPC error.
//
// The bridge does not authenticate, check Host or Origin, or set CORS
// headers (the guard does), does not speak the sessionless 2026-07-28
// protocol (such requests are refused with the versions it speaks, so
// clients fall back to initialize), does not store events for stream
// resumption, and does not read secrets: Config.Env holds the values already
// resolved by the caller.
package bridge
