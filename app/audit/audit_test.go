package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func entry(i int, server, outcome string) Entry {
	return Entry{Time: time.Unix(1700000000+int64(i), 0).UTC(), Event: EventToolCall, User: "alice", Server: server,
		Name: fmt.Sprintf("tool-%03d", i), Outcome: outcome, DurationMS: 1.5}
}

func TestEntriesReadBackInOrderWithFilterAndLimit(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 10 {
		server, outcome := "a", OutcomeOK
		if i%2 == 1 {
			server, outcome = "b", OutcomeDenied
		}
		if err := l.Write(entry(i, server, outcome)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := Read(dir, Filter{}, 0)
	if err != nil || len(all) != 10 {
		t.Fatalf("Read: %d entries, %v", len(all), err)
	}
	for i, e := range all {
		if e.Name != fmt.Sprintf("tool-%03d", i) {
			t.Fatalf("entry %d is %q: out of order", i, e.Name)
		}
	}
	got, _ := Read(dir, Filter{Server: "b", Outcome: OutcomeDenied}, 2)
	if len(got) != 2 || got[0].Name != "tool-007" || got[1].Name != "tool-009" {
		t.Errorf("the newest two denied calls of b: %+v", got)
	}
	if st, _ := os.Stat(filepath.Join(dir, FileName)); st.Mode().Perm() != 0o600 {
		t.Errorf("the log is %v, want 0600: it names users and what they did", st.Mode().Perm())
	}
}

func TestRotationBoundsTheFilesAndKeepsTheNewest(t *testing.T) {
	dir := t.TempDir()
	line, _ := json.Marshal(entry(0, "a", OutcomeOK))
	l, err := Open(dir, Options{MaxBytes: int64(len(line)+1) * 5, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := l.Write(entry(i, "a", OutcomeOK)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	names, _ := filepath.Glob(filepath.Join(dir, FileName+"*"))
	if len(names) != 3 {
		t.Fatalf("files %v, want the log and 2 rotated ones", names)
	}
	got, err := Read(dir, Filter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 15 || got[0].Name != "tool-025" || got[14].Name != "tool-039" {
		t.Fatalf("after rotation: %d entries from %s to %s, want tool-25 to tool-39", len(got), got[0].Name, got[len(got)-1].Name)
	}
	// Reopened, it appends to the file it left.
	l, _ = Open(dir, Options{MaxBytes: int64(len(line)+1) * 5, Keep: 2})
	l.Write(entry(40, "a", OutcomeOK))
	l.Close()
	if got, _ := Read(dir, Filter{}, 1); len(got) != 1 || got[0].Name != "tool-040" {
		t.Errorf("after reopening: %+v", got)
	}
}

// A reader beside a busy writer sees only whole entries, each once, in order.
func TestReadersSeeWholeLinesWhileWritten(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{MaxBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	big := make([]byte, 3000)
	for i := range big {
		big[i] = 'x'
	}
	const n = 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			e := entry(i, "a", OutcomeOK)
			e.Detail = string(big)
			l.Write(e)
		}
	}()
	prev := 0
	for prev < n {
		got, err := Read(dir, Filter{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < prev {
			t.Fatalf("a later read has %d entries, an earlier one %d", len(got), prev)
		}
		for i, e := range got {
			if e.Name != fmt.Sprintf("tool-%03d", i) || len(e.Detail) != len(big) {
				t.Fatalf("entry %d is %q with %d bytes of detail: torn or out of order", i, e.Name, len(e.Detail))
			}
		}
		prev = len(got)
	}
	wg.Wait()
}

func TestFollowSeesHistoryThenNewEntriesAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	line, _ := json.Marshal(entry(0, "a", OutcomeOK))
	l, err := Open(dir, Options{MaxBytes: int64(len(line)+1) * 3, Keep: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 4 {
		l.Write(entry(i, "a", OutcomeOK))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan Entry, 100)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, dir, Filter{Server: "a"}, 2, time.Millisecond, func(e Entry) { seen <- e })
	}()
	next := func() Entry {
		t.Helper()
		select {
		case e := <-seen:
			return e
		case <-time.After(20 * time.Second):
			t.Fatal("Follow gave nothing within 20s")
			return Entry{}
		}
	}
	if a, b := next(), next(); a.Name != "tool-002" || b.Name != "tool-003" {
		t.Fatalf("history: %s, %s; want the last two", a.Name, b.Name)
	}
	for i := 4; i < 20; i++ {
		server := "a"
		if i == 10 {
			server = "other" // filtered out
		}
		l.Write(entry(i, server, OutcomeOK))
	}
	for i := 4; i < 20; i++ {
		if i == 10 {
			continue
		}
		if e := next(); e.Name != fmt.Sprintf("tool-%03d", i) {
			t.Fatalf("followed %s, want tool-%03d", e.Name, i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow ended with %v", err)
	}
}

func TestHMACIgnoresSpellingButNotValuesOrKey(t *testing.T) {
	key, other := []byte("installation key"), []byte("another installation")
	a := HMAC(key, json.RawMessage(`{"b": 1, "a": "x"}`))
	b := HMAC(key, json.RawMessage(`{"a":"x","b":1}`))
	c := HMAC(key, json.RawMessage(`{"a":"y","b":1}`))
	if a != b || a == c || len(a) != 64 {
		t.Errorf("digests %q %q %q", a, b, c)
	}
	if HMAC(other, json.RawMessage(`{"a":"x","b":1}`)) == a {
		t.Error("two keys give the same digest")
	}
	// Without the key, a guess cannot be checked against the digest.
	guess := sha256.Sum256([]byte(`{"a":"x","b":1}`))
	if a == hex.EncodeToString(guess[:]) {
		t.Error("the digest is the unkeyed SHA-256 of the arguments")
	}
	if HMAC(key, nil) != "" || HMAC(key, json.RawMessage("null")) != "" {
		t.Error("no arguments have a digest")
	}
	if HMAC(key, json.RawMessage(`{"n":12345678901234567891}`)) == HMAC(key, json.RawMessage(`{"n":12345678901234567890}`)) {
		t.Error("two numbers past float64's precision digest alike")
	}
}

func TestPutArgumentsBoundsTheLineAndKeepsTheDigestOfTheWhole(t *testing.T) {
	key := []byte("k")
	small := json.RawMessage(`{"path": "/tmp/x"}`)
	large := json.RawMessage(`{"data":"` + strings.Repeat("é", 20000) + `"}`)

	var e Entry
	e.PutArguments(small, key, false)
	if e.ArgsHMAC != HMAC(key, small) || e.Args != nil || e.ArgsStart != "" {
		t.Errorf("redacted: %+v", e)
	}
	e = Entry{}
	e.PutArguments(small, key, true)
	if string(e.Args) != `{"path":"/tmp/x"}` || e.ArgsHMAC != HMAC(key, small) || e.ArgsStart != "" {
		t.Errorf("kept in full: %+v", e)
	}
	e = entry(0, "a", OutcomeOK)
	e.PutArguments(large, key, true)
	canon := Canonical(large)
	if e.Args != nil || e.ArgsBytes != len(canon) || e.ArgsHMAC != HMAC(key, large) ||
		len(e.ArgsStart) > MaxArgsBytes || len(e.ArgsStart) < MaxArgsBytes-4 || !strings.HasPrefix(string(canon), e.ArgsStart) {
		t.Errorf("cut: %d bytes kept of %d, digest %q", len(e.ArgsStart), e.ArgsBytes, e.ArgsHMAC)
	}
	line, _ := json.Marshal(e)
	if len(line) > MaxArgsBytes+1024 {
		t.Errorf("the line of a call with %d bytes of arguments has %d bytes", len(large), len(line))
	}
}
