package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/mcpshare/mcpshare/app"
)

// The ready file holds the client secret. What lies next to it beforehand, a stale
// ready.json.tmp with a loose mode or a symlink to another file, decides neither its mode
// nor where it is written (before, the file was written through "<path>.tmp").
func TestReadyFileWrittenToAFreshTempFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ready.json")
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	info := app.ConnectInfo{Issuer: "http://127.0.0.1:1", Servers: map[string]string{"files": "http://127.0.0.1:1/mcp/files"},
		Credentials: app.Credentials{ClientID: "mcpshare-x", ClientSecret: "mcps_cs_secret"}}
	a, err := app.Open(app.Options{ConfigDir: t.TempDir(), Secrets: app.SecretsFile})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := 0; i < 2; i++ { // also over an existing ready file
		if err := writeReady(path, a, info); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Fatalf("the symlink's target was written: %q", b)
	}
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Fatalf("ready file %v, mode %v; want a regular file with mode 0600", err, st.Mode())
	}
	var doc readyInfo
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &doc); err != nil || doc.ClientSecret != "mcps_cs_secret" {
		t.Fatalf("ready file %s: %v", b, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 { // ready.json and the planted ready.json.tmp, no leftovers
		t.Fatalf("directory holds %d entries: %v", len(entries), entries)
	}
}
