package main

import (
	"fmt"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// `mcpshare doctor` against serve behind a reverse proxy of the test's (the
// custom tunnel of a person who runs their own), and against a URL where
// nothing answers.

func TestDoctorCommand(t *testing.T) {
	port := freePort(t)
	local, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(local)
		r.Out.Host = r.In.Host
	}}
	front := httptest.NewServer(rp)
	defer front.Close()
	_, frontPort, _ := net.SplitHostPort(front.Listener.Addr().String())
	public := "http://localhost:" + frontPort
	inst := startServe(t, "", "--addr", local.Host, "--tunnel", "custom", "--public-url", public)
	if inst.ready.PublicOrigin != public {
		t.Fatalf("issuer %s, want the public URL %s\n%s\n%s", inst.ready.PublicOrigin, public, inst.stdout, inst.stderr)
	}

	out, err := exec.Command(binary, "doctor", public+"/mcp").CombinedOutput()
	if err != nil {
		t.Fatalf("doctor on a healthy share: %v\n%s", err, out)
	}
	// The "public" URL here is a proxy on this computer: the chain works, and
	// the doctor says that ChatGPT cannot reach it all the same.
	for _, want := range []string{"ok       HEAD of the protected resource metadata", "ok       The sign-in page opens", "left to expire",
		"warning  ChatGPT and Claude can reach this URL: http://localhost:" + frontPort + " is on this computer", "Every step works from this computer, but ChatGPT and Claude cannot reach"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}

	// Without a URL, while serve runs on the config dir: it says to give one.
	out, err = exec.Command(binary, "doctor", "--config-dir", inst.configDir, "--secrets", "file").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "give its public MCP URL") {
		t.Fatalf("doctor without a URL while serve runs: %v\n%s", err, out)
	}

	closed := fmt.Sprintf("http://localhost:%d/mcp", freePort(t))
	cmd := exec.Command(binary, "doctor", closed)
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitError {
		t.Fatalf("doctor on an unreachable URL: %v, want exit %d\n%s", err, exitError, out)
	}
	if !strings.Contains(string(out), "FAILED   HEAD of the protected resource metadata") || !strings.Contains(string(out), "Nothing answers at") {
		t.Fatalf("doctor on an unreachable URL:\n%s", out)
	}
}
