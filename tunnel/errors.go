package tunnel

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Errors the GUI explains. Match them with errors.Is; the error Start returns
// also carries the ngrok code (ERR_NGROK_…) in its message and through a
// Code() string method.
var (
	ErrNoAuthtoken       = errors.New("no ngrok authtoken: copy yours from dashboard.ngrok.com/get-started/your-authtoken and save it in MCP Share")
	ErrAuthtokenRejected = errors.New("the ngrok authtoken was rejected: copy it again from dashboard.ngrok.com/get-started/your-authtoken")
	ErrDomainNotReserved = errors.New("the ngrok domain is not reserved for this account: reserve it at dashboard.ngrok.com/domains, or clear the domain to get a random URL")
	ErrDomainInUse       = errors.New("this ngrok domain or account is already online in another ngrok agent: stop that agent, then share again")
	ErrNoNetwork         = errors.New("could not reach ngrok: check the network")
)

// errClosed is returned by Start when Close ends it.
var errClosed = errors.New("tunnel: provider closed")

// codeKinds maps ngrok error codes (https://ngrok.com/docs/errors) to the
// typed errors above. Codes not listed keep ngrok's own message.
var codeKinds = map[string]error{
	"ERR_NGROK_4018":  ErrNoAuthtoken,       // usage of ngrok requires a verified account and authtoken
	"ERR_NGROK_105":   ErrAuthtokenRejected, // does not look like an ngrok authtoken
	"ERR_NGROK_106":   ErrAuthtokenRejected, // an ngrok v1 authtoken
	"ERR_NGROK_107":   ErrAuthtokenRejected, // well formed but invalid (reset, revoked, removed from team)
	"ERR_NGROK_300":   ErrAuthtokenRejected, // credential revoked
	"ERR_NGROK_313":   ErrDomainNotReserved, // custom subdomains need a paid plan (domain not reserved)
	"ERR_NGROK_314":   ErrDomainNotReserved, // custom hostnames need a paid plan
	"ERR_NGROK_319":   ErrDomainNotReserved, // custom hostname must be reserved first
	"ERR_NGROK_320":   ErrDomainNotReserved, // domain reserved for another account
	"ERR_NGROK_354":   ErrDomainNotReserved, // nested subdomain of an ngrok domain must be reserved
	"ERR_NGROK_15000": ErrDomainNotReserved, // plan does not allow endpoints on this base domain
	"ERR_NGROK_108":   ErrDomainInUse,       // simultaneous agent session limit reached
	"ERR_NGROK_334":   ErrDomainInUse,       // endpoint already online
}

// permanent reports whether retrying cannot fix kind, so Start should give up
// at once instead of waiting for its deadline while the SDK retries.
func permanent(kind error) bool {
	return kind == ErrNoAuthtoken || kind == ErrAuthtokenRejected || kind == ErrDomainInUse
}

var codePattern = regexp.MustCompile(`ERR_NGROK_\d+`)

// ngrokCode extracts ngrok's error code from err: ngrok.Error's Code, the
// SDK's internal ErrorCode (on errors passed to event handlers), or the code
// written in the message.
func ngrokCode(err error) string {
	var coded interface{ Code() string }
	if errors.As(err, &coded) && coded.Code() != "" {
		return coded.Code()
	}
	var legacy interface{ ErrorCode() string }
	if errors.As(err, &legacy) && legacy.ErrorCode() != "" {
		return legacy.ErrorCode()
	}
	return codePattern.FindString(err.Error())
}

// failure is a classified ngrok error: its message says what to do, errors.Is
// matches the typed error, and Code gives ngrok's code.
type failure struct {
	kind  error // one of the Err… values, or nil for codes without one
	code  string
	msg   string
	cause error // unwrapped too, but only when its text cannot hold the token
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Code() string  { return f.code }
func (f *failure) Unwrap() []error {
	var errs []error
	if f.kind != nil {
		errs = append(errs, f.kind)
	}
	if f.cause != nil {
		errs = append(errs, f.cause)
	}
	return errs
}

// classify turns an error from the ngrok SDK into a failure the user can act
// on. domain names the reserved domain in messages; token is removed from any
// text ngrok sent back (its auth errors quote the token).
func classify(err error, domain, token string) error {
	if err == nil {
		return nil
	}
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	code := ngrokCode(err)
	kind := codeKinds[code]
	switch {
	case kind == ErrDomainNotReserved && domain != "":
		return &failure{kind: kind, code: code, msg: fmt.Sprintf("%s: the ngrok domain %s is not reserved for the account of this authtoken: reserve it at dashboard.ngrok.com/domains (or use the authtoken of the account that did), or clear the domain to get a random URL", code, domain)}
	case kind == ErrDomainInUse && domain != "":
		return &failure{kind: kind, code: code, msg: fmt.Sprintf("%s: the ngrok domain %s is already online in another ngrok agent: stop that agent, then share again", code, domain)}
	case kind != nil:
		return &failure{kind: kind, code: code, msg: code + ": " + kind.Error()}
	case code != "":
		return &failure{code: code, msg: fmt.Sprintf("ngrok refused: %s (%s, see https://ngrok.com/docs/errors/%s)", ngrokMessage(err, token), code, strings.ToLower(code))}
	}
	return &failure{kind: ErrNoNetwork, msg: fmt.Sprintf("%s (%s)", ErrNoNetwork, redact(err.Error(), token)), cause: err}
}

// classifyTimeout is the error for a Start that ran out of time; last is the
// last error the SDK reported while retrying, if any.
func classifyTimeout(last error, timeout time.Duration, domain, token string) error {
	if last != nil {
		if f := classify(last, domain, token).(*failure); f.code != "" {
			return f
		}
		return &failure{kind: ErrNoNetwork, cause: last,
			msg: fmt.Sprintf("%s (gave up after %s: %s)", ErrNoNetwork, timeout, redact(last.Error(), token))}
	}
	return &failure{kind: ErrNoNetwork,
		msg: fmt.Sprintf("%s (no answer from ngrok within %s)", ErrNoNetwork, timeout)}
}

// ngrokMessage is the first line of ngrok's message without the code and
// without the token.
func ngrokMessage(err error, token string) string {
	msg := err.Error()
	var m interface{ Msg() string }
	if errors.As(err, &m) {
		msg = m.Msg()
	}
	for line := range strings.SplitSeq(msg, "\n") {
		line = strings.TrimSpace(codePattern.ReplaceAllString(line, ""))
		if line != "" {
			return redact(line, token)
		}
	}
	return "no message"
}

func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "HIDDEN")
}
