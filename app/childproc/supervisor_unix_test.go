//go:build linux || darwin

package childproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// testGrace keeps the tests quick; what they check does not depend on it.
const testGrace = 200 * time.Millisecond

// stubbornTree is a command whose shell and its child both ignore SIGTERM and never read
// stdin, the kind that outlives an app that only closes stdin and signals its child. It prints
// "SHELL_PID SLEEP_PID" and waits.
const stubbornTree = `trap "" TERM; sleep 1000 & echo $$ $!; wait`

func stubbornSpec() Spec {
	return Spec{Path: "sh", Args: []string{"-c", stubbornTree}, Grace: testGrace}
}

// runHelper is the test binary in another part: "parent" is an app that starts stubbornTree,
// prints "SUPERVISOR_PID SHELL_PID SLEEP_PID" and waits to be killed.
func runHelper(role string) int {
	if role != "parent" {
		fmt.Fprintf(os.Stderr, "unknown helper role %q\n", role)
		return 2
	}
	cmd, err := Command(stubbornSpec())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%d %s", cmd.Process.Pid, line)
	time.Sleep(time.Hour) // until the test kills this process
	return 0
}

// start starts spec through Command with pipes for stdin and stdout, and makes sure its tree
// ends with the test.
func start(t *testing.T, spec Spec) (cmd *exec.Cmd, stdin io.WriteCloser, stdout io.Reader) {
	t.Helper()
	cmd, err := Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	if stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if stdout, err = cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { KillTree(cmd) })
	return cmd, stdin, stdout
}

// startStubborn starts stubbornTree and returns the cmd and the pids of the shell and of its
// sleep.
func startStubborn(t *testing.T) (cmd *exec.Cmd, shell, sleep int) {
	t.Helper()
	cmd, _, out := start(t, stubbornSpec())
	pids := readPids(t, bufio.NewReader(out), 2)
	return cmd, pids[0], pids[1]
}

func readPids(t *testing.T, r *bufio.Reader, n int) []int {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the pids: %q, %v", line, err)
	}
	var pids []int
	for _, f := range strings.Fields(line) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("reading the pids: %q", line)
		}
		pids = append(pids, pid)
	}
	if len(pids) != n {
		t.Fatalf("read pids %v, want %d", pids, n)
	}
	return pids
}

// waitGone waits until none of pids runs; a zombie has ended and counts as gone. The deadline
// is only there so that a failing test ends: nothing is expected to take long.
func waitGone(t *testing.T, what string, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var alive []int
		for _, pid := range pids {
			if running(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: processes %v still run", what, alive)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTreeEndsWhenTheAppIsKilled(t *testing.T) {
	app := exec.Command(os.Args[0], "-test.run=^$")
	app.Env = append(os.Environ(), helperEnv+"=parent")
	app.Stderr = os.Stderr
	out, err := app.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	pids := readPids(t, bufio.NewReader(out), 3)
	for _, pid := range pids {
		if !running(pid) {
			t.Fatalf("process %d of %v does not run before the app is killed", pid, pids)
		}
	}
	if err := app.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	app.Wait()
	waitGone(t, "after kill -9 of the app", pids...)
}

func TestKillTreeEndsTheTree(t *testing.T) {
	cmd, shell, sleep := startStubborn(t)
	if err := KillTree(cmd); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "after KillTree", shell, sleep)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("Wait after KillTree = %v, want the supervisor killed", err)
	}
	if err := KillTree(cmd); err != nil {
		t.Errorf("KillTree of a tree that is gone: %v", err)
	}
}

// The graceful close of the go-sdk's CommandTransport (stdin closed, SIGTERM, then SIGKILL)
// ends the whole tree, although both its processes ignore SIGTERM and stdin.
func TestCloseEndsTheTree(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	spec := Spec{Path: "sh", Args: []string{"-c", strings.Replace(stubbornTree, "echo $$ $!", "echo $$ $! >"+pidFile, 1)}, Grace: testGrace}
	cmd, err := Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	// Longer than the grace: the supervisor, not the transport's SIGKILL, ends the tree.
	tr := &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * testGrace}
	conn, err := tr.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { KillTree(cmd) })
	var pids []int
	waitFor(t, "the pid file", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pids = readPids(t, bufio.NewReader(bytes.NewReader(b)), 2)
		return true
	})
	start := time.Now()
	err = conn.Close()
	t.Logf("Close took %v: %v", time.Since(start), err)
	waitGone(t, "after Close", pids...)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("Close = %v, want the shell's end: killed", err)
	}
}

// A server that ends when its stdin ends is closed at once, with its own exit status.
func TestCloseOfAServerThatExitsOnEOF(t *testing.T) {
	cmd, err := Command(Spec{Path: "cat", Grace: testGrace})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := (&mcp.CommandTransport{Command: cmd, TerminateDuration: time.Minute}).Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- conn.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v, want nil (cat exits 0 at the end of stdin)", err)
		}
	case <-time.After(30 * time.Second):
		KillTree(cmd)
		t.Fatal("Close waited for the transport's SIGTERM: the end of stdin did not reach cat")
	}
}

// What the command leaves behind when it exits is ended too, and its exit status is the
// supervisor's.
func TestTreeEndsWhenTheCommandExits(t *testing.T) {
	cmd, _, out := start(t, Spec{Path: "sh", Args: []string{"-c", `trap "" TERM; sleep 1000 & echo $!; exec 1>&-; exit 3`}, Grace: testGrace})
	sleep := readPids(t, bufio.NewReader(out), 1)[0]
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("Wait = %v, want exit status 3", err)
	}
	waitGone(t, "after the command exited", sleep)
}

