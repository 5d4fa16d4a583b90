package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mcpshare/mcpshare/app/audit"
	"github.com/mcpshare/mcpshare/app/gateway"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// governance is what the owner decides about the shared servers, and its
// record: the rules, the calls waiting for approval and the audit log. It
// is the gateway's Policy.
type governance struct {
	a         *App
	rules     rulebook
	approvals *approvals

	mu      sync.Mutex
	log     *audit.Log
	logErr  error // why the log could not be opened (once)
	counts  map[string]*AuditCount
	counted bool            // counts hold what the files held at the first count
	signIns map[string]bool // decided sign-ins already written

	// key is the installation's key of the arguments' digests, read from
	// the secret store on the first call recorded.
	key func() []byte
}

var _ gateway.Policy = (*governance)(nil)

func newGovernance(a *App) *governance {
	g := &governance{a: a, signIns: map[string]bool{}, counts: map[string]*AuditCount{}, key: sync.OnceValue(a.loadAuditKey)}
	g.approvals = &approvals{a: a, pending: map[string]*waiting{}}
	a.events.subscribe(func(ev Event) {
		if ev.Kind == EventSignIn {
			g.signInsChanged()
		}
	})
	return g
}

// Access is gateway.Policy.Access.
func (g *governance) Access(e gateway.Entry) gateway.Access { return g.rules.access(e) }

// Approve is gateway.Policy.Approve.
func (g *governance) Approve(ctx context.Context, c gateway.Call) error {
	return g.approvals.approve(ctx, c)
}

// AuditPath is the file the audit log is written to.
func (a *App) AuditPath() string { return a.opts.ConfigDir + "/" + audit.FileName }

// Bounds of an audit entry's text fields (bytes).
const (
	maxAuditName   = 256
	maxAuditDetail = 500
)

// write appends e to the audit log, opening it on first use. A log that
// cannot be written is said once in the app's log; sharing goes on.
func (g *governance) write(e audit.Entry) {
	// What clients name (a tool, a client) and what refusals quote from
	// them is bounded like the arguments, so that no line is large enough
	// to rotate the history away.
	e.Name, e.ClientName = truncate(e.Name, maxAuditName), truncate(e.ClientName, maxAuditName)
	e.Client, e.Server = truncate(e.Client, maxAuditName), truncate(e.Server, maxAuditName)
	e.User, e.Detail = truncate(e.User, maxAuditName), truncate(e.Detail, maxAuditDetail)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.log == nil && g.logErr == nil {
		g.log, g.logErr = audit.Open(g.a.opts.ConfigDir, audit.Options{})
		if g.logErr != nil {
			g.a.log.Error("the audit log cannot be written", "err", g.logErr)
		}
	}
	if g.log == nil {
		return
	}
	if err := g.log.Write(e); err != nil {
		g.a.log.Error("an audit entry could not be written", "err", err)
	}
	if g.counted {
		g.countLocked(e)
	}
}

// close closes the audit log.
func (g *governance) close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.log == nil {
		return nil
	}
	err := g.log.Close()
	g.log = nil
	return err
}

// record is gateway.Config.Audit: one entry per call through the gateway,
// with the keyed digest of its arguments, and the arguments themselves (up
// to audit.MaxArgsBytes) when the owner asked for them.
func (g *governance) record(r gateway.Record) {
	clientID, clientName := clientOf(r.Call)
	e := audit.Entry{
		Time: r.Start, Event: r.Method, User: r.User, Client: clientID, ClientName: clientName,
		Server: r.Server, Name: r.Name, Outcome: r.Outcome, Detail: truncate(r.Detail, 500), DurationMS: audit.Duration(r.Duration),
	}
	if len(r.Arguments) > 0 {
		c, ok := g.rules.server(r.Server)
		e.PutArguments(r.Arguments, g.key(), ok && c.AuditArguments)
	}
	g.write(e)
}

// writeApproval records the owner's answer (or its absence) to a call.
func (g *governance) writeApproval(pc PendingCall, outcome, via string) {
	g.write(audit.Entry{
		Time: time.Now(), Event: audit.EventApproval, User: pc.User, Client: pc.ClientID, ClientName: pc.ClientName,
		Server: pc.Server, Name: pc.Name, Outcome: outcome, Detail: via, DurationMS: audit.Duration(time.Since(pc.Time)),
	})
}

// signInsChanged writes the sign-ins decided since the last look (an
// EventSignIn follows every change of oauthserver's lists).
func (g *governance) signInsChanged() {
	if g.a.auth == nil {
		return
	}
	recent := g.a.auth.RecentSignIns()
	var fresh []oauthserver.SignIn
	g.mu.Lock()
	for _, si := range recent {
		if !g.signIns[si.ID] {
			g.signIns[si.ID] = true
			fresh = append(fresh, si)
		}
	}
	g.mu.Unlock()
	for i := len(fresh) - 1; i >= 0; i-- { // RecentSignIns is newest first
		si := fresh[i]
		g.write(audit.Entry{
			Time: si.Time, Event: audit.EventSignIn, User: si.User, Client: si.ClientID, ClientName: si.ClientName,
			Server: serverOfResource(si.Resource), Resource: si.Resource, Address: si.RemoteAddr, Outcome: si.Decision,
		})
	}
}

// serverOfResource is NAME of <origin>/mcp/NAME; "" for /mcp.
func serverOfResource(resource string) string {
	for i := len(resource) - 1; i >= 0; i-- {
		if resource[i] == '/' {
			if name := resource[i+1:]; name != "mcp" {
				return name
			}
			return ""
		}
	}
	return ""
}

// AuditCount counts the calls of one server in the audit log, by outcome.
type AuditCount struct {
	OK, Error, Denied, Hidden int
}

// Total is every call counted.
func (c AuditCount) Total() int { return c.OK + c.Error + c.Denied + c.Hidden }

func (g *governance) countLocked(e audit.Entry) {
	if !e.IsCall() {
		return
	}
	c := g.counts[e.Server]
	if c == nil {
		c = &AuditCount{}
		g.counts[e.Server] = c
	}
	switch e.Outcome {
	case audit.OutcomeOK:
		c.OK++
	case audit.OutcomeError:
		c.Error++
	case audit.OutcomeDenied:
		c.Denied++
	case audit.OutcomeHidden:
		c.Hidden++
	}
}

// AuditCounts counts the calls of each server in the audit log (its
// rotated files too), by outcome. The first call reads the files; later
// ones count what was written since.
func (a *App) AuditCounts() (map[string]AuditCount, error) {
	g := a.gov
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.counted {
		entries, err := audit.Read(a.opts.ConfigDir, audit.Filter{}, 0)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			g.countLocked(e)
		}
		g.counted = true
	}
	out := make(map[string]AuditCount, len(g.counts))
	for s, c := range g.counts {
		out[s] = *c
	}
	return out, nil
}

// Audit returns the newest limit entries of the audit log that match f,
// oldest first (all of them with limit 0).
func (a *App) Audit(f audit.Filter, limit int) ([]audit.Entry, error) {
	entries, err := audit.Read(a.opts.ConfigDir, f, limit)
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	return entries, nil
}
