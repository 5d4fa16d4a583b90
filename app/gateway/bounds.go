package gateway

import (
	"fmt"
	"time"
)

// errBusy: every backend slot is in use by calls in progress.
type errBusy struct {
	server string
	scope  string
	limit  int
}

func (e *errBusy) Error() string {
	return fmt.Sprintf("server %q is busy: all %d %s are in use by calls in progress; try again shortly", e.server, e.limit, e.scope)
}

// reserve takes a backend slot for b under the gateway's Limits. When a
// bound is reached it stops the least recently used idle backend within
// that bound to make room; when every such backend is busy it fails.
func (g *Gateway) reserve(b *backend) error {
	for {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			return errClosed
		}
		victim, err := g.victimLocked(b)
		if err != nil {
			g.mu.Unlock()
			return err
		}
		if victim == nil {
			g.running[b] = struct{}{}
			g.mu.Unlock()
			return nil
		}
		if !victim.claim() {
			g.mu.Unlock()
			continue // it was used meanwhile: look again
		}
		delete(g.running, victim)
		g.mu.Unlock()
		victim.p.log.Info("stopping the least recently used idle server to make room", "key", shortKey(victim.key))
		victim.p.forget(victim)
		victim.stop()
	}
}

// unreserve gives b's slot back.
func (g *Gateway) unreserve(b *backend) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.running, b)
}

// victimLocked returns nil when b fits under every bound, else the least
// recently used idle backend inside the first bound b would exceed. g.mu is
// held; backends' own locks are taken inside it, never the other way round.
func (g *Gateway) victimLocked(b *backend) (*backend, error) {
	server, user := b.p.spec.Name, b.p.user
	perUser := b.p.spec.isolation() == IsolationSession
	var total, ofServer, ofUser int
	for r := range g.running {
		total++
		if r.p.spec.Name == server {
			ofServer++
			if r.p.user == user {
				ofUser++
			}
		}
	}
	type bound struct {
		over  bool
		in    func(*backend) bool
		scope string
		limit int
	}
	bounds := []bound{
		{perUser && ofUser >= g.limits.BackendsPerUser, func(r *backend) bool { return r.p.spec.Name == server && r.p.user == user }, "instances for this user", g.limits.BackendsPerUser},
		{ofServer >= g.limits.BackendsPerServer, func(r *backend) bool { return r.p.spec.Name == server }, "instances", g.limits.BackendsPerServer},
		{total >= g.limits.Backends, func(*backend) bool { return true }, "server instances of MCP Share", g.limits.Backends},
	}
	for _, bd := range bounds {
		if !bd.over {
			continue
		}
		var victim *backend
		var oldest time.Time
		for r := range g.running {
			if !bd.in(r) {
				continue
			}
			if ok, used := r.evictable(); ok && (victim == nil || used.Before(oldest)) {
				victim, oldest = r, used
			}
		}
		if victim == nil {
			return nil, &errBusy{server: server, scope: bd.scope, limit: bd.limit}
		}
		return victim, nil
	}
	return nil, nil
}

// forget drops b from the pool's table (it is being stopped elsewhere).
func (p *pool) forget(b *backend) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.backends[b.key] == b {
		delete(p.backends, b.key)
	}
}
