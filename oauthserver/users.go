package oauthserver

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/argon2"
)

// User is a person who can sign in on the login page.
type User struct {
	Name    string
	Created time.Time
}

// FirstUserName is the name EnsureFirstUser gives the user it creates.
const FirstUserName = "admin"

// MinPasswordLength is the shortest password AddUser and SetPassword accept.
const MinPasswordLength = 8

// argon2Params are the argon2id cost parameters; they are written into every hash, so changing
// them affects only new hashes.
type argon2Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// defaultArgon2 follows the OWASP recommendation for argon2id (19 MiB, 2 passes, 1 lane).
var defaultArgon2 = argon2Params{Time: 2, Memory: 19 * 1024, Threads: 1}

// hashPassword returns the PHC string $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func hashPassword(password string, p argon2Params) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// checkPassword reports whether password matches the PHC string encoded, in constant time.
func checkPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var p argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Time == 0 || p.Threads == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the user does not exist, so that the time a login takes
// does not reveal which user names exist.
func (s *Server) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy = hashPassword(newID(), s.argon) })
	return s.dummy
}

// readableAlphabet leaves out characters that are easy to confuse (0/o, 1/l/i).
const readableAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// generatePassword returns 4 groups of 5 characters from a 31-letter alphabet (about 99 bits),
// e.g. "k7mqa-x2rtp-9hwce-nv3fd", easy to read aloud and type.
func generatePassword() string {
	var sb strings.Builder
	buf := make([]byte, 1)
	for i := 0; i < 20; i++ {
		if i > 0 && i%5 == 0 {
			sb.WriteByte('-')
		}
		for {
			_, _ = rand.Read(buf)
			if int(buf[0]) < 256-256%len(readableAlphabet) { // no modulo bias
				sb.WriteByte(readableAlphabet[int(buf[0])%len(readableAlphabet)])
				break
			}
		}
	}
	return sb.String()
}

func validateUserName(name string) error {
	if name == "" || len(name) > 64 || !utf8.ValidString(name) || strings.TrimSpace(name) != name || strings.ContainsAny(name, "\x00\r\n\t") {
		return fmt.Errorf("oauthserver: invalid user name %q: 1 to 64 characters, no control characters or surrounding spaces", name)
	}
	return nil
}

func validatePassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return fmt.Errorf("oauthserver: password too short: at least %d characters", MinPasswordLength)
	}
	if len(password) > 1024 {
		return errors.New("oauthserver: password too long: at most 1024 bytes")
	}
	return nil
}

// EnsureFirstUser creates the user FirstUserName with a generated password when no user exists
// yet. created is false (and password empty) when there already was a user.
func (s *Server) EnsureFirstUser() (name, password string, created bool, err error) {
	password = generatePassword()
	rec := userRecord{Name: FirstUserName, Hash: hashPassword(password, s.argon), Created: s.now()}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if k, _ := tx.Bucket(bucketUsers).Cursor().First(); k != nil {
			return nil
		}
		created = true
		return putJSON(tx, bucketUsers, []byte(rec.Name), rec)
	})
	if err != nil {
		return "", "", false, fmt.Errorf("oauthserver: create first user: %w", err)
	}
	if !created {
		return "", "", false, nil
	}
	s.log.Info("created first user", "user", rec.Name)
	return rec.Name, password, true, nil
}

// AddUser creates a user; ErrUserExists when the name is taken.
func (s *Server) AddUser(name, password string) error {
	if err := validateUserName(name); err != nil {
		return err
	}
	if err := validatePassword(password); err != nil {
		return err
	}
	rec := userRecord{Name: name, Hash: hashPassword(password, s.argon), Created: s.now()}
	return s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketUsers).Get([]byte(name)) != nil {
			return fmt.Errorf("%w: %q", ErrUserExists, name)
		}
		return putJSON(tx, bucketUsers, []byte(name), rec)
	})
}

// Users lists the users by name.
func (s *Server) Users() ([]User, error) {
	var users []User
	err := s.db.View(func(tx *bbolt.Tx) error {
		return forEachJSON(tx, bucketUsers, func(_ []byte, u *userRecord) error {
			users = append(users, User{Name: u.Name, Created: u.Created})
			return nil
		})
	})
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	return users, err
}

