package tunnel

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// DefaultNgrokTimeout bounds Start when NgrokConfig.Timeout is zero.
const DefaultNgrokTimeout = 20 * time.Second

// NgrokConfig configures the in-process ngrok agent.
type NgrokConfig struct {
	// Authtoken authenticates the agent (keychain or NGROK_AUTHTOKEN).
	// Surrounding white space is ignored; empty fails with ErrNoAuthtoken.
	Authtoken string
	// Domain is a domain reserved on the ngrok account ("x.ngrok.app", an
	// https URL of it is accepted too). A stable domain keeps a ChatGPT
	// connector valid across restarts; empty gets a random URL.
	Domain string
	// OnStatus receives every state change, in order, on a goroutine of the
	// provider's own; it may block briefly and may call Close.
	OnStatus func(Status)
	// Timeout bounds Start (the SDK itself retries forever). Zero means
	// DefaultNgrokTimeout.
	Timeout time.Duration
	// Logger receives the SDK's logs, which never contain the token. Nil
	// keeps them quiet, except a one-time warning the SDK writes to slog's
	// default logger when built with Go older than 1.26.10.
	Logger *slog.Logger

	// ConnectURL ("host:port") and ConnectCAs point the agent at another
	// ngrok service; tests use them for a fake one on 127.0.0.1.
	ConnectURL string
	ConnectCAs *x509.CertPool
}

// listenFunc connects an agent and binds one endpoint. It lives until ctx
// ends or disconnect is called; onEvent receives the SDK's connect
// (err == nil) and disconnect (err != nil) events. It is the seam between
// the provider's logic and the SDK (see ngrok_agent.go).
type listenFunc func(ctx context.Context, cfg NgrokConfig, onEvent func(connected bool, err error)) (ln net.Listener, url string, disconnect func() error, err error)

// Ngrok returns a provider running the ngrok agent in-process. It checks the
// configuration only; Start connects.
func Ngrok(cfg NgrokConfig) (Provider, error) {
	return newNgrok(cfg, listenNgrok)
}

func newNgrok(cfg NgrokConfig, listen listenFunc) (*ngrokProvider, error) {
	cfg.Authtoken = strings.TrimSpace(cfg.Authtoken)
	domain, err := parseDomain(cfg.Domain)
	if err != nil {
		return nil, err
	}
	cfg.Domain = domain
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultNgrokTimeout
	}
	return &ngrokProvider{
		cfg:     cfg,
		listen:  listen,
		fatal:   make(chan error, 1),
		closing: make(chan struct{}),
		queue:   statusQueue{fn: cfg.OnStatus},
	}, nil
}

// parseDomain accepts "x.ngrok.app" or "https://x.ngrok.app[/]" and returns
// the host.
func parseDomain(d string) (string, error) {
	d = strings.TrimSpace(d)
	if d == "" {
		return "", nil
	}
	raw := d
	if !strings.Contains(d, "://") {
		raw = "https://" + d
	}
	origin, err := ParseOrigin(raw)
	if err != nil || !strings.HasPrefix(origin, "https://") || strings.ContainsAny(strings.TrimPrefix(origin, "https://"), ":[]") {
		return "", fmt.Errorf("invalid ngrok domain %q: use the domain reserved on dashboard.ngrok.com/domains, such as example.ngrok.app", d)
	}
	return strings.TrimPrefix(origin, "https://"), nil
}

type ngrokProvider struct {
	cfg     NgrokConfig
	listen  listenFunc
	fatal   chan error    // a permanent error seen while connecting
	closing chan struct{} // closed by Close

	mu         sync.Mutex
	track      tracker
	lastErr    error // last error the SDK reported while connecting
	started    bool
	closed     bool
	cancel     context.CancelFunc
	ln         net.Listener
	disconnect func() error
	queue      statusQueue
}

// Start connects the agent and binds the endpoint, within cfg.Timeout.
func (p *ngrokProvider) Start(ctx context.Context) (string, net.Listener, error) {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return "", nil, errClosed
	case p.started:
		p.mu.Unlock()
		return "", nil, errors.New("tunnel: ngrok provider already started")
	}
	p.started = true
	p.queue.push(p.track.connecting())
	sessCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	p.mu.Unlock()

	if p.cfg.Authtoken == "" {
		cancel()
		return "", nil, p.fail(ErrNoAuthtoken)
	}

	type result struct {
		ln         net.Listener
		url        string
		disconnect func() error
		err        error
	}
	done := make(chan result, 1)
	go func() {
		ln, url, disconnect, err := p.listen(sessCtx, p.cfg, p.agentEvent)
		done <- result{ln, url, disconnect, err}
	}()
	timer := time.NewTimer(p.cfg.Timeout)
	defer timer.Stop()

	var err error
	select {
	case r := <-done:
		if r.err == nil {
			origin, oerr := ParseOrigin(r.url)
			if oerr == nil {
				return p.online(origin, r.ln, r.disconnect)
			}
			r.ln.Close()
			r.disconnect()
			err = fmt.Errorf("ngrok gave an unusable endpoint URL: %w", oerr)
			break
		}
		err = classify(r.err, p.cfg.Domain, p.cfg.Authtoken)
	case err = <-p.fatal:
	case <-timer.C:
		p.mu.Lock()
		last := p.lastErr
		p.mu.Unlock()
		err = classifyTimeout(last, p.cfg.Timeout, p.cfg.Domain, p.cfg.Authtoken)
	case <-ctx.Done():
		err = fmt.Errorf("ngrok start cancelled: %w", ctx.Err())
	case <-p.closing:
		err = errClosed
	}
	cancel() // ends the SDK's retries
	go func() {
		// The agent may still come up after we gave up: take it down.
		if r := <-done; r.err == nil {
			r.ln.Close()
			r.disconnect()
		}
	}()
	return "", nil, p.fail(err)
}

func (p *ngrokProvider) online(origin string, ln net.Listener, disconnect func() error) (string, net.Listener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		ln.Close()
		disconnect()
		return "", nil, errClosed
	}
	p.ln, p.disconnect = ln, disconnect
	if st, ok := p.track.online(origin); ok {
		p.queue.push(st)
	}
	return origin, ln, nil
}

func (p *ngrokProvider) fail(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.track.fail(err); ok {
		p.queue.push(st)
	}
	return err
}

// agentEvent receives the SDK's connect and disconnect events.
func (p *ngrokProvider) agentEvent(connected bool, raw error) {
	var err error
	if raw != nil {
		err = classify(raw, p.cfg.Domain, p.cfg.Authtoken)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.track.event(connected, err)
	if !ok {
		return
	}
	p.queue.push(st)
	if st.State == StateConnecting && err != nil {
		p.lastErr = raw
		if f := err.(*failure); permanent(f.kind) {
			select {
			case p.fatal <- err:
			default:
			}
		}
	}
}

// Close closes the listener, disconnects the agent and reports "stopped".
func (p *ngrokProvider) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closing)
	if st, ok := p.track.stop(); ok {
		p.queue.push(st)
	}
	ln, disconnect, cancel := p.ln, p.disconnect, p.cancel
	p.mu.Unlock()

	var errs []error
	if ln != nil {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("close ngrok listener: %w", err))
		}
	}
	if disconnect != nil {
		if err := disconnect(); err != nil {
			errs = append(errs, fmt.Errorf("disconnect ngrok agent: %w", err))
		}
	}
	if cancel != nil {
		cancel()
	}
	return errors.Join(errs...)
}
