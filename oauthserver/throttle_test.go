package oauthserver

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// pending starts an authorization request of a fresh public client and returns it, for tests
// that call login directly with addresses of their choice.
func (e *env) pending(t testing.TB) *authRequest {
	t.Helper()
	if e.public == "" {
		e.public = e.registerClient(t, AuthNone).ClientID
	}
	req, oe, pe := e.s.startAuthorization(context.Background(), authParams(e.public, oauth2.GenerateVerifier()), e.origin, "192.0.2.250")
	if oe != nil || pe != nil {
		t.Fatalf("authorization request: %v %v", oe, pe)
	}
	return req
}

// try signs in through a fresh request from addr and returns the outcome's status: 303 for a
// redirect (accepted), else the status of the form shown again.
func (e *env) try(t testing.TB, user, password, addr string) (int, string) {
	t.Helper()
	out := e.s.login(e.pending(t), user, password, addr)
	if out.Redirect != "" {
		return http.StatusSeeOther, ""
	}
	return out.Status, out.Retry
}

// Wrong passwords from one address meet delays that grow: FreeFailures free, then 2 s, 4 s, …
// The right password from there waits as well; it is never refused once the wait is over.
func TestThrottleDelaysGrowPerAddress(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	const stranger = "203.0.113.9"
	for i := 0; i <= FreeFailures; i++ {
		if st, msg := e.try(t, testUser, "wrong password", stranger); st != 401 {
			t.Fatalf("failure %d: %d %s", i+1, st, msg)
		}
	}
	for _, wait := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		st, msg := e.try(t, testUser, testPassword, stranger)
		if want := "Try again in " + humanWait(wait); st != 429 || !strings.Contains(msg, want) {
			t.Fatalf("during the delay: %d %q, want 429 saying %q", st, msg, want)
		}
		e.clock.Add(wait - time.Millisecond)
		if st, _ := e.try(t, testUser, "wrong password", stranger); st != 429 {
			t.Fatalf("just before the end of a %s delay: %d", wait, st)
		}
		e.clock.Add(time.Millisecond)
		if st, _ := e.try(t, testUser, "wrong password", stranger); st != 401 {
			t.Fatalf("after a %s delay: %d", wait, st)
		}
	}
	// The longest delay is bounded.
	for i := 0; i < 20; i++ {
		e.clock.Add(MaxFailureDelay)
		e.try(t, testUser, "wrong password", stranger)
	}
	e.clock.Add(MaxFailureDelay)
	if st, msg := e.try(t, testUser, testPassword, stranger); st != 303 {
		t.Fatalf("after the longest delay: %d %s", st, msg)
	}
}

// A stranger who knows the user name cannot lock the owner out: not by guessing from one
// address, and not from hundreds of addresses in many networks, as long as the owner signs in
// from an address where they signed in before. Before, five wrong passwords from anywhere
// locked the user for 15 minutes, the right password from another address included.
func TestThrottleStrangerCannotLockOutOwner(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	const owner, ownerElsewhere = "198.51.100.7", "192.0.2.44"
	if st, _ := e.try(t, testUser, testPassword, owner); st != 303 {
		t.Fatalf("owner's first sign-in: %d", st)
	}
	for i := 0; i < 50; i++ {
		e.try(t, testUser, "guess", "203.0.113.9")
	}
	for _, addr := range []string{owner, ownerElsewhere} {
		if st, msg := e.try(t, testUser, testPassword, addr); st != 303 {
			t.Fatalf("after a stranger's 50 guesses, the owner at %s: %d %s", addr, st, msg)
		}
	}
	// Guesses spread over many networks, a few per address, up to the per-user bound (of which
	// the stranger above used FreeFailures+1: the rest waited).
	for i := 0; i < MaxFailuresPerUser-(FreeFailures+1); i++ {
		addr := fmt.Sprintf("100.%d.%d.%d", 64+i/250, i%250, 1+i%3)
		if st, msg := e.try(t, testUser, "guess", addr); st != 401 {
			t.Fatalf("guess %d from %s: %d %s", i, addr, st, msg)
		}
	}
	if st, msg := e.try(t, testUser, testPassword, owner); st != 303 {
		t.Fatalf("owner at a known address during a distributed attack: %d %s", st, msg)
	}
	if st, msg := e.try(t, testUser, testPassword, "192.0.2.200"); st != 429 || !strings.Contains(msg, "from a device that signed in before") {
		t.Fatalf("a new address during a distributed attack: %d %s", st, msg)
	}
	if st, _ := e.try(t, testUser, testPassword, ownerElsewhere); st != 303 { // signed in there above
		t.Fatalf("owner's second address: %d", st)
	}
}

