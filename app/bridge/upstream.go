package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// An upstreamSession is a session of the local HTTP server, as seen through
// the bridge: who opened it and when it was last used.
type upstreamSession struct {
	user     string
	lastUsed time.Time
}

// forwardedRequestHeaders are the only request headers passed to the local
// server. Authorization and Cookie in particular never are: the client's
// token is for MCP Share, not for the local server.
var forwardedRequestHeaders = []string{
	"Accept", "Content-Type", headerSessionID, headerProtocolVersion, headerLastEventID, "User-Agent",
}

// forwardedResponseHeaders are the response headers passed back to the client.
var forwardedResponseHeaders = []string{
	"Content-Type", "Cache-Control", headerSessionID, headerProtocolVersion, "Allow", "Retry-After",
}

func newUpstreamClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // a loopback server, never through a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
		},
		// A redirect would be followed without our header filtering; refuse it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// serveUpstream forwards one request to the local HTTP server.
func (b *Bridge) serveUpstream(w http.ResponseWriter, r *http.Request) {
	user := userOf(r)
	sid := r.Header.Get(headerSessionID)
	var body []byte
	var msgs []jsonrpc.Message
	if r.Method == http.MethodPost {
		var ok bool
		if body, msgs, ok = readMessages(w, r); !ok {
			return
		}
	}
	id := firstCallID(msgs)
	if sid != "" && !b.touchUpstream(sid, user) {
		http.Error(w, "session not found", http.StatusNotFound)
		return
	}
	_, isInit := initializeID(msgs)
	if sid == "" && isInit {
		if msg, ok := b.upstreamSlot(); !ok {
			w.Header().Set("Retry-After", "10")
			writeRPCError(w, http.StatusServiceUnavailable, id, CodeServerError, msg, nil)
			return
		}
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(b.ctx, cancel) // Close ends forwarded streams
	defer stop()
	out, err := http.NewRequestWithContext(ctx, r.Method, b.upstream.String(), bytes.NewReader(body))
	if err != nil {
		writeRPCError(w, http.StatusBadGateway, id, CodeServerError, err.Error(), nil)
		return
	}
	if body == nil {
		out.Body = http.NoBody
	}
	for _, h := range forwardedRequestHeaders {
		for _, v := range r.Header.Values(h) {
			out.Header.Add(h, v)
		}
	}
	resp, err := b.client.Do(out)
	if err != nil {
		// A *url.Error repeats the whole URL, query included: keep the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		b.log.Warn("local server unreachable", "url", b.shownURL, "err", err)
		writeRPCError(w, http.StatusBadGateway, id, CodeServerError,
			fmt.Sprintf("server %q at %s is not reachable: %v", b.cfg.Name, b.shownURL, err), nil)
		return
	}
	defer resp.Body.Close()

	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		// The local server wants its own credentials, which MCP Share does
		// not have; passing its challenge on would send the client into an
		// OAuth flow against the wrong server.
		writeRPCError(w, http.StatusBadGateway, id, CodeServerError,
			fmt.Sprintf("server %q at %s refused the request with %s: it requires its own authorization, which MCP Share does not forward",
				b.cfg.Name, b.shownURL, resp.Status), nil)
		return
	}
	if newSID := resp.Header.Get(headerSessionID); newSID != "" && newSID != sid && resp.StatusCode < 300 {
		if !b.bindUpstream(newSID, user) {
			writeRPCError(w, http.StatusBadGateway, id, CodeServerError,
				fmt.Sprintf("server %q reused a session id of another user", b.cfg.Name), nil)
			return
		}
	}
	if sid != "" && (resp.StatusCode == http.StatusNotFound || (r.Method == http.MethodDelete && resp.StatusCode < 300)) {
		b.mu.Lock()
		delete(b.proxied, sid)
		b.mu.Unlock()
	}

	for _, h := range forwardedResponseHeaders {
		for _, v := range resp.Header.Values(h) {
			w.Header().Add(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	copyFlushing(w, resp.Body)
}

// copyFlushing copies an upstream body to the client, flushing after every
// read so that SSE events arrive as they are produced.
func copyFlushing(w http.ResponseWriter, body io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// touchUpstream reports whether sid is a known upstream session of user, and
// marks it used.
func (b *Bridge) touchUpstream(sid, user string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	us := b.proxied[sid]
	if us == nil || us.user != user {
		return false
	}
	us.lastUsed = time.Now()
	return true
}

// upstreamSlot makes room for a new upstream session: it forgets sessions
// idle for longer than IdleTimeout and says whether the bound allows one more.
func (b *Bridge) upstreamSlot() (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Sprintf("server %q is shutting down", b.cfg.Name), false
	}
	now := time.Now()
	for sid, us := range b.proxied {
		if now.Sub(us.lastUsed) > b.cfg.IdleTimeout {
			delete(b.proxied, sid)
		}
	}
	if len(b.proxied) >= b.cfg.MaxSessions {
		return b.limitMessage(), false
	}
	return "", true
}

// bindUpstream records a session id the local server just issued as user's.
func (b *Bridge) bindUpstream(sid, user string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if us := b.proxied[sid]; us != nil {
		return us.user == user
	}
	b.proxied[sid] = &upstreamSession{user: user, lastUsed: time.Now()}
	return true
}

// closeUpstreamSessions ends, best effort, the local server's sessions opened
// through the bridge.
func (b *Bridge) closeUpstreamSessions() {
	b.mu.Lock()
	sids := make([]string, 0, len(b.proxied))
	for sid := range b.proxied {
		sids = append(sids, sid)
	}
	clear(b.proxied)
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, sid := range sids {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, b.upstream.String(), nil)
		if err != nil {
			continue
		}
		req.Header.Set(headerSessionID, sid)
		resp, err := b.client.Do(req)
		if err != nil {
			b.log.Debug("ending upstream session", "err", err)
			continue
		}
		resp.Body.Close()
	}
	b.client.CloseIdleConnections()
}
