package gateway

import (
	"context"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// subscribe forwards resources/subscribe. A backend shared by several
// sessions is subscribed once per URI; the front's mcp.Server fans the
// updates out to the sessions that subscribed.
func (f *front) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	uri := req.Params.URI
	b, err := f.resourceBackend(ctx, req.Session, req.ProtocolVersion(), uri)
	if err != nil {
		return err
	}
	defer b.release()
	if err := b.subscribe(ctx, uri); err != nil {
		return f.callError(b, err)
	}
	f.mu.Lock()
	if st := f.sessions[req.Session]; st != nil {
		st.subs[uri] = b
	}
	f.mu.Unlock()
	return nil
}

func (f *front) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	uri := req.Params.URI
	f.mu.Lock()
	var b *backend
	if st := f.sessions[req.Session]; st != nil {
		b = st.subs[uri]
		delete(st.subs, uri)
	}
	f.mu.Unlock()
	if b == nil {
		// A sessionless subscriptions/listen ending: its shared backend.
		var err error
		if b, err = f.resourceBackend(ctx, req.Session, req.ProtocolVersion(), uri); err != nil {
			return nil
		}
		defer b.release()
	}
	b.unsubscribe(ctx, uri)
	return nil
}

// resourceBackend acquires the backend that serves uri for a request.
func (f *front) resourceBackend(ctx context.Context, ss *mcp.ServerSession, version, uri string) (*backend, error) {
	server, ok := f.resourceServer(uri)
	if !ok {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	p := f.poolFor(server)
	if p == nil {
		return nil, &jsonrpc.Error{Code: codeServerError, Message: "the server of this resource is no longer shared"}
	}
	b, err := p.acquire(ctx, sessionKey(ss), version >= version20260728)
	if err != nil {
		return nil, clientError(err)
	}
	return b, nil
}

// unsubscribeSoon drops one subscription of an ended session.
func (b *backend) unsubscribeSoon(uri string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.unsubscribe(ctx, uri)
	}()
}

// subscribe counts one more subscription to uri, subscribing at the server
// for the first.
func (b *backend) subscribe(ctx context.Context, uri string) error {
	b.mu.Lock()
	b.subs[uri]++
	first := b.subs[uri] == 1
	b.mu.Unlock()
	if !first {
		return nil
	}
	if err := b.cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
		b.mu.Lock()
		b.subs[uri]--
		b.mu.Unlock()
		return err
	}
	return nil
}

func (b *backend) unsubscribe(ctx context.Context, uri string) {
	b.mu.Lock()
	n := b.subs[uri]
	if n > 0 {
		b.subs[uri]--
	}
	last := n == 1
	if b.subs[uri] == 0 {
		delete(b.subs, uri)
	}
	b.mu.Unlock()
	if last {
		_ = b.cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri})
	}
}
