package ngroktest

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// DialContext connects to the public side whatever addr says, so that an http.Transport using
// it reaches the agent with the request's own Host. Its signature fits
// http.Transport.DialContext.
func (s *Service) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.PublicAddr())
}

// Transport is an http.Transport whose every connection goes to the public side: requests to
// https://<host>/... (TLS terminated by the service, certificate for <host> trusted) or
// http://<host>/... reach the agent's listener with Host <host>.
func (s *Service) Transport() *http.Transport {
	return &http.Transport{
		DialContext:         s.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: s.ca.pool},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
}

// HTTPClient is a new client over Transport with a 30 s timeout and the default redirect
// policy; callers may change its fields.
func (s *Service) HTTPClient() *http.Client {
	return &http.Client{Transport: s.Transport(), Timeout: 30 * time.Second}
}
