package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/builtin"
	"github.com/mcpshare/mcpshare/app/childproc"
)

// stopGrace is how long a stdio server has to exit after its stdin closed,
// and again after SIGTERM, before it is killed.
const stopGrace = 2 * time.Second

// connect opens b's transport and runs the MCP handshake.
func (p *pool) connect(ctx context.Context, b *backend) error {
	var t mcp.Transport
	switch p.spec.Kind {
	case KindStdio:
		cmd, err := p.command(ctx, b)
		if err != nil {
			return err
		}
		b.cmd = cmd
		t = &mcp.CommandTransport{Command: cmd, TerminateDuration: stopGrace}
	case KindHTTP:
		u, err := loopbackURL(p.spec.URL)
		if err != nil {
			return setupErrorf("server %q: %v", p.spec.Name, err)
		}
		t = &mcp.StreamableClientTransport{Endpoint: u.String(), HTTPClient: loopbackClient(), MaxRetries: 1}
	case KindRemote:
		rt, err := p.remoteTransport(ctx)
		if err != nil {
			return err
		}
		t = rt
	case KindBuiltin:
		ct, st := mcp.NewInMemoryTransports()
		ss, err := p.builtinServer().Connect(ctx, st, nil)
		if err != nil {
			return fmt.Errorf("server %q could not start: %v", p.spec.Name, err)
		}
		b.onClose = append(b.onClose, func() { ss.Close() })
		t = ct
	default:
		return setupErrorf("server %q: unknown kind %q", p.spec.Name, p.spec.Kind)
	}
	version := legacyVersion
	if b.key.modern {
		version = version20260728
	}
	cs, err := p.client.Connect(ctx, t, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil && !b.key.modern && (p.spec.Kind == KindHTTP || p.spec.Kind == KindRemote) &&
		ctx.Err() == nil && !errors.Is(err, ErrSignInRequired) {
		// A server of the 2026-07-28 era only (stateless HTTP servers need
		// no sessions) refuses the handshake: ask it in its own era, which
		// the go-sdk falls back from to initialize for any other server.
		// The pool then serves session clients from its era (modernOnly).
		if cs2, err2 := p.client.Connect(ctx, t, &mcp.ClientSessionOptions{ProtocolVersion: version20260728}); err2 == nil {
			cs, err = cs2, nil
		}
	}
	if err != nil {
		if b.cmd != nil {
			_ = childproc.KillTree(b.cmd)
			if ps := b.cmd.ProcessState; ps != nil && ps.Exited() {
				return fmt.Errorf("server %q exited with status %d while starting", p.spec.Name, ps.ExitCode())
			}
		}
		for _, f := range b.onClose {
			f()
		}
		if p.spec.Kind == KindHTTP {
			u, _ := loopbackURL(p.spec.URL)
			cause := errors.Unwrap(err)
			if cause == nil {
				cause = err
			}
			return fmt.Errorf("server %q at %s could not be reached: %v", p.spec.Name, shownURL(u), cause)
		}
		if p.spec.Kind == KindRemote {
			return p.remoteError(err)
		}
		return fmt.Errorf("server %q could not start: %v", p.spec.Name, err)
	}
	b.mu.Lock()
	b.cs = cs
	b.mu.Unlock()
	return nil
}

// command prepares a stdio server's process: a minimal environment plus the
// configured variables and secrets, stderr into the server's log.
func (p *pool) command(ctx context.Context, b *backend) (*exec.Cmd, error) {
	s := p.spec
	env := make(map[string]string, len(s.Env)+len(s.SecretEnv))
	for k, v := range s.Env {
		env[k] = v
	}
	for _, k := range s.SecretEnv {
		v, err := p.g.cfg.Secret(ctx, s.Name, k)
		if err != nil {
			return nil, setupErrorf("server %q: could not read its secret %s: %v", s.Name, k, err)
		}
		env[k] = v
	}
	if s.Dir != "" {
		if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
			return nil, setupErrorf("server %q could not start: its working directory %q does not exist", s.Name, s.Dir)
		}
	}
	stderr := &lineWriter{emit: func(line string) {
		p.state.ring.add(line)
		p.log.Debug("stderr", "line", line)
	}}
	cmd, err := childproc.Command(childproc.Spec{Path: s.Command, Args: s.Args, Env: childEnv(os.Environ(), env), Dir: s.Dir, Stderr: stderr, Grace: stopGrace})
	if err != nil {
		return nil, setupErrorf("server %q could not start: %v", s.Name, err)
	}
	b.onClose = append(b.onClose, stderr.Flush)
	return cmd, nil
}

// builtinServer returns the pool's in-memory built-in server.
func (p *pool) builtinServer() *mcp.Server {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.builtin == nil {
		p.builtin = builtin.NewServer(p.spec.Root)
	}
	return p.builtin
}

// loopbackClient is the HTTP client of local HTTP servers: never through a
// proxy, never following redirects (which could leave the machine).
func loopbackClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 0, // streams may take their time
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
