package oauthserver

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// Failed passwords are throttled per (user name, address) with delays that grow with each
// failure, so that a stranger who knows the public URL and the user name ("admin" exists
// everywhere) slows down only their own guesses: the owner, at another address, signs in as
// ever. Bounds per address, per address block and per user (over all addresses where that
// user never signed in) stop guessing spread over many names or many addresses. Addresses are
// IPv4 addresses and IPv6 /64s (limitKey); blocks are IPv4 /24s and IPv6 /48s (blockKey).
const (
	FreeFailures          = 3                   // wrong passwords per (user, address) before any delay
	FirstFailureDelay     = 2 * time.Second     // delay after the first failure past FreeFailures; doubles with each further one
	MaxFailureDelay       = 15 * time.Minute    // longest delay between two attempts
	FailureMemory         = 24 * time.Hour      // a (user, address) record is forgotten this long after its last failure
	KnownAddressMemory    = 30 * 24 * time.Hour // an address where a user signed in counts as theirs this long
	LoginFailureWindow    = 15 * time.Minute    // window of the per-user, per-address and per-block counts
	MaxFailuresPerUser    = 300                 // per window, from addresses where that user never signed in
	MaxFailuresPerAddress = 20                  // per window and address, over all user names
	MaxFailuresPerBlock   = 60                  // per window and address block, over all user names
	MaxThrottleRecords    = 10000               // (user, address) records kept, in the database and in memory each
)

// FailedSignIn is the record of a user's wrong passwords from one address, as the owner sees it.
type FailedSignIn struct {
	User string
	// Address is an IPv4 address or an IPv6 /64; "" stands for the bound over all addresses
	// where this user never signed in (MaxFailuresPerUser).
	Address      string
	Failures     int
	Last         time.Time // the last wrong password
	BlockedUntil time.Time // when the next attempt is allowed; zero when one is allowed now
}

