package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// countingReader is an endless request body that counts what was read of it.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	c.n += int64(len(p))
	return len(p), nil
}

// A POST body is bounded, also on a live session: a huge one is refused
// after the bound, not read whole.
func TestBodyIsBounded(t *testing.T) {
	tg := newTestGateway(t, Limits{MaxBodyBytes: 1 << 20}, stdioSpec("s"))
	cs := connect(t, tg.url("s"), "tok-alice", legacy, nil)
	for _, sid := range []string{"", cs.ID()} {
		body := &countingReader{}
		req, _ := http.NewRequest(http.MethodPost, tg.url("s"), io.LimitReader(body, 500<<20))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
		}
		resp, err := httpClient("tok-alice").Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("session %q: status %d, want 413", sid, resp.StatusCode)
			}
		}
		if body.n > 64<<20 {
			t.Errorf("session %q: the server took %d MiB of a body bounded at 1 MiB", sid, body.n>>20)
		}
	}
}

// A body that trickles in holds the request no longer than BodyReadTimeout.
func TestTricklingBodyIsCut(t *testing.T) {
	tg := newTestGateway(t, Limits{BodyReadTimeout: 300 * time.Millisecond}, stdioSpec("s"))
	u, _ := url.Parse(tg.url("s"))
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer tok-alice\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{", u.Path, u.Host)
	start := time.Now()
	done := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		done <- line
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(10 * time.Second)
	for {
		select {
		case line := <-done:
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("the trickling request was answered after %s", d)
			}
			if !strings.Contains(line, "400") && line != "" {
				t.Fatalf("answer %q, want 400 or a closed connection", line)
			}
			return
		case <-tick.C:
			conn.Write([]byte(" ")) // one byte at a time
		case <-giveUp:
			t.Fatal("the trickling request is still open after 10s")
		}
	}
}

// A client that stops reading its response loses that response, and the
// user's other calls on the same backend go on.
func TestClientThatStopsReadingPinsNothing(t *testing.T) {
	tg := newTestGateway(t, Limits{WriteStall: 300 * time.Millisecond}, stdioSpec("s"))
	cs := connect(t, tg.url("s"), "tok-alice", legacy, nil)
	before := runtime.NumGoroutine()
	u, _ := url.Parse(tg.url("s"))
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	body := `{"jsonrpc":"2.0","id":"stalled-call","method":"tools/call","params":{"name":"big","arguments":{"bytes":12000000}}}`
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer tok-alice\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: %s\r\nMcp-Protocol-Version: %s\r\nContent-Length: %d\r\n\r\n%s",
		u.Path, u.Host, cs.ID(), legacy, len(body), body)
	// Never read. Meanwhile the same user's calls are served.
	for i := range 5 {
		if got := callText(t, cs, "echo", map[string]any{"text": fmt.Sprint(i)}); got != fmt.Sprint(i) {
			t.Fatalf("echo = %q", got)
		}
	}
	// The stalled response is given up after WriteStall: the server closes
	// that connection (what the kernel still holds for it is the kernel's).
	open := tg.openConns()
	waitFor(t, func() bool { return tg.openConns() < open })
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before+10 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "after"}}); err != nil {
		t.Fatal(err)
	}
}
