package main

// Tests of the command line as a person sees it: what is printed where,
// with the real binary (built by TestMain in e2e_test.go).

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// env is this process's environment without the locale variables, plus extra.
func env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

func TestNoFyneLocaleNoise(t *testing.T) {
	dir := t.TempDir()
	commands := [][]string{
		{"--help"},
		{"serve", "--help"},
		{"user", "list", "--config-dir", dir, "--secrets", "file"},
		{"server", "list", "--config-dir", dir, "--secrets", "file"},
	}
	for _, locale := range []string{"LANG=C", "LANG=C.UTF-8", "LANG=C.utf8", "LANG=POSIX", "LC_ALL=C.UTF-8", "LANG=en_US.UTF-8"} {
		for _, args := range commands {
			cmd := exec.Command(binary, args...)
			cmd.Env = env(locale)
			out, _ := cmd.CombinedOutput()
			if strings.Contains(string(out), "Fyne") || strings.Contains(string(out), "locale") {
				t.Errorf("%s mcpshare %s printed locale noise:\n%s", locale, strings.Join(args, " "), out)
			}
		}
	}
}

func TestServeAskRefusesWithoutInteractiveTerminal(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	dir := filepath.Join(t.TempDir(), "config")
	cmd := exec.Command(binary, "serve", "--config-dir", dir, "--secrets", "file", "--addr", "127.0.0.1:0",
		"--approval", "ask", "--folder", t.TempDir())
	cmd.Stdin = devNull // a character device, but no terminal
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--approval password") || !strings.Contains(string(out), "not an interactive terminal") {
		t.Fatalf("serve --approval ask < /dev/null: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "sharing on") {
		t.Errorf("it started sharing before refusing:\n%s", out)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the refused start created the config directory (and a password nobody was shown)")
	}
}

var passwordRE = regexp.MustCompile(`has the password (\S+)`)

// onTerminal runs the binary with a real terminal as stdin and stdout (util-linux's script).
func onTerminal(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("no script(1) to give the command a terminal")
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + a + "'"
	}
	out, err := exec.Command("script", "-qec", "'"+binary+"' "+strings.Join(quoted, " "), os.DevNull).CombinedOutput()
	if err != nil {
		t.Fatalf("mcpshare %s on a terminal: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestFirstPasswordOnlyOnATerminalAndUntilSeen(t *testing.T) {
	dir := t.TempDir()
	// Into a pipe: a note, no password; it waits in the secret store.
	out, err := exec.Command(binary, "user", "list", "--config-dir", dir, "--secrets", "file").CombinedOutput()
	if err != nil || passwordRE.Match(out) || !strings.Contains(string(out), "not printed into a log") {
		t.Fatalf("user list into a pipe on a fresh config dir: %v\n%s", err, out)
	}
	secrets, _ := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if !strings.Contains(string(secrets), "first-password") {
		t.Fatal("the generated password is not in the secret store")
	}
	// On a terminal it is shown once, and then counts as seen.
	m := passwordRE.FindStringSubmatch(onTerminal(t, "user", "list", "--config-dir", dir, "--secrets", "file"))
	if m == nil || !strings.Contains(string(secrets), m[1]) {
		t.Fatalf("user list on a terminal did not show the waiting password")
	}
	if again := onTerminal(t, "user", "list", "--config-dir", dir, "--secrets", "file"); strings.Contains(again, m[1]) {
		t.Errorf("the password was shown again after it was seen:\n%s", again)
	}
}

func TestFolderFlagOnAnExistingConfigDir(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command(binary, "user", "list", "--config-dir", dir, "--secrets", "file").CombinedOutput(); err != nil {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	inst := startServe(t, dir) // with --folder DIR/shared
	if want := "now shares " + inst.folder; !strings.Contains(inst.stdout.String(), want) {
		t.Errorf("serve --folder on a config dir made by another command does not say %q:\n%s", want, inst.stdout)
	}
	out, err := exec.Command(binary, "server", "list", "--config-dir", dir, "--secrets", "file").CombinedOutput()
	if !strings.Contains(string(out), "already running") && (err != nil || !strings.Contains(string(out), inst.folder)) {
		t.Errorf("server list: %v\n%s", err, out)
	}
}

func TestFlagValueThatNamesACommand(t *testing.T) {
	out, err := exec.Command(binary, "--tunnel", "ngrok", "--help").CombinedOutput()
	if err != nil || strings.Contains(string(out), "flags go after the command") {
		t.Errorf("mcpshare --tunnel ngrok --help: %v\n%s", err, out)
	}
	out, err = exec.Command(binary, "--verbose", "serve").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "flags go after the command: mcpshare serve") {
		t.Errorf("mcpshare --verbose serve: %v\n%s", err, out)
	}
}
