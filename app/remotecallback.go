package app

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mcpshare/mcpshare/app/egress"
)

// The browser's way back from a remote server's sign-in: the redirect URI
// MCP Share registers is its own local listener's /oauth-client/callback,
// served by the running share or, when nothing shares, by a listener of
// the sign-in's own on the configured address.

// CallbackPath is the path of the redirect URI of remote sign-ins.
const CallbackPath = "/oauth-client/callback"

// callbackResult is what the browser brought back.
type callbackResult struct {
	code, state, iss string
	err              error
}

// expectCallback registers a sign-in waiting for the redirect with state.
func (a *App) expectCallback(state string) <-chan callbackResult {
	ch := make(chan callbackResult, 1)
	a.remote.mu.Lock()
	defer a.remote.mu.Unlock()
	if a.remote.pending == nil {
		a.remote.pending = map[string]chan callbackResult{}
	}
	a.remote.pending[state] = ch
	return ch
}

func (a *App) forgetCallback(state string) {
	a.remote.mu.Lock()
	defer a.remote.mu.Unlock()
	delete(a.remote.pending, state)
}

// oauthCallback is the redirect URI's handler: it hands the code (or the
// error) to the sign-in that waits for its state, and tells the person in
// the browser what happened.
func (a *App) oauthCallback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		callbackPage(w, http.StatusMethodNotAllowed, "This address only takes the browser's way back from a sign-in.")
		return
	}
	// Only a browser on this computer comes back here; the same handler
	// also sits behind the public URL.
	if host, _, err := net.SplitHostPort(r.Host); err != nil || !egress.IsLoopback(host) {
		callbackPage(w, http.StatusNotFound, "Not found.")
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	a.remote.mu.Lock()
	ch := a.remote.pending[state]
	delete(a.remote.pending, state)
	a.remote.mu.Unlock()
	if state == "" || ch == nil {
		callbackPage(w, http.StatusBadRequest, "MCP Share is not waiting for this sign-in: it finished, was cancelled or took too long. Start it again from MCP Share.")
		return
	}
	res := callbackResult{code: q.Get("code"), state: state, iss: q.Get("iss")}
	switch {
	case q.Get("error") != "":
		res.err = fmt.Errorf("the authorization server answered %s", describeOAuthError(q.Get("error"), q.Get("error_description")))
	case res.code == "":
		res.err = errors.New("the authorization server came back without a code")
	}
	ch <- res
	if res.err != nil {
		callbackPage(w, http.StatusOK, "The sign-in did not work: "+res.err.Error()+". You can close this window.")
		return
	}
	callbackPage(w, http.StatusOK, "Signed in. MCP Share has what it needs; you can close this window.")
}

func describeOAuthError(code, desc string) string {
	if len(desc) > 200 {
		desc = desc[:200] + "…"
	}
	if desc == "" {
		return strconv.Quote(code)
	}
	return fmt.Sprintf("%q (%s)", code, desc)
}

var callbackTmpl = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MCP Share</title>
<style>body{font:16px system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}</style></head>
<body><h1>MCP Share</h1><p>{{.}}</p></body></html>`))

func callbackPage(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	callbackTmpl.Execute(w, msg)
}

// callbackEndpoint returns the redirect URI for a sign-in now, and stop to
// call when it is over: the running share's listener, or a listener of its
// own on the configured address. anyPort allows another port when that
// address is taken (a client MCP Share registers itself can have any
// redirect URI; a pasted one has the one the owner registered).
func (a *App) callbackEndpoint(anyPort bool) (redirect string, stop func(), err error) {
	if st := a.Status(); st.LocalOrigin != "" && (st.State == StateSharing) {
		return loopbackRedirect(st.LocalOrigin), func() {}, nil
	}
	addr := a.Settings().Addr
	ln, err := net.Listen("tcp", addr)
	if err != nil && anyPort {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return "", nil, fmt.Errorf("%w: MCP Share's sign-in needs %s for the browser's way back: %v", ErrPortInUse, addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(CallbackPath, a.oauthCallback)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes}
	go srv.Serve(ln)
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
	return loopbackRedirect("http://" + ln.Addr().String()), stop, nil
}

// loopbackRedirect is the callback on a local origin; on localhost where
// the listener's own address is not loopback (0.0.0.0), the other origin
// the listener answers.
func loopbackRedirect(origin string) string {
	u, err := url.Parse(origin)
	if err != nil {
		return origin + CallbackPath
	}
	if !egress.IsLoopback(u.Hostname()) {
		u.Host = net.JoinHostPort("localhost", u.Port())
	}
	return u.Scheme + "://" + u.Host + CallbackPath
}
