package tunnel

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/mcpshare/mcpshare/tunnel/ngroktest"
)

// fakeNgrok adapts ngroktest.Service (the fake ngrok service the real agent connects to
// through ConnectURL and ConnectCAs) to the names this package's tests use.
type fakeNgrok struct {
	*ngroktest.Service
	pool *x509.CertPool
}

const fakeClientAddr = ngroktest.ClientAddr

type fakeOption = ngroktest.Option

func withAuthError(msg string) fakeOption { return ngroktest.WithAuthError(msg) }
func withBindError(msg string) fakeOption { return ngroktest.WithBindError(msg) }

// newFakeNgrok starts a fake service whose Bind answers url ("" for the URL the agent asked for).
func newFakeNgrok(t *testing.T, url string, opts ...fakeOption) *fakeNgrok {
	t.Helper()
	if url != "" {
		opts = append([]fakeOption{ngroktest.WithURL(url)}, opts...)
	}
	s := ngroktest.Start(t, opts...)
	return &fakeNgrok{Service: s, pool: s.CAs()}
}

func (f *fakeNgrok) dropSessions() { f.DropSessions() }

func (f *fakeNgrok) waitBind(t *testing.T) {
	t.Helper()
	if _, ok := f.WaitBind(10 * time.Second); !ok {
		t.Fatal("the agent did not bind")
	}
}
