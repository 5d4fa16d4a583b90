package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// xdgLoginItem is the XDG autostart entry (freedesktop.org "Desktop Application Autostart"),
// which GNOME, KDE, Xfce and others read at login.
func xdgLoginItem() (loginItem, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("find the autostart folder: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return fileLoginItem{path: filepath.Join(dir, "autostart", autostartID+".desktop"), content: desktopEntry}, nil
}

// desktopEntry is the autostart desktop file that runs exe with args.
func desktopEntry(exe string, args []string) ([]byte, error) {
	cmd := desktopExecQuote(exe)
	for _, a := range args {
		cmd += " " + desktopExecQuote(a)
	}
	return []byte("[Desktop Entry]\nType=Application\nName=MCP Share\n" +
		"Comment=Share the MCP servers on this computer with ChatGPT and Claude\n" +
		"Exec=" + cmd + "\n" +
		"Icon=" + autostartID + "\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"), nil
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
