package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkToolCall compares tools/call of the go-sdk's everything-server
// served by the go-sdk's own HTTP handler (direct) with the same server as a
// stdio child shared through the gateway, at 1 and 16 concurrent sessions
// of the session era. Run both in one go:
//
//	go test -run '^$' -bench ToolCall -benchtime 3s ./app/gateway/
func BenchmarkToolCall(b *testing.B) {
	direct := startDirectEverything(b)
	tg := newTestGateway(b, Limits{}, ServerSpec{Name: "ev", Kind: KindStdio, Command: everythingServer})
	for _, sessions := range []int{1, 16} {
		for _, target := range []struct{ name, url, token string }{
			{"direct", direct, ""},
			{"gateway", tg.url("ev"), "tok-alice"},
		} {
			b.Run(fmt.Sprintf("%s/sessions=%d", target.name, sessions), func(b *testing.B) {
				css := make([]*mcp.ClientSession, sessions)
				for i := range css {
					css[i] = benchConnect(b, target.url, target.token)
				}
				benchCalls(b, css)
			})
		}
	}
}

// BenchmarkSessionStart is a new session (initialize, initialized) and its
// first tools/call while the user's backend is warm.
func BenchmarkSessionStart(b *testing.B) {
	tg := newTestGateway(b, Limits{SessionsPerUser: 1 << 20}, ServerSpec{Name: "ev", Kind: KindStdio, Command: everythingServer})
	benchConnect(b, tg.url("ev"), "tok-alice") // warms the backend
	b.ResetTimer()
	for b.Loop() {
		cs := benchConnect(b, tg.url("ev"), "tok-alice")
		benchCall(b, cs)
		cs.Close()
	}
}

func benchCalls(b *testing.B, css []*mcp.ClientSession) {
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := (b.N + len(css) - 1) / len(css)
	for _, cs := range css {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				benchCall(b, cs)
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*len(css))/time.Since(start).Seconds(), "calls/s")
}

func benchCall(b *testing.B, cs *mcp.ClientSession) {
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "test_simple_text", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		b.Errorf("call: %v %+v", err, res)
	}
}

func benchConnect(b *testing.B, url, token string) *mcp.ClientSession {
	b.Helper()
	hc := http.DefaultClient
	if token != "" {
		hc = httpClient(token)
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, DisableStandaloneSSE: true}, &mcp.ClientSessionOptions{ProtocolVersion: legacy})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs
}

// startDirectEverything runs the everything-server on the go-sdk's own
// stateful HTTP handler.
func startDirectEverything(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	startProcess(b, everythingServer, "-http", addr, "-stateless=false")
	waitFor(b, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "http://" + addr + "/"
}
