package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestForwardedClientTrustedOnlyFromLocalProxyForPublicHost(t *testing.T) {
	a := openTest(t, func(o *Options) {
		o.Tunnel, o.PublicURL, o.TrustForwardedFor = TunnelCustom, "https://share.example.org", true
	})
	a.origins.SetPublic("https://share.example.org")
	var seen string
	h := a.forwardedClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }))
	tests := []struct {
		name, host, remote string
		xff                []string
		want               string
	}{
		{"proxy appends the visitor", "share.example.org", "127.0.0.1:5000", []string{"203.0.113.9"}, "203.0.113.9:0"},
		{"visitor-supplied entries are ignored", "share.example.org", "127.0.0.1:5000", []string{"10.0.0.1, 198.51.100.4"}, "198.51.100.4:0"},
		{"last header line wins", "share.example.org", "[::1]:5000", []string{"10.0.0.1", "2001:db8::7"}, "[2001:db8::7]:0"},
		{"not from this machine", "share.example.org", "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1:5000"},
		{"local origin, not the public one", "127.0.0.1:8765", "127.0.0.1:5000", []string{"203.0.113.9"}, "127.0.0.1:5000"},
		{"garbage", "share.example.org", "127.0.0.1:5000", []string{"not-an-ip"}, "127.0.0.1:5000"},
		{"no header", "share.example.org", "127.0.0.1:5000", nil, "127.0.0.1:5000"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host, r.RemoteAddr = tt.host, tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen != tt.want {
			t.Errorf("%s: RemoteAddr %q, want %q", tt.name, seen, tt.want)
		}
	}

	// With ngrok (or no tunnel) the header is never trusted, nor with the custom tunnel
	// unless the user turned it on: a TCP tunnel passes a forged header through.
	for name, mod := range map[string]func(*Options){
		"no tunnel, trust on":  func(o *Options) { o.TrustForwardedFor = true },
		"custom, trust not on": func(o *Options) { o.Tunnel, o.PublicURL = TunnelCustom, "https://share.example.org" },
	} {
		b := openTest(t, mod)
		b.origins.SetPublic("https://share.example.org")
		h = b.forwardedClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }))
		r := httptest.NewRequest("GET", "/", nil)
		r.Host, r.RemoteAddr = "share.example.org", "127.0.0.1:5000"
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen != "127.0.0.1:5000" {
			t.Errorf("%s: X-Forwarded-For trusted: %q", name, seen)
		}
	}
}
