// Package audit keeps MCP Share's audit log: one JSON object per line
// (JSON Lines) in audit.jsonl in the config directory, for every tool call,
// prompt get and resource read through the gateway, every sign-in decided
// and every answer to a call's approval.
//
// A [Log] appends each [Entry] with a single write, so a reader in another
// process (`mcpshare audit --follow` while the app runs) never sees half a
// line it would take for whole; when the file would pass Options.MaxBytes it
// is renamed to audit.jsonl.1 (the older ones to .2, .3, … up to
// Options.Keep) and a new one begins. [Read] reads the files oldest first
// with a [Filter]; [Follow] reads what is written after it starts, across
// rotations.
//
// Arguments are recorded as an HMAC-SHA256 under a key the caller keeps
// (the app's is in its secret store) and, when the owner asks for them, in
// canonical JSON up to MaxArgsBytes ([Entry.PutArguments]).
//
// What it does not do: decide what goes into an entry (the app says
// whether the owner asked for the arguments, and gives the key), lock the
// files against other writers (the app is the only one: its database lock
// keeps a second instance out), or delete old entries other than by
// rotation.
//
// Files: entry.go (Entry, Filter), log.go (Log: append, rotate), read.go
// (Read, Follow).
package audit
