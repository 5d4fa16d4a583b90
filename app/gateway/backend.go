package gateway

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/childproc"
)

// A backend is one running instance of a shared server: a go-sdk client
// session over stdio, HTTP or memory. Calls of the fronts go through it; the
// notifications and requests it sends come back to the call they belong to.
type backend struct {
	p       *pool
	key     bkey
	cs      *mcp.ClientSession
	cmd     *exec.Cmd // stdio servers: the process, for the final kill
	onClose []func()  // what else to release when the session ends
	started time.Time
	done    chan struct{} // closed once the session has ended and is cleaned up

	mu       sync.Mutex
	uses     int // calls in progress (and paused ones)
	lastUsed time.Time
	ending   bool   // no new uses: stopping, or the session ended
	stopped  bool   // ended by the gateway, not on its own
	cause    string // how it ended on its own, once ended
	seq      uint64
	calls    map[uint64]*call
	progress map[string]*call // progress tokens the backend was given -> call
	subs     map[string]int   // resource subscriptions, counted over sessions
}

// use counts one use; false once the backend is ending.
func (b *backend) use() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ending {
		return false
	}
	b.uses++
	b.lastUsed = b.p.g.now()
	return true
}

func (b *backend) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.uses--
	b.lastUsed = b.p.g.now()
}

// idleSince marks the backend as ending and reports true when it has had no
// use since before cutoff.
func (b *backend) idleSince(cutoff time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ending || b.uses > 0 || !b.lastUsed.Before(cutoff) {
		return false
	}
	b.ending = true
	return true
}

// evictable reports whether the backend may be stopped to make room, and
// when it was last used.
func (b *backend) evictable() (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cs != nil && !b.ending && b.uses == 0, b.lastUsed
}

// claim marks an idle backend as ending, so that no call starts on it while
// it is stopped to make room; false when it is in use or already ending.
func (b *backend) claim() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cs == nil || b.ending || b.uses > 0 {
		return false
	}
	b.ending = true
	return true
}

// stop ends the backend and returns once its process is gone.
func (b *backend) stop() {
	b.mu.Lock()
	b.ending, b.stopped = true, true
	b.mu.Unlock()
	if b.cs == nil {
		return
	}
	b.cs.Close()
	<-b.done
}

// finish runs once the session has ended (waitErr is why): it reaps the
// process and its tree and returns how the backend ended when that was not
// the gateway's doing ("" otherwise).
func (b *backend) finish(waitErr error) string {
	b.mu.Lock()
	b.ending = true
	stopped := b.stopped
	b.mu.Unlock()
	closeErr := b.cs.Close() // for stdio: closes stdin and reaps the process
	if b.cmd != nil {
		_ = childproc.KillTree(b.cmd)
	}
	for _, f := range b.onClose {
		f()
	}
	cause := ""
	if !stopped {
		cause = b.describeEnd(waitErr, closeErr)
	}
	b.mu.Lock()
	b.cause = cause
	calls := make([]*call, 0, len(b.calls))
	for _, c := range b.calls {
		calls = append(calls, c)
	}
	b.mu.Unlock()
	for _, c := range calls {
		c.backendEnded()
	}
	close(b.done)
	return cause
}

// describeEnd says in one sentence how a backend ended on its own.
func (b *backend) describeEnd(waitErr, closeErr error) string {
	name := b.p.spec.Name
	if isFrameTooLarge(waitErr) {
		return fmt.Sprintf("server %q sent a message over %d MiB, the limit of the stdio transport, and was stopped", name, mcp.DefaultMaxLineLength>>20)
	}
	if b.cmd != nil {
		if ps := b.cmd.ProcessState; ps != nil {
			if ps.Exited() {
				return fmt.Sprintf("server %q exited with status %d", name, ps.ExitCode())
			}
			return fmt.Sprintf("server %q was ended by %s", name, ps.String())
		}
		var ee *exec.ExitError
		if errors.As(closeErr, &ee) {
			return fmt.Sprintf("server %q ended: %s", name, ee.String())
		}
		return fmt.Sprintf("server %q closed its output", name)
	}
	if waitErr != nil {
		return fmt.Sprintf("the connection to server %q was lost: %v", name, waitErr)
	}
	return fmt.Sprintf("server %q ended the connection", name)
}

