package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/builtin"
)

// The MCP conformance suite (@modelcontextprotocol/conformance, server mode)
// is run against each server twice: served by the go-sdk's own HTTP handler,
// and shared through MCP Share behind OAuth with a real token. Every scenario
// that passes the first way must pass the second, for the requirement sets of
// 2025-11-25 and 2026-07-28 on the same MCP Share URL. The go-sdk serves one
// era per handler (stateful for the session era, stateless for 2026-07-28),
// so the direct runs use one handler each.

// requirementSets are the spec revisions whose required scenarios are run.
var requirementSets = []string{"2025-11-25", "2026-07-28"}

// tally is one conformance run: scenario -> whether every check passed.
type tally map[string]bool

// failedChecks reads the suite's result files in dir: for each scenario, the
// checks that failed, with their messages.
func failedChecks(dir string) map[string][]string {
	out := map[string][]string{}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "checks.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var checks []struct {
			ID, Status, ErrorMessage string
		}
		if json.Unmarshal(b, &checks) != nil {
			continue
		}
		scenario := strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "server-")
		if i := strings.Index(scenario, "-20"); i > 0 {
			scenario = scenario[:i]
		}
		for _, c := range checks {
			if c.Status == "FAILURE" {
				out[scenario] = append(out[scenario], c.ID+": "+c.ErrorMessage)
			}
		}
	}
	return out
}

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

// runConformance runs the suite's scenarios of one requirement set against url.
func runConformance(t *testing.T, dir, url, token, requirements string) tally {
	t.Helper()
	res, _ := runConformanceDetailed(t, dir, url, token, requirements)
	return res
}

// runConformanceDetailed also returns the failed checks of each scenario.
func runConformanceDetailed(t *testing.T, dir, url, token, requirements string) (tally, map[string][]string) {
	t.Helper()
	outDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	args := []string{}
	if token != "" {
		args = append(args, "--import", "./auth_preload.mjs")
	}
	args = append(args, "node_modules/@modelcontextprotocol/conformance/dist/index.js", "server",
		"--url", url, "--requirements", requirements, "-o", outDir)
	cmd := exec.CommandContext(ctx, nodeBinary(dir), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MCPSHARE_TOKEN="+token)
	out, _ := cmd.CombinedOutput() // exits non-zero whenever a scenario fails
	res := parseTally(string(out))
	if len(res) < 10 {
		t.Fatalf("the conformance suite ran %d scenarios against %s:\n%s", len(res), url, out)
	}
	return res, failedChecks(outDir)
}

// compareTallies fails for every scenario that passes directly but not through MCP Share.
func compareTallies(t *testing.T, what string, direct, shared tally, failures map[string][]string) {
	t.Helper()
	t.Logf("%s: directly %d/%d scenarios pass; through MCP Share %d/%d", what, direct.passed(), len(direct), shared.passed(), len(shared))
	var names []string
	for n := range direct {
		names = append(names, n)
	}
	sort.Strings(names)
	var lost []string
	for _, n := range names {
		if direct[n] && !shared[n] {
			lost = append(lost, n)
			for _, f := range failures[n] {
				t.Logf("    %s failed through MCP Share: %s", n, f)
			}
		}
		t.Logf("  %-50s direct=%-5v shared=%v", n, direct[n], shared[n])
	}
	if len(lost) > 0 {
		t.Errorf("%s: scenarios that pass directly but fail through MCP Share: %s", what, strings.Join(lost, ", "))
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var goEverything struct {
	once sync.Once
	path string
	err  error
}

// goEverythingServer builds the go-sdk's conformance everything-server, the
// fixture the suite's scenarios are written for (stdio by default).
func goEverythingServer(t testing.TB) string {
	t.Helper()
	goEverything.once.Do(func() {
		goEverything.path = filepath.Join(filepath.Dir(binary), "everything-server")
		out, err := exec.Command("go", "build", "-o", goEverything.path, "github.com/modelcontextprotocol/go-sdk/conformance/everything-server").CombinedOutput()
		if err != nil {
			goEverything.err = err
			goEverything.path = string(out)
		}
	})
	if goEverything.err != nil {
		t.Fatalf("building the go-sdk everything-server: %v\n%s", goEverything.err, goEverything.path)
	}
	return goEverything.path
}

// startDirect runs the everything-server on HTTP with the go-sdk's handler.
func startDirect(t testing.TB, stateless bool) string {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(goEverythingServer(t), "-http", addr, "-stateless="+strconv.FormatBool(stateless))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(t, addr)
	return "http://" + addr + "/"
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConformanceThroughGatewayMatchesDirect shares the go-sdk everything-server
// (a stdio child, default settings) and runs both requirement sets on its one
// MCP Share URL.
func TestConformanceThroughGatewayMatchesDirect(t *testing.T) {
	dir := requireE2E(t)
	inst := serveWithCommand(t, "everything", goEverythingServer(t))
	url := inst.mcpURL(t, "everything")
	_, tok := preregistered(t, inst, url)
	for _, req := range requirementSets {
		t.Run(req, func(t *testing.T) {
			direct := runConformance(t, dir, startDirect(t, req >= "2026"), "", req)
			shared, failures := runConformanceDetailed(t, dir, url, tok.AccessToken, req)
			compareTallies(t, "everything-server, requirements "+req, direct, shared, failures)
		})
	}
}

// TestConformanceFilesAndAllServers runs both requirement sets against
// /mcp/files and /mcp, comparing with the built-in server served directly by
// the go-sdk's handler (the suite's fixture tools are absent from both, so
// what counts are the transport, lifecycle and listing scenarios).
func TestConformanceFilesAndAllServers(t *testing.T) {
	dir := requireE2E(t)
	inst := startServe(t, "")
	for _, req := range requirementSets {
		direct := runConformance(t, dir, serveBuiltinDirect(t, inst.folder, req >= "2026"), "", req)
		for _, name := range []string{"files", ""} {
			url := inst.ready.Issuer + "/mcp"
			if name != "" {
				url += "/" + name
			}
			_, tok := preregistered(t, inst, url)
			t.Run(req+url[len(inst.ready.Issuer):], func(t *testing.T) {
				shared, failures := runConformanceDetailed(t, dir, url, tok.AccessToken, req)
				compareTallies(t, url+", requirements "+req, direct, shared, failures)
			})
		}
	}
}

// serveBuiltinDirect serves the built-in server of folder with the go-sdk's own handler.
func serveBuiltinDirect(t *testing.T, folder string, stateless bool) string {
	t.Helper()
	srv := builtin.NewServer(folder)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: stateless})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String() + "/"
}
