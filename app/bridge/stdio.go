package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A session is one MCP session of a stdio server: the HTTP side is a go-sdk
// StreamableServerTransport, the other side one child process reached through
// a go-sdk CommandTransport, and two pumps carry messages between them.
type session struct {
	b    *Bridge
	id   string
	user string
	log  *slog.Logger

	transport *mcp.StreamableServerTransport
	server    mcp.Connection // message-level view of the HTTP side
	cmd       *exec.Cmd
	child     mcp.Connection // nil until the child started
	stderr    *lineWriter
	tail      *lineRing // this child's last stderr lines, for error messages

	ctx    context.Context // cancelled when the session ends
	cancel context.CancelFunc
	pumps  sync.WaitGroup

	endOnce      sync.Once
	serverClosed chan struct{} // closed once the HTTP side is closed

	mu          sync.Mutex
	ended       bool
	pending     map[jsonrpc.ID]uint64 // client calls the child has not answered, by arrival order
	seq         uint64
	progress    map[string]jsonrpc.ID // progress token -> client call
	tokens      map[jsonrpc.ID]string // client call -> its progress token
	initID      jsonrpc.ID
	initialized bool
	refs        int // POST requests in progress; the idle timer runs at zero
	idle        *time.Timer
}

// errSessionDeleted marks a session ended by the client's DELETE: nobody
// waits for answers to its calls.
var errSessionDeleted = errors.New("session deleted by the client")

// A childError is a failure of the child process; it carries the last
// lines the child wrote to stderr.
type childError struct {
	msg   string
	lines []string
}

func (e *childError) Error() string {
	if len(e.lines) == 0 {
		return e.msg
	}
	return e.msg + ": " + strings.Join(e.lines, "\n")
}

func (b *Bridge) serveStdio(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost, http.MethodGet, http.MethodDelete:
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	sid := r.Header.Get(headerSessionID)
	if sid == "" {
		if r.Method != http.MethodPost {
			http.Error(w, fmt.Sprintf("Bad Request: %s requires an %s header", r.Method, headerSessionID), http.StatusBadRequest)
			return
		}
		b.startSession(w, r)
		return
	}
	s := b.lookup(sid, userOf(r))
	if s == nil {
		// Plain text, as the go-sdk does: clients take a 404 without a
		// JSON-RPC body as "session gone, start a new one".
		http.Error(w, "session not found", http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		if _, streamOK := accepts(r.Header.Values("Accept")); !streamOK {
			http.Error(w, "Accept must contain 'text/event-stream' for GET requests", http.StatusBadRequest)
			return
		}
		s.transport.ServeHTTP(w, r)
	case http.MethodDelete:
		s.end(errSessionDeleted)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPost:
		if !checkPOSTHeaders(w, r) {
			return
		}
		if v := r.Header.Get(headerProtocolVersion); v >= "2026" {
			writeUnsupportedVersion(w, jsonrpc.ID{}, v)
			return
		}
		s.startPOST()
		defer s.endPOST()
		s.transport.ServeHTTP(w, r)
	}
}

// lookup returns the live session sid if it belongs to user.
func (b *Bridge) lookup(sid, user string) *session {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sessions[sid]
	if s == nil || s.user != user {
		return nil
	}
	return s
}

// startSession handles a POST without a session id: it must be initialize,
// which opens a session and starts a child.
func (b *Bridge) startSession(w http.ResponseWriter, r *http.Request) {
	if !checkPOSTHeaders(w, r) {
		return
	}
	body, msgs, ok := readMessages(w, r)
	if !ok {
		return
	}
	if v := sessionlessVersion(r, msgs); v != "" {
		writeUnsupportedVersion(w, firstCallID(msgs), v)
		return
	}
	initID, ok := initializeID(msgs)
	if !ok {
		http.Error(w, "Bad Request: "+headerSessionID+" header is required", http.StatusBadRequest)
		return
	}

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		writeRPCError(w, http.StatusServiceUnavailable, initID, CodeServerError, fmt.Sprintf("server %q is shutting down", b.cfg.Name), nil)
		return
	}
	if len(b.sessions) >= b.cfg.MaxSessions {
		b.mu.Unlock()
		b.log.Warn("session refused: limit reached", "max_sessions", b.cfg.MaxSessions)
		w.Header().Set("Retry-After", "10")
		writeRPCError(w, http.StatusServiceUnavailable, initID, CodeServerError, b.limitMessage(), nil)
		return
	}
	s, err := b.newSession(userOf(r))
	if err != nil {
		b.mu.Unlock()
		writeRPCError(w, http.StatusInternalServerError, initID, jsonrpc.CodeInternalError, err.Error(), nil)
		return
	}
	b.sessions[s.id] = s
	b.wg.Add(1)
	b.mu.Unlock()

	s.log.Info("session started", "user", s.user)
	go s.run()
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.startPOST()
	s.transport.ServeHTTP(w, r)
	s.endPOST()
	if !s.isInitialized() {
		// The child failed, answered with an error, or the client went away
		// before the answer: this session can never be used (go-sdk #578).
		s.end(errors.New("initialize did not complete"))
	}
}

