package bridge

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxSessions = 16
	DefaultIdleTimeout = 10 * time.Minute
	DefaultInitTimeout = 30 * time.Second
	// LogLines is how many stderr lines Bridge.Log keeps.
	LogLines = 200
	// maxBodyBytes bounds one POST body, as the go-sdk's handler does.
	maxBodyBytes = 4 << 20
	// errorTailLines is how many stderr lines an error message carries.
	errorTailLines = 5
	// stopGrace is how long a child has to exit after its stdin is closed
	// before its process group is killed.
	stopGrace = 2 * time.Second
	// closeGrace is how long the HTTP side of a failed session stays open
	// after its pending calls were answered with the failure.
	closeGrace = 200 * time.Millisecond
)

// CodeServerError is the JSON-RPC error code of every error the bridge itself
// answers with (limit reached, child exited, upstream down).
const CodeServerError = -32000

// HTTP header names of the Streamable HTTP transport.
const (
	headerSessionID       = "Mcp-Session-Id"
	headerProtocolVersion = "Mcp-Protocol-Version"
	headerLastEventID     = "Last-Event-Id"
)

// legacyVersions are the protocol versions of the session-based transport.
// Requests announcing a later (sessionless, SEP-2575) version are refused
// with the list, so clients fall back to initialize.
var legacyVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// Config describes one local MCP server. Exactly one of Command and URL is set.
type Config struct {
	// Name is the shared server's name, used in logs and error messages.
	Name string

	// Command, Args, Env and Dir describe a stdio server: one child process
	// runs per MCP session. Env is added to a minimal base taken from the
	// app's environment (PATH, HOME, USER, locale, temp dir).
	Command string
	Args    []string
	Env     map[string]string
	Dir     string

	// URL is a local (loopback) Streamable HTTP MCP endpoint to forward to.
	URL string

	// MaxSessions bounds live sessions; 0 means DefaultMaxSessions.
	MaxSessions int
	// IdleTimeout ends a session that received no request for this long;
	// 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// InitTimeout is how long a child has to answer initialize; 0 means
	// DefaultInitTimeout.
	InitTimeout time.Duration

	// Logger receives the bridge's logs and, at debug level, the children's
	// stderr. Nil discards them.
	Logger *slog.Logger
}

// A Bridge serves one local MCP server as Streamable HTTP. It is an
// http.Handler meant to sit behind the OAuth guard.
type Bridge struct {
	cfg      Config
	log      *slog.Logger
	ring     *lineRing
	reqKey   any      // go-sdk request id context key, see reqkey.go
	upstream *url.URL // nil for a stdio server
	// shownURL is upstream without userinfo, query or fragment: what logs and
	// error messages (which reach the remote client) may name.
	shownURL string
	client   *http.Client

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session         // stdio sessions by id
	proxied  map[string]*upstreamSession // upstream sessions by id

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // session goroutines
}

// New checks cfg and returns a Bridge for it. No process starts before the
// first initialize.
func New(cfg Config) (*Bridge, error) {
	if (cfg.Command == "") == (cfg.URL == "") {
		return nil, fmt.Errorf("bridge %q: exactly one of command and URL must be set", cfg.Name)
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bridge{
		cfg:      cfg,
		log:      log.With("server", cfg.Name),
		ring:     newLineRing(LogLines),
		sessions: map[string]*session{},
		proxied:  map[string]*upstreamSession{},
	}
	if cfg.URL != "" {
		u, err := parseLoopbackURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("bridge %q: %w", cfg.Name, err)
		}
		b.upstream = u
		b.shownURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		b.client = newUpstreamClient()
	} else {
		b.reqKey = findRequestIDKey()
		if b.reqKey == nil {
			b.log.Warn("go-sdk request key not found: messages from the server go to the GET stream only")
		}
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// parseLoopbackURL accepts only http(s) URLs whose host is a loopback
// address or "localhost": the bridge forwards to servers on this machine.
func parseLoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: scheme must be http or https", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("URL %q: must not carry credentials", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("URL %q: missing host", raw)
	}
	if !strings.EqualFold(host, "localhost") {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("URL %q: host must be localhost or a loopback address", raw)
		}
	}
	u.Fragment = ""
	return u, nil
}

// ServeHTTP serves the Streamable HTTP transport: POST carries messages, GET
// opens the session's SSE stream, DELETE ends the session.
func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if v := r.Header.Get(headerProtocolVersion); v != "" && !knownVersion(v) && v < "2026" {
		http.Error(w, fmt.Sprintf("Bad Request: unsupported %s %q (supported: %s)", headerProtocolVersion, v, strings.Join(legacyVersions, ", ")), http.StatusBadRequest)
		return
	}
	if b.upstream != nil {
		b.serveUpstream(w, r)
		return
	}
	b.serveStdio(w, r)
}

func knownVersion(v string) bool {
	for _, l := range legacyVersions {
		if v == l {
			return true
		}
	}
	return false
}

// Sessions returns the number of live sessions.
func (b *Bridge) Sessions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.upstream != nil {
		return len(b.proxied)
	}
	return len(b.sessions)
}

// Log returns the last lines the server's processes wrote to stderr, oldest first.
func (b *Bridge) Log() []string { return b.ring.last(0) }

// Close ends every session and child process and waits until they are gone.
// Requests after Close get 503.
func (b *Bridge) Close() error {
	b.mu.Lock()
	b.closed = true
	sessions := make([]*session, 0, len(b.sessions))
	for _, s := range b.sessions {
		sessions = append(sessions, s)
	}
	b.mu.Unlock()
	for _, s := range sessions {
		s.end(errors.New("the app is shutting down"))
	}
	if b.upstream != nil {
		b.closeUpstreamSessions()
	}
	b.cancel()
	b.wg.Wait()
	return nil
}

