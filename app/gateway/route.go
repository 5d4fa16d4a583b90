package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// AllServers is the route name of /mcp, which serves every server the
// signed-in user may use as one MCP server.
const AllServers = ""

// Protocol versions and header names the dispatch looks at.
const (
	version20260728       = "2026-07-28"
	legacyVersion         = "2025-11-25" // the newest version of the session era
	headerSessionID       = "Mcp-Session-Id"
	headerProtocolVersion = "Mcp-Protocol-Version"
	metaProtocolVersion   = "io.modelcontextprotocol/protocolVersion"
)

// A route serves one MCP URL: a front per signed-in user, each answering
// both protocol eras.
type route struct {
	g    *Gateway
	name string

	mu       sync.Mutex
	closed   bool
	fronts   map[string]*front // by user
	building map[string]*building
}

type building struct {
	done chan struct{}
	f    *front
	err  error
}

func newRoute(g *Gateway, name string) *route {
	return &route{g: g, name: name, fronts: map[string]*front{}, building: map[string]*building{}}
}

// ServeHTTP sends a request to the user's front: a request of a session, or
// an initialize, to the session-based handler; a 2026-07-28 request without
// a session to the sessionless one; anything else is refused as the
// transport specifies, without creating a session.
func (r *route) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	user := ""
	if ti := auth.TokenInfoFromContext(req.Context()); ti != nil {
		user = ti.UserID
	}
	if r.name != AllServers {
		if _, ok := r.g.spec(r.name); !ok {
			writeJSONError(w, http.StatusNotFound, "not_found", "this server is not shared")
			return
		}
		if !r.g.mayUse(user, r.name) {
			writeJSONError(w, http.StatusForbidden, "forbidden", "the owner has not shared this server with you")
			return
		}
	}
	rc := http.NewResponseController(w)
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	req = req.WithContext(ctx)
	sw := &stallWriter{ResponseWriter: w, rc: rc, stall: r.g.limits.WriteStall, fail: cancel}
	defer sw.done()
	w = sw

	modern, id, ok := r.classify(w, req, rc)
	if !ok {
		return
	}
	f, err := r.front(req.Context(), user, modern)
	if err != nil {
		r.g.log.Warn("shared server unavailable", "route", r.name, "user", user, "err", err)
		if req.Method == http.MethodPost && id.IsValid() {
			writeRPCError(w, http.StatusOK, id, codeServerError, err.Error())
		} else {
			writeRPCError(w, http.StatusServiceUnavailable, jsonrpc.ID{}, codeServerError, err.Error())
		}
		return
	}
	if modern {
		f.stateless.ServeHTTP(w, req)
	} else {
		f.stateful.ServeHTTP(w, req)
	}
}

// classify decides the era of a request and reads a POST body (bounded, in
// bounded time), leaving it in req.Body. It answers the request itself and
// returns ok=false when it must be refused. id is the request's JSON-RPC
// id, when it has one.
func (r *route) classify(w http.ResponseWriter, req *http.Request, rc *http.ResponseController) (modern bool, id jsonrpc.ID, ok bool) {
	hasSession := req.Header.Get(headerSessionID) != ""
	headerVersion := req.Header.Get(headerProtocolVersion)
	if req.Method != http.MethodPost {
		return !hasSession && headerVersion >= version20260728, id, true
	}
	_ = rc.SetReadDeadline(time.Now().Add(r.g.limits.BodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.g.limits.MaxBodyBytes))
	if err != nil {
		// The read deadline stays in force: the server must not wait for the
		// rest of the body either, and the connection is not reused.
		w.Header().Set("Connection", "close")
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "the request body could not be read in time", http.StatusBadRequest)
		}
		return false, id, false
	}
	_ = rc.SetReadDeadline(time.Time{})
	req.Body = io.NopCloser(bytes.NewReader(body))
	p, perr := peek(body)
	if perr == nil && p.id != nil {
		id = *p.id
	}
	if hasSession {
		return false, id, true
	}
	switch {
	case perr != nil:
		writeRPCError(w, http.StatusBadRequest, id, jsonrpc.CodeParseError, "malformed JSON-RPC message: "+perr.Error())
		return false, id, false
	case p.initialize && headerVersion < version20260728:
		// initialize means the session era; with a 2026-07-28 header it is a
		// method that era removed, which the sessionless handler says.
		return false, id, true
	case headerVersion >= version20260728 || p.metaVersion != "":
		return true, id, true
	default:
		// The session-based transport requires the header; the SDK would
		// open a new session for this request instead.
		http.Error(w, "Bad Request: Mcp-Session-Id header is required", http.StatusBadRequest)
		return false, id, false
	}
}

