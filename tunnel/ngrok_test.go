package tunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// statusLog records OnStatus calls.
type statusLog chan Status

func newStatusLog() statusLog       { return make(statusLog, 64) }
func (l statusLog) record(s Status) { l <- s }
func (l statusLog) next(t *testing.T) Status {
	t.Helper()
	select {
	case s := <-l:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no status reported")
		return Status{}
	}
}

// expect reads statuses until want, skipping "connecting" retries, and
// fails on any other state in between.
func (l statusLog) expect(t *testing.T, want State) Status {
	t.Helper()
	for {
		s := l.next(t)
		if s.State == want {
			return s
		}
		if s.State != StateConnecting {
			t.Fatalf("status %q (err %v) while waiting for %q", s.State, s.Err, want)
		}
	}
}

func startNgrok(t *testing.T, cfg NgrokConfig) (Provider, string, net.Listener, error, time.Duration) {
	t.Helper()
	p, err := Ngrok(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	begin := time.Now()
	origin, ln, err := p.Start(context.Background())
	return p, origin, ln, err, time.Since(begin)
}

func TestNgrokEmptyTokenFailsAtOnce(t *testing.T) {
	log := newStatusLog()
	_, origin, ln, err, took := startNgrok(t, NgrokConfig{Authtoken: "  \n", OnStatus: log.record,
		ConnectURL: "127.0.0.1:1", Timeout: 5 * time.Second})
	t.Logf("empty token: %v after %s", err, took)
	if !errors.Is(err, ErrNoAuthtoken) || origin != "" || ln != nil {
		t.Fatalf("Start = %q, %v, %v; want ErrNoAuthtoken", origin, ln, err)
	}
	if took > 100*time.Millisecond {
		t.Errorf("took %s; want immediate", took)
	}
	log.expect(t, StateConnecting)
	if s := log.expect(t, StateFailed); !errors.Is(s.Err, ErrNoAuthtoken) {
		t.Errorf("failed status err = %v", s.Err)
	}
}

func TestNgrokNoNetworkFailsWithinDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()

	const timeout = 800 * time.Millisecond
	log := newStatusLog()
	_, _, _, err, took := startNgrok(t, NgrokConfig{Authtoken: "token", OnStatus: log.record,
		ConnectURL: closedPort, Timeout: timeout})
	t.Logf("no network: %v after %s", err, took)
	if !errors.Is(err, ErrNoNetwork) {
		t.Fatalf("err = %v; want ErrNoNetwork", err)
	}
	if !strings.Contains(err.Error(), "could not reach ngrok: check the network") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("message %q should say what to do and why", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Errorf("took %s; want just over the %s deadline", took, timeout)
	}
	if s := log.expect(t, StateFailed); !errors.Is(s.Err, ErrNoNetwork) {
		t.Errorf("failed status err = %v", s.Err)
	}
}

