package app_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/mcpshare/mcpshare/app"
)

// TestSessionsBoundToUsers: a session of the built-in server opened by one
// user is unknown (404) to another user's valid token, and keeps working for
// its owner.
func TestSessionsBoundToUsers(t *testing.T) {
	ta := openTestApp(t, app.Options{})
	if err := ta.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	origin := ta.Status().LocalOrigin
	if err := ta.Auth().AddUser("alice", "alice-password-1"); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{}
	owner := authorize(t, ta, hc, origin, oauthClient{})
	f := newFlow(t, hc, origin, oauthClient{})
	code, loc := f.signIn(t, "alice", "alice-password-1")
	if code != http.StatusFound && code != http.StatusSeeOther {
		t.Fatalf("alice's login: %d", code)
	}
	other := f.finish(t, loc)

	mcpURL := origin + "/mcp/files"
	hdr := func(tok string, session string) http.Header {
		h := http.Header{
			"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"},
			"Accept": {"application/json, text/event-stream"}, "Mcp-Protocol-Version": {"2025-06-18"},
		}
		if session != "" {
			h.Set("Mcp-Session-Id", session)
		}
		return h
	}
	code, rh, body := do(t, hc, http.MethodPost, mcpURL, "", hdr(owner.AccessToken, ""), initializeBody)
	session := rh.Get("Mcp-Session-Id")
	if code != http.StatusOK || session == "" {
		t.Fatalf("initialize: %d session %q %s", code, session, body)
	}
	const initialized = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	const list = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	if code, _, body := do(t, hc, http.MethodPost, mcpURL, "", hdr(owner.AccessToken, session), initialized); code != http.StatusAccepted {
		t.Fatalf("initialized notification: %d %s", code, body)
	}
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		if code, _, body := do(t, hc, method, mcpURL, "", hdr(other.AccessToken, session), list); code != http.StatusNotFound {
			t.Errorf("%s with another user's session id: %d %s, want 404", method, code, body)
		}
	}
	if code, _, body := do(t, hc, http.MethodPost, mcpURL, "", hdr(owner.AccessToken, session), list); code != http.StatusOK {
		t.Fatalf("the owner's session after the intrusion: %d %s", code, body)
	}
	if code, _, _ := do(t, hc, http.MethodDelete, mcpURL, "", hdr(owner.AccessToken, session), ""); code != http.StatusNoContent && code != http.StatusOK {
		t.Errorf("DELETE by the owner: %d", code)
	}
	if code, _, _ := do(t, hc, http.MethodPost, mcpURL, "", hdr(owner.AccessToken, session), list); code != http.StatusNotFound {
		t.Errorf("a deleted session answers %d, want 404", code)
	}
}

// TestStopEndsOpenStreams: an open SSE GET stream (ChatGPT keeps one) does not
// hold Stop for the whole shutdown timeout.
func TestStopEndsOpenStreams(t *testing.T) {
	ta := openTestApp(t, app.Options{})
	if err := ta.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	origin := ta.Status().LocalOrigin
	hc := &http.Client{}
	tok := authorize(t, ta, hc, origin, oauthClient{})
	mcpURL := origin + "/mcp/files"
	hdr := http.Header{
		"Authorization": {"Bearer " + tok.AccessToken}, "Content-Type": {"application/json"},
		"Accept": {"application/json, text/event-stream"}, "Mcp-Protocol-Version": {"2025-06-18"},
	}
	code, rh, body := do(t, hc, http.MethodPost, mcpURL, "", hdr, initializeBody)
	if code != http.StatusOK {
		t.Fatalf("initialize: %d %s", code, body)
	}
	hdr.Set("Mcp-Session-Id", rh.Get("Mcp-Session-Id"))
	do(t, hc, http.MethodPost, mcpURL, "", hdr, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	req, _ := http.NewRequest(http.MethodGet, mcpURL, nil)
	req.Header = hdr.Clone()
	req.Header.Set("Accept", "text/event-stream")
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET stream: %v %v", err, resp)
	}
	streamDone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, resp.Body)
		close(streamDone)
	}()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ta.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Stop took %v with an open event stream", d)
	}
	select {
	case <-streamDone:
	case <-time.After(5 * time.Second):
		t.Error("the event stream is still open after Stop")
	}
}
