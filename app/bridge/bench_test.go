package bridge

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// benchCalls spreads b.N echo calls over the sessions, one goroutine each,
// and reports latency percentiles and throughput.
func benchCalls(b *testing.B, sessions []*mcp.ClientSession) {
	ctx := context.Background()
	params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "ping"}}
	durations := make([][]time.Duration, len(sessions))
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, cs := range sessions {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := cs.CallTool(ctx, params); err != nil {
					b.Error(err)
					return
				}
				durations[i] = append(durations[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(durations...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(all[len(all)*50/100].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(all[min(len(all)-1, len(all)*99/100)].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "calls/s")
}

// BenchmarkBridgeToolCall measures tools/call echo through the bridge over
// HTTP (loopback, go-sdk client), one child per session.
func BenchmarkBridgeToolCall(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			br := newBridge(b, Config{MaxSessions: n})
			ts := serve(b, br)
			var sessions []*mcp.ClientSession
			for range n {
				sessions = append(sessions, mustConnect(b, ts.URL, "tok-alice"))
			}
			benchCalls(b, sessions)
		})
	}
}

// BenchmarkDirectToolCall measures the same calls straight to the same
// server over stdio (go-sdk client with CommandTransport), for comparison.
func BenchmarkDirectToolCall(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			var sessions []*mcp.ClientSession
			for range n {
				c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
				cs, err := c.Connect(context.Background(), &mcp.CommandTransport{Command: exec.Command(serverBin)}, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { cs.Close() })
				sessions = append(sessions, cs)
			}
			benchCalls(b, sessions)
		})
	}
}