// newSession creates a session and connects its HTTP side. b.mu is held.
func (b *Bridge) newSession(user string) (*session, error) {
	id := newSessionID()
	s := &session{
		b:         b,
		id:        id,
		user:      user,
		log:       b.log.With("session", id[:8]),
		transport: &mcp.StreamableServerTransport{SessionID: id},
		tail:      newLineRing(errorTailLines),
		pending:   map[jsonrpc.ID]uint64{},
		progress:  map[string]jsonrpc.ID{},
		tokens:    map[jsonrpc.ID]string{},

		serverClosed: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(b.ctx)
	conn, err := s.transport.Connect(s.ctx)
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("connecting session transport: %w", err)
	}
	s.server = conn
	s.stderr = &lineWriter{emit: func(line string) {
		b.ring.add(line)
		s.tail.add(line)
		s.log.Debug("stderr", "line", line)
	}}
	s.idle = time.AfterFunc(b.cfg.IdleTimeout, func() {
		s.end(fmt.Errorf("session ended after %s without requests", b.cfg.IdleTimeout))
	})
	return s, nil
}

// run is the session's life: start the child, pump messages, and on the
// way out make sure the child and its process group are gone.
func (s *session) run() {
	defer s.b.wg.Done()
	cause := s.serve()
	s.end(cause)
	s.stopChild()
	s.pumps.Wait()
	<-s.serverClosed
	s.log.Info("session ended")
}

// serve runs until the child fails (the returned error says how) or the
// session ends (nil).
func (s *session) serve() error {
	// The first message is the initialize request; the child starts only
	// once it is here, so that a start failure can answer it.
	first, err := s.server.Read(s.ctx)
	if err != nil {
		return nil
	}
	s.track(first)
	if err := s.startChild(); err != nil {
		return err
	}
	initTimer := time.AfterFunc(s.b.cfg.InitTimeout, func() {
		if !s.isInitialized() {
			s.end(s.childFailure(fmt.Sprintf("server %q did not answer initialize within %s", s.b.cfg.Name, s.b.cfg.InitTimeout)))
		}
	})
	defer initTimer.Stop()
	if err := s.child.Write(s.ctx, first); err != nil {
		return s.exitError()
	}
	s.pumps.Add(1)
	go s.toChild()
	for {
		msg, err := s.child.Read(s.ctx)
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			if !errors.Is(err, io.EOF) {
				s.log.Warn("reading from server", "err", err)
			}
			return s.exitError()
		}
		s.toClient(msg)
	}
}

// toChild carries the client's messages to the child.
func (s *session) toChild() {
	defer s.pumps.Done()
	for {
		msg, err := s.server.Read(s.ctx)
		if err != nil {
			return
		}
		s.track(msg)
		if err := s.child.Write(s.ctx, msg); err != nil {
			// The child's stdin is closed: it is exiting, and the reading
			// side reports that to the pending calls.
			return
		}
	}
}

