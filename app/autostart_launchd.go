package app

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
)

// launchAgentItem is a LaunchAgent of the user's (~/Library/LaunchAgents), which launchd loads
// at the user's next login. It is not loaded now: that would start a second MCP Share at once.
func launchAgentItem() (loginItem, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("find the LaunchAgents folder: %w", err)
	}
	return fileLoginItem{path: filepath.Join(home, "Library", "LaunchAgents", autostartID+".plist"), content: launchAgentPlist}, nil
}

// launchAgentPlist is the LaunchAgent property list that runs exe with args once at login, in
// the graphical session only (not for an ssh login). AssociatedBundleIdentifiers lets System
// Settings (Login Items) show it as MCP Share rather than as an unknown developer's item.
func launchAgentPlist(exe string, args []string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString("<plist version=\"1.0\">\n<dict>\n")
	str := func(s string) error {
		b.WriteString("<string>")
		if err := xml.EscapeText(&b, []byte(s)); err != nil {
			return err
		}
		b.WriteString("</string>\n")
		return nil
	}
	b.WriteString("<key>Label</key>\n")
	str(autostartID)
	b.WriteString("<key>ProgramArguments</key>\n<array>\n")
	for _, a := range append([]string{exe}, args...) {
		if err := str(a); err != nil {
			return nil, fmt.Errorf("launch agent for %q: %w", exe, err)
		}
	}
	b.WriteString("</array>\n")
	b.WriteString("<key>RunAtLoad</key>\n<true/>\n")
	b.WriteString("<key>ProcessType</key>\n")
	str("Interactive")
	b.WriteString("<key>LimitLoadToSessionType</key>\n")
	str("Aqua")
	b.WriteString("<key>AssociatedBundleIdentifiers</key>\n")
	str(autostartID)
	b.WriteString("</dict>\n</plist>\n")
	return b.Bytes(), nil
}
