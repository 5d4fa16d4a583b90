package oauthserver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// authRequest is an authorization request whose client and redirect URI are verified, kept in
// memory between the login page and the redirect back. The browser only holds its ID (and the
// CSRF token derived from it).
type authRequest struct {
	ID            string
	Origin        string // the issuer the request came in on
	ClientID      string
	ClientName    string
	Warnings      []string // about the client and its redirect URI, shown on the page and in the approval
	Addr          string   // the address of the browser that asked
	RedirectURI   string
	RedirectGiven bool
	State         string
	Challenge     string
	Resource      string // resource URL
	ResourceName  string // the shared server's name, or AllServers
	Scope         string
	Expires       time.Time
	User          string // set once the password was right
	SignInID      string
	// WaitKey is given only to the browser that typed the right password (in the URL of the
	// waiting page); the id and CSRF token are in any copy of the login page, so without it
	// whoever fetched that page could collect the code after someone else signed in.
	WaitKey  string
	Decision string    // "" until a password was accepted under PolicyAsk/Once
	Deadline time.Time // when the sign-in waiting for approval expires
	seq      uint64    // order of arrival, for eviction (clocks may tie)
}

// redirectHost is the host[:port] the sign-in returns to, as shown (displayHost).
func (r *authRequest) redirectHost() string {
	u, err := url.Parse(r.RedirectURI)
	if err != nil {
		return ""
	}
	h, _ := displayHost(u.Host)
	return h
}

// pageError is an error shown to the person in the browser, never sent to the redirect URI:
// the client or the redirect URI could not be trusted, or the request is gone.
type pageError struct {
	Status  int
	Title   string
	Message string
}

func (e *pageError) Error() string { return e.Title + ": " + e.Message }

// single returns the only value of a parameter; repeating a parameter is an error (RFC 6749 §3.1).
func single(q url.Values, name string) (string, bool) {
	v := q[name]
	if len(v) > 1 {
		return "", false
	}
	if len(v) == 0 {
		return "", true
	}
	return v[0], true
}

// checkClientRedirect verifies client_id and redirect_uri (fetching the client's metadata
// document for the browser at addr when the client_id is one). Until both are verified
// nothing may be sent to the redirect URI, so failures are a pageError.
func (s *Server) checkClientRedirect(ctx context.Context, q url.Values, addr string) (*clientRecord, string, bool, *pageError) {
	clientID, ok1 := single(q, "client_id")
	redirect, ok2 := single(q, "redirect_uri")
	if !ok1 || !ok2 {
		return nil, "", false, &pageError{http.StatusBadRequest, "Invalid request", "client_id or redirect_uri appears more than once."}
	}
	if clientID == "" {
		return nil, "", false, &pageError{http.StatusBadRequest, "Invalid request", "The request names no client (client_id is missing)."}
	}
	c, err := s.findClient(ctx, clientID, addr)
	if err != nil {
		return nil, "", false, documentPageError(err)
	}
	if c == nil {
		return nil, "", false, &pageError{http.StatusBadRequest, "Unknown application", "The application asking you to sign in is not registered here (or it was removed). Start again from the application; it will register again."}
	}
	given := redirect != ""
	if !given {
		if c.Preregistered || len(c.RedirectURIs) != 1 {
			return nil, "", false, &pageError{http.StatusBadRequest, "Invalid request", "The request does not say where to return to (redirect_uri is missing)."}
		}
		redirect = c.RedirectURIs[0]
	}
	if !c.redirectAllowed(redirect) {
		return nil, "", false, &pageError{http.StatusBadRequest, "Invalid redirect", "The address this request wants to return to is not registered for this application, so the sign-in was stopped."}
	}
	return c, redirect, given, nil
}

