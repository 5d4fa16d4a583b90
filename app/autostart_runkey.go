package app

import (
	"fmt"
	"strings"
)

// runKeyPath is the per-user Run key of Windows (under HKEY_CURRENT_USER), whose values are
// command lines that Windows runs when the user logs in. Task Manager's Startup tab lists them
// and can disable them.
const runKeyPath = `Software\Microsoft\Windows\CurrentVersion\Run`

// runKeyMaxCommand is the longest command line Windows runs from a Run key.
const runKeyMaxCommand = 260

// runKey is the Run key, or a fake of it in the tests.
type runKey interface {
	get(name string) (value string, ok bool, err error)
	set(name, value string) error
	delete(name string) error // deleting a value that is not there is not an error
}

// runKeyLoginItem is MCP Share's value of the Run key.
type runKeyLoginItem struct{ key runKey }

func (r runKeyLoginItem) installed() (bool, error) {
	_, ok, err := r.key.get(autostartID)
	return ok, err
}

func (r runKeyLoginItem) install(exe string, args []string) error {
	cmd := runKeyCommand(exe, args)
	if len(cmd) > runKeyMaxCommand {
		return fmt.Errorf("cannot start MCP Share at login: its command line is %d characters and Windows runs at most %d from the Run key: %s", len(cmd), runKeyMaxCommand, cmd)
	}
	if err := r.key.set(autostartID, cmd); err != nil {
		return fmt.Errorf("write %s in HKEY_CURRENT_USER\\%s: %w", autostartID, runKeyPath, err)
	}
	return nil
}

func (r runKeyLoginItem) remove() error {
	if err := r.key.delete(autostartID); err != nil {
		return fmt.Errorf("remove %s from HKEY_CURRENT_USER\\%s: %w", autostartID, runKeyPath, err)
	}
	return nil
}

// runKeyCommand is the command line that runs exe with args, each quoted the way Windows
// programs split their command line (CommandLineToArgvW, and Go's os.Args): inside double
// quotes, a quote is escaped by a backslash, and backslashes are doubled where a quote follows
// them. The program's own path cannot hold a quote on Windows; it is quoted for its spaces.
func runKeyCommand(exe string, args []string) string {
	parts := []string{`"` + exe + `"`}
	for _, a := range args {
		parts = append(parts, quoteWindowsArg(a))
	}
	return strings.Join(parts, " ")
}

func quoteWindowsArg(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	b.WriteString(strings.Repeat(`\`, slashes)) // before the closing quote
	b.WriteByte('"')
	return b.String()
}
