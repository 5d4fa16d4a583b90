package oauthserver

import (
	"encoding/binary"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// Policy says what happens after a user types the right password.
type Policy string

const (
	// PolicyAsk holds every sign-in until someone approves it in the app (the default).
	PolicyAsk Policy = "ask"
	// PolicyOnce asks the first time a user signs in through a client to a resource, and
	// remembers the approval for that user, client and resource.
	PolicyOnce Policy = "once"
	// PolicyPassword lets the password alone decide (headless use).
	PolicyPassword Policy = "password"
)

func (p Policy) orDefault() Policy {
	switch p {
	case PolicyOnce, PolicyPassword:
		return p
	}
	return PolicyAsk
}

// Decisions of a SignIn.
const (
	DecisionPending  = "pending"
	DecisionApproved = "approved"
	DecisionDenied   = "denied"
	DecisionExpired  = "expired"
)

// SignIn is a sign-in waiting for (or past) approval: who, through which client, to which
// server. Every text in it is safe to show as is: no control or bidi characters, host names
// in their xn-- form, and a client name that claims a well-known client it is not marked
// "(unverified)".
type SignIn struct {
	ID           string
	ClientID     string
	ClientName   string   // e.g. "ChatGPT — chatgpt.com" for a client metadata document
	Warnings     []string // sentences to show with it (an unverified name, a look-alike host, …)
	RedirectHost string   // where the browser returns to, host[:port]
	User         string
	Resource     string // the resource URL
	Server       string // the shared server's name; AllServers ("") for <origin>/mcp
	RemoteAddr   string
	Time         time.Time // when the password was accepted
	Decision     string    // DecisionPending, DecisionApproved, DecisionDenied or DecisionExpired
}

// ServerLabel says what the sign-in is for, for people: the shared server's name, or "all
// shared servers" for <origin>/mcp.
func (si SignIn) ServerLabel() string {
	switch {
	case si.Server != AllServers:
		return si.Server
	case si.Resource != "" && !strings.HasSuffix(si.Resource, "/mcp"):
		return path.Base(si.Resource) // a sign-in recorded before Server was
	}
	return "all shared servers"
}

type signIn struct {
	SignIn
	requestID string
}

// PendingSignIns returns the sign-ins waiting for a decision, oldest first.
func (s *Server) PendingSignIns() []SignIn {
	s.expireNow()
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]SignIn, 0, len(s.signIns))
	for _, si := range s.signIns {
		list = append(list, si.SignIn)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Time.Before(list[j].Time) })
	return list
}

// RecentSignIns returns the last decided sign-ins (at most MaxRecentSignIns), newest first.
func (s *Server) RecentSignIns() []SignIn {
	s.expireNow()
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]SignIn, len(s.recent))
	for i, si := range s.recent {
		list[len(list)-1-i] = si
	}
	return list
}

// Decide approves or denies a pending sign-in. The waiting browser page continues by itself.
// An approval is remembered for PolicyOnce. ErrSignInNotFound when it is not pending anymore.
func (s *Server) Decide(id string, approve bool) error {
	s.expireNow()
	s.mu.Lock()
	si := s.signIns[id]
	if si == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrSignInNotFound, id)
	}
	decision := DecisionDenied
	if approve {
		decision = DecisionApproved
	}
	s.finishSignInLocked(si, decision)
	s.mu.Unlock()
	s.saveRecent()
	s.log.Info("sign-in decided", "client", si.ClientID, "user", si.User, "resource", si.Resource, "decision", decision)
	var err error
	if approve {
		err = s.rememberApproval(si.User, si.ClientID, si.Resource)
	}
	s.notify()
	return err
}

// startSignIn queues a sign-in for approval, links it to the authorization request and returns
// the request's wait key. When the request already waits (the form was sent twice) it returns
// the existing key, or otherUser when another user's password was accepted for it.
func (s *Server) startSignIn(req *authRequest, user, remote string) (key string, otherUser bool) {
	now := s.now()
	si := &signIn{requestID: req.ID, SignIn: SignIn{
		ID: newID(), ClientID: safeText(req.ClientID, 300), ClientName: req.ClientName, Warnings: req.Warnings,
		RedirectHost: req.redirectHost(), User: safeText(user, 64), Resource: req.Resource, Server: req.ResourceName, RemoteAddr: remote, Time: now, Decision: DecisionPending,
	}}
	s.mu.Lock()
	if req.User != "" {
		key, otherUser = req.WaitKey, req.User != user
		s.mu.Unlock()
		if otherUser {
			key = ""
		}
		return key, otherUser
	}
	s.signIns[si.ID] = si
	req.User = user
	req.SignInID = si.ID
	req.WaitKey = newID()
	req.Decision = DecisionPending
	req.Deadline = now.Add(SignInTimeout)
	req.Expires = now.Add(SignInTimeout + AuthRequestTTL)
	key = req.WaitKey
	s.mu.Unlock()
	s.log.Info("sign-in waiting for approval", "client", si.ClientID, "user", user, "resource", si.Resource, "addr", remote)
	s.notify()
	return key, false
}

