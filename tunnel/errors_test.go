package tunnel

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// codedErr mimics ngrok.Error (Code) and legacyErr the SDK's internal error
// that event handlers receive (ErrorCode).
type codedErr struct{ msg, code string }

func (e codedErr) Error() string { return e.msg }
func (e codedErr) Code() string  { return e.code }

type legacyErr struct{ msg string }

func (e legacyErr) Error() string     { return e.msg }
func (e legacyErr) Msg() string       { return strings.Split(e.msg, "\n\n")[0] }
func (e legacyErr) ErrorCode() string { return codePattern.FindString(e.msg) }

func TestClassify(t *testing.T) {
	const token = "secret-token-123"
	tests := []struct {
		name     string
		err      error
		domain   string
		kind     error // nil: no typed error
		code     string
		contains []string
	}{
		{"no token", codedErr{"Usage of ngrok requires a verified account and authtoken.", "ERR_NGROK_4018"}, "", ErrNoAuthtoken, "ERR_NGROK_4018", []string{"dashboard.ngrok.com"}},
		{"malformed token", codedErr{"does not look like a proper ngrok authtoken. Your authtoken: " + token, "ERR_NGROK_105"}, "", ErrAuthtokenRejected, "ERR_NGROK_105", []string{"copy it again from dashboard.ngrok.com/get-started/your-authtoken"}},
		{"reset token", fmt.Errorf("failed to connect: %w", codedErr{"properly formed, but it is invalid", "ERR_NGROK_107"}), "", ErrAuthtokenRejected, "ERR_NGROK_107", nil},
		{"revoked credential", codedErr{"revoked", "ERR_NGROK_300"}, "", ErrAuthtokenRejected, "ERR_NGROK_300", nil},
		{"legacy event error", fmt.Errorf("authentication failed: %w", legacyErr{"bad token " + token + "\n\nERR_NGROK_105"}), "", ErrAuthtokenRejected, "ERR_NGROK_105", nil},
		{"code only in text", errors.New("failed: bad\n\nERR_NGROK_107"), "", ErrAuthtokenRejected, "ERR_NGROK_107", nil},
		{"paid subdomain", codedErr{"Custom subdomains are a feature on ngrok's paid plans.", "ERR_NGROK_313"}, "me.ngrok.app", ErrDomainNotReserved, "ERR_NGROK_313", []string{"me.ngrok.app", "dashboard.ngrok.com/domains"}},
		{"must reserve", codedErr{"You must reserve a custom hostname", "ERR_NGROK_319"}, "me.example.com", ErrDomainNotReserved, "ERR_NGROK_319", []string{"me.example.com"}},
		{"other account", codedErr{"reserved for another account", "ERR_NGROK_320"}, "me.ngrok.app", ErrDomainNotReserved, "ERR_NGROK_320", nil},
		{"already online", codedErr{"The endpoint is already online", "ERR_NGROK_334"}, "me.ngrok.app", ErrDomainInUse, "ERR_NGROK_334", []string{"me.ngrok.app", "stop"}},
		{"session limit", codedErr{"simultaneous ngrok agent sessions", "ERR_NGROK_108"}, "", ErrDomainInUse, "ERR_NGROK_108", nil},
		{"unknown code keeps ngrok's words", codedErr{"Something new happened for " + token + ".\n\nERR_NGROK_9999", "ERR_NGROK_9999"}, "", nil, "ERR_NGROK_9999", []string{"Something new happened", "ngrok.com/docs/errors/err_ngrok_9999"}},
		{"dial error", errors.New(`failed to dial ngrok server with address "connect.ngrok-agent.com:443": dial tcp: lookup connect.ngrok-agent.com: no such host`), "", ErrNoNetwork, "", []string{"could not reach ngrok: check the network", "no such host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.err, tt.domain, token)
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("%v is not %v", err, tt.kind)
			}
			for _, k := range []error{ErrNoAuthtoken, ErrAuthtokenRejected, ErrDomainNotReserved, ErrDomainInUse, ErrNoNetwork} {
				if k != tt.kind && errors.Is(err, k) {
					t.Errorf("%v also matches %v", err, k)
				}
			}
			var coded interface{ Code() string }
			if !errors.As(err, &coded) || coded.Code() != tt.code {
				t.Errorf("Code() of %v; want %q", err, tt.code)
			}
			if tt.code != "" && !strings.Contains(err.Error(), tt.code) {
				t.Errorf("message %q lacks the code", err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("message %q contains the token", err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestClassifyTimeout(t *testing.T) {
	err := classifyTimeout(nil, 20*time.Second, "", "")
	if !errors.Is(err, ErrNoNetwork) || !strings.Contains(err.Error(), "20s") {
		t.Errorf("no last error: %v", err)
	}
	dial := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	err = classifyTimeout(dial, time.Second, "", "")
	if !errors.Is(err, ErrNoNetwork) || !errors.Is(err, dial) || strings.Count(err.Error(), "could not reach") != 1 {
		t.Errorf("dial error: %v", err)
	}
	err = classifyTimeout(codedErr{"limit", "ERR_NGROK_108"}, time.Second, "", "")
	if !errors.Is(err, ErrDomainInUse) {
		t.Errorf("coded error: %v", err)
	}
}