// checkAuthorizeParams validates the rest of an authorization request once the client and
// redirect URI are trusted; failures are redirected to the client.
func (s *Server) checkAuthorizeParams(q url.Values, origin string, req *authRequest) *Error {
	// state first, so that every later refusal carries it back (RFC 6749 §4.1.2.1).
	state, ok := single(q, "state")
	if !ok {
		return invalidRequest("state appears more than once")
	}
	if len(state) > 2048 {
		return invalidRequest("state is longer than 2048 characters")
	}
	req.State = state
	for _, p := range []string{"response_type", "code_challenge", "code_challenge_method", "scope"} {
		if _, ok := single(q, p); !ok {
			return invalidRequest(p + " appears more than once")
		}
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return invalidRequest("response_type is required")
	default:
		return oauthErr(http.StatusBadRequest, "unsupported_response_type", "only response_type=code is supported")
	}
	switch m := q.Get("code_challenge_method"); m {
	case "S256":
	case "":
		return invalidRequest("PKCE is required: code_challenge_method=S256 is missing")
	default:
		return invalidRequest(fmt.Sprintf("code_challenge_method %q is not supported: use S256", truncate(m, 32)))
	}
	challenge := q.Get("code_challenge")
	if challenge == "" {
		return invalidRequest("PKCE is required: code_challenge is missing")
	}
	if b, err := base64.RawURLEncoding.DecodeString(challenge); err != nil || len(b) != sha256.Size {
		return invalidRequest("code_challenge is not a base64url SHA-256 (43 characters)")
	}
	req.Challenge = challenge
	resources := q["resource"]
	if len(resources) > 1 {
		return oauthErr(http.StatusBadRequest, "invalid_target", "only one resource may be requested")
	}
	name, e := s.requestedResource(origin, q.Get("resource"))
	if e != nil {
		return e
	}
	req.ResourceName, req.Resource = name, resourceURL(origin, name)
	req.Scope = grantedScope(q.Get("scope"))
	return nil
}

// startAuthorization validates an authorization request from the browser at addr and keeps
// it for the login page. It returns a pageError (show it) or an *Error together with the
// request (redirect it).
func (s *Server) startAuthorization(ctx context.Context, q url.Values, origin, addr string) (*authRequest, *Error, *pageError) {
	c, redirect, given, pe := s.checkClientRedirect(ctx, q, addr)
	if pe != nil {
		return nil, nil, pe
	}
	shown := c.describeFor(redirect)
	req := &authRequest{
		ID: newID() + newID(), Origin: origin, ClientID: c.ID, ClientName: shown.Name, Warnings: shown.Warnings,
		Addr: addr, RedirectURI: redirect, RedirectGiven: given, Expires: s.now().Add(AuthRequestTTL),
	}
	if e := s.checkAuthorizeParams(q, origin, req); e != nil {
		return req, e, nil
	}
	if !s.keepRequest(req) {
		return req, oauthErr(http.StatusServiceUnavailable, "temporarily_unavailable", "too many sign-ins in progress; try again later"), nil
	}
	return req, nil, nil
}

// keepRequest stores a pending authorization request within the bounds: an address keeps at
// most MaxAuthRequestsPerAddress (its oldest one without a password yet makes room), and
// when MaxAuthRequests are pending the address block holding the most gives up its oldest
// one. One address, or one network, cannot fill the table and block everyone's sign-ins.
func (s *Server) keepRequest(req *authRequest) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	perAddr := map[string]int{}
	perBlock := map[string]int{}
	for id, r := range s.requests {
		if now.After(r.Expires) {
			delete(s.requests, id)
			continue
		}
		if r.User == "" {
			perAddr[limitKey(r.Addr)]++
			perBlock[blockKey(r.Addr)]++
		}
	}
	evictOldest := func(match func(*authRequest) bool) bool {
		var oldest *authRequest
		for _, r := range s.requests {
			if r.User == "" && match(r) && (oldest == nil || r.seq < oldest.seq) {
				oldest = r
			}
		}
		if oldest != nil {
			delete(s.requests, oldest.ID)
		}
		return oldest != nil
	}
	if key := limitKey(req.Addr); perAddr[key] >= MaxAuthRequestsPerAddress {
		evictOldest(func(r *authRequest) bool { return limitKey(r.Addr) == key })
	}
	if len(s.requests) >= MaxAuthRequests {
		top, n := "", 0
		for b, c := range perBlock {
			if c > n {
				top, n = b, c
			}
		}
		if !evictOldest(func(r *authRequest) bool { return blockKey(r.Addr) == top }) {
			return false
		}
	}
	s.requestSeq++
	req.seq = s.requestSeq
	s.requests[req.ID] = req
	return true
}

