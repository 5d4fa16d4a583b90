package tunnel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"golang.ngrok.com/muxado/v2"
)

// fakeNgrok is a small ngrok service on 127.0.0.1 that the real agent
// (golang.ngrok.com/ngrok/v2) connects to through ConnectURL and ConnectCAs.
// It speaks the agent's protocol: TLS, a muxado session with typed streams,
// JSON Auth and Bind RPCs, and for each public connection a proxy stream
// (type 3) starting with an int64 little-endian length and a ProxyHeader.
// Its "public side" is a plain TCP listener; each connection to it is carried
// to the agent's listener.
type fakeNgrok struct {
	t       *testing.T
	control net.Listener // agent side (TLS)
	public  net.Listener // visitor side
	pool    *x509.CertPool
	url     string // what Bind answers, e.g. https://example.ngrok.app
	authErr string // non-empty: Auth fails with this message
	bindErr string // non-empty: Bind fails with this message

	mu       sync.Mutex
	sessions []*muxado.Heartbeat
	bound    *muxado.Heartbeat // session holding the tunnel
	tunnelID string
	bindCh   chan struct{} // a value per successful Bind
}

// The JSON shapes of the agent's protocol (internal/tunnel/proto), reduced
// to the fields the fake reads or the agent needs.
type (
	fakeAuthResp struct {
		Version  string
		ClientID string `json:"ClientId"`
		Error    string
		Extra    struct{ Region, AgentSessionID string }
	}
	fakeBind struct {
		ClientID string `json:"Id"`
		Proto    string
		Opts     json.RawMessage
	}
	fakeBindResp struct {
		ClientID string `json:"Id"`
		URL      string
		Proto    string
		Opts     json.RawMessage
		Error    string
		Extra    struct{ Token, TunnelID string }
	}
	fakeProxyHeader struct {
		ID             string `json:"Id"`
		ClientAddr     string
		Proto          string
		EdgeType       string
		PassthroughTLS bool
	}
)

const (
	fakeAuthReq   muxado.StreamType = 0
	fakeBindReq   muxado.StreamType = 1
	fakeUnbindReq muxado.StreamType = 2
	fakeProxyReq  muxado.StreamType = 3
)

const fakeClientAddr = "203.0.113.7:41000"

type fakeOption func(*fakeNgrok)

func withAuthError(msg string) fakeOption { return func(f *fakeNgrok) { f.authErr = msg } }
func withBindError(msg string) fakeOption { return func(f *fakeNgrok) { f.bindErr = msg } }

func newFakeNgrok(t *testing.T, url string, opts ...fakeOption) *fakeNgrok {
	t.Helper()
	cert, pool := selfSignedLoopbackCert(t)
	control, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	public, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNgrok{t: t, control: control, public: public, pool: pool, url: url, bindCh: make(chan struct{}, 16)}
	for _, o := range opts {
		o(f)
	}
	go f.acceptAgents()
	go f.acceptVisitors()
	t.Cleanup(f.close)
	return f
}

// ConnectURL is the address to give NgrokConfig.ConnectURL.
func (f *fakeNgrok) ConnectURL() string { return f.control.Addr().String() }

// PublicAddr is where visitors connect.
func (f *fakeNgrok) PublicAddr() string { return f.public.Addr().String() }

func (f *fakeNgrok) close() {
	f.control.Close()
	f.public.Close()
	f.dropSessions()
}

// dropSessions ends every agent session, as a network failure would.
func (f *fakeNgrok) dropSessions() {
	f.mu.Lock()
	sessions := f.sessions
	f.sessions, f.bound = nil, nil
	f.mu.Unlock()
	for _, s := range sessions {
		s.Close()
	}
}

func (f *fakeNgrok) waitBind(t *testing.T) {
	t.Helper()
	select {
	case <-f.bindCh:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not bind")
	}
}

func (f *fakeNgrok) acceptAgents() {
	for {
		conn, err := f.control.Accept()
		if err != nil {
			return
		}
		sess := muxado.NewHeartbeat(muxado.NewTypedStreamSession(muxado.Server(conn, nil)), nil, nil)
		f.mu.Lock()
		f.sessions = append(f.sessions, sess)
		f.mu.Unlock()
		go f.serveAgent(sess)
	}
}

// serveAgent answers the agent's RPCs; Heartbeat answers heartbeats itself.
func (f *fakeNgrok) serveAgent(sess *muxado.Heartbeat) {
	for {
		stream, err := sess.AcceptTypedStream()
		if err != nil {
			return
		}
		go f.answer(sess, stream)
	}
}

func (f *fakeNgrok) answer(sess *muxado.Heartbeat, stream muxado.TypedStream) {
	defer stream.Close()
	dec := json.NewDecoder(stream)
	enc := json.NewEncoder(stream)
	switch stream.StreamType() {
	case fakeAuthReq:
		var req json.RawMessage
		if dec.Decode(&req) != nil {
			return
		}
		resp := fakeAuthResp{Version: "3", ClientID: "fake-client", Error: f.authErr}
		resp.Extra.Region = "local"
		resp.Extra.AgentSessionID = "fake-session"
		enc.Encode(resp)
		if f.authErr != "" {
			// The real service closes a session it refused.
			time.AfterFunc(50*time.Millisecond, func() { sess.Close() })
		}
	case fakeBindReq:
		var req fakeBind
		if dec.Decode(&req) != nil {
			return
		}
		resp := fakeBindResp{ClientID: req.ClientID, URL: f.url, Proto: req.Proto, Opts: req.Opts, Error: f.bindErr}
		if resp.ClientID == "" {
			resp.ClientID = "fake-tunnel"
		}
		resp.Extra.Token = "fake-bind-token"
		resp.Extra.TunnelID = "fake-tunnel-id"
		if f.bindErr == "" {
			f.mu.Lock()
			f.bound, f.tunnelID = sess, resp.ClientID
			f.mu.Unlock()
		}
		enc.Encode(resp)
		if f.bindErr == "" {
			f.bindCh <- struct{}{}
		}
	default: // Unbind and anything else: no error
		var req json.RawMessage
		if dec.Decode(&req) != nil {
			return
		}
		enc.Encode(struct{ Error string }{})
	}
}

func (f *fakeNgrok) acceptVisitors() {
	for {
		conn, err := f.public.Accept()
		if err != nil {
			return
		}
		go f.proxy(conn)
	}
}

// proxy carries one visitor connection to the agent over a new proxy stream.
func (f *fakeNgrok) proxy(visitor net.Conn) {
	defer visitor.Close()
	f.mu.Lock()
	sess, id := f.bound, f.tunnelID
	f.mu.Unlock()
	if sess == nil {
		return
	}
	stream, err := sess.OpenTypedStream(fakeProxyReq)
	if err != nil {
		return
	}
	defer stream.Close()
	hdr, _ := json.Marshal(fakeProxyHeader{ID: id, ClientAddr: fakeClientAddr, Proto: "https", EdgeType: "3"})
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

// selfSignedLoopbackCert makes a certificate for 127.0.0.1 (the agent uses
// the host part of ConnectURL as the TLS server name) and a pool trusting it.
func selfSignedLoopbackCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake ngrok"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
