package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ChatGPT opens a session for each batch of tool calls and never ends one.
// Hundreds of such sessions against a real node server from npm must all be
// served, from one warm process per user, and another user who signs in
// afterwards is served as well.
func TestChatGPTLikeSessions(t *testing.T) {
	dir := requireE2E(t)
	everything := filepath.Join(dir, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")
	configDir := t.TempDir()
	add := exec.Command(binary, "user", "add", "bob", "--config-dir", configDir, "--secrets", "file", "--password-stdin")
	add.Stdin = strings.NewReader("bob-password-1234")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add bob: %v\n%s", err, out)
	}
	inst := serveWithCommandIn(t, configDir, "everything", nodeBinary(dir), everything, "stdio")
	url := inst.mcpURL(t, "everything")
	_, alice := preregistered(t, inst, url)

	const sessions = 300
	times := make([]time.Duration, 0, sessions)
	for i := range sessions {
		start := time.Now()
		if err := chatGPTSession(url, alice.AccessToken, i); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		times = append(times, time.Since(start))
	}
	_, bob := preregisteredAs(t, inst, url, "bob", "bob-password-1234")
	bobStart := time.Now()
	if err := chatGPTSession(url, bob.AccessToken, 0); err != nil {
		t.Fatalf("bob after %d abandoned sessions of alice: %v", sessions, err)
	}
	bobTime := time.Since(bobStart)
	warm := time.Now()
	if err := chatGPTSession(url, alice.AccessToken, sessions); err != nil {
		t.Fatal(err)
	}
	warmTime := time.Since(warm)

	var nodes int
	for _, pid := range descendantsOf(inst.cmd.Process.Pid) {
		if comm, _ := readProcFile(pid, "comm"); strings.TrimSpace(string(comm)) == "node" && strings.Contains(procCmdline(pid), "server-everything") {
			nodes++
		}
	}
	if nodes < 1 || nodes > 2 {
		t.Errorf("%d server processes run for two users, want one each", nodes)
	}
	sorted := slices.Clone(times[1:])
	slices.Sort(sorted)
	t.Logf("%d sessions (initialize + tools/call, never deleted): first (cold start) %s, median of the others %s, p99 %s; "+
		"bob's first session (his own cold start) %s; one more warm session %s; server processes: %d",
		sessions, times[0].Round(time.Millisecond), sorted[len(sorted)/2].Round(time.Microsecond),
		sorted[len(sorted)*99/100].Round(time.Microsecond), bobTime.Round(time.Millisecond), warmTime.Round(time.Microsecond), nodes)
}

// chatGPTSession is what ChatGPT does for one batch: initialize, initialized,
// one tools/call, and no DELETE.
func chatGPTSession(url, token string, n int) error {
	hc := &http.Client{Timeout: 30 * time.Second}
	post := func(sid, version, body string) (*http.Response, string, error) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		for k, v := range mcpHeaders(token, sid, version) {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}
	resp, body, err := post("", "", fmt.Sprintf(protoInitTemplate, "2025-06-18"))
	if err != nil {
		return err
	}
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || sid == "" {
		return fmt.Errorf("initialize: %d %s", resp.StatusCode, body)
	}
	if resp, body, err = post(sid, "2025-06-18", protoInitialized); err != nil || resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("initialized: %v %v %s", err, resp, body)
	}
	call := fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"batch %d"}}}`, n)
	if resp, body, err = post(sid, "2025-06-18", call); err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(body, fmt.Sprintf("batch %d", n)) {
		return fmt.Errorf("tools/call: %v (status %v) body %q", err, resp.StatusCode, body)
	}
	return nil
}

func procCmdline(pid int) string {
	b, _ := readProcFile(pid, "cmdline")
	return strings.ReplaceAll(string(b), "\x00", " ")
}
