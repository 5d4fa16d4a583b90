package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tally is one conformance run: scenario -> whether every check passed.
type tally map[string]bool

var scenarioRE = regexp.MustCompile(`(?m)^[✓✗] ([\w-]+): (\d+) passed, (\d+) failed`)

func parseTally(out string) tally {
	t := tally{}
	for _, m := range scenarioRE.FindAllStringSubmatch(out, -1) {
		failed, _ := strconv.Atoi(m[3])
		t[m[1]] = failed == 0
	}
	return t
}

func (t tally) passed() (n int) {
	for _, ok := range t {
		if ok {
			n++
		}
	}
	return n
}

// runConformance runs the MCP conformance suite (server side) against url.
func runConformance(t *testing.T, dir, url, token string) tally {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{}
	if token != "" {
		args = append(args, "--import", "./auth_preload.mjs")
	}
	args = append(args, "node_modules/@modelcontextprotocol/conformance/dist/index.js", "server", "--url", url, "-o", t.TempDir())
	cmd := exec.CommandContext(ctx, nodeBinary(dir), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MCPSHARE_TOKEN="+token)
	out, _ := cmd.CombinedOutput() // exits non-zero whenever a scenario fails
	res := parseTally(string(out))
	if len(res) < 10 {
		t.Fatalf("the conformance suite ran %d scenarios against %s:\n%s", len(res), url, out)
	}
	return res
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestConformanceBridgeMatchesDirect runs the MCP conformance suite against
// server-everything twice: serving Streamable HTTP by itself, and as a stdio
// child shared through the bridge behind OAuth. Every scenario that passes
// directly must pass through the bridge.
func TestConformanceBridgeMatchesDirect(t *testing.T) {
	dir := requireE2E(t)
	everything := filepath.Join(dir, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")

	port := freePort(t)
	direct := exec.Command(nodeBinary(dir), everything, "streamableHttp")
	direct.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	if err := direct.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Process.Kill(); direct.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server-everything (streamableHttp) did not start listening")
		}
		time.Sleep(100 * time.Millisecond)
	}
	directRes := runConformance(t, dir, "http://127.0.0.1:"+strconv.Itoa(port)+"/mcp", "")

	// The suite opens a session per scenario and never ends them.
	inst := serveWithEverything(t, dir, "--max-sessions", "64")
	url := inst.mcpURL(t, "everything")
	_, tok := preregistered(t, inst, url)
	bridged := runConformance(t, dir, url, tok.AccessToken)

	t.Logf("conformance: server-everything direct %d/%d scenarios passed; through MCP Share's bridge %d/%d",
		directRes.passed(), len(directRes), bridged.passed(), len(bridged))
	var names []string
	for n := range directRes {
		names = append(names, n)
	}
	sort.Strings(names)
	var lost []string
	for _, n := range names {
		if directRes[n] && !bridged[n] {
			lost = append(lost, n)
		}
		t.Logf("  %-40s direct=%v bridged=%v", n, directRes[n], bridged[n])
	}
	if len(lost) > 0 {
		t.Errorf("scenarios that pass directly but fail through the bridge: %s", strings.Join(lost, ", "))
	}
}