// RemoveUser deletes a user, with every grant, token, code and remembered approval of theirs.
func (s *Server) RemoveUser(name string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("%w: %q", ErrUserNotFound, name)
		}
		if err := b.Delete([]byte(name)); err != nil {
			return err
		}
		if err := deleteApprovalsTx(tx, func(user, _ string) bool { return user == name }); err != nil {
			return err
		}
		return revokeGrantsTx(tx, func(_, user, _ string) bool { return user == name })
	})
}

// SetPassword changes a user's password. Existing grants stay valid.
func (s *Server) SetPassword(name, password string) error {
	if err := validatePassword(password); err != nil {
		return err
	}
	hash := hashPassword(password, s.argon)
	return s.db.Update(func(tx *bbolt.Tx) error {
		var u userRecord
		ok, err := getJSON(tx, bucketUsers, []byte(name), &u)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %q", ErrUserNotFound, name)
		}
		u.Hash = hash
		return putJSON(tx, bucketUsers, []byte(name), u)
	})
}

// MaxConcurrentPasswordChecks bounds the argon2id computations running at once (each takes
// defaultArgon2.Memory); further logins wait their turn instead of exhausting memory.
const MaxConcurrentPasswordChecks = 4

// authenticate checks a user name and password; it takes about as long for an unknown user.
// known reports whether the user exists, so that only names of real users are logged (a
// password typed into the user name field must not end up in the log). The caller holds one
// of s.argonSlots.
func (s *Server) authenticate(name, password string) (known, ok bool) {
	var u userRecord
	_ = s.db.View(func(tx *bbolt.Tx) error {
		var err error
		known, err = getJSON(tx, bucketUsers, []byte(name), &u)
		return err
	})
	if !known {
		checkPassword(s.dummyHash(), password)
		return false, false
	}
	return true, checkPassword(u.Hash, password)
}

// userExists reports whether a user of that name exists.
func (s *Server) userExists(name string) bool {
	var ok bool
	_ = s.db.View(func(tx *bbolt.Tx) error {
		ok = tx.Bucket(bucketUsers).Get([]byte(name)) != nil
		return nil
	})
	return ok
}

// logName is how a user name typed on the login page appears in the log: as is when such a
// user exists, else not at all.
func logName(name string, known bool) string {
	if known {
		return name
	}
	return "(unknown user)"
}

// loginLimiter counts events per key (failed passwords, registrations) in a fixed window.
// Once a key reaches its limit it stays blocked until the window ends; after that the count
// starts again.
type loginLimiter struct {
	limit  int
	window time.Duration
	hits   map[string]*limitEntry
}

type limitEntry struct {
	start time.Time
	last  time.Time
	count int
}

func newLimiter(limit int, window time.Duration) *loginLimiter {
	return &loginLimiter{limit: limit, window: window, hits: map[string]*limitEntry{}}
}

// blocked reports whether key has used up its events at now.
func (l *loginLimiter) blocked(key string, now time.Time) bool {
	e := l.hits[key]
	if e == nil {
		return false
	}
	if now.Sub(e.start) >= l.window {
		delete(l.hits, key)
		return false
	}
	return e.count >= l.limit
}

// remaining is how long key stays blocked after now.
func (l *loginLimiter) remaining(key string, now time.Time) time.Duration {
	if e := l.hits[key]; e != nil {
		return max(e.start.Add(l.window).Sub(now), 0)
	}
	return 0
}

// hit records an event for key at now.
func (l *loginLimiter) hit(key string, now time.Time) {
	e := l.hits[key]
	if e == nil || now.Sub(e.start) >= l.window {
		e = &limitEntry{start: now}
		l.hits[key] = e
	}
	e.count++
	e.last = now
}

// sweep forgets windows that ended, so the map stays bounded by recent activity.
func (l *loginLimiter) sweep(now time.Time) {
	for k, e := range l.hits {
		if now.Sub(e.start) >= l.window {
			delete(l.hits, k)
		}
	}
}
