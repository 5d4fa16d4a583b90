package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// conformanceChecks are the checks of the MCP conformance suite's `authorization` command
// (authorization-server-metadata-endpoint and authorization-code-grant scenarios).
var conformanceChecks = []string{"authorization-server-metadata", "authorization-server-metadata-cimd", "authorization-code-grant"}

// runAuthorizationConformance runs `conformance authorization` for clientID against issuer,
// completes the browser part with signIn (which returns where the login page redirected),
// delivers the code to the suite's callback server with deliver, and returns each check's
// status. prefix, when not empty, is the command the suite runs under (ip netns exec NAME).
func runAuthorizationConformance(t *testing.T, issuer, clientID, resource string, port int,
	prefix []string, signIn func(authURL string) string, deliver func(callback string)) map[string]string {
	t.Helper()
	dir := requireE2E(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append(prefix, nodeBinary(dir), filepath.Join(dir, "node_modules/@modelcontextprotocol/conformance/dist/index.js"),
		"authorization", "--url", issuer, "--client-id", clientID, "--resource", resource, "-p", fmt.Sprint(port), "-o", out)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	authURL, listening := make(chan string, 1), make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(&log, line)
			switch {
			case strings.HasPrefix(line, issuer+"/authorize?"):
				authURL <- line
			case strings.HasPrefix(line, "Callback server started"):
				listening <- struct{}{}
			}
		}
	}()
	var u string
	for i := 0; i < 2; i++ {
		select {
		case u = <-authURL:
		case <-listening:
		case <-ctx.Done():
			t.Fatalf("the conformance suite did not ask for the sign-in:\n%s", &log)
		}
	}
	deliver(signIn(u))
	if err := cmd.Wait(); err != nil {
		t.Logf("conformance authorization: %v", err)
	}
	got := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(out, "*", "checks.json"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var checks []struct{ ID, Status, ErrorMessage string }
		if err := json.Unmarshal(b, &checks); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range checks {
			got[c.ID] = c.Status + " " + c.ErrorMessage
		}
	}
	for _, id := range conformanceChecks {
		if !strings.HasPrefix(got[id], "SUCCESS") {
			t.Errorf("conformance check %s: %q\n%s", id, got[id], &log)
		}
	}
	return got
}

// The MCP conformance suite's authorization-server scenarios pass against the binary, with a
// public client (registered here; the suite uses "none" whenever the server offers it) and the
// all-servers resource /mcp.
func TestAuthorizationConformance(t *testing.T) {
	requireE2E(t)
	inst := startServe(t, "")
	port := freePort(t)
	clientID := registerPublicClient(t, inst.ready.Issuer, fmt.Sprintf("http://127.0.0.1:%d/callback", port), "MCP conformance suite")
	got := runAuthorizationConformance(t, inst.ready.Issuer, clientID, inst.ready.Issuer+"/mcp", port, nil,
		func(authURL string) string { return signIn(t, authURL, inst.user, inst.password).String() },
		func(cb string) {
			resp, err := http.Get(cb)
			if err != nil {
				t.Fatalf("delivering the code to the suite: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	t.Logf("conformance authorization: %v", got)
}

// registerPublicClient registers a client with auth "none" and one redirect URI (DCR) and
// returns its ID.
func registerPublicClient(t *testing.T, issuer, redirect, name string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none", "client_name": name})
	resp, err := http.Post(issuer+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reg); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %v", resp.StatusCode, err)
	}
	return reg.ClientID
}
