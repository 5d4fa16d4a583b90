package oauthserver

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/oauth2"
)

// restart gives e a new server on the same database file, as a restart of the app does.
func (e *env) restart(t *testing.T) {
	t.Helper()
	path := e.db.Path()
	e.s.Close()
	e.db.Close()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := New(Config{DB: db, Origins: e.s.origins, Now: e.clock.Now, Policy: PolicyAsk, Resources: func() []string { return []string{"files"} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.argon = e.s.argon
	e.s, e.db = s, db
}

// askSignIn starts a sign-in under PolicyAsk and returns the waiting page's path.
func (e *env) askSignIn(t *testing.T, clientID string) string {
	t.Helper()
	_, _, id, csrf := e.loginPage(t, authParams(clientID, oauth2.GenerateVerifier()))
	resp, _ := e.postLogin(t, id, csrf, testUser, testPassword)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/authorize/wait?") {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return resp.Header.Get("Location")
}

func (e *env) getPage(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := e.http.Get(e.origin + path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// Decided sign-ins are kept in the database, the last MaxRecentSignIns of them, so that
// "Recent sign-ins" survives a restart.
func TestRecentSignInsSurviveRestart(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	c := e.registerClient(t, AuthNone)
	for i := 0; i < 3; i++ {
		e.askSignIn(t, c.ClientID)
		e.clock.Add(time.Second)
		if err := e.s.Decide(e.s.PendingSignIns()[0].ID, i != 1); err != nil {
			t.Fatal(err)
		}
	}
	e.askSignIn(t, c.ClientID)
	e.clock.Add(SignInTimeout)
	e.s.PendingSignIns() // expires it
	before := e.s.RecentSignIns()
	if len(before) != 4 || before[0].Decision != DecisionExpired || before[2].Decision != DecisionDenied {
		t.Fatalf("recent before: %+v", before)
	}
	e.restart(t)
	after := e.s.RecentSignIns()
	if len(after) != len(before) {
		t.Fatalf("after a restart %d recent sign-ins, want %d", len(after), len(before))
	}
	for i := range before {
		if after[i].ID != before[i].ID || after[i].Decision != before[i].Decision || !after[i].Time.Equal(before[i].Time) || after[i].ClientName != "Test Client" {
			t.Fatalf("after a restart:\n%+v\nwant\n%+v", after[i], before[i])
		}
	}
	// Bounded in the database too.
	for i := 0; i < MaxRecentSignIns+5; i++ {
		e.s.mu.Lock()
		e.s.finishSignInLocked(&signIn{SignIn: SignIn{ID: newID(), Time: e.clock.Now().Add(time.Duration(i) * time.Second)}}, DecisionDenied)
		e.s.mu.Unlock()
	}
	e.s.saveRecent()
	if n := count(t, e.db, bucketSignIns); n != MaxRecentSignIns {
		t.Fatalf("%d sign-ins stored, want %d", n, MaxRecentSignIns)
	}
}

// After a sign-in ended, going Back to its waiting page or reloading it says how it ended
// (before, it said "took too long"), and issues nothing.
func TestBackAndReloadAfterSignInSayHowItEnded(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	c := e.registerClient(t, AuthNone)
	for _, tt := range []struct {
		decide func(id string)
		want   string
	}{
		{func(id string) { e.s.Decide(id, true) }, "This sign-in is complete: Test Client has been let in"},
		{func(id string) { e.s.Decide(id, false) }, "This sign-in was denied"},
		{func(string) { e.clock.Add(SignInTimeout) }, "Nobody approved this sign-in in MCP Share within 5 minutes"},
	} {
		wait := e.askSignIn(t, c.ClientID)
		tt.decide(e.s.PendingSignIns()[0].ID)
		if resp, _ := e.getPage(t, wait); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first visit after the decision: %d", resp.StatusCode)
		}
		for _, again := range []string{wait, strings.Replace(wait, "/wait?", "/status?", 1)} {
			resp, body := e.getPage(t, again)
			if resp.Header.Get("Location") != "" || strings.Contains(body, "took too long") || strings.Contains(body, "code=") {
				t.Fatalf("%s again: %d %q %.300s", again[:16], resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if strings.HasPrefix(again, "/authorize/wait") && !strings.Contains(body, tt.want) {
				t.Fatalf("reload of the waiting page: %.400s, want it to say %q", body, tt.want)
			}
		}
	}
}

// After a wrong password the form comes back with the user name filled in and the cursor in
// the password field.
func TestWrongPasswordFocusesPasswordField(t *testing.T) {
	e := newEnv(t, PolicyPassword)
	c := e.registerClient(t, AuthNone)
	_, page, id, csrf := e.loginPage(t, authParams(c.ClientID, oauth2.GenerateVerifier()))
	focused := regexp.MustCompile(`<input[^>]*id="(\w+)"[^>]* autofocus>`)
	if m := focused.FindAllStringSubmatch(page, -1); len(m) != 1 || m[0][1] != "username" {
		t.Fatalf("first page focuses %v, want username", m)
	}
	_, page = e.postLogin(t, id, csrf, testUser, "wrong password")
	if m := focused.FindAllStringSubmatch(page, -1); len(m) != 1 || m[0][1] != "password" {
		t.Fatalf("after a wrong password the page focuses %v, want password", m)
	}
	if !strings.Contains(page, `value="`+testUser+`"`) {
		t.Fatal("the user name is not kept")
	}
}

// The waiting page and its status say how long is left to approve, counting down.
func TestWaitPageSaysTimeLeft(t *testing.T) {
	e := newEnv(t, PolicyAsk)
	c := e.registerClient(t, AuthNone)
	wait := e.askSignIn(t, c.ClientID)
	if _, body := e.getPage(t, wait); !strings.Contains(body, `<strong id="left">5 min 0 s</strong> left to approve it`) {
		t.Fatalf("waiting page: %.900s", body)
	}
	e.clock.Add(2*time.Minute + 30*time.Second)
	_, body := e.getPage(t, wait)
	if !strings.Contains(body, `<strong id="left">2 min 30 s</strong>`) || !regexp.MustCompile(`Date\.now\(\) \+\s*150\s*\* 1000`).MatchString(body) {
		t.Fatalf("waiting page after 2:30: %s", body[strings.Index(body, "<h1>"):])
	}
	_, status := e.getPage(t, strings.Replace(wait, "/wait?", "/status?", 1))
	var st map[string]any
	json.Unmarshal([]byte(status), &st)
	if st["status"] != DecisionPending || st["seconds_left"] != float64(150) {
		t.Fatalf("status %v", st)
	}
}

func TestSignInServerLabel(t *testing.T) {
	for _, tt := range []struct {
		si   SignIn
		want string
	}{
		{SignIn{Server: "files", Resource: "https://x.example/mcp/files"}, "files"},
		{SignIn{Server: AllServers, Resource: "https://x.example/mcp"}, "all shared servers"},
		{SignIn{Resource: "https://x.example/mcp/notes"}, "notes"}, // recorded before Server
	} {
		if got := tt.si.ServerLabel(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.si, got, tt.want)
		}
	}
}
