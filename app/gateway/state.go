package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// How long a client has to come back with the input a server asked for:
// the request state it got is refused after stateTTL, and a request paused
// at a session-based server is ended after pauseTTL.
const (
	stateTTL = 10 * time.Minute
	pauseTTL = 2 * time.Minute
)

// requestState is what the gateway's requestState carries (SEP-2322). It is
// sealed with a key of this process, so a client can echo it back but not
// change it, and bound to the user and the request it came from.
type requestState struct {
	User    string `json:"u"`
	Server  string `json:"s"`
	Kind    string `json:"k"`
	Name    string `json:"n"`
	Expires int64  `json:"e"`
	// Backend is the server's own requestState (a 2026-07-28 server).
	Backend string `json:"b,omitempty"`
	// Paused names a request paused at a session-based server.
	Paused string `json:"p,omitempty"`
	// Approved: the owner approved the call this state continues (its entry
	// was in ask), with the arguments of digest Args. Such a state is good
	// for one continuation of that very call (ID), never for other
	// arguments or a second run.
	Approved bool   `json:"a,omitempty"`
	Args     string `json:"d,omitempty"`
	ID       string `json:"i,omitempty"`
}

type stateKeys struct {
	key []byte

	mu   sync.Mutex
	used map[string]int64 // IDs of approved states continued, until they expire
}

func newStateKeys() *stateKeys {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return &stateKeys{key: k, used: map[string]int64{}}
}

// consume marks the approved state st as continued, reporting whether it
// was not before. The IDs it remembers are only those of approvals the
// owner gave within stateTTL.
func (k *stateKeys) consume(st requestState, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, exp := range k.used {
		if now.Unix() > exp {
			delete(k.used, id)
		}
	}
	if _, seen := k.used[st.ID]; seen || st.ID == "" {
		return false
	}
	k.used[st.ID] = st.Expires
	return true
}

func (k *stateKeys) seal(st requestState, now time.Time) string {
	if st.Approved {
		st.ID = newID()
	}
	st.Expires = now.Add(stateTTL).Unix()
	js, _ := json.Marshal(st)
	payload := base64.RawURLEncoding.EncodeToString(js)
	return payload + "." + base64.RawURLEncoding.EncodeToString(k.mac(payload))
}

var errBadState = errors.New("invalid requestState")

func (k *stateKeys) open(token string, now time.Time) (requestState, error) {
	var st requestState
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return st, errBadState
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, k.mac(payload)) {
		return st, errBadState
	}
	js, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(js, &st) != nil {
		return st, errBadState
	}
	if now.Unix() > st.Expires {
		return st, fmt.Errorf("%w: it expired", errBadState)
	}
	return st, nil
}

func (k *stateKeys) mac(payload string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// maxPausedPerUser bounds the calls of one user paused at session-based
// servers at once: each holds a call open at its server for pauseTTL, and a
// client that never comes back must not pile them up. Beyond it the
// server's question is refused (its call ends as the server decides).
const maxPausedPerUser = 16

// pausedOf counts user's paused calls.
func (g *Gateway) pausedOf(user string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.conts {
		if c.user == user {
			n++
		}
	}
	return n
}

// A continuation is a request paused at a session-based server that asked
// for input during a call of a 2026-07-28 client: the server waits for the
// answers, the client comes back with them in a new request.
type continuation struct {
	id      string
	run     *running
	user    string
	pending map[string]*ask // by the input request ids the client got
	next    int
	expires time.Time
}

// pause parks r with the server's question a (and any others already
// waiting) and returns the input_required result for the client.
func (f *front) pause(r *running, a *ask) mcp.Result {
	c := &continuation{id: newID(), run: r, user: f.user, pending: map[string]*ask{}, expires: f.g.now().Add(pauseTTL)}
	c.add(a)
	for more := true; more; {
		select {
		case a := <-r.c.asks:
			c.add(a)
		default:
			more = false
		}
	}
	return f.park(c)
}

func (c *continuation) add(a *ask) {
	c.next++
	c.pending[fmt.Sprintf("input-%d", c.next)] = a
}

// park stores c and returns the result asking for its pending input.
func (f *front) park(c *continuation) mcp.Result {
	c.run.c.attach(nil)
	irs := make(mcp.InputRequestMap, len(c.pending))
	for id, a := range c.pending {
		irs[id] = a.params
	}
	f.g.mu.Lock()
	f.g.conts[c.id] = c
	f.g.mu.Unlock()
	return c.run.o.asking(irs, f.seal(c.run, requestState{Paused: c.id}))
}

// resume continues a paused request with the client's answers; questions
// still unanswered are asked again.
func (f *front) resume(fr *frontReq, id string) (mcp.Result, error) {
	f.g.mu.Lock()
	c := f.g.conts[id]
	delete(f.g.conts, id)
	f.g.mu.Unlock()
	if c == nil || c.user != f.user || c.run.f != f {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "the paused request is gone (it waited too long for input, or MCP Share restarted); send the request again"}
	}
	for k, a := range c.pending {
		if resp, ok := fr.responses[k]; ok && resp != nil {
			a.answer(resp, nil)
			delete(c.pending, k)
		}
	}
	if len(c.pending) > 0 {
		c.expires = f.g.now().Add(pauseTTL)
		return f.park(c), nil
	}
	return f.drive(fr, c.run)
}

// abandon ends a paused request whose client did not come back.
func (c *continuation) abandon() {
	for _, a := range c.pending {
		a.answer(nil, errors.New("the client did not answer in time"))
	}
	c.run.finish()
}

// attach points the call's notifications at the client request fr (nil
// while paused: they are dropped).
func (c *call) attach(fr *frontReq) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fr != nil {
		c.fr = fr
	}
	c.paused = fr == nil
}