// toClient carries one message of the child to the client. Responses go to
// the HTTP response of their request. Requests and notifications go to the
// HTTP response of the client call they belong to when it is still open (a
// progress notification names it by token; a sampling, elicitation or roots
// request or a log message most likely belongs to the latest call), else to
// the session's GET stream.
func (s *session) toClient(msg jsonrpc.Message) {
	if resp, ok := msg.(*jsonrpc.Response); ok {
		s.mu.Lock()
		s.forgetLocked(resp.ID)
		if resp.ID == s.initID && resp.Error == nil {
			s.initialized = true
		}
		s.mu.Unlock()
		if err := s.server.Write(context.Background(), resp); err != nil {
			s.log.Debug("response not delivered", "err", err)
		}
		return
	}
	req := msg.(*jsonrpc.Request)
	for _, related := range s.route(req) {
		ctx := context.Background()
		if related.IsValid() {
			if s.b.reqKey == nil {
				continue
			}
			ctx = context.WithValue(ctx, s.b.reqKey, related)
		}
		if err := s.server.Write(ctx, req); err == nil {
			return
		}
	}
	s.log.Debug("message from server not delivered: no open stream", "method", req.Method)
}

// route returns the client calls whose streams may carry req, in order of
// preference; the zero ID stands for the GET stream.
func (s *session) route(req *jsonrpc.Request) []jsonrpc.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var latest jsonrpc.ID
	var latestSeq uint64
	for id, seq := range s.pending {
		if seq > latestSeq {
			latest, latestSeq = id, seq
		}
	}
	none := jsonrpc.ID{}
	switch {
	case req.Method == "notifications/progress":
		if id, ok := s.progress[progressToken(req.Params, false)]; ok {
			return []jsonrpc.ID{id, none}
		}
		return []jsonrpc.ID{none, latest}
	case req.IsCall() || req.Method == "notifications/message":
		return []jsonrpc.ID{latest, none}
	default:
		return []jsonrpc.ID{none, latest}
	}
}

// track records the client's calls, so that a failing child can answer them
// and progress can find its call.
func (s *session) track(msg jsonrpc.Message) {
	req, ok := msg.(*jsonrpc.Request)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.IsCall() {
		s.seq++
		s.pending[req.ID] = s.seq
		if req.Method == "initialize" {
			s.initID = req.ID
		}
		if tok := progressToken(req.Params, true); tok != "" {
			s.progress[tok] = req.ID
			s.tokens[req.ID] = tok
		}
		return
	}
	if req.Method == "notifications/cancelled" {
		var p struct {
			RequestID json.RawMessage `json:"requestId"`
		}
		if json.Unmarshal(req.Params, &p) == nil {
			var raw any
			if json.Unmarshal(p.RequestID, &raw) == nil {
				if f, ok := raw.(float64); ok {
					raw = int64(f)
				}
				if id, err := jsonrpc.MakeID(raw); err == nil {
					s.forgetLocked(id)
				}
			}
		}
	}
}

func (s *session) forgetLocked(id jsonrpc.ID) {
	delete(s.pending, id)
	if tok, ok := s.tokens[id]; ok {
		delete(s.progress, tok)
		delete(s.tokens, id)
	}
}

// progressToken returns a progress token as a map key: params.progressToken
// of a notification, or params._meta.progressToken of a request.
func progressToken(params json.RawMessage, inMeta bool) string {
	if !bytes.Contains(params, []byte("progressToken")) {
		return ""
	}
	var p struct {
		Token json.RawMessage `json:"progressToken"`
		Meta  struct {
			Token json.RawMessage `json:"progressToken"`
		} `json:"_meta"`
	}
	if json.Unmarshal(params, &p) != nil {
		return ""
	}
	if inMeta {
		return string(p.Meta.Token)
	}
	return string(p.Token)
}

func (s *session) isInitialized() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initialized
}

// startPOST and endPOST count POST requests in progress; the idle timer
// runs only when there are none.
func (s *session) startPOST() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs++
	if !s.ended {
		s.idle.Stop()
	}
}

func (s *session) endPOST() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.refs == 0 && !s.ended {
		s.idle.Reset(s.b.cfg.IdleTimeout)
	}
}

