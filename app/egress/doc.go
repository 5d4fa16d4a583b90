// Package egress is the HTTP client MCP Share uses to reach servers it does
// not run: the remote MCP servers the owner added, and the authorization
// servers they name. It keeps a request from being turned against this
// computer or its network (SSRF): a remote server's metadata names URLs that
// MCP Share then calls, so those URLs are not trusted.
//
// A [Client] goes only to the origins it was given ([Options.Allow]): the
// MCP server's own and its authorization server's. http is allowed on
// loopback only, and a loopback origin reaches loopback addresses only. Any
// other host name is resolved, every address it has must be public (no
// private, link-local, CGNAT, documentation or other special range; no
// IPv4-mapped or NAT64 forms), and the connection goes to an address that
// was checked, so a DNS answer that changes in between takes it nowhere
// else. No proxy, no cookies, no redirects (a 3xx comes back as it is),
// bounded connect, TLS and header times, and a cap on every body that is not
// an event stream.
//
// The package does not decide which origins a server may name (the caller
// builds the allowlist from the configuration and the metadata it checked),
// does not authenticate, and does not retry. It imports nothing of MCP
// Share: oauthserver's fetcher of client metadata documents uses its
// PublicAddr, so one rule says what is public.
package egress