// csrfToken binds the login form to one authorization request.
func (s *Server) csrfToken(requestID string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("login\x00" + requestID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// pendingRequest returns the live authorization request id if csrf is its token.
func (s *Server) pendingRequest(id, csrf string) (*authRequest, *pageError) {
	if id == "" || csrf == "" || !hmac.Equal([]byte(csrf), []byte(s.csrfToken(id))) {
		return nil, &pageError{http.StatusForbidden, "Sign-in refused", "This form did not come from this sign-in page (the security token is missing or wrong). Start again from the application."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req := s.requests[id]
	if req == nil || s.now().After(req.Expires) {
		delete(s.requests, id)
		if f, ok := s.finished[id]; ok {
			return nil, f.page()
		}
		return nil, &pageError{http.StatusBadRequest, "Sign-in expired", "This sign-in took too long and has expired. Start again from the application."}
	}
	return req, nil
}

// finishedRequest is what is left of an authorization request that ended, for AuthRequestTTL:
// enough to tell a browser that goes Back to it or reloads it how it ended.
type finishedRequest struct {
	ClientName string
	Outcome    string // DecisionApproved, DecisionDenied or DecisionExpired
	At         time.Time
}

func (f finishedRequest) page() *pageError {
	switch f.Outcome {
	case DecisionApproved:
		return &pageError{http.StatusOK, "Signed in", fmt.Sprintf("This sign-in is complete: %s has been let in. You can close this page and return to %s.", f.ClientName, f.ClientName)}
	case DecisionExpired:
		return &pageError{http.StatusBadRequest, "Sign-in not approved in time", fmt.Sprintf("Nobody approved this sign-in in MCP Share within %d minutes. Start again from %s.", int(SignInTimeout.Minutes()), f.ClientName)}
	}
	return &pageError{http.StatusBadRequest, "Sign-in denied", fmt.Sprintf("This sign-in was denied in MCP Share. Start again from %s if you want to try again.", f.ClientName)}
}

// rememberFinishedLocked keeps the outcome of a request that ended. s.mu is held.
func (s *Server) rememberFinishedLocked(req *authRequest, outcome string) {
	if len(s.finished) >= MaxAuthRequests {
		var oldest string
		for id, f := range s.finished {
			if oldest == "" || f.At.Before(s.finished[oldest].At) {
				oldest = id
			}
		}
		delete(s.finished, oldest)
	}
	s.finished[req.ID] = finishedRequest{ClientName: req.ClientName, Outcome: outcome, At: s.now()}
}

// loginOutcome is what the login step decided.
type loginOutcome struct {
	Redirect string // go here (code or error for the client, or the waiting page)
	Page     *pageError
	Retry    string // show the login form again with this message
	Status   int    // status for Retry
}

// login checks the password for a pending request and applies the policy. A form submitted
// again after the password was accepted (a double click) needs the right password again to
// get to the waiting page. Wrong passwords are throttled (throttle.go); a right one is never
// refused because of what others did from other addresses.
func (s *Server) login(req *authRequest, user, password, addr string) loginOutcome {
	akey, block := limitKey(addr), blockKey(addr)
	unlock := s.throttle.lock(string(throttleKey(user, akey)))
	defer unlock()
	exists := s.userExists(user)
	rec := s.loadThrottle(user, akey, exists)
	// The password check waits for a slot; the limits are looked at once it has one, so that
	// checks queued meanwhile see the failures counted before them.
	s.argonSlots <- struct{}{}
	now := s.now()
	if no := s.checkThrottle(&rec, block, now); no != nil {
		<-s.argonSlots
		s.log.Warn("sign-in throttled", "user", logName(user, exists), "addr", addr, "wait", no.Wait.Round(time.Second).String())
		return loginOutcome{Retry: fmt.Sprintf(no.Message, humanWait(no.Wait)), Status: http.StatusTooManyRequests}
	}
	known, ok := s.authenticate(user, password)
	<-s.argonSlots
	if !ok {
		s.recordFailure(&rec, block, known, now)
		s.log.Warn("sign-in failed: wrong user name or password", "user", logName(user, known), "client", req.ClientID, "addr", addr)
		return loginOutcome{Retry: "Wrong user name or password.", Status: http.StatusUnauthorized}
	}
	s.recordSuccess(&rec, now)
	if !s.userMayUse(user, req.ResourceName) {
		s.log.Warn("sign-in refused: the user may not use this server", "user", user, "client", req.ClientID, "resource", req.Resource)
		return loginOutcome{Retry: "The owner has not shared this server with " + user + ".", Status: http.StatusForbidden}
	}
	policy := s.currentPolicy()
	if policy == PolicyPassword || (policy == PolicyOnce && s.approvedBefore(user, req.ClientID, req.Resource)) {
		s.mu.Lock()
		waiting := req.User != ""
		s.mu.Unlock()
		if !waiting {
			s.log.Info("sign-in accepted", "user", user, "client", req.ClientID, "resource", req.Resource, "policy", string(policy))
			to, pe := s.finishAuthorization(req, user, true)
			return loginOutcome{Redirect: to, Page: pe}
		}
	}
	key, other := s.startSignIn(req, user, addr)
	if other {
		return loginOutcome{Retry: "This sign-in is already waiting for another user's approval.", Status: http.StatusConflict}
	}
	return loginOutcome{Redirect: s.waitURL(req.ID, key)}
}

// finishAuthorization ends a request: with a code when approved, else access_denied. It
// returns the URL to send the browser to.
func (s *Server) finishAuthorization(req *authRequest, user string, approved bool) (string, *pageError) {
	s.mu.Lock()
	outcome := DecisionApproved
	if !approved {
		outcome = DecisionDenied
		if req.Decision == DecisionExpired {
			outcome = DecisionExpired
		}
	}
	_, live := s.requests[req.ID]
	delete(s.requests, req.ID)
	f, done := s.finished[req.ID]
	if live {
		s.rememberFinishedLocked(req, outcome)
	}
	s.mu.Unlock()
	if !live { // another tab or a double click finished it first
		if done {
			return "", f.page()
		}
		return "", &pageError{http.StatusBadRequest, "Sign-in already finished", "This sign-in has already been completed. Return to the application."}
	}
	if !approved {
		return errorRedirect(req, oauthErr(http.StatusBadRequest, "access_denied", "the sign-in was denied or not approved in time")), nil
	}
	code, err := s.issueCode(req, user)
	if err != nil {
		s.log.Error("storing authorization code failed", "err", err)
		return errorRedirect(req, serverError()), nil
	}
	return buildRedirect(req, url.Values{"code": {code}}), nil
}

// issueCode stores a single-use code bound to the request's client, redirect URI, PKCE
// challenge, resource, scope and user.
func (s *Server) issueCode(req *authRequest, user string) (string, error) {
	code := newSecret(prefixCode)
	rec := codeRecord{
		ClientID: req.ClientID, ClientName: req.ClientName, RedirectURI: req.RedirectURI, RedirectGiven: req.RedirectGiven,
		Challenge: req.Challenge, Resource: req.Resource, Scope: req.Scope, User: user,
		Expires: s.now().Add(CodeTTL),
	}
	err := s.db.Update(func(tx *bbolt.Tx) error { return putJSON(tx, bucketCodes, hashToken(code), rec) })
	return code, err
}

// buildRedirect adds params, state and iss (RFC 9207) to the redirect URI, keeping its query.
func buildRedirect(req *authRequest, params url.Values) string {
	u, err := url.Parse(req.RedirectURI)
	if err != nil {
		return req.RedirectURI
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	q.Set("iss", req.Origin)
	u.RawQuery = q.Encode()
	return u.String()
}

func errorRedirect(req *authRequest, e *Error) string {
	p := url.Values{"error": {e.Code}}
	if e.Description != "" {
		p.Set("error_description", e.Description)
	}
	return buildRedirect(req, p)
}

// handleAuthorize shows the login page for a valid authorization request.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	r, ok := s.withOrigin(w, r)
	if !ok {
		return
	}
	if !s.pageOrigin(w, r) {
		return
	}
	req, e, pe := s.startAuthorization(r.Context(), r.URL.Query(), OriginFromContext(r.Context()), remoteHost(r))
	switch {
	case pe != nil:
		s.renderError(w, pe)
	case e != nil:
		s.log.Info("authorization request refused", "client", req.ClientID, "error", e.Code, "description", e.Description)
		redirect(w, r, errorRedirect(req, e), http.StatusFound)
	default:
		s.renderLogin(w, http.StatusOK, req, "", "")
	}
}

// handleLogin takes the login form.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r, ok := s.withOrigin(w, r)
	if !ok {
		return
	}
	if !s.pageOrigin(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, &pageError{http.StatusBadRequest, "Invalid request", "The sign-in form could not be read."})
		return
	}
	req, pe := s.pendingRequest(r.PostForm.Get("id"), r.PostForm.Get("csrf"))
	if pe != nil {
		s.renderError(w, pe)
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("username"))
	out := s.login(req, user, r.PostForm.Get("password"), remoteHost(r))
	switch {
	case out.Page != nil:
		s.renderError(w, out.Page)
	case out.Redirect != "":
		redirect(w, r, out.Redirect, http.StatusSeeOther)
	default:
		s.renderLogin(w, out.Status, req, user, out.Retry)
	}
}

// redirect sends the browser on; the URL may carry a code, which no cache may keep and no
// Referer may carry further.
func redirect(w http.ResponseWriter, r *http.Request, to string, status int) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, to, status)
}