// userOf returns the signed-in user of r: the guard's auth.TokenInfo.UserID,
// or "" when the request carries none.
func userOf(r *http.Request) string {
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		return ti.UserID
	}
	return ""
}

// newSessionID returns a cryptographically random session id.
func newSessionID() string { return rand.Text() }

// writeRPCError answers with a JSON-RPC error response and the given status.
func writeRPCError(w http.ResponseWriter, status int, id jsonrpc.ID, code int64, msg string, data any) {
	werr := &jsonrpc.Error{Code: code, Message: msg}
	if data != nil {
		werr.Data, _ = json.Marshal(data)
	}
	body, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: werr})
	if err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// writeUnsupportedVersion refuses a sessionless (SEP-2575) request the way
// the go-sdk's stateful handler does, listing the versions we speak so that
// clients fall back to initialize.
func writeUnsupportedVersion(w http.ResponseWriter, id jsonrpc.ID, requested string) {
	writeRPCError(w, http.StatusBadRequest, id, -32022,
		fmt.Sprintf("protocol version %q is not supported by this server", requested),
		map[string]any{"supported": legacyVersions, "requested": requested})
}

// readMessages reads a POST body (bounded) and decodes its JSON-RPC
// message or batch. It writes the error response itself and returns ok=false
// when the body is unusable.
func readMessages(w http.ResponseWriter, r *http.Request) (body []byte, msgs []jsonrpc.Message, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return nil, nil, false
		}
		http.Error(w, "failed to read body", http.StatusBadRequest)
		return nil, nil, false
	}
	msgs, err = decodeMessages(body)
	if err != nil {
		writeRPCError(w, http.StatusBadRequest, jsonrpc.ID{}, jsonrpc.CodeParseError, "malformed JSON-RPC payload: "+err.Error(), nil)
		return nil, nil, false
	}
	return body, msgs, true
}

// decodeMessages decodes one JSON-RPC message or a batch of them.
func decodeMessages(body []byte) ([]jsonrpc.Message, error) {
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "[") {
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, err
		}
		if len(raws) == 0 {
			return nil, errors.New("empty batch")
		}
		msgs := make([]jsonrpc.Message, 0, len(raws))
		for _, raw := range raws {
			m, err := jsonrpc.DecodeMessage(raw)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, m)
		}
		return msgs, nil
	}
	m, err := jsonrpc.DecodeMessage(body)
	if err != nil {
		return nil, err
	}
	return []jsonrpc.Message{m}, nil
}

// initializeID returns the id of the initialize request among msgs.
func initializeID(msgs []jsonrpc.Message) (jsonrpc.ID, bool) {
	for _, m := range msgs {
		if req, ok := m.(*jsonrpc.Request); ok && req.Method == "initialize" && req.IsCall() {
			return req.ID, true
		}
	}
	return jsonrpc.ID{}, false
}

// firstCallID returns the id of the first call among msgs, for error replies.
func firstCallID(msgs []jsonrpc.Message) jsonrpc.ID {
	for _, m := range msgs {
		if req, ok := m.(*jsonrpc.Request); ok && req.IsCall() {
			return req.ID
		}
	}
	return jsonrpc.ID{}
}

// sessionlessVersion returns the SEP-2575 protocol version a request asks
// for (header, or _meta of the first message), or "" for the legacy protocol.
func sessionlessVersion(r *http.Request, msgs []jsonrpc.Message) string {
	if v := r.Header.Get(headerProtocolVersion); v >= "2026" {
		return v
	}
	for _, m := range msgs {
		req, ok := m.(*jsonrpc.Request)
		if !ok || len(req.Params) == 0 || !strings.Contains(string(req.Params), "protocolVersion") {
			continue
		}
		var p struct {
			Meta map[string]any `json:"_meta"`
		}
		if json.Unmarshal(req.Params, &p) == nil {
			if v, _ := p.Meta["io.modelcontextprotocol/protocolVersion"].(string); v != "" {
				return v
			}
		}
	}
	return ""
}

// checkPOSTHeaders applies the transport's Content-Type and Accept rules.
func checkPOSTHeaders(w http.ResponseWriter, r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		http.Error(w, "Content-Type must be 'application/json'", http.StatusUnsupportedMediaType)
		return false
	}
	jsonOK, streamOK := accepts(r.Header.Values("Accept"))
	if !jsonOK || !streamOK {
		http.Error(w, "Accept must contain both 'application/json' and 'text/event-stream'", http.StatusBadRequest)
		return false
	}
	return true
}

func accepts(values []string) (jsonOK, streamOK bool) {
	for _, v := range values {
		for _, raw := range strings.Split(v, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK, streamOK
}

// limitMessage is the error text of an initialize refused for the bound.
func (b *Bridge) limitMessage() string {
	return fmt.Sprintf("server %q is at its limit of %d sessions; close an unused session or try again later", b.cfg.Name, b.cfg.MaxSessions)
}

// SessionRequired reports whether a POST body without an Mcp-Session-Id
// header needs one: it holds no initialize call and does not use the
// sessionless protocol (2026-07-28). Such a request is answered 400 by the
// transport; the bridge does so itself, and app uses this in front of the
// go-sdk's handler, which would otherwise open a new session for it.
// Malformed bodies report false: the transport answers those itself.
func SessionRequired(r *http.Request, body []byte) bool {
	msgs, err := decodeMessages(body)
	if err != nil {
		return false
	}
	if sessionlessVersion(r, msgs) != "" {
		return false
	}
	_, isInit := initializeID(msgs)
	return !isInit
}
