package oauthserver

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestPasswordHash(t *testing.T) {
	p := argon2Params{Time: 1, Memory: 64, Threads: 1}
	h := hashPassword("secret password", p)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatal(h)
	}
	if hashPassword("secret password", p) == h {
		t.Fatal("no salt")
	}
	for enc, pw := range map[string]string{h: "wrong", "": "x", "$argon2id$v=19$m=64,t=0,p=1$AA$AA": "x", "$bcrypt$x": "x", h[:len(h)-3] + "!!!": "secret password"} {
		if checkPassword(enc, pw) {
			t.Errorf("accepted %q / %q", enc, pw)
		}
	}
	if !checkPassword(h, "secret password") {
		t.Fatal("right password refused")
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	if _, _, created, err := e.s.EnsureFirstUser(); err != nil || created {
		t.Fatal("first user created although alice exists", err)
	}
	if err := e.s.AddUser(testUser, "another password"); !errors.Is(err, ErrUserExists) {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"", "long enough"}, {" x", "long enough"}, {"a\nb", "long enough"}, {"bob", "short"}} {
		if err := e.s.AddUser(bad[0], bad[1]); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if err := e.s.SetPassword("nobody", "long enough"); !errors.Is(err, ErrUserNotFound) {
		t.Fatal(err)
	}
	if err := e.s.SetPassword(testUser, "a new password"); err != nil {
		t.Fatal(err)
	}
	if !passwordOK(e.s, testUser, "a new password") || passwordOK(e.s, testUser, testPassword) {
		t.Fatal("password change")
	}
	e.s.SetPassword(testUser, testPassword)
	c := e.registerClient(t, AuthNone)
	at, _ := e.tokens(t, c.ClientID)
	if err := e.s.RemoveUser(testUser); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.mcpGet(t, "files", at, nil); resp.StatusCode != 401 {
		t.Fatal("token of a removed user works")
	}
	if err := e.s.RemoveUser(testUser); !errors.Is(err, ErrUserNotFound) {
		t.Fatal(err)
	}
	name, pw, created, err := e.s.EnsureFirstUser()
	if err != nil || !created || name != FirstUserName {
		t.Fatal(name, created, err)
	}
	if !regexp.MustCompile(`^[a-z2-9]{5}(-[a-z2-9]{5}){3}$`).MatchString(pw) || !passwordOK(e.s, name, pw) {
		t.Fatalf("generated password %q", pw)
	}
	users, _ := e.s.Users()
	if len(users) != 1 || users[0].Name != FirstUserName || users[0].Created.IsZero() {
		t.Fatalf("%+v", users)
	}
	// No password in clear.
	e.db.View(func(tx *bbolt.Tx) error {
		if strings.Contains(string(tx.Bucket(bucketUsers).Get([]byte(name))), pw) {
			t.Error("password in clear")
		}
		return nil
	})
}

func TestLimiter(t *testing.T) {
	l := newLimiter(2, time.Minute)
	now := time.Unix(1000, 0)
	l.hit("k", now)
	if l.blocked("k", now) {
		t.Fatal("blocked after one")
	}
	l.hit("k", now)
	if !l.blocked("k", now.Add(59*time.Second)) || l.blocked("other", now) {
		t.Fatal("not blocked after two")
	}
	if l.blocked("k", now.Add(time.Minute)) {
		t.Fatal("still blocked after the window")
	}
	l.hit("x", now)
	l.sweep(now.Add(time.Hour))
	if len(l.hits) != 0 {
		t.Fatal("sweep")
	}
}

func passwordOK(s *Server, name, password string) bool {
	_, ok := s.authenticate(name, password)
	return ok
}
