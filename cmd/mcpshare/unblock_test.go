package main

import (
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Wrong passwords against the running binary block their address for a while; after the
// app stops, `mcpshare user unblock NAME` shows them and clears them for good (they are kept
// in the database, so a restart alone would not).
func TestUserUnblockClearsFailedSignIns(t *testing.T) {
	inst := startServe(t, "")
	if inst.user == "" {
		t.Fatal("no first user printed")
	}
	origin := inst.ready.Issuer
	clientID := registerPublicClient(t, origin, "http://127.0.0.1:9/cb", "unblock test")
	authURL := origin + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {clientID},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"}, "state": {"s"}}.Encode()
	attempt := func() int {
		resp, err := noRedirect.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		action, form := fillLoginForm(t, body, authURL, inst.user, "not the password")
		resp, err = noRedirect.PostForm(action.String(), form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	statuses := []int{}
	for i := 0; i < 5; i++ {
		statuses = append(statuses, attempt())
	}
	if statuses[3] != http.StatusUnauthorized || statuses[4] != http.StatusTooManyRequests {
		t.Fatalf("wrong passwords answered %v, want four 401 and then 429", statuses)
	}
	inst.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-inst.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(binary, append(args, "--config-dir", inst.configDir, "--secrets", "file")...).CombinedOutput()
		return string(out), err
	}
	out, err := run("user", "unblock", inst.user)
	if err != nil || !regexp.MustCompile(`127\.0\.0\.1\s+4\s+`).MatchString(out) || !strings.Contains(out, "can sign in again") {
		t.Fatalf("user unblock: %v\n%s", err, out)
	}
	if out, err := run("user", "unblock", inst.user); err != nil || !strings.Contains(out, "No failed sign-ins") {
		t.Fatalf("user unblock again: %v\n%s", err, out)
	}
	if out, err := run("user", "unblock", "nobody"); err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("user unblock of an unknown user: %v\n%s", err, out)
	}
}
