package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
)

// BenchmarkBinaryToolCall is a load run against the real binary: tools/call
// of the go-sdk's everything-server served by the go-sdk's own HTTP handler
// (direct), and the same server as a stdio child shared by `mcpshare serve`
// behind OAuth, at 1 and 16 concurrent sessions; calls/s and latency
// percentiles of each, in one run:
//
//	go test -run '^$' -bench BinaryToolCall -benchtime 5s ./cmd/mcpshare/
func BenchmarkBinaryToolCall(b *testing.B) {
	direct := startDirect(b, false)
	inst := serveWithCommand(b, "everything", goEverythingServer(b))
	url := inst.mcpURL(b, "everything")
	_, tok := preregistered(b, inst, url)
	for _, sessions := range []int{1, 16} {
		for _, target := range []struct {
			name, url string
			token     *oauth2.Token
		}{
			{"direct", direct, nil},
			{"mcpshare", url, tok},
		} {
			b.Run(fmt.Sprintf("%s/sessions=%d", target.name, sessions), func(b *testing.B) {
				css := make([]*mcp.ClientSession, sessions)
				for i := range css {
					css[i] = benchSession(b, target.url, target.token)
				}
				loadRun(b, css)
			})
		}
	}
}

// BenchmarkBinarySessionStart is a new session and its first tools/call on
// the real binary while the user's backend is warm.
func BenchmarkBinarySessionStart(b *testing.B) {
	inst := serveWithCommand(b, "everything", goEverythingServer(b))
	url := inst.mcpURL(b, "everything")
	_, tok := preregistered(b, inst, url)
	benchSession(b, url, tok).Close() // warms the backend
	b.ResetTimer()
	for b.Loop() {
		cs := benchSession(b, url, tok)
		benchToolCall(b, cs)
		cs.Close()
	}
}

func loadRun(b *testing.B, css []*mcp.ClientSession) {
	per := (b.N + len(css) - 1) / len(css)
	lat := make([][]time.Duration, len(css))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, cs := range css {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				t0 := time.Now()
				benchToolCall(b, cs)
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}

func benchToolCall(b *testing.B, cs *mcp.ClientSession) {
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "test_simple_text", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		b.Errorf("call: %v %+v", err, res)
	}
}

func benchSession(b *testing.B, url string, tok *oauth2.Token) *mcp.ClientSession {
	b.Helper()
	ctx := context.Background()
	hc := oauth2.NewClient(ctx, nil)
	if tok != nil {
		hc = oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, DisableStandaloneSSE: true}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs
}
