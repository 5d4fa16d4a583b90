package app_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/audit"
)

// A few large calls must not rotate the audit log's history away, and its
// digests must not let a reader confirm a guess of the arguments.
func TestAuditKeepsABoundedStartOfArgumentsAndTheirKeyedDigest(t *testing.T) {
	g := newGoverned(t, app.Options{})
	g.rules(t, func(r *app.Rules) { r.AuditArguments = true })
	cs := g.session(t, g.user, g.password, "/mcp/everything")
	large := strings.Repeat("all work and no play ", 3000) // 63 KB
	for _, msg := range []string{large, large, "yes"} {
		if res, err := call(cs, "echo", map[string]any{"message": msg}); err != nil || res.IsError {
			t.Fatalf("echo: %v %+v", err, res)
		}
	}
	g.lastAudit(t, audit.Filter{Event: audit.EventToolCall}, func(e audit.Entry) bool { return string(e.Args) == `{"message":"yes"}` })
	entries, err := g.Audit(audit.Filter{Event: audit.EventToolCall}, 3)
	if err != nil || len(entries) != 3 {
		t.Fatalf("audit: %d entries, %v", len(entries), err)
	}
	a, b, small := entries[0], entries[1], entries[2]
	if len(a.Args) != 0 || !strings.HasPrefix(a.ArgsStart, `{"message":"all work and no play`) || len(a.ArgsStart) > audit.MaxArgsBytes ||
		a.ArgsBytes != len(`{"message":""}`)+len(large) {
		t.Errorf("the large call's entry keeps %d bytes in args, %d in args_start of %d", len(a.Args), len(a.ArgsStart), a.ArgsBytes)
	}
	if len(a.ArgsHMAC) != 64 || a.ArgsHMAC != b.ArgsHMAC || a.ArgsHMAC == small.ArgsHMAC || len(small.ArgsHMAC) != 64 {
		t.Errorf("digests %q %q %q: want equal calls alike, others not", a.ArgsHMAC, b.ArgsHMAC, small.ArgsHMAC)
	}
	guess := sha256.Sum256([]byte(`{"message":"yes"}`))
	if small.ArgsHMAC == hex.EncodeToString(guess[:]) {
		t.Error("the digest of short arguments is their unkeyed SHA-256: a guess confirms them")
	}

	f, err := os.Open(filepath.Join(g.ConfigDir(), audit.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if n := len(sc.Bytes()); n > audit.MaxArgsBytes+1024 {
			t.Errorf("a line of %d bytes in the audit log: %.200s…", n, sc.Bytes())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// A tool name (or anything else a client names) of megabytes makes an
// audit line of a bounded size: a few such calls cannot rotate the history
// away.
func TestAuditLinesAreBoundedWhateverTheClientNames(t *testing.T) {
	g := newGoverned(t, app.Options{})
	cs := g.session(t, g.user, g.password, "/mcp/everything")
	long := strings.Repeat("x", 64<<10)
	if _, err := call(cs, long, map[string]any{}); err != nil { // an unlisted name goes to the server, which refuses it
		t.Logf("the call: %.200v", err)
	}
	e := g.lastAudit(t, audit.Filter{Event: audit.EventToolCall}, func(e audit.Entry) bool { return strings.HasPrefix(e.Name, "xxx") })
	if len(e.Name) > 300 || len(e.Detail) > 600 {
		t.Errorf("the audit entry keeps a name of %d bytes and a detail of %d", len(e.Name), len(e.Detail))
	}
	f, err := os.Open(filepath.Join(g.ConfigDir(), audit.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if n := len(sc.Bytes()); n > 8<<10 {
			t.Errorf("an audit line of %d bytes", n)
		}
	}
}
