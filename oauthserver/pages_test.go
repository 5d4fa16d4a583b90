package oauthserver

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPagesEscapeAndHeaders(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	w := httptest.NewRecorder()
	req := &authRequest{ID: "id1", ClientName: `<script>alert(1)</script>`, RedirectURI: "https://a.example/cb", ResourceName: "files"}
	e.s.renderLogin(w, 200, req, `"><b>`, "msg")
	body := w.Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, `"><b>`) {
		t.Fatal("not escaped")
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatal(csp)
	}
	w = httptest.NewRecorder()
	e.s.renderWait(w, req)
	nonce := strings.TrimSuffix(strings.SplitN(strings.SplitN(w.Header().Get("Content-Security-Policy"), "'nonce-", 2)[1], "'", 2)[0], "'")
	if !strings.Contains(w.Body.String(), `<script nonce="`+nonce+`">`) || !strings.Contains(w.Body.String(), "/authorize/status?") {
		t.Fatalf("wait page: %s", w.Body)
	}
	if w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("headers")
	}
}
