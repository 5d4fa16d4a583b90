package oauthserver

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Error is an OAuth 2.0 error (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 7009 §2.2.1). The
// OAuth rules of this package return it; handlers write it as the JSON body
// {"error": Code, "error_description": Description} with HTTP status Status.
type Error struct {
	Code        string
	Description string
	Status      int
}

// Error returns "code: description".
func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Sentinel errors of the management API, for errors.Is.
var (
	ErrUserExists     = errors.New("oauthserver: user already exists")
	ErrUserNotFound   = errors.New("oauthserver: user not found")
	ErrClientNotFound = errors.New("oauthserver: client not found")
	ErrSignInNotFound = errors.New("oauthserver: sign-in not found or already decided")
)

func oauthErr(status int, code, description string) *Error {
	return &Error{Code: code, Description: description, Status: status}
}

func invalidRequest(description string) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_request", description)
}

func invalidGrant(description string) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_grant", description)
}

func invalidClient(description string) *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", description)
}

func serverError() *Error {
	return oauthErr(http.StatusInternalServerError, "server_error", "internal error")
}

// asError turns any error into an *Error; errors that are not OAuth errors become an opaque
// server_error so that no internal detail reaches the client.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return serverError()
}

// writeJSON writes v as the JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes err as an RFC 6749 §5.2 JSON error body.
func writeError(w http.ResponseWriter, err error) {
	e := asError(err)
	body := map[string]string{"error": e.Code}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	writeJSON(w, e.Status, body)
}