// Bounds per address and per network over all user names stop guessing spread over names.
func TestThrottleBoundsPerAddressAndBlock(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	for i := 0; i < MaxFailuresPerAddress; i++ {
		e.try(t, fmt.Sprintf("user%d", i), "guess", "203.0.113.9")
	}
	if st, msg := e.try(t, testUser, testPassword, "203.0.113.9"); st != 429 || !strings.Contains(msg, "from your address") {
		t.Fatalf("address over its bound: %d %s", st, msg)
	}
	for i := 0; i < MaxFailuresPerBlock; i++ {
		e.try(t, fmt.Sprintf("user%d", i), "guess", fmt.Sprintf("198.51.100.%d", 1+i/10))
	}
	if st, msg := e.try(t, testUser, testPassword, "198.51.100.250"); st != 429 || !strings.Contains(msg, "from your network") {
		t.Fatalf("network over its bound: %d %s", st, msg)
	}
	if st, msg := e.try(t, testUser, testPassword, "192.0.2.1"); st != 303 {
		t.Fatalf("another network: %d %s", st, msg)
	}
	e.clock.Add(LoginFailureWindow)
	if st, msg := e.try(t, testUser, testPassword, "198.51.100.250"); st != 303 {
		t.Fatalf("after the window: %d %s", st, msg)
	}
}

// A user name that does not exist is throttled the same way, so the answers do not tell
// which names exist.
func TestThrottleUnknownUserLooksTheSame(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	var msgs [2]string
	for i, user := range []string{testUser, "nobody"} {
		addr := fmt.Sprintf("203.0.113.%d", 10+i)
		for j := 0; j <= FreeFailures; j++ {
			e.try(t, user, "guess", addr)
		}
		var st int
		st, msgs[i] = e.try(t, user, "guess", addr)
		if st != 429 {
			t.Fatalf("%s: %d", user, st)
		}
	}
	if msgs[0] != msgs[1] {
		t.Fatalf("known and unknown user answered differently: %q, %q", msgs[0], msgs[1])
	}
}

// Parallel sign-ins with the right password all succeed (before, 7 of 12 got 429 "too many
// failed attempts"), and parallel guesses get no more checks than one after the other would.
func TestThrottleParallelSignIns(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	// Slow hashes (little memory, many passes), so that the checks really overlap.
	e.s.argon = argon2Params{Time: 200, Memory: 64, Threads: 1}
	if err := e.s.SetPassword(testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	c := e.registerClient(t, AuthNone)
	run := func(n int, password string) map[int]int {
		forms := make([][2]string, n)
		for i := range forms {
			_, _, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
			forms[i] = [2]string{id, csrf}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		got := map[int]int{}
		for _, f := range forms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := e.postLogin(t, f[0], f[1], testUser, password)
				mu.Lock()
				got[resp.StatusCode]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		return got
	}
	if got := run(12, testPassword); got[http.StatusSeeOther] != 12 {
		t.Fatalf("12 parallel correct sign-ins: %v, want 12 × 303", got)
	}
	if got := run(40, "bad password"); got[http.StatusUnauthorized] != FreeFailures+1 {
		t.Fatalf("40 parallel guesses: %v, want %d checked (401), the rest 429", got, FreeFailures+1)
	}
}

// The owner sees failed sign-ins and blocks, and clears them; they survive a restart.
func TestThrottleListAndUnblock(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	for i := 0; i <= FreeFailures+1; i++ {
		e.clock.Add(time.Minute)
		e.try(t, testUser, "guess", "203.0.113.9")
	}
	e.try(t, testUser, "guess", "2001:db8:1:2::5")
	e.try(t, "nobody", "guess", "203.0.113.9")
	last := e.clock.Now()

	e.restart(t) // a new server on the same database file
	s := e.s
	list, err := s.FailedSignIns()
	if err != nil {
		t.Fatal(err)
	}
	want := []FailedSignIn{
		{User: testUser, Address: "2001:db8:1:2::/64", Failures: 1, Last: last},
		{User: testUser, Address: "203.0.113.9", Failures: FreeFailures + 2, Last: last, BlockedUntil: last.Add(2 * FirstFailureDelay)},
	}
	if len(list) != 2 || list[0].Address != want[0].Address || list[0].Failures != 1 ||
		list[1].Address != want[1].Address || list[1].Failures != want[1].Failures || !list[1].BlockedUntil.Equal(want[1].BlockedUntil) {
		t.Fatalf("failed sign-ins after a restart:\n got %+v\nwant %+v", list, want)
	}
	if st, _ := e.try(t, testUser, testPassword, "203.0.113.9"); st != 429 {
		t.Fatalf("the block did not survive a restart: %d", st)
	}
	if err := s.Unblock("nobody", ""); err == nil {
		t.Fatal("unblocking a user who does not exist succeeded")
	}
	if err := s.Unblock(testUser, ""); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.FailedSignIns(); len(list) != 0 {
		t.Fatalf("after Unblock: %+v", list)
	}
	if st, msg := e.try(t, testUser, testPassword, "203.0.113.9"); st != 303 {
		t.Fatalf("after Unblock: %d %s", st, msg)
	}
}

func TestHumanWait(t *testing.T) {
	for d, want := range map[time.Duration]string{
		300 * time.Millisecond: "1 second", 2 * time.Second: "2 seconds", 1500 * time.Millisecond: "2 seconds",
		time.Minute: "60 seconds", 61 * time.Second: "2 minutes", 15 * time.Minute: "15 minutes",
	} {
		if got := humanWait(d); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}
