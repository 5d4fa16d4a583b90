// Package doctor checks a shared MCP URL from outside, the way ChatGPT and
// Claude walk it before they can connect: the well-known documents (HEAD and
// GET, as ChatGPT sends HEAD first), an anonymous MCP request that must be
// challenged, the protected resource metadata and the authorization server
// metadata with the values clients insist on, a dynamic client registration
// that is removed again, and the authorization endpoint's login page.
//
// [Check] runs the steps in that order and returns a [Report]: each step ok,
// failed with what was found and one sentence of advice, or skipped because
// an earlier step failed. The first failure is the one to fix.
//
// The package is plain functions over an injectable *http.Client: it does not
// know where the URL comes from (the app's public origin, or the command
// line), starts nothing, and changes nothing but the test client it
// registers, which it deletes (RFC 7592) or hands to Options.Forget.
package doctor
