package oauthserver

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"
)

//go:embed pages/*.html
var pageFiles embed.FS

var pages = template.Must(template.ParseFS(pageFiles, "pages/*.html"))

// setPageHeaders marks a page as not cacheable and not frameable; scripts and styles run only
// with the page's nonce.
func setPageHeaders(w http.ResponseWriter, nonce string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with our own
	// form, which pageOrigin must refuse. Redirects that carry a code send no-referrer.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b) // no "+" or "/": stays as is in attributes
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data map[string]any) {
	nonce := newNonce()
	data["Nonce"] = nonce
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("rendering page failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w, nonce)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) renderError(w http.ResponseWriter, e *pageError) {
	s.render(w, e.Status, "error.html", map[string]any{"Title": e.Title, "Message": e.Message})
}

func (s *Server) renderLogin(w http.ResponseWriter, status int, req *authRequest, user, message string) {
	s.render(w, status, "login.html", map[string]any{
		"Title": "Sign in", "ClientName": req.ClientName, "RedirectHost": req.redirectHost(), "Warnings": req.Warnings,
		"Resource": req.ResourceName, "AllServers": req.ResourceName == AllServers, "ID": req.ID, "CSRF": s.csrfToken(req.ID), "User": user, "Message": message,
	})
}

func (s *Server) renderWait(w http.ResponseWriter, req *authRequest) {
	s.mu.Lock()
	key := req.WaitKey
	s.mu.Unlock()
	q := url.Values{"id": {req.ID}, "csrf": {s.csrfToken(req.ID)}, "w": {key}}.Encode()
	left := s.approvalLeft(req)
	s.render(w, http.StatusOK, "wait.html", map[string]any{
		"Title": "Waiting for approval", "ClientName": req.ClientName, "Warnings": req.Warnings,
		"WaitURL": "/authorize/wait?" + q, "StatusURL": "/authorize/status?" + q,
		"Left": formatLeft(left), "SecondsLeft": int(left / time.Second),
	})
}

// formatLeft says a time left as "4 min 32 s" or "45 s".
func formatLeft(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s >= 60 {
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	return fmt.Sprintf("%d s", s)
}
