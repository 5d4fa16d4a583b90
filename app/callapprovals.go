package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcpshare/mcpshare/app/gateway"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// Approval of calls: a call of an entry in ask waits in a queue that the
// tray, the window, desktop notifications and the terminal of `serve` show,
// until the owner approves it, denies it, or the bound passes.

// PendingCall is a call waiting for the owner's approval, as it is shown.
// Every text in it comes from the client or the server: show it through
// Printable (Arguments already is).
type PendingCall struct {
	ID      string
	Time    time.Time // when it began to wait
	Expires time.Time // when it fails unanswered
	User    string
	// ClientID and ClientName are the OAuth client the call came through.
	ClientID, ClientName string
	Server               string
	Kind                 string // EntryTool, EntryPrompt or EntryResource
	Name                 string // the server's own name of the tool or prompt, or the URI
	// Arguments are the call's arguments pretty-printed, truncated and
	// escaped (FormatArguments).
	Arguments string
	// CanRemember is whether "always allow" can apply: the call names its
	// client.
	CanRemember bool
}

// CallDecision is the owner's answer to a pending call.
type CallDecision string

// Answers to a pending call.
const (
	CallApprove CallDecision = "approve"
	CallDeny    CallDecision = "deny"
	// CallAlways approves the call and every later call of the same tool of
	// the same server by the same user through the same client.
	CallAlways CallDecision = "always"
)

// ErrCallNotFound: the call is no longer waiting (answered, timed out, or
// its client gave up).
var ErrCallNotFound = errors.New("the call is no longer waiting for approval")

// DefaultCallApprovalTimeout is how long a call waits for the owner.
const DefaultCallApprovalTimeout = gateway.DefaultApprovalTimeout

// MaxCallsWaitingPerClient bounds the calls of one user through one client
// that wait for the owner at once. Each is a tray item and a notification:
// without a bound one token could bury the owner under them, and a flood
// invites a mis-click. Past it a call is refused at once.
const MaxCallsWaitingPerClient = 5

// MaxCallsWaitingPerUser bounds them per user across clients, since a user
// can register as many clients as the registration limits allow.
const MaxCallsWaitingPerUser = 10

// approvals is the queue of calls waiting for the owner.
type approvals struct {
	a *App

	mu        sync.Mutex
	pending   map[string]*waiting
	approvers int

	// decideMu orders the owner's answers against removals of users,
	// clients and servers: an "always allow" is remembered and answered
	// wholly before or wholly after a removal forgets what it names, so a
	// removed user's, client's or server's approvals never come back.
	decideMu sync.Mutex
}

type waiting struct {
	call   PendingCall
	answer chan answer
}

type answer struct {
	d   CallDecision
	via string
}

// bucketRemembered holds the calls the owner always allows, by
// user\x00client\x00server\x00tool.
var bucketRemembered = []byte("app_call_approvals")

// approvalTimeout is how long a call waits for the owner in this run.
func (a *App) approvalTimeout() time.Duration {
	if a.opts.CallApprovalTimeout > 0 {
		return a.opts.CallApprovalTimeout
	}
	return DefaultCallApprovalTimeout
}

// AttachApprover says someone can answer pending calls (the window and
// tray, or the terminal of `serve`) until detach is called. While nobody
// is attached, calls that need approval fail at once with a reason: no
// call waits for an answer nobody can give.
func (a *App) AttachApprover() (detach func()) {
	q := a.gov.approvals
	q.mu.Lock()
	q.approvers++
	q.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			q.approvers--
			q.mu.Unlock()
		})
	}
}

// PendingCalls lists the calls waiting for approval, oldest first.
func (a *App) PendingCalls() []PendingCall {
	return a.gov.approvals.list()
}