// peeked is what the dispatch needs of a POST body.
type peeked struct {
	id          *jsonrpc.ID
	initialize  bool
	metaVersion string
}

// peek reads the method, id and _meta protocol version of a JSON-RPC
// message, or whether a (2025-03-26) batch holds an initialize.
func peek(body []byte) (peeked, error) {
	var out peeked
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return out, errors.New("empty body")
	}
	type msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Meta map[string]json.RawMessage `json:"_meta"`
		} `json:"params"`
	}
	var msgs []msg
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &msgs); err != nil {
			return out, err
		}
		if len(msgs) == 0 {
			return out, errors.New("empty batch")
		}
	} else {
		var m msg
		if err := json.Unmarshal(trimmed, &m); err != nil {
			return out, err
		}
		msgs = []msg{m}
	}
	for _, m := range msgs {
		if m.Method == "initialize" {
			out.initialize = true
		}
		if v, ok := m.Params.Meta[metaProtocolVersion]; ok {
			var s string
			_ = json.Unmarshal(v, &s)
			if s == "" {
				s = string(v)
			}
			out.metaVersion = s
		}
		if out.id == nil && len(m.ID) > 0 && string(m.ID) != "null" {
			var raw any
			if json.Unmarshal(m.ID, &raw) == nil {
				if id, err := jsonrpc.MakeID(raw); err == nil {
					out.id = &id
				}
			}
		}
	}
	return out, nil
}

// front returns the user's front, building it (which starts the servers it
// needs) on first use; concurrent first requests wait for one build.
func (r *route) front(ctx context.Context, user string, modern bool) (*front, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, errClosed
		}
		if f := r.fronts[user]; f != nil {
			r.mu.Unlock()
			return f, nil
		}
		if b := r.building[user]; b != nil {
			r.mu.Unlock()
			select {
			case <-b.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if b.err != nil {
				return nil, b.err
			}
			continue
		}
		b := &building{done: make(chan struct{})}
		r.building[user] = b
		r.mu.Unlock()

		f, err := newFront(r, user, modern)
		r.mu.Lock()
		delete(r.building, user)
		if err == nil && r.closed {
			err = errClosed
		}
		if err == nil {
			r.fronts[user] = f
		}
		b.f, b.err = f, err
		r.mu.Unlock()
		close(b.done)
		if err != nil && f != nil {
			f.close()
		}
		return f, err
	}
}

// dropFront forgets f (it closed itself).
func (r *route) dropFront(f *front) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fronts[f.user] == f {
		delete(r.fronts, f.user)
	}
}

// serversChanged lets the all-servers fronts pick up servers that were added.
func (r *route) serversChanged() {
	if r.name != AllServers {
		return
	}
	for _, f := range r.frontList() {
		go f.addServers()
	}
}

func (r *route) frontList() []*front {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*front, 0, len(r.fronts))
	for _, f := range r.fronts {
		out = append(out, f)
	}
	return out
}

// sessions counts the live MCP sessions on this URL.
func (r *route) sessions() int {
	n := 0
	for _, f := range r.frontList() {
		n += f.sessionCount()
	}
	return n
}

func (r *route) close() {
	r.mu.Lock()
	r.closed = true
	fronts := r.fronts
	r.fronts = map[string]*front{}
	r.mu.Unlock()
	for _, f := range fronts {
		f.close()
	}
}

// stallWriter gives each write to the client its stall bound to complete,
// so a client that stops reading cannot hold a stream (and what feeds it)
// forever.
// A failed write ends the request (fail cancels its context): the SDK would
// otherwise keep waiting on a stream nobody can read.
type stallWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
	fail  context.CancelFunc

	mu     sync.Mutex
	failed bool
}

// done clears the write deadline for the next request on a kept-alive
// connection, unless a write failed: then what is left must not block either.
func (s *stallWriter) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.failed {
		_ = s.rc.SetWriteDeadline(time.Time{})
	}
}

func (s *stallWriter) setFailed() {
	s.mu.Lock()
	s.failed = true
	s.mu.Unlock()
	s.fail()
}

func (s *stallWriter) Write(p []byte) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.stall))
	n, err := s.ResponseWriter.Write(p)
	if err != nil {
		s.setFailed()
	}
	return n, err
}

func (s *stallWriter) Flush() {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.stall))
	if err := s.rc.Flush(); err != nil {
		s.setFailed()
	}
}

func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// codeServerError is the JSON-RPC code of errors the gateway itself answers
// with (a server that failed, is busy or is gone).
const codeServerError = -32000

// writeRPCError answers with a JSON-RPC error response.
func writeRPCError(w http.ResponseWriter, status int, id jsonrpc.ID, code int64, msg string) {
	body, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: &jsonrpc.Error{Code: code, Message: msg}})
	if err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSONError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
