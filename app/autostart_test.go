package app

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestAutostart(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG autostart is tested on Linux")
	}
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	a := openTest(t, nil)
	if on, err := a.Autostart(); on || err != nil {
		t.Fatalf("Autostart on a fresh system = %v, %v", on, err)
	}
	if err := a.SetAutostart(true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg, "autostart", "io.mcpshare.app.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	want := "Exec=" + desktopExecQuote(exe) + " --config-dir " + desktopExecQuote(a.ConfigDir()) + "\n"
	if !strings.Contains(string(b), want) || !strings.HasPrefix(string(b), "[Desktop Entry]\n") {
		t.Errorf("autostart entry:\n%s\nwant line %q", b, want)
	}
	if on, err := a.Autostart(); !on || err != nil {
		t.Errorf("Autostart after enabling = %v, %v", on, err)
	}
	if err := a.SetAutostart(false); err != nil {
		t.Fatal(err)
	}
	if on, _ := a.Autostart(); on {
		t.Error("still starting at login after disabling")
	}
	if err := a.SetAutostart(false); err != nil {
		t.Errorf("disabling twice: %v", err)
	}
}

func TestDesktopExecQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/mcpshare":      `"/usr/bin/mcpshare"`,
		"/home/me/MCP Share/bin": `"/home/me/MCP Share/bin"`,
		`/a"b`:                   `"/a\\"b"`,
		"/cost$/50%":             `"/cost\\$/50%%"`,
	} {
		if got := desktopExecQuote(in); got != want {
			t.Errorf("desktopExecQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
