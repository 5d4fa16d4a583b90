// Package app is the core of MCP Share without any GUI code.
//
// It owns the configuration directory (one bbolt file with settings and shared
// servers, plus the OS keychain through app/secrets), and wires the parts
// together: the OAuth 2.1 authorization server and its guard (oauthserver), the
// MCP gateway (app/gateway) that serves the shared servers at /mcp and
// /mcp/NAME, the local HTTP listener on 127.0.0.1 and the public origin from a
// tunnel provider (tunnel). All routes live in one http.ServeMux built by
// [App.Handler]; the guard in front of each MCP URL is built once per share and
// again when the servers change (servers.go), never per request.
//
// The owner's rules of each server (who may use it; tools, prompts and
// resources allowed, ask or hidden; ask before changes) live on its
// ServerConfig and are what the gateway's MayUse and Policy consult
// (access.go); calls in ask wait in a queue the GUI and `serve` answer
// (callapprovals.go); every call, sign-in and approval goes into the audit
// log of app/audit (auditlog.go); text from clients and servers is escaped
// before the owner reads it (showtext.go).
//
// Remote servers that sign in with OAuth are MCP Share's client side: the
// owner signs in on this computer (remotesignin.go, with the go-sdk's auth
// package; the browser comes back to the local listener, remotecallback.go),
// the tokens live in the secret store in parts a keychain can hold
// (remotegrant.go), the gateway's backends use and renew them through one
// holder per server (remoteauth.go), and every token of a server is purged
// when its URL or OAuth settings change. remoteprobe.go asks a URL whether it
// wants a sign-in. Outbound requests follow app/egress.
//
// The GUI (app/ui) and the command line (cmd/mcpshare) drive an [App] through
// its methods and observe it through [App.Subscribe]. The package never draws a
// window and never reads from a terminal.
package app