// pageOrigin checks the Origin header of a page request: absent (navigations) or an allowed
// origin. A form posted from another site is refused before its fields are read, and so is
// "null": it is what sandboxed frames, data: URLs and local files send, never our own page
// (its Referrer-Policy same-origin makes browsers send its origin).
func (s *Server) pageOrigin(w http.ResponseWriter, r *http.Request) bool {
	if !s.pageOriginAllowed(r) {
		s.renderError(w, &pageError{http.StatusForbidden, "Sign-in refused", "This request came from another web site. Start again from the application."})
		return false
	}
	return true
}

func (s *Server) pageOriginAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || s.origins.Allowed(o)
}

func (s *Server) waitURL(id, key string) string {
	return "/authorize/wait?" + url.Values{"id": {id}, "csrf": {s.csrfToken(id)}, "w": {key}}.Encode()
}

// waitingRequest returns the request of a waiting page or status poll: id and csrf as for the
// form, and the wait key of the browser that typed the password once there is one.
func (s *Server) waitingRequest(q url.Values) (*authRequest, *pageError) {
	req, pe := s.pendingRequest(q.Get("id"), q.Get("csrf"))
	if pe != nil {
		return nil, pe
	}
	s.mu.Lock()
	key := req.WaitKey
	s.mu.Unlock()
	if key != "" && !hmac.Equal([]byte(q.Get("w")), []byte(key)) {
		return nil, &pageError{http.StatusForbidden, "Sign-in refused", "This sign-in continues in the browser window where the password was typed."}
	}
	return req, nil
}