// finishSignInLocked moves a pending sign-in to the recent list and records the decision on its
// authorization request. s.mu must be held; the caller calls saveRecent after unlocking.
func (s *Server) finishSignInLocked(si *signIn, decision string) {
	delete(s.signIns, si.ID)
	si.Decision = decision
	s.recent = append(s.recent, si.SignIn)
	if n := len(s.recent) - MaxRecentSignIns; n > 0 {
		s.recent = append([]SignIn(nil), s.recent[n:]...)
	}
	s.unsaved = append(s.unsaved, si.SignIn)
	if req := s.requests[si.requestID]; req != nil {
		req.Decision = decision
	}
}

// recentKey orders decided sign-ins by time in their bucket.
func recentKey(si SignIn) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(si.Time.UnixNano()))
	return append(k, si.ID...)
}

// saveRecent writes the sign-ins decided since the last call to the database, keeping the
// last MaxRecentSignIns, so that "Recent sign-ins" survives a restart.
func (s *Server) saveRecent() {
	s.mu.Lock()
	list := s.unsaved
	s.unsaved = nil
	s.mu.Unlock()
	if len(list) == 0 {
		return
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for _, si := range list {
			if err := putJSON(tx, bucketSignIns, recentKey(si), si); err != nil {
				return err
			}
		}
		var keys [][]byte
		c := tx.Bucket(bucketSignIns).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			keys = append(keys, clone(k))
		}
		if n := len(keys) - MaxRecentSignIns; n > 0 {
			return deleteKeys(tx, bucketSignIns, keys[:n])
		}
		return nil
	})
	if err != nil {
		s.log.Error("storing recent sign-ins failed", "err", err)
	}
}

// loadRecent reads the decided sign-ins of earlier runs, oldest first.
func loadRecent(db *bbolt.DB) ([]SignIn, error) {
	var list []SignIn
	err := db.View(func(tx *bbolt.Tx) error {
		return forEachJSON(tx, bucketSignIns, func(_ []byte, si *SignIn) error {
			list = append(list, *si)
			return nil
		})
	})
	if n := len(list) - MaxRecentSignIns; n > 0 {
		list = list[n:]
	}
	return list, err
}

// expireNow applies timeouts at the current time and tells the app when something changed.
func (s *Server) expireNow() {
	if s.expireInMemory(s.now()) {
		s.saveRecent()
		s.notify()
	}
}

// expireInMemory expires sign-ins past SignInTimeout, authorization requests past their
// lifetime, and old rate-limit windows. It reports whether the sign-in lists changed.
func (s *Server) expireInMemory(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, si := range s.signIns {
		if now.Sub(si.Time) >= SignInTimeout {
			s.finishSignInLocked(si, DecisionExpired)
			changed = true
		}
	}
	for id, req := range s.requests {
		if now.After(req.Expires) {
			delete(s.requests, id)
		}
	}
	for id, f := range s.finished {
		if now.Sub(f.At) > AuthRequestTTL {
			delete(s.finished, id)
		}
	}
	s.registerRate.sweep(now)
	s.registerBlockRate.sweep(now)
	s.fetchRate.sweep(now)
	s.forgetAssertionIDsLocked(now)
	s.throttle.sweep(now)
	return changed
}

func (s *Server) notify() {
	if s.onSignIn != nil {
		s.onSignIn()
	}
}

// approvalKey keys a remembered approval (PolicyOnce) by user, client and resource: approving
// a client for one server does not let it into another one, nor into /mcp. Keys written
// before resources were part of them (user "\x00" client) match nothing and are asked again.
func approvalKey(user, clientID, resource string) []byte {
	return []byte(user + "\x00" + clientID + "\x00" + resource)
}

func (s *Server) rememberApproval(user, clientID, resource string) error {
	now := s.now()
	return s.db.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketApprovals, approvalKey(user, clientID, resource), now)
	})
}

func (s *Server) approvedBefore(user, clientID, resource string) bool {
	var ok bool
	_ = s.db.View(func(tx *bbolt.Tx) error {
		ok = tx.Bucket(bucketApprovals).Get(approvalKey(user, clientID, resource)) != nil
		return nil
	})
	return ok
}

// deleteApprovalsTx deletes the remembered approvals whose user and client match.
func deleteApprovalsTx(tx *bbolt.Tx, match func(user, clientID string) bool) error {
	var keys [][]byte
	err := tx.Bucket(bucketApprovals).ForEach(func(k, _ []byte) error {
		parts := strings.SplitN(string(k), "\x00", 3)
		if len(parts) >= 2 && match(parts[0], parts[1]) {
			keys = append(keys, clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return deleteKeys(tx, bucketApprovals, keys)
}
