package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
	"unicode/utf8"
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
	// ArgsHMAC is the keyed digest of the whole arguments (see HMAC),
	// always there when a call had arguments. Only when the owner turned
	// that on for the server are the arguments kept too (see
	// PutArguments): in Args when their canonical JSON fits MaxArgsBytes,
	// else its first MaxArgsBytes in ArgsStart, with ArgsBytes its whole
	// length.
	ArgsHMAC  string          `json:"args_hmac,omitempty"`
	Args      json.RawMessage `json:"args,omitempty"`
	ArgsStart string          `json:"args_start,omitempty"`
	ArgsBytes int             `json:"args_bytes,omitempty"`
	// ArgsSHA256 is the unkeyed digest that entries written before
	// ArgsHMAC carry; nothing writes it any more.
	ArgsSHA256 string `json:"args_sha256,omitempty"`
	Outcome    string `json:"outcome,omitempty"`
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

// MaxArgsBytes bounds the arguments kept in one entry, so that a few large
// calls do not rotate the whole history away.
const MaxArgsBytes = 4 << 10

// Canonical is arguments in a canonical form: objects' keys sorted (of a
// repeated key, its last value, as parsers read it), no spaces, numbers as
// written. Arguments that are not JSON come back as they are.
func Canonical(args json.RawMessage) []byte {
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return args
	}
	b, err := json.Marshal(v)
	if err != nil {
		return args
	}
	return b
}

// HMAC is the HMAC-SHA256 (hex) under key of the canonical arguments, so
// that the same arguments give the same digest however a client spelled
// them, while nobody without the key can confirm a guess of short
// arguments (a yes, a path, a PIN) against it. Empty arguments give "".
func HMAC(key []byte, args json.RawMessage) string {
	if len(args) == 0 || string(args) == "null" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write(Canonical(args))
	return hex.EncodeToString(m.Sum(nil))
}

// PutArguments records a call's arguments in e: their HMAC under key, and
// with keep the canonical arguments themselves, cut past MaxArgsBytes.
func (e *Entry) PutArguments(args json.RawMessage, key []byte, keep bool) {
	e.ArgsHMAC = HMAC(key, args)
	if !keep || e.ArgsHMAC == "" {
		return
	}
	canon := Canonical(args)
	if len(canon) <= MaxArgsBytes && json.Valid(canon) {
		e.Args = canon
		return
	}
	n := min(len(canon), MaxArgsBytes)
	for n > 0 && n < len(canon) && !utf8.RuneStart(canon[n]) {
		n--
	}
	e.ArgsStart, e.ArgsBytes = string(canon[:n]), len(canon)
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