// isFrameTooLarge recognises the go-sdk's refusal of an over-long stdio line.
// The SDK's error value is unexported; TestOversizedLineIsNamed breaks if its
// text changes.
func isFrameTooLarge(err error) bool {
	return err != nil && strings.Contains(err.Error(), "exceeded the configured maximum line length")
}

// ended returns how the backend ended on its own, once it has.
func (b *backend) ended() (string, bool) {
	select {
	case <-b.done:
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.cause, true
	default:
		return "", false
	}
}

// begin registers a call of the front request fr; progress is whether the
// front asked for progress, in which case the backend gets a token of ours.
func (b *backend) begin(fr *frontReq, progress bool) *call {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	c := &call{b: b, id: b.seq, asks: make(chan *ask, maxAsks), notes: make(chan note, maxNotes), fr: fr, client: clientOf(fr)}
	if progress {
		c.token = fmt.Sprintf("mcpshare-%d", c.id)
		b.progress[c.token] = c
	}
	b.calls[c.id] = c
	return c
}

func (b *backend) end(c *call) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.calls, c.id)
	if c.token != "" {
		delete(b.progress, c.token)
	}
}

// asker returns the call a server's request during a call belongs to: the
// one call in progress. A server's requests carry no relation to the call
// that caused them (over stdio none at all), and a guess must never hand
// one call's question (a "confirm?" another could accept), roots or log to
// another call: with several calls in progress (paused ones aside), ok is
// false. With none, c is nil.
func (b *backend) asker() (c *call, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, running := range b.calls {
		if running.isPaused() {
			continue // its questions are asked; it waits for the client
		}
		if c != nil {
			return nil, false
		}
		c = running
	}
	return c, true
}

func (b *backend) progressCall(token string) *call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.progress[token]
}

// Bounds of what one call buffers from its backend: progress and log
// notifications beyond maxNotes are dropped while the client is slow, and a
// server may ask at most maxAsks questions at once.
const (
	maxNotes = 64
	maxAsks  = 8
)

// A call is one request of a front in progress at a backend.
type call struct {
	b      *backend
	id     uint64
	client string // the OAuth client of the front request that began it
	token  string // the progress token the backend was given, or ""
	asks   chan *ask
	notes  chan note

	mu     sync.Mutex
	fr     *frontReq // the client request it reports to (the latest one)
	paused bool      // waiting for a client to come back with input
}

// logger returns the call a server's log message during calls goes to: the
// most recent in progress, as long as every call in progress is of one
// OAuth client (a log cannot be answered, and one client's calls may well
// run side by side, as the conformance suite's do); with calls of several
// clients, ok is false.
func (b *backend) logger() (last *call, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.calls {
		if last != nil && c.client != last.client {
			return nil, false
		}
		if last == nil || c.id > last.id {
			last = c
		}
	}
	return last, true
}

// clientOf names the OAuth client of a front request ("" without a token).
func clientOf(fr *frontReq) string {
	if fr == nil || fr.token == nil {
		return ""
	}
	id, _ := fr.token.Extra[TokenClientID].(string)
	return id
}

// isPaused reports whether the call waits for its client to come back.
func (c *call) isPaused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// note hands a notification to the call's front request; it never blocks
// the backend: when the client is slow, notifications are dropped.
func (c *call) note(n note) {
	select {
	case c.notes <- n:
	default:
	}
}

// backendEnded is called when the backend's session ended during the call:
// questions it asked can no longer be answered.
func (c *call) backendEnded() {
	for {
		select {
		case a := <-c.asks:
			a.answer(nil, errors.New("the server stopped"))
		default:
			return
		}
	}
}

// An ask is a request of the server to the client (sampling, elicitation,
// roots) made during a call, waiting for the client's answer.
type ask struct {
	params mcp.InputRequest
	reply  chan askReply
}

type askReply struct {
	resp mcp.InputResponse
	err  error
}

func (a *ask) answer(resp mcp.InputResponse, err error) {
	select {
	case a.reply <- askReply{resp, err}:
	default:
	}
}

// note is a notification of the backend for the call's client.
type note struct {
	progress *mcp.ProgressNotificationParams
	log      *mcp.LoggingMessageParams
	elicited *mcp.ElicitationCompleteParams
}
