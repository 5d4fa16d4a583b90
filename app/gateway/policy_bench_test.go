package gateway

import (
	"context"
	"fmt"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/audit"
)

// allowAll is a Policy as the app's is in the common case: every entry
// looked up, none hidden or waiting.
type allowAll struct{ states map[string]Access }

func (p allowAll) Access(e Entry) Access {
	if a, ok := p.states[e.Server+" "+e.Name]; ok {
		return a
	}
	return AccessAllowed
}
func (allowAll) Approve(context.Context, Call) error { return nil }

// BenchmarkToolCallGoverned compares tools/call through the gateway
// without a policy or audit log with the same calls under a policy (every
// call checked) and an audit log written to a real file (every call a
// line, arguments keyed-digested as the app does), in one run:
//
//	go test -run '^$' -bench ToolCallGoverned -benchtime 3s ./app/gateway/
func BenchmarkToolCallGoverned(b *testing.B) {
	spec := ServerSpec{Name: "ev", Kind: KindStdio, Command: everythingServer}
	plain := newTestGateway(b, Limits{}, spec)
	log, err := audit.Open(b.TempDir(), audit.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	key := []byte("the installation's audit key, 32 bytes")
	governed := newTestGatewayConfig(b, Config{
		Policy: allowAll{states: map[string]Access{"ev test_error_handling": AccessHidden}},
		MayUse: func(user, server string) bool { return user != "mallory" },
		Audit: func(r Record) {
			e := audit.Entry{Time: r.Start, Event: r.Method, User: r.User, Server: r.Server, Name: r.Name,
				Outcome: r.Outcome, Detail: r.Detail, DurationMS: audit.Duration(r.Duration)}
			e.PutArguments(r.Arguments, key, false)
			log.Write(e)
		},
	}, spec)
	for _, sessions := range []int{1, 16} {
		for _, target := range []struct {
			name string
			tg   *testGateway
		}{{"plain", plain}, {"governed", governed}} {
			b.Run(fmt.Sprintf("%s/sessions=%d", target.name, sessions), func(b *testing.B) {
				css := make([]*mcp.ClientSession, sessions)
				for i := range css {
					css[i] = benchConnect(b, target.tg.url("ev"), "tok-alice")
				}
				benchCalls(b, css)
			})
		}
	}
}
