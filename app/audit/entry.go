package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Events of an Entry.
const (
	EventToolCall     = "tools/call"
	EventPromptGet    = "prompts/get"
	EventResourceRead = "resources/read"
	EventSignIn       = "signin"   // a sign-in was decided (Outcome: approved, denied, expired)
	EventApproval     = "approval" // the owner answered a call that waited (Outcome: approved, denied, timeout, cancelled, remembered)
)

// Outcomes of a call (tools/call, prompts/get, resources/read).
const (
	OutcomeOK     = "ok"     // the server answered with a result
	OutcomeError  = "error"  // the server, or the gateway, answered with an error (a tool's isError too)
	OutcomeDenied = "denied" // the owner denied it, it was not approved in time, or the user may not use the server
	OutcomeHidden = "hidden" // the owner hid the tool, prompt or resource
)

// Entry is one line of the audit log.
type Entry struct {
	Time  time.Time `json:"time"`
	Event string    `json:"event"`
	// User is the signed-in user; Client and ClientName the OAuth client
	// (its ID, and the name it registered).
	User       string `json:"user,omitempty"`
	Client     string `json:"client,omitempty"`
	ClientName string `json:"client_name,omitempty"`
	Server     string `json:"server,omitempty"`
	// Name is the tool's or prompt's own name at its server, or a resource's URI.
	Name string `json:"name,omitempty"`
	// ArgsSHA256 is the digest of the arguments (see Digest); Args holds
	// them in full only when the owner turned that on for the server.
	ArgsSHA256 string          `json:"args_sha256,omitempty"`
	Args       json.RawMessage `json:"args,omitempty"`
	Outcome    string          `json:"outcome,omitempty"`
	// Detail says more: the error's message, why a call was denied, who
	// answered an approval.
	Detail     string  `json:"detail,omitempty"`
	DurationMS float64 `json:"duration_ms,omitempty"`
	// Address is where a sign-in came from.
	Address string `json:"address,omitempty"`
	// Resource is the MCP URL a sign-in was for.
	Resource string `json:"resource,omitempty"`
}

// IsCall reports whether e records a request through the gateway.
func (e Entry) IsCall() bool {
	switch e.Event {
	case EventToolCall, EventPromptGet, EventResourceRead:
		return true
	}
	return false
}

// Digest is the SHA-256 (hex) of arguments in a canonical form (objects'
// keys sorted, no spaces), so that the same arguments give the same digest
// however a client spelled them. Empty arguments give "".
func Digest(args json.RawMessage) string {
	if len(args) == 0 || string(args) == "null" {
		return ""
	}
	canon := []byte(args)
	var v any
	if json.Unmarshal(args, &v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

// Duration converts d to the milliseconds of DurationMS (to the microsecond).
func Duration(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// Filter selects entries; an empty field matches every entry.
type Filter struct {
	User, Server, Outcome, Event string
	// Since, when set, drops entries before it.
	Since time.Time
}

// Match reports whether e passes f.
func (f Filter) Match(e Entry) bool {
	return (f.User == "" || f.User == e.User) &&
		(f.Server == "" || f.Server == e.Server) &&
		(f.Outcome == "" || f.Outcome == e.Outcome) &&
		(f.Event == "" || f.Event == e.Event) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since))
}
