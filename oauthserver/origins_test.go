package oauthserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestOrigins(t *testing.T) {
	o := NewOrigins()
	o.SetLocal("http://127.0.0.1:8765", "HTTP://LocalHost:8765/", "not an origin", "ftp://x", "http://a/path")
	o.SetPublic("https://X.ngrok.app:443")
	if o.Public() != "https://x.ngrok.app" {
		t.Fatal(o.Public())
	}
	allowed := map[string]bool{
		"http://127.0.0.1:8765": true, "http://localhost:8765": true, "https://x.ngrok.app": true,
		"https://x.ngrok.app:443": true, "http://x.ngrok.app": false, "http://127.0.0.1:8766": false,
		"null": false, "": false, "http://a": false,
	}
	for origin, want := range allowed {
		if o.Allowed(origin) != want {
			t.Errorf("Allowed(%q) = %v", origin, !want)
		}
	}
	match := map[string]string{
		"127.0.0.1:8765": "http://127.0.0.1:8765", "LOCALHOST:8765": "http://localhost:8765",
		"x.ngrok.app": "https://x.ngrok.app", "x.ngrok.app:443": "https://x.ngrok.app",
		"127.0.0.1": "", "evil.example": "", "": "",
	}
	for host, want := range match {
		if got := o.Match(host); got != want {
			t.Errorf("Match(%q) = %q, want %q", host, got, want)
		}
	}
	o.SetPublic("")
	if o.Match("x.ngrok.app") != "" || o.Public() != "" {
		t.Fatal("public origin not removed")
	}
}

func TestOriginsHandler(t *testing.T) {
	o := NewOrigins()
	o.SetLocal("http://127.0.0.1:8765")
	var seen string
	h := o.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = OriginFromContext(r.Context()) }))
	for host, status := range map[string]int{"127.0.0.1:8765": 200, "evil.example": 421, "127.0.0.1:1": 421} {
		seen = ""
		req := httptest.NewRequest("GET", "/x", nil)
		req.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != status {
			t.Errorf("%s: %d", host, w.Code)
		}
		if status == 421 && (seen != "" || w.Header().Get("Content-Type") != "application/json") {
			t.Errorf("%s: not a JSON 421", host)
		}
		if status == 200 && seen != "http://127.0.0.1:8765" {
			t.Errorf("origin in context %q", seen)
		}
	}
}
