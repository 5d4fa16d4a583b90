package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"

	"github.com/mcpshare/mcpshare/app/egress"
)

// Remote servers: Streamable HTTP to a URL anywhere, through app/egress
// (this server's origin only), with the OAuth handler of Config.OAuth when
// the server signs in. The client's token never goes further than the
// guard: each request to the server is the go-sdk client's own, with the
// server's token from the handler.

// ErrSignInRequired is matched by the errors of a remote server whose tokens
// are missing, expired beyond refresh or refused: only the owner signing in
// to it again helps. Config.OAuth's handlers return it from Authorize.
var ErrSignInRequired = errors.New("the owner must sign in to the server again")

// remoteTransport is the transport of a remote server's backend.
func (p *pool) remoteTransport(ctx context.Context) (mcp.Transport, error) {
	s := p.spec
	if err := egress.CheckURL(s.URL); err != nil {
		return nil, setupErrorf("server %q: %v", s.Name, err)
	}
	origin, err := egress.Origin(s.URL)
	if err != nil {
		return nil, setupErrorf("server %q: %v", s.Name, err)
	}
	t := &mcp.StreamableClientTransport{
		Endpoint:   s.URL,
		HTTPClient: egress.Client(egress.Options{Allow: []string{origin}, Net: p.g.cfg.Network}),
		MaxRetries: 1,
	}
	if s.OAuth {
		if p.g.cfg.OAuth == nil {
			return nil, setupErrorf("server %q signs in with OAuth, which this gateway was not given", s.Name)
		}
		h, err := p.g.cfg.OAuth(ctx, s.Name)
		if err != nil {
			if errors.Is(err, ErrSignInRequired) {
				return nil, signInSetupError(s.Name)
			}
			return nil, setupErrorf("server %q: its sign-in could not be read: %v", s.Name, err)
		}
		t.OAuthHandler = &signInHandler{OAuthHandler: h, server: s.Name}
	}
	return t, nil
}

// signInSetupError is the sentence a client and the window get when a
// remote server waits for the owner's sign-in.
func signInSetupError(server string) error {
	return &signInError{server: server}
}

// signInError names the server the owner must sign in to. It matches
// ErrSignInRequired, and is a JSON-RPC error the fronts pass to the client
// as it is (a call that met a refused token on a running backend).
type signInError struct{ server string }

func (e *signInError) Error() string {
	return fmt.Sprintf("server %q needs the owner of MCP Share to sign in to it again (in MCP Share's window, or `mcpshare server login %s`)", e.server, e.server)
}

func (e *signInError) Unwrap() []error {
	return []error{ErrSignInRequired, &setupError{e.Error()}, &jsonrpc.Error{Code: codeServerError, Message: e.Error()}}
}

// signInHandler passes the handler's tokens on and turns its "sign in
// again" into the error that says so.
type signInHandler struct {
	auth.OAuthHandler
	server string
}

func (h *signInHandler) TokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	return h.OAuthHandler.TokenSource(ctx)
}

func (h *signInHandler) Authorize(ctx context.Context, req *http.Request, resp *http.Response) error {
	err := h.OAuthHandler.Authorize(ctx, req, resp)
	if errors.Is(err, ErrSignInRequired) {
		return &signInError{server: h.server}
	}
	return err
}

// remoteError says in one sentence why a remote server could not be
// started, naming its URL without query (which may hold a key).
func (p *pool) remoteError(err error) error {
	s := p.spec
	var se *signInError
	if errors.As(err, &se) {
		return se
	}
	u, perr := url.Parse(s.URL)
	shown := s.URL
	if perr == nil {
		shown = shownURL(u)
	}
	msg := err.Error()
	if u := errors.Unwrap(err); u != nil {
		msg = u.Error()
	}
	msg = strings.ReplaceAll(msg, s.URL, shown)
	if perr == nil && u.RawQuery != "" {
		msg = strings.ReplaceAll(msg, u.RawQuery, "…")
	}
	return fmt.Errorf("server %q at %s could not be reached: %s", s.Name, shown, msg)
}
