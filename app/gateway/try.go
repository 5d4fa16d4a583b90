package gateway

import (
	"context"
	"strings"
	"time"
)

// TryResult is what Try found out about a server.
type TryResult struct {
	// Server is the name and version the server gave.
	Server string
	// Tools are the names of the tools it lists, in its order.
	Tools []string
	// Entries are its tools, prompts, resources and resource templates, as
	// the owner's rules judge them (Policy.Access).
	Entries []Entry
	// Stderr holds the last lines a stdio server wrote to its stderr, also
	// when it failed (they usually say why).
	Stderr []string
}

// Try starts spec the way a share would (same process setup, environment
// and handshake), lists its tools and stops it, within ctx: the "Test"
// button of a server that is not saved yet. secret reads its secret
// variables.
func Try(ctx context.Context, spec ServerSpec, secret func(ctx context.Context, server, key string) (string, error)) (TryResult, error) {
	return TryWith(ctx, spec, Config{Secret: secret})
}

// TryWith is Try with the gateway configured by cfg (its Secret, OAuth and
// Network; its Limits follow ctx).
func TryWith(ctx context.Context, spec ServerSpec, cfg Config) (TryResult, error) {
	cfg.Limits = Limits{}
	if d, ok := ctx.Deadline(); ok {
		cfg.Limits.StartTimeout = max(time.Until(d), time.Second)
	}
	g := New(cfg)
	defer g.Close()
	if err := g.SetServers([]ServerSpec{spec}); err != nil {
		return TryResult{}, err
	}
	p := g.pool("", spec.Name)
	// A remote server may speak only 2026-07-28 (stateless servers need no
	// sessions): its try asks in that era, which falls back to initialize
	// for servers of the session era. Local servers keep the handshake they
	// have always been tried with.
	b, err := p.acquire(ctx, sharedKey, spec.Kind == KindRemote)
	var res TryResult
	if err == nil {
		if info := b.cs.InitializeResult().ServerInfo; info != nil {
			res.Server = strings.TrimSpace(info.Name + " " + info.Version)
		}
		p.mu.Lock()
		if c := p.catalog; c != nil {
			for _, t := range c.tools {
				res.Tools = append(res.Tools, t.Name)
			}
			res.Entries = c.entries(spec.Name)
		}
		p.mu.Unlock()
		b.release()
		p.close("the test is over")
	}
	res.Stderr = g.Status(spec.Name).Log
	return res, err
}
