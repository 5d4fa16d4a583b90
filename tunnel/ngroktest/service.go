package ngroktest

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.ngrok.com/muxado/v2"
)

// ClientAddr is the visitor address every proxied connection reports (r.RemoteAddr behind the
// agent's listener).
const ClientAddr = "203.0.113.7:41000"

// BadAuthtokenCode is the code ngrok gives an authtoken it does not accept.
const BadAuthtokenCode = "ERR_NGROK_105"

// badAuthtokenMessage is ngrok's message for ERR_NGROK_105. Like the real service it repeats
// the token it was given, so tests can check that callers do not show it.
const badAuthtokenMessage = "The authtoken you specified does not look like a proper ngrok authtoken.\n" +
	"Your authtoken: %TOKEN%\n" +
	"Instructions to install your authtoken are on your ngrok dashboard:\n" +
	"https://dashboard.ngrok.com/get-started/your-authtoken\n\n" + BadAuthtokenCode

// Service is a fake ngrok service on 127.0.0.1. It is safe for concurrent use.
type Service struct {
	ca      *authority
	control net.Listener // agent side (TLS)
	public  net.Listener // visitor side (TLS or plain HTTP)
	tlsCfg  *tls.Config  // visitor side

	url       string // what Bind answers; "" means the URL the agent asked for
	authtoken string // non-empty: only this token is accepted
	authErr   string // non-empty: every Auth fails with this message
	bindErr   string // non-empty: every Bind fails with this message

	binds chan string // the URL of each successful Bind

	mu        sync.Mutex
	closed    bool
	sessions  []*muxado.Heartbeat
	bound     *muxado.Heartbeat // session holding the most recent endpoint
	tunnelID  string
	lastToken string
}

// Option configures a Service.
type Option func(*Service)

// WithURL makes Bind answer url (e.g. "https://x.ngrok.app") whatever the agent asked for. By
// default Bind answers the URL the agent asked for, or a random https://….ngrok-free.app.
func WithURL(url string) Option { return func(s *Service) { s.url = url } }

// WithAuthtoken makes the service accept only token; any other gets ngrok's ERR_NGROK_105
// rejection, which (as ngrok's does) repeats the token it was given.
func WithAuthtoken(token string) Option { return func(s *Service) { s.authtoken = token } }

// WithAuthError makes every Auth fail with msg, verbatim; ngrok's messages end with their code
// ("...\n\nERR_NGROK_105"), which the agent turns into ngrok.Error.Code().
func WithAuthError(msg string) Option { return func(s *Service) { s.authErr = msg } }

// WithBindError makes every Bind fail with msg, verbatim (e.g. one ending in ERR_NGROK_320 for
// a domain reserved by another account).
func WithBindError(msg string) Option { return func(s *Service) { s.bindErr = msg } }

// Start runs a Service until the test ends. Failures to set it up end the test.
func Start(t testing.TB, opts ...Option) *Service {
	t.Helper()
	ca, err := newAuthority()
	if err != nil {
		t.Fatalf("ngroktest: %v", err)
	}
	control, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.cert}})
	if err != nil {
		t.Fatalf("ngroktest: %v", err)
	}
	public, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		control.Close()
		t.Fatalf("ngroktest: %v", err)
	}
	s := &Service{
		ca:      ca,
		control: control,
		public:  public,
		tlsCfg:  &tls.Config{GetCertificate: ca.certificate, NextProtos: []string{"http/1.1"}},
		binds:   make(chan string, 64),
	}
	for _, o := range opts {
		o(s)
	}
	go s.acceptAgents()
	go s.acceptVisitors()
	t.Cleanup(s.Close)
	return s
}

// ConnectURL is the "host:port" to give the agent (ngrok.WithAgentConnectURL).
func (s *Service) ConnectURL() string { return s.control.Addr().String() }

// CAs trusts the service's certificates: give it to the agent (ngrok.WithAgentConnectCAs);
// HTTPClient trusts it already.
func (s *Service) CAs() *x509.CertPool { return s.ca.pool }

// PublicAddr is the "host:port" where visitors connect, with TLS (any server name) or plain HTTP.
func (s *Service) PublicAddr() string { return s.public.Addr().String() }

// Authtoken returns the authtoken the last agent presented ("" before any).
func (s *Service) Authtoken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastToken
}

// WaitBind waits up to timeout for the next successful Bind and returns the URL it answered;
// ok is false on timeout. Every Bind is queued, so a Bind that happened before the call counts.
func (s *Service) WaitBind(timeout time.Duration) (url string, ok bool) {
	select {
	case url := <-s.binds:
		return url, true
	case <-time.After(timeout):
		return "", false
	}
}

// DropSessions ends every agent session, as a network failure would; the agent reconnects.
func (s *Service) DropSessions() {
	s.mu.Lock()
	sessions := s.sessions
	s.sessions, s.bound = nil, nil
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.Close()
	}
}

// Close stops the service and ends every session. Start arranges it for the test's end.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.control.Close()
	s.public.Close()
	s.DropSessions()
}

