package oauthserver

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	if got := (&Error{Code: "invalid_grant", Description: "bad"}).Error(); got != "invalid_grant: bad" {
		t.Fatal(got)
	}
	if got := (&Error{Code: "x"}).Error(); got != "x" {
		t.Fatal(got)
	}
	wrapped := fmt.Errorf("wrap: %w", invalidGrant("g"))
	if asError(wrapped).Code != "invalid_grant" || asError(errors.New("secret detail")).Code != "server_error" {
		t.Fatal("asError")
	}
	w := httptest.NewRecorder()
	writeError(w, errors.New("secret detail"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret detail") || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	writeError(w, invalidClient("who"))
	if w.Code != 401 || strings.TrimSpace(w.Body.String()) != `{"error":"invalid_client","error_description":"who"}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
