package app

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/bridge"
)

// sessionOwners binds MCP session ids to the user who created them, in front
// of the go-sdk's StreamableHTTPHandler. The SDK checks the same binding but
// answers 403; a session id that belongs to someone else must look exactly
// like an unknown one (404), so it reveals nothing and the client simply
// starts a new session.
type sessionOwners struct {
	next http.Handler
	idle time.Duration // entries unused this long are forgotten (the SDK ended them)

	mu     sync.Mutex
	owners map[string]*sessionOwner
}

type sessionOwner struct {
	user     string
	lastUsed time.Time
	streams  int // open requests (an SSE GET may stay open for hours)
}

func bindSessions(next http.Handler, idle time.Duration) *sessionOwners {
	return &sessionOwners{next: next, idle: idle, owners: make(map[string]*sessionOwner)}
}

func (s *sessionOwners) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := ""
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		user = ti.UserID
	}
	id := r.Header.Get("Mcp-Session-Id")
	if id != "" {
		s.mu.Lock()
		o, ok := s.owners[id]
		if ok && o.user != user {
			s.mu.Unlock()
			http.Error(w, "session not found", http.StatusNotFound)
			return
		}
		if ok {
			o.lastUsed = time.Now()
			o.streams++
		}
		s.mu.Unlock()
		if ok {
			defer s.done(id, o, r.Method == http.MethodDelete)
		}
		s.next.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, mcp.DefaultMaxRequestBodyBytes))
		if err != nil {
			http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		if bridge.SessionRequired(r, body) {
			// The SDK would open a fresh session for it; the transport says 400.
			http.Error(w, "Bad Request: Mcp-Session-Id header is required", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	s.next.ServeHTTP(&recordSession{ResponseWriter: w, owners: s, user: user}, r)
}

func (s *sessionOwners) record(id, user string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, o := range s.owners {
		if o.streams == 0 && now.Sub(o.lastUsed) > s.idle {
			delete(s.owners, k)
		}
	}
	s.owners[id] = &sessionOwner{user: user, lastUsed: now}
}

// done ends one request of session id; a DELETE forgets the session.
func (s *sessionOwners) done(id string, o *sessionOwner, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.streams--
	o.lastUsed = time.Now()
	if ended {
		delete(s.owners, id)
	}
}

// recordSession notes the session id a response creates.
type recordSession struct {
	http.ResponseWriter
	owners *sessionOwners
	user   string
	done   bool
}

func (rs *recordSession) WriteHeader(code int) {
	if !rs.done {
		rs.done = true
		if id := rs.Header().Get("Mcp-Session-Id"); id != "" && code < 300 {
			rs.owners.record(id, rs.user)
		}
	}
	rs.ResponseWriter.WriteHeader(code)
}

func (rs *recordSession) Write(b []byte) (int, error) {
	if !rs.done {
		rs.WriteHeader(http.StatusOK)
	}
	return rs.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush on the real writer (SSE).
func (rs *recordSession) Unwrap() http.ResponseWriter { return rs.ResponseWriter }

func (rs *recordSession) Flush() {
	if f, ok := rs.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