// requestDecision returns the decision of a request waiting for approval.
func (s *Server) requestDecision(req *authRequest) (decision, user string) {
	s.expireNow()
	s.mu.Lock()
	defer s.mu.Unlock()
	return req.Decision, req.User
}

// handleWait shows the waiting page while the sign-in is pending, and sends the browser back
// to the client once it is decided.
func (s *Server) handleWait(w http.ResponseWriter, r *http.Request) {
	r, ok := s.withOrigin(w, r)
	if !ok {
		return
	}
	if !s.pageOrigin(w, r) {
		return
	}
	req, pe := s.waitingRequest(r.URL.Query())
	if pe != nil {
		s.renderError(w, pe)
		return
	}
	decision, user := s.requestDecision(req)
	switch decision {
	case DecisionPending:
		s.renderWait(w, req)
	case DecisionApproved, DecisionDenied, DecisionExpired:
		to, pe := s.finishAuthorization(req, user, decision == DecisionApproved)
		if pe != nil {
			s.renderError(w, pe)
			return
		}
		redirect(w, r, to, http.StatusSeeOther)
	default: // no password yet
		s.renderLogin(w, http.StatusOK, req, "", "")
	}
}

// handleSignInStatus is polled by the waiting page: {"status": "pending"|"approved"|"denied"|"expired"}.
func (s *Server) handleSignInStatus(w http.ResponseWriter, r *http.Request) {
	r, ok := s.withOrigin(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if !s.pageOriginAllowed(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"status": DecisionExpired, "error": "requests from this Origin are not allowed"})
		return
	}
	req, pe := s.waitingRequest(r.URL.Query())
	if pe != nil {
		writeJSON(w, pe.Status, map[string]string{"status": DecisionExpired, "error": pe.Message})
		return
	}
	decision, _ := s.requestDecision(req)
	if decision == "" {
		decision = DecisionPending
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": decision, "seconds_left": int(s.approvalLeft(req) / time.Second)})
}

// approvalLeft is how long a sign-in waiting for approval has left.
func (s *Server) approvalLeft(req *authRequest) time.Duration {
	s.mu.Lock()
	deadline := req.Deadline
	s.mu.Unlock()
	return max(deadline.Sub(s.now()), 0)
}
