// Package gateway serves MCP Share's shared servers over MCP: it is an MCP
// server to ChatGPT, Claude and other clients, and an MCP client to the
// servers on this computer, both with the official go-sdk. It is not a byte
// pump: it knows what a tool call is.
//
// Front. [Gateway.Handler] returns the http.Handler of one URL: a server's own
// (/mcp/NAME) or all of them (/mcp, [AllServers]). Behind it each signed-in
// user has a front: a go-sdk mcp.Server whose tools, prompts, resources and
// templates mirror the catalogs of the user's servers (on /mcp, tools and
// prompts are named SERVER_NAME, valid for ChatGPT, stable when servers come
// and go; the built-in server's search and fetch keep their names), with the
// servers' capabilities, served by two go-sdk StreamableHTTPHandlers. A
// request with a session id, or an initialize, goes to the session-based one
// (the 2025-11-25 era); a request without one that carries 2026-07-28
// metadata goes to the sessionless one; any other request gets the 400 the
// transport specifies instead of a new session. A session belongs to the
// user whose front holds it, so another user's session id is unknown (404).
// A user's sessions on one URL are bounded (Limits.SessionsPerUser): a new one
// beyond the bound ends the least recently used idle one, so sessions that
// clients never end (ChatGPT's) lock nobody out.
//
// Back. A pool per (user, server) holds backends: go-sdk client sessions over
// stdio (the process set up by app/childproc), Streamable HTTP to a loopback
// URL, Streamable HTTP to a remote server through app/egress (its origin
// only), signed in with the tokens of Config.OAuth when it wants OAuth, or
// memory (the built-in server of app/builtin). By default one backend
// per user serves all of that user's sessions ([IsolationUser]);
// [IsolationSession] gives each MCP session its own. A backend speaks the era
// of the client that uses it (a server's tools behave as the era of their
// session dictates); a server that speaks only one era serves both from
// backends of that era (a session client is asked on its stream what a
// 2026-07-28 server asks by input_required).
// Backends start on first use, stop after Limits.BackendIdle without calls,
// are bounded per server, per user and in total with least-recently-used
// eviction of idle ones, and after a crash start again on next use after a
// growing pause.
//
// Forwarding. tools/call, prompts/get and resources/read go to the backend
// with the client's _meta (and, for 2026-07-28 servers, the client's
// capabilities, so a server asks only what this client can answer); progress
// comes back under the client's own token; cancellation, logging, list
// changes, resource subscriptions and completion pass both ways. What a
// server asks during a call (sampling, elicitation, roots) goes to the client
// of that call: as a server-to-client request on a session client's stream,
// or as an input_required result to a 2026-07-28 client, whose requestState
// the gateway seals (HMAC with a key of this process, bound to the user and
// the request) and, for a session-era server, backs with the call paused
// until the client returns (pauseTTL). Requests for a capability the client
// did not declare are answered by the gateway. A stdio server carries no
// relation between its requests and the call they belong to: they go to the
// one call in progress at that backend (a user's), and while several are in
// progress they are refused, never guessed. Its log messages go to the
// latest call while all are of one OAuth client, else to MCP Share's log
// only. A user's calls paused for input are bounded.
//
// The owner's rules (policy.go). Config.MayUse keeps a server out of a
// user's /mcp and refuses its URL with 403; Config.Policy says of each tool,
// prompt and resource whether it is allowed, hidden (absent from the lists
// the front registers, refused with a JSON-RPC error when called, also by a
// name the front does not list) or ask (the call waits for
// Policy.Approve, bounded by Config.ApprovalTimeout, with progress
// notifications to a client that gave a progress token; a denial or the
// bound gives a tool error the model can relay). Every tools/call,
// prompts/get and resources/read passes front.governed, the one place that
// checks these and hands Config.Audit a Record; PolicyChanged applies a
// change to the fronts that are running.
//
// Errors stay local: a backend that cannot start, crashes, or writes a line
// over the stdio limit gives the client one sentence naming the server and
// saying its log is in MCP Share; its stderr goes to [Gateway.Status] and the
// app's log only. On the wire, bodies are bounded in size and time, and every
// write to a client in time (Limits), so a client that stops reading loses
// its response and pins nothing.
//
// The gateway does not authenticate (oauthserver's guard in front of it sets
// the go-sdk's auth.TokenInfo), check Host or Origin, read the keychain
// (Config.Secret does), sign in to remote servers or keep their tokens
// (Config.OAuth does; a client's token never goes past the guard), or store
// anything: a restart starts afresh.
//
// Files: gateway.go (Gateway, Config, Limits, Status), spec.go (ServerSpec),
// route.go (one URL: era dispatch, wire bounds), front.go (the per-user
// mcp.Server and its sessions), names.go (names on /mcp), forward.go (the
// handlers and the exchange with a backend), policy.go (the owner's rules
// and the audit record), state.go (requestState and
// paused calls), subscriptions.go, pool.go (backends of one user and server,
// backoff), bounds.go (limits and eviction), backend.go (one client session
// and its calls), client.go (the go-sdk client's handlers and the catalog),
// transport.go (stdio, HTTP, memory), remote.go (remote servers and their
// sign-in errors), try.go (a server tried before it is
// saved), env.go (a child's environment), logring.go (stderr lines).
package gateway