// throttleRecord is one (user, address) record. Records of existing users are kept in the
// database, so that a restart neither forgets a stranger's failures nor the owner's addresses;
// records of user names that do not exist live in memory only (and behave the same, so that
// the answers do not tell which names exist).
type throttleRecord struct {
	User        string    `json:"user"`
	Addr        string    `json:"addr"`
	Failures    int       `json:"failures"`
	LastFailure time.Time `json:"last_failure,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
}

func throttleKey(user, addr string) []byte { return []byte(user + "\x00" + addr) }

// until is when the next attempt of this record is allowed.
func (r *throttleRecord) until() time.Time {
	if r.Failures <= FreeFailures {
		return time.Time{}
	}
	d := FirstFailureDelay
	for i := FreeFailures + 1; i < r.Failures && d < MaxFailureDelay; i++ {
		d *= 2
	}
	return r.LastFailure.Add(min(d, MaxFailureDelay))
}

// known reports whether the user signed in from this address recently.
func (r *throttleRecord) known(now time.Time) bool {
	return !r.LastSuccess.IsZero() && now.Sub(r.LastSuccess) < KnownAddressMemory
}

// forgotten reports whether nothing in the record matters anymore.
func (r *throttleRecord) forgotten(now time.Time) bool {
	return now.Sub(r.LastFailure) >= FailureMemory && !r.known(now)
}

// throttle holds the in-memory part: counters per window, records of unknown user names, and
// one lock per (user, address) under which a password is checked.
type throttle struct {
	mu        sync.Mutex
	users     *loginLimiter // failures per user name from addresses not known for it
	addrs     *loginLimiter // failures per address
	blocks    *loginLimiter // failures per address block
	strangers map[string]*throttleRecord
	locks     map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	refs int
}

func newThrottle() *throttle {
	return &throttle{
		users:     newLimiter(MaxFailuresPerUser, LoginFailureWindow),
		addrs:     newLimiter(MaxFailuresPerAddress, LoginFailureWindow),
		blocks:    newLimiter(MaxFailuresPerBlock, LoginFailureWindow),
		strangers: map[string]*throttleRecord{},
		locks:     map[string]*keyLock{},
	}
}

// lock serializes password checks of one (user, address): parallel correct sign-ins wait their
// turn (each check takes milliseconds) instead of being refused, and parallel guesses are
// counted one after the other, so none gets past the limit.
func (t *throttle) lock(key string) (unlock func()) {
	t.mu.Lock()
	l := t.locks[key]
	if l == nil {
		l = &keyLock{}
		t.locks[key] = l
	}
	l.refs++
	t.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		t.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(t.locks, key)
		}
		t.mu.Unlock()
	}
}

func (t *throttle) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.users.sweep(now)
	t.addrs.sweep(now)
	t.blocks.sweep(now)
	for k, r := range t.strangers {
		if r.forgotten(now) {
			delete(t.strangers, k)
		}
	}
}

// blockKey is the key of an address in the per-block limits: the /24 of an IPv4 address, the
// /48 of an IPv6 one (what one network usually holds).
func blockKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.WithZone("").Unmap()
	bits := 24
	if ip.Is6() {
		bits = 48
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return addr
	}
	return p.String()
}

// loadThrottle returns the record of (user, addr); known says whether the user exists.
func (s *Server) loadThrottle(user, addr string, known bool) throttleRecord {
	rec := throttleRecord{User: user, Addr: addr}
	if !known {
		s.throttle.mu.Lock()
		if r := s.throttle.strangers[string(throttleKey(user, addr))]; r != nil {
			rec = *r
		}
		s.throttle.mu.Unlock()
		return rec
	}
	_ = s.db.View(func(tx *bbolt.Tx) error {
		_, err := getJSON(tx, bucketThrottle, throttleKey(user, addr), &rec)
		return err
	})
	return rec
}

// saveThrottle stores a record, making room by forgetting the oldest failure-only record
// when MaxThrottleRecords are kept.
func (s *Server) saveThrottle(rec throttleRecord, known bool) {
	key := throttleKey(rec.User, rec.Addr)
	if !known {
		s.throttle.mu.Lock()
		defer s.throttle.mu.Unlock()
		if _, ok := s.throttle.strangers[string(key)]; !ok && len(s.throttle.strangers) >= MaxThrottleRecords {
			var oldest string
			for k, r := range s.throttle.strangers {
				if oldest == "" || r.LastFailure.Before(s.throttle.strangers[oldest].LastFailure) {
					oldest = k
				}
			}
			delete(s.throttle.strangers, oldest)
		}
		s.throttle.strangers[string(key)] = &rec
		return
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketThrottle)
		if b.Get(key) == nil && b.Stats().KeyN >= MaxThrottleRecords {
			var oldest []byte
			var at time.Time
			if err := forEachJSON(tx, bucketThrottle, func(k []byte, r *throttleRecord) error {
				if !r.known(rec.LastFailure) && (oldest == nil || r.LastFailure.Before(at)) {
					oldest, at = clone(k), r.LastFailure
				}
				return nil
			}); err != nil {
				return err
			}
			if oldest != nil {
				if err := b.Delete(oldest); err != nil {
					return err
				}
			}
		}
		return putJSON(tx, bucketThrottle, key, rec)
	})
	if err != nil {
		s.log.Error("storing failed sign-in record failed", "err", err)
	}
}

// loginRefusal says why a password may not be checked now, and for how long; nil when it may.
type loginRefusal struct {
	Wait    time.Duration
	Message string
}

// checkThrottle decides whether the password of rec's user may be checked from rec's address.
func (s *Server) checkThrottle(rec *throttleRecord, block string, now time.Time) *loginRefusal {
	if u := rec.until(); now.Before(u) {
		return &loginRefusal{u.Sub(now), "Too many wrong passwords for this user from your address. Try again in %s."}
	}
	t := s.throttle
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.addrs.blocked(rec.Addr, now):
		return &loginRefusal{t.addrs.remaining(rec.Addr, now), "Too many failed sign-ins from your address. Try again in %s."}
	case t.blocks.blocked(block, now):
		return &loginRefusal{t.blocks.remaining(block, now), "Too many failed sign-ins from your network. Try again in %s."}
	case !rec.known(now) && t.users.blocked(rec.User, now):
		return &loginRefusal{t.users.remaining(rec.User, now), "Too many failed sign-ins for this user from many places. Try again in %s, or from a device that signed in before."}
	}
	return nil
}

// recordFailure counts a wrong password of rec's user from rec's address.
func (s *Server) recordFailure(rec *throttleRecord, block string, known bool, now time.Time) {
	if now.Sub(rec.LastFailure) >= FailureMemory {
		rec.Failures = 0
	}
	rec.Failures++
	rec.LastFailure = now
	s.saveThrottle(*rec, known)
	t := s.throttle
	t.mu.Lock()
	t.addrs.hit(rec.Addr, now)
	t.blocks.hit(block, now)
	if !rec.known(now) {
		t.users.hit(rec.User, now)
	}
	t.mu.Unlock()
}

// recordSuccess forgets the failures of rec and remembers the address as the user's.
func (s *Server) recordSuccess(rec *throttleRecord, now time.Time) {
	rec.Failures, rec.LastFailure, rec.LastSuccess = 0, time.Time{}, now
	s.saveThrottle(*rec, true)
}

// humanWait says a wait in whole seconds or minutes, rounded up.
func humanWait(d time.Duration) string {
	if d <= time.Minute {
		n := int((d + time.Second - 1) / time.Second)
		if n <= 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", n)
	}
	n := int((d + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("%d minutes", n)
}

// FailedSignIns lists the wrong passwords of existing users per address, and each user's
// bound over unknown addresses when it has counts; most recent first. BlockedUntil says
// which of them hold sign-ins back now.
func (s *Server) FailedSignIns() ([]FailedSignIn, error) {
	now := s.now()
	var list []FailedSignIn
	err := s.db.View(func(tx *bbolt.Tx) error {
		return forEachJSON(tx, bucketThrottle, func(_ []byte, r *throttleRecord) error {
			if r.Failures > 0 && !r.forgotten(now) {
				f := FailedSignIn{User: r.User, Address: r.Addr, Failures: r.Failures, Last: r.LastFailure}
				if u := r.until(); now.Before(u) {
					f.BlockedUntil = u
				}
				list = append(list, f)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("oauthserver: list failed sign-ins: %w", err)
	}
	t := s.throttle
	t.mu.Lock()
	for user, e := range t.users.hits {
		if now.Sub(e.start) < t.users.window && s.userExists(user) {
			f := FailedSignIn{User: user, Failures: e.count, Last: e.last}
			if e.count >= t.users.limit {
				f.BlockedUntil = e.start.Add(t.users.window)
			}
			list = append(list, f)
		}
	}
	t.mu.Unlock()
	sort.Slice(list, func(i, j int) bool {
		if !list[i].Last.Equal(list[j].Last) {
			return list[i].Last.After(list[j].Last)
		}
		if list[i].User != list[j].User {
			return list[i].User < list[j].User
		}
		return list[i].Address < list[j].Address
	})
	return list, nil
}

// Unblock forgets the wrong passwords of user from address, or from every address when
// address is "" (the per-user bound included), so that the next attempt is checked at once.
// Addresses are given as FailedSignIns lists them. ErrUserNotFound when there is no such user.
func (s *Server) Unblock(user, address string) error {
	if !s.userExists(user) {
		return fmt.Errorf("%w: %q", ErrUserNotFound, user)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var keys [][]byte
		if err := forEachJSON(tx, bucketThrottle, func(k []byte, r *throttleRecord) error {
			if r.User == user && (address == "" || r.Addr == address) && r.Failures > 0 {
				keys = append(keys, clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			var r throttleRecord
			if _, err := getJSON(tx, bucketThrottle, k, &r); err != nil {
				return err
			}
			if r.LastSuccess.IsZero() {
				if err := tx.Bucket(bucketThrottle).Delete(k); err != nil {
					return err
				}
				continue
			}
			r.Failures, r.LastFailure = 0, time.Time{}
			if err := putJSON(tx, bucketThrottle, k, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("oauthserver: unblock %q: %w", user, err)
	}
	t := s.throttle
	t.mu.Lock()
	if address == "" {
		delete(t.users.hits, user)
	} else {
		delete(t.addrs.hits, address)
		if !strings.Contains(address, "/") {
			delete(t.blocks.hits, blockKey(address))
		}
	}
	t.mu.Unlock()
	s.log.Info("failed sign-ins cleared", "user", user, "addr", address)
	return nil
}

// sweepThrottleTx deletes the database records that no longer matter.
func sweepThrottleTx(tx *bbolt.Tx, now time.Time) error {
	var keys [][]byte
	if err := forEachJSON(tx, bucketThrottle, func(k []byte, r *throttleRecord) error {
		if r.forgotten(now) {
			keys = append(keys, clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	return deleteKeys(tx, bucketThrottle, keys)
}
