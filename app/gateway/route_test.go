package gateway

import (
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

func TestPeek(t *testing.T) {
	id0, _ := jsonrpc.MakeID(float64(0))
	idS, _ := jsonrpc.MakeID("a")
	for _, tc := range []struct {
		body       string
		id         *jsonrpc.ID
		initialize bool
		meta       string
		err        bool
	}{
		{body: `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`, id: &id0, initialize: true},
		{body: `{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, id: &idS, meta: "2026-07-28"},
		{body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`},
		{body: `[{"jsonrpc":"2.0","id":"a","method":"initialize"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`, id: &idS, initialize: true},
		{body: `{"jsonrpc":"2.0","id":null,"method":"x"}`},
		{body: ``, err: true},
		{body: `[]`, err: true},
		{body: `{"jsonrpc":`, err: true},
	} {
		p, err := peek([]byte(tc.body))
		if (err != nil) != tc.err {
			t.Errorf("peek(%s): err %v, want error %v", tc.body, err, tc.err)
			continue
		}
		if p.initialize != tc.initialize || p.metaVersion != tc.meta || (p.id == nil) != (tc.id == nil) || (p.id != nil && *p.id != *tc.id) {
			t.Errorf("peek(%s) = %+v, want id %v initialize %v meta %q", tc.body, p, tc.id, tc.initialize, tc.meta)
		}
	}
}
