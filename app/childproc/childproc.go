package childproc

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Spec is a command to run as a local MCP server.
type Spec struct {
	// Path is the program: a bare name is looked up in the app's PATH, as exec.Command does;
	// a relative path is taken from Dir when Dir is set.
	Path string
	// Args are the arguments after the program's name.
	Args []string
	// Env is the whole environment of the command; nil means the app's own.
	Env []string
	// Dir is the command's working directory; empty means the app's.
	Dir string
	// Stderr receives the server's stderr, its log; nil discards it. Never the remote
	// client's: a server's stderr may hold secrets.
	Stderr io.Writer
	// Grace is how long the process tree has to exit after SIGTERM before it is killed;
	// zero means DefaultGrace. Windows has no SIGTERM: there the tree is killed at once.
	Grace time.Duration
}

// DefaultGrace is the time between SIGTERM and SIGKILL when a Spec does not set one: enough
// for a node server to flush its log, short enough that quitting the app does not linger.
const DefaultGrace = 2 * time.Second

// The supervisor is this executable started with envLifeline set, and with no other
// environment than the variables below. The command's environment travels in envEnv0,
// envEnv1, ...: the Go runtime and the packages linked into the app, whose init functions run
// before main, never see it (Fyne logs an error from its init for LANG=C.UTF-8, which would
// land in the server's log; a server's GODEBUG or GOMAXPROCS would steer the supervisor).
const (
	envPrefix = "MCPSHARE_SUPERVISOR_"
	// envLifeline says how the supervisor knows the app is alive: the fd of the app's pipe
	// (Linux, macOS) or the handle of the app's job (Windows).
	envLifeline = envPrefix + "LIFELINE"
	// envPath is the command's program as Command resolved it, so that the supervisor does
	// not look it up again in a PATH that may differ (the command's own environment).
	envPath  = envPrefix + "PATH"
	envGrace = envPrefix + "GRACE"
	// envEnv is followed by the index of one variable of the command's environment.
	envEnv = envPrefix + "ENV_"
)

// supervisorArg0 is the supervisor's argv[0]: process lists show "mcpshare-supervisor npx -y
// some-server", then the server itself. The command's own argv follows it unchanged.
const supervisorArg0 = "mcpshare-supervisor"

// Exit statuses of a supervisor that could not start its command, as a shell's.
const (
	exitNotFound   = 127
	exitCannotExec = 126
)

// ready is set by RunSupervisorIfAsked in a process that is not a supervisor. Command refuses
// to run without it: a program that never asks would, started as a supervisor, run its whole
// main again (the GUI, or every test of a test binary) instead of the command. It is the only
// package-level state besides the app's lifeline (see lifeline), and it changes once.
var ready atomic.Bool

// RunSupervisorIfAsked must be the first call of main, and of TestMain in packages whose tests
// start servers: when this process was started as a supervisor by Command, it supervises its
// command and exits with the command's status; otherwise it returns at once.
func RunSupervisorIfAsked() {
	if _, ok := os.LookupEnv(envLifeline); !ok {
		ready.Store(true)
		return
	}
	cfg, err := supervisorConfigFrom(os.Args, os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "mcpshare: %v\n", err)
		os.Exit(2)
	}
	os.Exit(supervise(cfg))
}

// Command returns an unstarted *exec.Cmd for spec whose process tree ends when the app ends,
// however it ends. The caller (CommandTransport) starts it and owns stdin and stdout; it may
// set WaitDelay, which Command sets to the grace time. Errors that can be known before the
// start are returned here: a program that is not found (errors.Is exec.ErrNotFound or
// fs.ErrNotExist), is not executable, or a Dir that is not a directory. A program that
// vanishes between Command and Start makes the supervisor write why to Stderr and exit with
// status 127 (not found) or 126 (could not run), as a shell does.
//
// With CommandTransport, set TerminateDuration longer than spec.Grace: its SIGTERM then lets
// the supervisor end the tree itself (SIGTERM, the grace, SIGKILL) and exit with the command's
// status. Call KillTree after Close in any case; it ends the tree also when the transport had
// to kill the supervisor.
func Command(spec Spec) (*exec.Cmd, error) {
	if !ready.Load() {
		return nil, errors.New("childproc: RunSupervisorIfAsked was not called first in main (or TestMain), so the supervisor would run the whole program")
	}
	path, err := resolve(spec)
	if err != nil {
		return nil, err
	}
	self, err := selfPath()
	if err != nil {
		return nil, fmt.Errorf("childproc: finding this program to start the supervisor of %q: %w", spec.Path, err)
	}
	grace := spec.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	env := spec.Env
	if env == nil {
		env = os.Environ()
	}
	cmd := &exec.Cmd{
		Path:   self,
		Args:   append([]string{supervisorArg0, spec.Path}, spec.Args...),
		Env:    supervisorEnv(path, grace, env),
		Dir:    spec.Dir,
		Stderr: spec.Stderr,
		// Wait returns once the supervisor is gone and Stderr is drained; a daemon that escaped
		// the tree with stderr open must not hold it longer than this.
		WaitDelay: grace,
	}
	if err := attachLifeline(cmd); err != nil {
		return nil, fmt.Errorf("childproc: tying %q to the app: %w", spec.Path, err)
	}
	return cmd, nil
}

