package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Connections kept alive without requests, and requests whose headers never
// end, are closed by the server: 300 of either hold nothing for long.
func TestIdleAndSlowConnectionsAreClosed(t *testing.T) {
	a := openTest(t, nil)
	a.idleTimeout, a.readHeaderTimeout = 300*time.Millisecond, 300*time.Millisecond
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(a.Status().LocalOrigin, "http://")
	const n = 300
	conns := make([]net.Conn, 0, 2*n)
	for i := range 2 * n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if i%2 == 0 {
			// A complete request on a kept-alive connection, then silence.
			fmt.Fprintf(c, "GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		} else {
			// Headers that trickle and never end.
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for i, c := range conns {
		c.SetReadDeadline(deadline)
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection %d of %d is still open after 20s", i, len(conns))
		}
		c.Close()
	}
}
