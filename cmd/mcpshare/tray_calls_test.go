package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mcpshare/mcpshare/app/ui/notifytest"
)

// TestTrayAnswersCallsWithARealTrayHost: a call that waits for approval
// shows as top-level items of the real tray (xfce4-panel, read and clicked
// over dbusmenu) and as a notification with buttons; both answer it.
func TestTrayAnswersCallsWithARealTrayHost(t *testing.T) {
	d := startDesktop(t)
	notes := notifytest.Start(t, d.bus)
	configDir := t.TempDir()
	const password = "tray calls password"
	passwd := exec.Command(binary, "user", "passwd", "admin", "--password-stdin", "--config-dir", configDir, "--secrets", "file")
	passwd.Stdin = strings.NewReader(password + "\n")
	if out, err := passwd.CombinedOutput(); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	folder := t.TempDir()
	os.WriteFile(filepath.Join(folder, "fox.txt"), []byte("the quick brown fox\n"), 0o600)
	mcpshareIn(t, configDir, "server", "tools", "files", "--ask", "search", "--ask", "fetch")

	ready := filepath.Join(t.TempDir(), "ready.json")
	gui := exec.Command(binary, "--config-dir", configDir, "--secrets", "file", "--addr", "127.0.0.1:0",
		"--approval", "password", "--ready-file", ready, "--folder", folder)
	gui.Env = append(d.env, "MCPSHARE_UI_TAB=activity")
	var stderr syncBuffer
	gui.Stderr = &stderr
	startProcess(t, gui)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mcpshare stderr:\n%s", stderr.String())
		}
	})
	var info readyInfo
	d.waitFor("ready file", func() bool {
		b, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(b, &info) == nil
	})
	tray := d.trayItem()
	mcpURL := info.Servers["files"]
	_, tok := preregisteredAs(t, &instance{ready: info}, mcpURL, "admin", password)
	cs := mcpSession(t, mcpURL, tok.AccessToken)
	search := func(q string) chan callAnswerE2E {
		done := make(chan callAnswerE2E, 1)
		go func() {
			res, err := toolCall(cs, "search", map[string]any{"query": q})
			done <- callAnswerE2E{res != nil && !res.IsError && err == nil, res != nil && res.IsError}
		}()
		return done
	}

	done := search("fox")
	var always string
	d.waitFor("the waiting call's items in the tray", func() bool {
		for _, e := range tray.layout() {
			if e.children > 0 {
				t.Fatalf("%q has a submenu: hosts render those empty", e.label)
			}
			if strings.HasPrefix(e.label, "Always allow admin · ") && strings.Contains(e.label, "files/search") {
				always = e.label
			}
		}
		return always != ""
	})
	d.screenshot("call-pending-window.png")
	tray.clickUntil(always, func() bool {
		select {
		case a := <-done:
			if !a.ok {
				t.Fatalf("the call after Always allow in the tray failed")
			}
			return true
		default:
			return false
		}
	})
	// Remembered: the same tool and client no longer asks.
	if a := <-search("fox again"); !a.ok {
		t.Fatal("the always allowed call failed")
	}

	// Another tool asks again; its notification's Deny answers.
	fetched := make(chan callAnswerE2E, 1)
	go func() {
		res, err := toolCall(cs, "fetch", map[string]any{"id": "fox.txt"})
		fetched <- callAnswerE2E{res != nil && !res.IsError && err == nil, res != nil && res.IsError}
	}()
	var id uint32
	d.waitFor("the fetch call's notification", func() bool {
		for _, n := range notes.Notices() {
			if strings.HasPrefix(n.Summary, "Call waiting: admin · ") && strings.Contains(n.Summary, "files/fetch") {
				if !strings.Contains(strings.Join(n.Actions, ","), "always,Always allow this tool for this client") {
					t.Errorf("notification %+v lacks Always allow", n)
				}
				id = n.ID
				return true
			}
		}
		return false
	})
	notes.Press(t, id, "deny")
	if a := <-fetched; !a.toolError {
		t.Error("the call denied in its notification did not fail with a tool error")
	}
	d.waitFor("the tray without waiting calls", func() bool {
		for _, e := range tray.layout() {
			if strings.HasPrefix(e.label, "Deny admin") {
				return false
			}
		}
		return true
	})
	out := mcpshareIn(t, configDir, "audit", "--event", "approval")
	if !strings.Contains(out, "always") || !strings.Contains(out, "(tray)") || !strings.Contains(out, "(notification)") {
		t.Errorf("the approvals in the audit log:\n%s", out)
	}
	gui.Process.Signal(syscall.SIGTERM)
	if err := gui.Wait(); err != nil {
		t.Errorf("mcpshare after SIGTERM: %v", err)
	}
}

type callAnswerE2E struct{ ok, toolError bool }