func TestNgrokBadTokenIsRejected(t *testing.T) {
	const token = "2bad_token_xyz"
	fake := newFakeNgrok(t, "https://example.ngrok.app", withAuthError(
		"The authtoken you specified does not look like a proper ngrok authtoken.\nYour authtoken: "+token+"\nInstructions to install your authtoken are on your ngrok dashboard:\nhttps://dashboard.ngrok.com/get-started/your-authtoken\n\nERR_NGROK_105"))
	log := newStatusLog()
	_, _, _, err, took := startNgrok(t, NgrokConfig{Authtoken: token, OnStatus: log.record,
		ConnectURL: fake.ConnectURL(), ConnectCAs: fake.pool, Timeout: 10 * time.Second})
	t.Logf("bad token: %v after %s", err, took)
	if !errors.Is(err, ErrAuthtokenRejected) {
		t.Fatalf("err = %v; want ErrAuthtokenRejected", err)
	}
	if !strings.Contains(err.Error(), "ERR_NGROK_105") || !strings.Contains(err.Error(), "dashboard.ngrok.com/get-started/your-authtoken") {
		t.Errorf("message %q should carry the code and say what to do", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("message %q contains the token", err)
	}
	var coded interface{ Code() string }
	if !errors.As(err, &coded) || coded.Code() != "ERR_NGROK_105" {
		t.Errorf("Code() not ERR_NGROK_105 on %v", err)
	}
	if took > 2*time.Second {
		t.Errorf("took %s; a rejected token should not wait for the deadline", took)
	}
	if s := log.expect(t, StateFailed); !errors.Is(s.Err, ErrAuthtokenRejected) {
		t.Errorf("failed status err = %v", s.Err)
	}
}

func TestNgrokDomainNotReserved(t *testing.T) {
	fake := newFakeNgrok(t, "", withBindError(
		"This domain is reserved for another account.\nFailed to create an endpoint with the domain mine.ngrok.app for the account Someone.\n\nERR_NGROK_320"))
	_, _, _, err, took := startNgrok(t, NgrokConfig{Authtoken: "token", Domain: "mine.ngrok.app",
		ConnectURL: fake.ConnectURL(), ConnectCAs: fake.pool, Timeout: 10 * time.Second})
	t.Logf("domain not reserved: %v after %s", err, took)
	if !errors.Is(err, ErrDomainNotReserved) {
		t.Fatalf("err = %v; want ErrDomainNotReserved", err)
	}
	if !strings.Contains(err.Error(), "mine.ngrok.app") || !strings.Contains(err.Error(), "ERR_NGROK_320") {
		t.Errorf("message %q should name the domain and the code", err)
	}
}

// TestNgrokServesThroughAgent drives an HTTP request from a visitor through
// the fake service and the real agent to a handler served on the listener
// Start returned, then drops the session and checks the reconnect.
func TestNgrokServesThroughAgent(t *testing.T) {
	fake := newFakeNgrok(t, "https://Example.ngrok.app")
	log := newStatusLog()
	p, origin, ln, err, took := startNgrok(t, NgrokConfig{Authtoken: "token", Domain: "example.ngrok.app",
		OnStatus: log.record, ConnectURL: fake.ConnectURL(), ConnectCAs: fake.pool, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("online at %s after %s", origin, took)
	if origin != "https://example.ngrok.app" {
		t.Errorf("origin = %q", origin)
	}
	fake.waitBind(t)
	if s := log.expect(t, StateOnline); s.URL != origin {
		t.Errorf("online status URL = %q", s.URL)
	}

	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", r.Host, r.URL.Path, r.RemoteAddr)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	want := "example.ngrok.app /mcp/files " + fakeClientAddr
	if got := visit(t, fake, "/mcp/files"); got != want {
		t.Fatalf("response %q; want %q", got, want)
	}

	// A dropped session reconnects, binds again, and serves again.
	fake.dropSessions()
	s := log.expect(t, StateReconnecting)
	if s.Err == nil || s.URL != origin {
		t.Errorf("reconnecting status = %+v; want a reason and the URL", s)
	}
	fake.waitBind(t)
	if s := log.expect(t, StateOnline); s.URL != origin {
		t.Errorf("online again with URL %q", s.URL)
	}
	if got := visit(t, fake, "/mcp/files"); got != want {
		t.Fatalf("after reconnect: response %q; want %q", got, want)
	}

	srv.Close() // closes ln first, as an app shutting its server down would
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	log.expect(t, StateStopped)
	if _, err := ln.Accept(); err == nil {
		t.Error("listener still accepts after Close")
	}
	select {
	case s := <-log:
		t.Errorf("status %+v after stopped", s)
	case <-time.After(100 * time.Millisecond):
	}
}

// visit sends GET path with Host example.ngrok.app to the fake's public side.
func visit(t *testing.T, fake *fakeNgrok, path string) string {
	t.Helper()
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, fake.PublicAddr())
			},
		},
	}
	resp, err := client.Get("http://example.ngrok.app" + path)
	if err != nil {
		t.Fatalf("visit %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func TestNgrokStartAfterCloseAndTwice(t *testing.T) {
	fake := newFakeNgrok(t, "https://random-words.ngrok-free.app")
	p, origin, _, err, _ := startNgrok(t, NgrokConfig{Authtoken: "token",
		ConnectURL: fake.ConnectURL(), ConnectCAs: fake.pool, Timeout: 10 * time.Second})
	if err != nil || origin != "https://random-words.ngrok-free.app" {
		t.Fatalf("Start = %q, %v", origin, err)
	}
	if _, _, err := p.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	p.Close()
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	q, err := Ngrok(NgrokConfig{Authtoken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	if _, _, err := q.Start(context.Background()); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestNgrokCloseDuringStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()
	log := newStatusLog()
	p, err := Ngrok(NgrokConfig{Authtoken: "token", OnStatus: log.record, ConnectURL: closedPort, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-log // connecting
		p.Close()
	}()
	begin := time.Now()
	if _, _, err := p.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded")
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("Start returned %s after Close", took)
	}
}
