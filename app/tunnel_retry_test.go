package app

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpshare/mcpshare/tunnel"
	"github.com/mcpshare/mcpshare/tunnel/ngroktest"
)

// tunnelEvents collects the EventTunnel messages of a.
func tunnelEvents(a *App) func() []string {
	var mu sync.Mutex
	var msgs []string
	a.Subscribe(func(ev Event) {
		if ev.Kind == EventTunnel {
			mu.Lock()
			msgs = append(msgs, ev.Message)
			mu.Unlock()
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

func count(msgs []string, sub string) (n int) {
	for _, m := range msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

// TestTunnelRetriesWithoutNetwork: a tunnel that cannot reach ngrok tries
// again by itself, while local sharing goes on.
func TestTunnelRetriesWithoutNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing answers there: ngrok "cannot be reached"
	t.Setenv("NGROK_AUTHTOKEN", "2token")
	a := openTest(t, func(o *Options) { o.Tunnel, o.NgrokConnectURL = TunnelNgrok, closed })
	a.tunnelStartWithin, a.tunnelRetryFirst = 200*time.Millisecond, 20*time.Millisecond
	events := tunnelEvents(a)
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for count(events(), "trying again") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no retries: %q", events())
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := a.Status()
	if st.State != StateSharing || st.Tunnel == tunnel.StateOnline {
		t.Errorf("status while retrying: %+v", st)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestTunnelRejectedTokenIsNotRetried: a rejected token waits for the user.
func TestTunnelRejectedTokenIsNotRetried(t *testing.T) {
	svc := ngroktest.Start(t, ngroktest.WithAuthtoken("2good"))
	t.Setenv("NGROK_AUTHTOKEN", "2bad")
	a := openTest(t, func(o *Options) {
		o.Tunnel, o.NgrokConnectURL, o.NgrokConnectCAs = TunnelNgrok, svc.ConnectURL(), svc.CAs()
	})
	a.tunnelStartWithin, a.tunnelRetryFirst = 2*time.Second, 10*time.Millisecond
	events := tunnelEvents(a)
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for count(events(), "public URL failed") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no failure reported: %q", events())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // thirty retry periods
	if n := count(events(), "public URL failed"); n != 1 || count(events(), "trying again") != 0 {
		t.Errorf("a rejected token was retried: %q", events())
	}
}
