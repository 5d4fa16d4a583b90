package app

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The Settings box's switch on Linux: an XDG autostart file that runs this program with this
// config directory.
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
	want := "Exec=" + desktopExecQuote(exe) + ` "--config-dir" ` + desktopExecQuote(a.ConfigDir()) + "\n"
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

// The macOS LaunchAgent: in ~/Library/LaunchAgents, a property list that runs the program with
// its arguments, unchanged, once at login in the graphical session.
func TestLaunchAgent(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	li, err := launchAgentItem()
	if err != nil {
		t.Fatal(err)
	}
	exe := "/Applications/MCP Share.app/Contents/MacOS/mcpshare"
	args := []string{"--config-dir", "/Users/me/Library/Application Support/mcp & <share> \"ü\" 'x'"}
	if err := li.install(exe, args); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, "Library", "LaunchAgents", "io.mcpshare.app.plist")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plist := parsePlistDict(t, b)
	want := map[string]any{
		"Label":                       "io.mcpshare.app",
		"ProgramArguments":            append([]string{exe}, args...),
		"RunAtLoad":                   true,
		"ProcessType":                 "Interactive",
		"LimitLoadToSessionType":      "Aqua",
		"AssociatedBundleIdentifiers": "io.mcpshare.app",
	}
	for k, v := range want {
		got, ok := plist[k]
		if !ok {
			t.Errorf("the plist has no %s:\n%s", k, b)
			continue
		}
		if s, isSlice := v.([]string); isSlice {
			if g, _ := got.([]string); !slices.Equal(g, s) {
				t.Errorf("%s = %q, want %q", k, got, s)
			}
		} else if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if len(plist) != len(want) {
		t.Errorf("the plist has keys %v, want those of %v", plist, want)
	}
	if !bytes.HasPrefix(b, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<!DOCTYPE plist`)) {
		t.Errorf("the plist does not start with the XML declaration and the plist DOCTYPE:\n%s", b)
	}
	checkFileItem(t, li, path)
}

// checkFileItem checks installed and remove of an installed login item kept in the file path.
func checkFileItem(t *testing.T, li loginItem, path string) {
	t.Helper()
	if on, err := li.installed(); !on || err != nil {
		t.Errorf("installed = %v, %v after install", on, err)
	}
	if err := li.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there after remove: %v", path, err)
	}
	if on, err := li.installed(); on || err != nil {
		t.Errorf("installed = %v, %v after remove", on, err)
	}
	if err := li.remove(); err != nil {
		t.Errorf("removing twice: %v", err)
	}
}

// parsePlistDict reads the top dict of a property list holding strings, booleans and arrays
// of strings, the way a plist reader would: keys and values in turn.
func parsePlistDict(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	out := map[string]any{}
	var key string
	var array []string
	inArray := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("the plist is not well-formed XML: %v\n%s", err, b)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			if ee, ok := tok.(xml.EndElement); ok && ee.Name.Local == "array" {
				out[key], inArray = array, false
			}
			continue
		}
		switch se.Name.Local {
		case "key":
			var s string
			d.DecodeElement(&s, &se)
			key = s
		case "string":
			var s string
			d.DecodeElement(&s, &se)
			if inArray {
				array = append(array, s)
			} else {
				out[key] = s
			}
		case "true", "false":
			out[key] = se.Name.Local == "true"
		case "array":
			inArray, array = true, nil
		}
	}
}

// The Windows Run-key value: a command line that Windows splits back into the program and its
// arguments, unchanged.
func TestRunKeyCommand(t *testing.T) {
	tests := []struct {
		exe  string
		args []string
		want string
	}{
		{`C:\Program Files\MCP Share\MCP Share.exe`, []string{"--config-dir", `C:\Users\me\AppData\Roaming\mcpshare`},
			`"C:\Program Files\MCP Share\MCP Share.exe" "--config-dir" "C:\Users\me\AppData\Roaming\mcpshare"`},
		{`C:\m.exe`, []string{`C:\dir with space\`}, `"C:\m.exe" "C:\dir with space\\"`},
		{`C:\m.exe`, []string{`say "hi"`, `a\"b`, ""}, `"C:\m.exe" "say \"hi\"" "a\\\"b" ""`},
	}
	for _, tt := range tests {
		got := runKeyCommand(tt.exe, tt.args)
		if got != tt.want {
			t.Errorf("runKeyCommand(%q, %q) =\n  %s\nwant\n  %s", tt.exe, tt.args, got, tt.want)
		}
		if split := splitWindowsCommandLine(got); !slices.Equal(split, append([]string{tt.exe}, tt.args...)) {
			t.Errorf("%s splits into %q", got, split)
		}
	}
	for _, arg := range []string{`\`, `\\`, `"`, `\"`, `a b\\ "c" \`, "tab\there", `x\\\"y`} {
		cmd := runKeyCommand(`C:\m.exe`, []string{arg})
		if split := splitWindowsCommandLine(cmd); len(split) != 2 || split[1] != arg {
			t.Errorf("%q quoted as %s splits into %q", arg, cmd, split)
		}
	}
}

