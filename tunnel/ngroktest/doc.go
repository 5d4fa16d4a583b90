// Package ngroktest is a test double of ngrok's agent-facing service, for offline tests of
// code that runs the real ngrok agent (golang.ngrok.com/ngrok/v2). It is never used by the
// product.
//
// [Start] runs the service on 127.0.0.1: a TLS control listener (a throwaway CA with an IP SAN
// for 127.0.0.1, see [Service.CAs]) where the agent opens a muxado session and gets its Auth and
// Bind RPCs answered, and a public listener where "visitors" connect. Each visitor connection
// is carried to the agent over a new proxy stream, as ngrok's edge does: the agent's
// net.Listener accepts it with the visitor's bytes. The public listener terminates TLS itself
// for any host name (certificates from the same CA) and also takes plain HTTP, so
// [Service.HTTPClient] can send https://<public host>/... requests that reach the agent with
// that Host.
//
// Point the agent at it with ngrok.WithAgentConnectURL([Service.ConnectURL]) and
// ngrok.WithAgentConnectCAs([Service.CAs]) (tunnel.NgrokConfig.ConnectURL/ConnectCAs,
// app.Options.NgrokConnectURL/NgrokConnectCAs). Options make Auth or Bind fail with ngrok's
// error messages and codes; [Service.DropSessions] cuts every agent session as a network failure
// would.
//
// What it does not do: it speaks only the parts of the protocol the agent needs to
// authenticate, bind one or more endpoints and receive connections (no heartbeats of its own
// beyond muxado's, no traffic policy, no TCP/TLS endpoints, no restart or update RPCs), it
// routes every visitor to the most recent bind whatever the Host, and it checks no quota.
package ngroktest