// When the supervisor itself is killed, KillTree still ends the command's tree.
func TestKillTreeAfterTheSupervisorWasKilled(t *testing.T) {
	cmd, shell, sleep := startStubborn(t)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if err := KillTree(cmd); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "after KillTree", shell, sleep)
}

func TestExitStatusPassesThrough(t *testing.T) {
	tests := []struct {
		script string
		code   int            // ExitCode, -1 when ended by a signal
		signal syscall.Signal // the signal the app sees, when code is -1
		stderr string         // what the supervisor adds to stderr
	}{
		{"exit 0", 0, 0, ""},
		{"exit 7", 7, 0, ""},
		{"kill -TERM $$", -1, syscall.SIGTERM, ""},
		{"kill -KILL $$", -1, syscall.SIGKILL, ""},
		{"kill -INT $$", -1, syscall.SIGINT, ""},
		{"kill -SEGV $$", 128 + int(syscall.SIGSEGV), 0, "ended by signal 11"},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			cmd, err := Command(Spec{Path: "sh", Args: []string{"-c", tt.script}, Grace: testGrace})
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err = cmd.Run()
			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit code %d (%v), want %d", got, err, tt.code)
			}
			if tt.signal != 0 {
				if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signal() != tt.signal {
					t.Errorf("ended by %v, want %v", ws.Signal(), tt.signal)
				}
			}
			if tt.stderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.stderr)
			}
		})
	}
}

// The command gets the app's stdin, stdout and stderr themselves, its environment exactly
// and its working directory; the supervisor adds nothing to what it says.
func TestCommandGetsStdioEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	script := `read line; echo "got $line"; echo "to stderr" >&2; pwd; env | grep '^T_' | sort; env | grep -c MCPSHARE_ || true`
	cmd, err := Command(Spec{Path: "sh", Args: []string{"-c", script}, Env: []string{"T_A=1", "T_B=x y", "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}, Dir: dir, Grace: testGrace})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdin = strings.NewReader("hello\n")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v; stderr %q", err, stderr.String())
	}
	realDir, _ := filepath.EvalSymlinks(dir)
	if want := "got hello\n" + realDir + "\nT_A=1\nT_B=x y\n0\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if stderr.String() != "to stderr\n" {
		t.Errorf("stderr %q, want only the command's own line", stderr.String())
	}
}

// The command runs in the supervisor's process group, not in the app's.
func TestCommandRunsInTheSupervisorsGroup(t *testing.T) {
	cmd, shell, sleep := startStubborn(t)
	for _, pid := range []int{shell, sleep} {
		pg, err := syscall.Getpgid(pid)
		if err != nil {
			t.Fatal(err)
		}
		if pg != cmd.Process.Pid || pg == syscall.Getpgrp() {
			t.Errorf("process %d is in group %d, want the supervisor's %d (the test's is %d)", pid, pg, cmd.Process.Pid, syscall.Getpgrp())
		}
	}
}

// A program that cannot be run after all (it passed Command's checks) is reported on stderr
// with a shell's status, not as a silent exit of the supervisor.
func TestSupervisorSaysWhyItCouldNotStart(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, err := Command(Spec{Path: empty, Grace: testGrace})
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Run()
	if got := cmd.ProcessState.ExitCode(); got != exitCannotExec {
		t.Errorf("exit code %d, want %d", got, exitCannotExec)
	}
	if want := "could not start " + empty + ": exec format error"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// Commands run one after another leave no file descriptor behind in the app, and get none of
// its own: a command started through Command has the fds of a command started directly.
func TestNoFileDescriptorLeaks(t *testing.T) {
	fdDir := selfFDDir(t)
	run := func(cmd *exec.Cmd) string {
		t.Helper()
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	direct := run(exec.Command("ls", fdDir))
	count := func() int {
		es, err := os.ReadDir(fdDir)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	before := -1
	for i := range 5 {
		cmd, err := Command(Spec{Path: "ls", Args: []string{fdDir}, Grace: testGrace})
		if err != nil {
			t.Fatal(err)
		}
		if got := run(cmd); got != direct {
			t.Errorf("through the supervisor the command has fds %q, started directly %q", got, direct)
		}
		KillTree(cmd)
		if i == 0 {
			before = count() // after the first: the app's pipe is made once
		}
	}
	if after := count(); after != before {
		t.Errorf("the app has %d fds after four more commands, %d before", after, before)
	}
}

// Commands started at once are supervised each on its own.
func TestConcurrentCommands(t *testing.T) {
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() {
			cmd, err := Command(Spec{Path: "sh", Args: []string{"-c", fmt.Sprintf("exit %d", i+1)}, Grace: testGrace})
			if err != nil {
				t.Error(err)
				return
			}
			cmd.Run()
			codes[i] = cmd.ProcessState.ExitCode()
		})
	}
	wg.Wait()
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(codes, want) {
		t.Errorf("exit codes %v, want %v", codes, want)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The app reads the end of the command's stdout as soon as the command closes it, while the
// command (and so the supervisor) still runs: the supervisor holds no copy of the pipe.
func TestStdoutEndsWhenTheCommandClosesIt(t *testing.T) {
	cmd, stdin, out := start(t, Spec{Path: "sh", Args: []string{"-c", "echo bye; exec 1>&-; read x || true"}, Grace: testGrace})
	read := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(out)
		read <- string(b)
	}()
	select {
	case got := <-read:
		if got != "bye\n" {
			t.Errorf("stdout %q, want %q", got, "bye\n")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no end of stdout while the command waits on stdin")
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("Wait = %v, want nil once stdin ended", err)
	}
}