// splitWindowsCommandLine splits a command line as CommandLineToArgvW and Go's os.Args do on
// Windows: the test's own reader of the rules runKeyCommand writes for.
func splitWindowsCommandLine(cmd string) []string {
	var args []string
	for cmd = strings.TrimLeft(cmd, " \t"); cmd != ""; cmd = strings.TrimLeft(cmd, " \t") {
		var b strings.Builder
		inQuote, slashes := false, 0
		i := 0
		for ; i < len(cmd); i++ {
			c := cmd[i]
			if c == '\\' {
				slashes++
				continue
			}
			if c == '"' {
				b.WriteString(strings.Repeat(`\`, slashes/2))
				if slashes%2 == 1 {
					b.WriteByte('"')
				} else {
					inQuote = !inQuote
				}
				slashes = 0
				continue
			}
			b.WriteString(strings.Repeat(`\`, slashes))
			slashes = 0
			if (c == ' ' || c == '\t') && !inQuote {
				break
			}
			b.WriteByte(c)
		}
		b.WriteString(strings.Repeat(`\`, slashes))
		args = append(args, b.String())
		cmd = cmd[i:]
	}
	return args
}

// fakeRunKey is a Run key in memory.
type fakeRunKey map[string]string

func (f fakeRunKey) get(name string) (string, bool, error) { v, ok := f[name]; return v, ok, nil }
func (f fakeRunKey) set(name, value string) error          { f[name] = value; return nil }
func (f fakeRunKey) delete(name string) error              { delete(f, name); return nil }

func TestRunKeyLoginItem(t *testing.T) {
	key := fakeRunKey{"Other": "other.exe"}
	li := runKeyLoginItem{key: key}
	exe := `C:\Users\me\AppData\Local\Programs\MCP Share\MCP Share.exe`
	args := []string{"--config-dir", `C:\Users\me\AppData\Roaming\mcpshare`}
	if on, err := li.installed(); on || err != nil {
		t.Fatalf("installed = %v, %v on a fresh system", on, err)
	}
	if err := li.install(exe, args); err != nil {
		t.Fatal(err)
	}
	if got, want := key["io.mcpshare.app"], runKeyCommand(exe, args); got != want {
		t.Errorf("the Run key holds %q, want %q", got, want)
	}
	if on, err := li.installed(); !on || err != nil {
		t.Errorf("installed = %v, %v after install", on, err)
	}
	if err := li.remove(); err != nil {
		t.Fatal(err)
	}
	if _, ok := key["io.mcpshare.app"]; ok || key["Other"] != "other.exe" {
		t.Errorf("after remove the Run key holds %q, want only the other program's value", key)
	}

	// A command line Windows would not run is refused, not written.
	long := []string{"--config-dir", `C:\` + strings.Repeat("deep\\", 60)}
	err := li.install(exe, long)
	if err == nil || !strings.Contains(err.Error(), "at most 260") {
		t.Errorf("install of a %d-character command: err = %v, want a refusal naming the limit", len(runKeyCommand(exe, long)), err)
	}
	if _, ok := key["io.mcpshare.app"]; ok {
		t.Error("a refused command line was written")
	}
}