func (s *Service) acceptAgents() {
	for {
		conn, err := s.control.Accept()
		if err != nil {
			return
		}
		sess := muxado.NewHeartbeat(muxado.NewTypedStreamSession(muxado.Server(conn, nil)), nil, nil)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			sess.Close()
			return
		}
		s.sessions = append(s.sessions, sess)
		s.mu.Unlock()
		go s.serveAgent(sess)
	}
}

// serveAgent answers the agent's RPCs; Heartbeat answers heartbeats itself.
func (s *Service) serveAgent(sess *muxado.Heartbeat) {
	for {
		stream, err := sess.AcceptTypedStream()
		if err != nil {
			return
		}
		go s.answer(sess, stream)
	}
}

func (s *Service) answer(sess *muxado.Heartbeat, stream muxado.TypedStream) {
	defer stream.Close()
	dec := json.NewDecoder(stream)
	enc := json.NewEncoder(stream)
	switch stream.StreamType() {
	case streamAuth:
		var req authReq
		if dec.Decode(&req) != nil {
			return
		}
		s.mu.Lock()
		s.lastToken = req.Extra.Authtoken
		s.mu.Unlock()
		resp := authResp{Version: "3", ClientID: "ngroktest-client", Error: s.authErr}
		if resp.Error == "" && s.authtoken != "" && req.Extra.Authtoken != s.authtoken {
			resp.Error = strings.ReplaceAll(badAuthtokenMessage, "%TOKEN%", req.Extra.Authtoken)
		}
		resp.Extra.Region = "local"
		resp.Extra.AgentSessionID = "ngroktest-session"
		enc.Encode(resp)
		if resp.Error != "" {
			// The real service closes a session it refused.
			time.AfterFunc(50*time.Millisecond, func() { sess.Close() })
		}
	case streamBind:
		var req bindReq
		if dec.Decode(&req) != nil {
			return
		}
		resp := bindResp{ClientID: req.ClientID, URL: s.bindURL(req), Proto: req.Proto, Opts: req.Opts, Error: s.bindErr}
		if resp.ClientID == "" {
			resp.ClientID = "ngroktest-tunnel"
		}
		resp.Extra.Token = "ngroktest-bind-token"
		resp.Extra.TunnelID = "ngroktest-tunnel-id"
		if s.bindErr == "" {
			s.mu.Lock()
			s.bound, s.tunnelID = sess, resp.ClientID
			s.mu.Unlock()
		}
		enc.Encode(resp)
		if s.bindErr == "" {
			select {
			case s.binds <- resp.URL:
			default:
			}
		}
	default: // Unbind and anything else: no error
		var req json.RawMessage
		if dec.Decode(&req) != nil {
			return
		}
		enc.Encode(struct{ Error string }{})
	}
}

// bindURL is the endpoint URL for a Bind: WithURL's, else the one asked for, else a random one.
func (s *Service) bindURL(req bindReq) string {
	if s.url != "" {
		return s.url
	}
	var o bindOpts
	_ = json.Unmarshal(req.Opts, &o)
	switch {
	case o.URL != "":
		return o.URL
	case o.Domain != "":
		return "https://" + o.Domain
	case o.Hostname != "":
		return "https://" + o.Hostname
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "https://ngroktest-" + hex.EncodeToString(b) + ".ngrok-free.app"
}

func (s *Service) acceptVisitors() {
	for {
		conn, err := s.public.Accept()
		if err != nil {
			return
		}
		go s.visit(conn)
	}
}

// visit terminates TLS when the visitor speaks it (as ngrok's edge does) and carries the
// connection to the agent.
func (s *Service) visit(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	var visitor net.Conn = &peekedConn{Conn: conn, r: br}
	proto := "http"
	if first[0] == 0x16 { // a TLS handshake record
		tc := tls.Server(visitor, s.tlsCfg)
		if tc.Handshake() != nil {
			return
		}
		visitor, proto = tc, "https"
	}
	conn.SetReadDeadline(time.Time{})
	s.proxy(visitor, proto)
}

// proxy carries one visitor connection to the agent over a new proxy stream.
func (s *Service) proxy(visitor net.Conn, proto string) {
	s.mu.Lock()
	sess, id := s.bound, s.tunnelID
	s.mu.Unlock()
	if sess == nil {
		return
	}
	stream, err := sess.OpenTypedStream(streamProxy)
	if err != nil {
		return
	}
	defer stream.Close()
	hdr, _ := json.Marshal(proxyHeader{ID: id, ClientAddr: ClientAddr, Proto: proto, EdgeType: "3"})
	if binary.Write(stream, binary.LittleEndian, int64(len(hdr))) != nil {
		return
	}
	if _, err := stream.Write(hdr); err != nil {
		return
	}
	go func() {
		io.Copy(stream, visitor)
		stream.CloseWrite()
	}()
	io.Copy(visitor, stream)
}

// peekedConn reads through the bufio.Reader that peeked at the first byte.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