// resolve returns the program that the supervisor is to start, or why it cannot be started.
func resolve(spec Spec) (string, error) {
	if spec.Path == "" {
		return "", errors.New("childproc: no command given")
	}
	if spec.Dir != "" {
		fi, err := os.Stat(spec.Dir)
		if err != nil {
			return "", fmt.Errorf("childproc: working directory of %q: %w", spec.Path, err)
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("childproc: working directory %q of %q is not a directory", spec.Dir, spec.Path)
		}
	}
	name := spec.Path
	hasDir := strings.ContainsRune(name, filepath.Separator) || runtime.GOOS == "windows" && strings.ContainsRune(name, '/')
	if hasDir && !filepath.IsAbs(name) {
		if spec.Dir != "" {
			name = filepath.Join(spec.Dir, name)
		}
		abs, err := filepath.Abs(name)
		if err != nil {
			return "", fmt.Errorf("childproc: cannot start %q: %w", spec.Path, err)
		}
		name = abs
	}
	// exec.Command does the lookup exactly as a direct start would: PATH for a bare name,
	// PATHEXT on Windows, and its refusal of programs found in the current directory.
	probe := exec.Command(name)
	if probe.Err != nil {
		return "", fmt.Errorf("childproc: cannot start %q: %w", spec.Path, probe.Err)
	}
	fi, err := os.Stat(probe.Path)
	if err != nil {
		return "", fmt.Errorf("childproc: cannot start %q: %w", spec.Path, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("childproc: cannot start %q: %s is a directory", spec.Path, probe.Path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("childproc: cannot start %q: %s is not executable: %w", spec.Path, probe.Path, fs.ErrPermission)
	}
	return probe.Path, nil
}

// supervisorEnv is the whole environment of a supervisor that is to start path with the
// environment env (less any supervisor variables in it).
func supervisorEnv(path string, grace time.Duration, env []string) []string {
	out := []string{envPath + "=" + path, envGrace + "=" + grace.String()}
	for _, kv := range env {
		if !strings.HasPrefix(envName(kv), envPrefix) {
			out = append(out, envEnv+strconv.Itoa(len(out)-2)+"="+kv)
		}
	}
	return out
}

// envName returns an environment variable's name as this package compares names:
// case-insensitive on Windows only, as the system does.
func envName(name string) string {
	if runtime.GOOS == "windows" {
		return strings.ToUpper(name)
	}
	return name
}

// startFailed reports on stderr that the supervisor could not start the command called name,
// and returns the supervisor's exit status for that.
func startFailed(name string, err error) int {
	var pe *fs.PathError
	if errors.As(err, &pe) { // "fork/exec /the/path: ..." repeats the path
		err = pe.Err
	}
	fmt.Fprintf(os.Stderr, "mcpshare: could not start %s: %v\n", name, err)
	if errors.Is(err, fs.ErrNotExist) {
		return exitNotFound
	}
	return exitCannotExec
}

// supervisorConfig is what a supervisor is told by Command.
type supervisorConfig struct {
	lifeline string   // envLifeline's value
	path     string   // the program
	args     []string // the command's argv, argv[0] included
	env      []string // the command's environment
	grace    time.Duration
}

// supervisorConfigFrom reads a supervisor's argv and environment.
func supervisorConfigFrom(args, env []string) (supervisorConfig, error) {
	var cfg supervisorConfig
	var graceText string
	commandEnv := map[int]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k = envName(k); {
		case k == envLifeline:
			cfg.lifeline = v
		case k == envPath:
			cfg.path = v
		case k == envGrace:
			graceText = v
		case strings.HasPrefix(k, envEnv):
			if i, err := strconv.Atoi(k[len(envEnv):]); err == nil && i >= 0 {
				commandEnv[i] = v
			}
		}
	}
	if len(args) < 2 || cfg.path == "" || cfg.lifeline == "" {
		return cfg, fmt.Errorf("this process was started as a supervisor (%s is set) but not by MCP Share; unset %s and start it again", envLifeline, envLifeline)
	}
	cfg.args = args[1:]
	cfg.env = make([]string, 0, len(commandEnv))
	for i := range len(commandEnv) {
		kv, ok := commandEnv[i]
		if !ok {
			return cfg, fmt.Errorf("the environment of %s misses %s%d", cfg.args[0], envEnv, i)
		}
		cfg.env = append(cfg.env, kv)
	}
	grace, err := time.ParseDuration(graceText)
	if err != nil || grace <= 0 {
		grace = DefaultGrace
	}
	cfg.grace = grace
	return cfg, nil
}