func (q *approvals) list() []PendingCall {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]PendingCall, 0, len(q.pending))
	for _, w := range q.pending {
		out = append(out, w.call)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// waitingLocked counts the calls of user through client that wait.
func (q *approvals) waitingLocked(user, client string) (ofClient, ofUser int) {
	for _, w := range q.pending {
		if w.call.User == user {
			ofUser++
			if w.call.ClientID == client {
				ofClient++
			}
		}
	}
	return ofClient, ofUser
}

// DecideCall answers a pending call; via says where the owner answered
// (tray, notification, window, terminal) for the audit log. CallAlways is
// remembered for that user, client, server and tool.
func (a *App) DecideCall(id string, d CallDecision, via string) error {
	switch d {
	case CallApprove, CallDeny, CallAlways:
	default:
		return fmt.Errorf("%w: unknown answer %q to a call", ErrInvalidConfig, d)
	}
	q := a.gov.approvals
	q.decideMu.Lock()
	defer q.decideMu.Unlock()
	q.mu.Lock()
	w := q.pending[id]
	q.mu.Unlock()
	if w == nil {
		return fmt.Errorf("%w: %q", ErrCallNotFound, id)
	}
	if d == CallAlways {
		if !w.call.CanRemember {
			d = CallApprove
		} else if err := a.remember(w.call); err != nil {
			return err
		}
	}
	select {
	case w.answer <- answer{d, via}:
		return nil
	default:
		return fmt.Errorf("%w: %q", ErrCallNotFound, id) // answered a moment ago
	}
}

// clientOf is the client the guard verified for a call.
func clientOf(c gateway.Call) (id, name string) {
	if c.Token != nil {
		id, _ = c.Token.Extra[oauthserver.InfoClientID].(string)
		name, _ = c.Token.Extra[oauthserver.InfoClientName].(string)
	}
	return id, name
}

// approve is gateway.Policy.Approve.
func (q *approvals) approve(ctx context.Context, c gateway.Call) error {
	a := q.a
	clientID, clientName := clientOf(c)
	now := time.Now()
	pc := PendingCall{
		ID: newCallID(), Time: now, Expires: now.Add(a.approvalTimeout()),
		User: c.User, ClientID: clientID, ClientName: clientName, Server: c.Server, Kind: c.Kind, Name: c.Name,
		Arguments: FormatArguments(c.Arguments), CanRemember: clientID != "" && c.Kind == EntryTool,
	}
	// The owner must see what the server will get: JSON parsers keep the
	// last of a repeated key, and the owner would read the first.
	if dup, err := repeatedKey(c.Arguments); dup != "" || err != nil {
		reason := "invalid arguments: " + dup
		if err != nil {
			reason = "invalid arguments: " + err.Error()
		}
		a.gov.writeApproval(pc, "denied", reason)
		return errors.New(reason)
	}
	if pc.CanRemember && a.remembered(pc) {
		a.gov.writeApproval(pc, "remembered", "always allowed for this client")
		return nil
	}
	w := &waiting{call: pc, answer: make(chan answer, 1)}
	q.mu.Lock()
	if q.approvers == 0 {
		q.mu.Unlock()
		a.gov.writeApproval(pc, "denied", "nobody could be asked")
		return errors.New("MCP Share runs without a window or terminal to ask the owner in (start it with `mcpshare` or `mcpshare serve --approval ask` on a terminal, or allow the tool)")
	}
	ofClient, ofUser := q.waitingLocked(pc.User, pc.ClientID)
	if ofClient >= MaxCallsWaitingPerClient || ofUser >= MaxCallsWaitingPerUser {
		q.mu.Unlock()
		reason := fmt.Sprintf("%d calls of this client already wait for the owner's approval; wait for them to be answered", ofClient)
		if ofClient < MaxCallsWaitingPerClient {
			reason = fmt.Sprintf("%d calls of this user already wait for the owner's approval; wait for them to be answered", ofUser)
		}
		a.gov.writeApproval(pc, "denied", reason)
		return errors.New(reason)
	}
	q.pending[pc.ID] = w
	q.mu.Unlock()
	a.log.Info("a call waits for approval", "user", pc.User, "client", pc.ClientID, "server", pc.Server, "tool", pc.Name)
	a.events.emit(EventCalls, fmt.Sprintf("%s wants to call %s of %s", pc.User, pc.Name, pc.Server))
	defer func() {
		q.mu.Lock()
		delete(q.pending, pc.ID)
		q.mu.Unlock()
		a.events.emit(EventCalls, "the call of "+pc.Name+" no longer waits")
	}()
	select {
	case ans := <-w.answer:
		if ans.d == CallDeny {
			a.gov.writeApproval(pc, "denied", ans.via)
			return fmt.Errorf("%w in %s", gateway.ErrDenied, ans.via)
		}
		outcome := "approved"
		if ans.d == CallAlways {
			outcome = "always"
		}
		a.gov.writeApproval(pc, outcome, ans.via)
		return nil
	case <-ctx.Done():
		outcome := "timeout"
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			outcome = "cancelled"
		}
		a.gov.writeApproval(pc, outcome, "")
		return ctx.Err()
	}
}