// end ends the session once: it leaves the table, its pending calls get an
// error saying why (unless the client deleted it), and its HTTP side closes.
// The child is stopped by run.
func (s *session) end(cause error) {
	s.endOnce.Do(func() {
		s.b.mu.Lock()
		if s.b.sessions[s.id] == s {
			delete(s.b.sessions, s.id)
		}
		s.b.mu.Unlock()

		s.mu.Lock()
		s.ended = true
		s.idle.Stop()
		var ids []jsonrpc.ID
		for id := range s.pending {
			ids = append(ids, id)
		}
		s.mu.Unlock()

		answered := false
		if cause != nil && !errors.Is(cause, errSessionDeleted) {
			werr := &jsonrpc.Error{Code: CodeServerError, Message: cause.Error()}
			var ce *childError
			if errors.As(cause, &ce) {
				s.log.Warn("server failed", "err", ce.msg)
				if len(ce.lines) > 0 {
					werr.Data, _ = json.Marshal(map[string]any{"stderr": ce.lines})
				}
			}
			for _, id := range ids {
				if err := s.server.Write(context.Background(), &jsonrpc.Response{ID: id, Error: werr}); err != nil {
					s.log.Debug("error not delivered", "err", err)
				} else {
					answered = true
				}
			}
		}
		s.cancel()
		closeServer := func() {
			s.server.Close()
			close(s.serverClosed)
		}
		if answered {
			// Closing the HTTP side ends the client's GET stream, which a
			// client may notice before the errors just written to its POST
			// streams; give it a moment to read them first.
			time.AfterFunc(closeGrace, closeServer)
		} else {
			closeServer()
		}
	})
}

// startChild starts the server process in its own process group.
func (s *session) startChild() error {
	cfg := s.b.cfg
	if cfg.Dir != "" {
		if fi, err := os.Stat(cfg.Dir); err != nil || !fi.IsDir() {
			return &childError{msg: fmt.Sprintf("server %q could not start: working directory %q does not exist", cfg.Name, cfg.Dir)}
		}
	}
	cmd := exec.Command(cfg.Command, cfg.Args...)
	cmd.Env = childEnv(os.Environ(), cfg.Env)
	cmd.Dir = cfg.Dir
	cmd.Stderr = s.stderr
	// Bound Wait when a grandchild outside the group keeps stderr open.
	cmd.WaitDelay = stopGrace
	setProcAttr(cmd)
	s.cmd = cmd
	conn, err := (&mcp.CommandTransport{Command: cmd, TerminateDuration: stopGrace}).Connect(s.ctx)
	if err != nil {
		s.cmd = nil
		return &childError{msg: fmt.Sprintf("server %q could not start %q: %v", cfg.Name, cfg.Command, err)}
	}
	s.mu.Lock()
	s.child = conn
	s.mu.Unlock()
	s.log.Info("server started", "pid", cmd.Process.Pid)
	return nil
}

// exitError waits for the exited child and describes how it ended.
func (s *session) exitError() error {
	err := s.child.Close() // closes stdin and waits (bounded) for the exit status
	s.stderr.Flush()
	var msg string
	var ee *exec.ExitError
	switch {
	case err == nil:
		msg = fmt.Sprintf("server %q exited", s.b.cfg.Name)
	case errors.As(err, &ee) && ee.Exited():
		msg = fmt.Sprintf("server %q exited with status %d", s.b.cfg.Name, ee.ExitCode())
	default:
		msg = fmt.Sprintf("server %q ended: %v", s.b.cfg.Name, err)
	}
	return &childError{msg: msg, lines: s.tail.last(0)}
}

// childFailure describes a failure of a running child that is not its exit.
func (s *session) childFailure(msg string) error {
	return &childError{msg: msg, lines: s.tail.last(0)}
}

// stopChild closes the child's stdin, gives it stopGrace to exit, then kills
// its process group; it returns once the child is reaped.
func (s *session) stopChild() {
	s.mu.Lock()
	child := s.child
	s.mu.Unlock()
	if child == nil || s.cmd == nil {
		return
	}
	kill := time.AfterFunc(stopGrace, func() { killGroup(s.cmd) })
	child.Close()
	kill.Stop()
	// The leader is reaped; whatever it started in its group goes too.
	killGroup(s.cmd)
	s.stderr.Flush()
}
