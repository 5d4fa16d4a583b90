package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrAutostartUnsupported: starting at login is not implemented on this system.
var ErrAutostartUnsupported = errors.New("starting MCP Share at login is not supported on this system yet")

// autostartFile is the XDG autostart entry (freedesktop.org "Desktop
// Application Autostart"), which GNOME, KDE, Xfce and others read at login.
func autostartFile() (string, error) {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
	default:
		return "", ErrAutostartUnsupported
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the autostart folder: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", "io.mcpshare.app.desktop"), nil
}

// Autostart tells whether MCP Share starts when the user logs in.
func (a *App) Autostart() (bool, error) {
	path, err := autostartFile()
	if err != nil {
		return false, err
	}
	_, err = os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// SetAutostart makes MCP Share start (with this config directory) when the
// user logs in, or stops that.
func (a *App) SetAutostart(on bool) error {
	path, err := autostartFile()
	if err != nil {
		return err
	}
	if !on {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the mcpshare program: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return fmt.Errorf("find the mcpshare program: %w", err)
	}
	entry := "[Desktop Entry]\nType=Application\nName=MCP Share\n" +
		"Comment=Share the MCP servers on this computer with ChatGPT and Claude\n" +
		"Exec=" + desktopExecQuote(exe) + " --config-dir " + desktopExecQuote(a.opts.ConfigDir) + "\n" +
		"Icon=io.mcpshare.app\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, []byte(entry), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// desktopExecQuote quotes one argument of a desktop entry's Exec key: in
// double quotes, with ", `, $ and \ escaped by a backslash, and the backslash
// itself doubled again because the value is a desktop-entry string.
func desktopExecQuote(arg string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range arg {
		switch r {
		case '"', '`', '$', '\\':
			b.WriteString(`\\`)
		case '%':
			b.WriteByte('%') // a field code otherwise
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