func rememberKey(user, client, server, tool string) []byte {
	return []byte(strings.Join([]string{user, client, server, tool}, "\x00"))
}

// rememberKeyParts is a key of bucketRemembered, read back.
type rememberKeyParts struct{ user, client, server, tool string }

func parseRememberKey(k []byte) (rememberKeyParts, bool) {
	p := strings.Split(string(k), "\x00")
	if len(p) != 4 {
		return rememberKeyParts{}, false
	}
	return rememberKeyParts{p[0], p[1], p[2], p[3]}, true
}

// forgetRememberedTx deletes the remembered approvals that match, in tx.
func forgetRememberedTx(tx *bolt.Tx, match func(rememberKeyParts) bool) error {
	b := tx.Bucket(bucketRemembered)
	if b == nil {
		return nil
	}
	var doomed [][]byte
	b.ForEach(func(k, _ []byte) error {
		if p, ok := parseRememberKey(k); !ok || match(p) {
			doomed = append(doomed, k)
		}
		return nil
	})
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// forgetApprovals deletes the remembered approvals that match and, when why
// is given, denies the waiting calls that match (so that none is remembered
// afterwards), saying why.
func (a *App) forgetApprovals(match func(rememberKeyParts) bool, why string) error {
	a.gov.approvals.decideMu.Lock()
	defer a.gov.approvals.decideMu.Unlock()
	if why != "" {
		a.gov.approvals.deny(match, why)
	}
	if err := a.db.Update(func(tx *bolt.Tx) error { return forgetRememberedTx(tx, match) }); err != nil {
		return fmt.Errorf("forget the remembered approvals: %w", err)
	}
	return nil
}

// deny answers the waiting calls that match with a denial, via why.
func (q *approvals) deny(match func(rememberKeyParts) bool, why string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, w := range q.pending {
		c := w.call
		if match(rememberKeyParts{c.User, c.ClientID, c.Server, c.Name}) {
			select {
			case w.answer <- answer{CallDeny, why}:
			default: // answered a moment ago
			}
		}
	}
}

// RememberedCall is a tool the owner always allows for one user and client.
type RememberedCall struct {
	User, ClientID, ClientName, Server, Tool string
	Since                                    time.Time
}

type rememberedValue struct {
	ClientName string    `json:"client_name"`
	Since      time.Time `json:"since"`
}

func (a *App) remember(pc PendingCall) error {
	v, _ := json.Marshal(rememberedValue{ClientName: pc.ClientName, Since: time.Now()})
	err := a.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketRemembered)
		if err != nil {
			return err
		}
		return b.Put(rememberKey(pc.User, pc.ClientID, pc.Server, pc.Name), v)
	})
	if err != nil {
		return fmt.Errorf("remember the approval: %w", err)
	}
	return nil
}

func (a *App) remembered(pc PendingCall) bool {
	found := false
	a.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketRemembered); b != nil {
			found = b.Get(rememberKey(pc.User, pc.ClientID, pc.Server, pc.Name)) != nil
		}
		return nil
	})
	return found
}

// RememberedCalls lists the tools the owner always allows, by user, client,
// server and tool.
func (a *App) RememberedCalls() ([]RememberedCall, error) {
	var out []RememberedCall
	err := a.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRemembered)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			p, ok := parseRememberKey(k)
			if !ok {
				return nil
			}
			var rv rememberedValue
			json.Unmarshal(v, &rv)
			out = append(out, RememberedCall{User: p.user, ClientID: p.client, ClientName: rv.ClientName, Server: p.server, Tool: p.tool, Since: rv.Since})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read the remembered approvals: %w", err)
	}
	return out, nil
}

// ForgetCall makes the tool of r ask again for r's user and client.
func (a *App) ForgetCall(r RememberedCall) error {
	return a.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRemembered)
		if b == nil {
			return nil
		}
		return b.Delete(rememberKey(r.User, r.ClientID, r.Server, r.Tool))
	})
}

func newCallID() string { return "call-" + strings.ToLower(rand.Text()[:16]) }
