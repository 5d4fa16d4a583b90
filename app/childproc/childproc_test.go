package childproc

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	RunSupervisorIfAsked()
	if role := os.Getenv(helperEnv); role != "" {
		os.Exit(runHelper(role))
	}
	os.Exit(m.Run())
}

// helperEnv makes the test binary play a part in a test instead of running the tests.
const helperEnv = "CHILDPROC_TEST_HELPER"

// What the supervisor is told is what Command was given: the resolved program, the argv, the
// environment without the supervisor's own variables, and the grace.
func TestSupervisorIsToldTheSpec(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	spec := Spec{
		Path:  "sh",
		Args:  []string{"-c", "echo hi", "two words", ""},
		Env:   []string{"A=1", "B=two=three", envPrefix + "STALE=x"},
		Grace: 300 * time.Millisecond,
	}
	cmd, err := Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Args[0] != supervisorArg0 {
		t.Errorf("supervisor argv[0] = %q, want %q", cmd.Args[0], supervisorArg0)
	}
	cfg, err := supervisorConfigFrom(cmd.Args, cmd.Env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.path != sh {
		t.Errorf("path = %q, want %q", cfg.path, sh)
	}
	if want := append([]string{"sh"}, spec.Args...); !slices.Equal(cfg.args, want) {
		t.Errorf("argv = %q, want %q", cfg.args, want)
	}
	if want := []string{"A=1", "B=two=three"}; !slices.Equal(cfg.env, want) {
		t.Errorf("the command's environment = %q, want %q", cfg.env, want)
	}
	for _, kv := range cmd.Env {
		if !strings.HasPrefix(kv, envPrefix) {
			t.Errorf("the supervisor's own environment has %q", kv)
		}
	}
	if cfg.grace != spec.Grace {
		t.Errorf("grace = %v, want %v", cfg.grace, spec.Grace)
	}
	if cmd.WaitDelay != spec.Grace {
		t.Errorf("WaitDelay = %v, want %v", cmd.WaitDelay, spec.Grace)
	}
}

func TestSupervisorConfigDefaults(t *testing.T) {
	cfg, err := supervisorConfigFrom([]string{supervisorArg0, "x"}, []string{envLifeline + "=3", envPath + "=/bin/x", "HOME=/h"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.grace != DefaultGrace || len(cfg.env) != 0 {
		t.Errorf("grace %v, env %q; want %v and an empty environment", cfg.grace, cfg.env, DefaultGrace)
	}
	_, err = supervisorConfigFrom([]string{supervisorArg0, "x"}, []string{envLifeline + "=3", envPath + "=/bin/x", envEnv + "1=A=1"})
	if err == nil || !strings.Contains(err.Error(), envEnv+"0") {
		t.Errorf("a gap in the environment: err = %v, want it named", err)
	}
	// The variable alone, set by hand: a clear refusal, not a run of something.
	_, err = supervisorConfigFrom([]string{"mcpshare"}, []string{envLifeline + "=3"})
	if err == nil || !strings.Contains(err.Error(), "unset "+envLifeline) {
		t.Errorf("a supervisor started by hand: err = %v, want advice to unset %s", err, envLifeline)
	}
}

// A command that cannot start says so when Command is called, naming what is wrong.
func TestCommandThatCannotStart(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.txt")
	if err := os.WriteFile(plain, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		spec  Spec
		is    error  // errors.Is must hold, unless nil
		names string // the error must contain this
	}{
		{"not in PATH", Spec{Path: "mcpshare-no-such-command"}, exec.ErrNotFound, `"mcpshare-no-such-command"`},
		{"no such file", Spec{Path: filepath.Join(dir, "missing")}, fs.ErrNotExist, "missing"},
		{"relative to a Dir without it", Spec{Path: "./missing", Dir: dir}, fs.ErrNotExist, "missing"},
		{"a directory", Spec{Path: dir}, nil, "is a directory"},
		{"no such Dir", Spec{Path: "sh", Dir: filepath.Join(dir, "nodir")}, fs.ErrNotExist, "working directory"},
		{"Dir is a file", Spec{Path: "sh", Dir: plain}, nil, "not a directory"},
		{"no command", Spec{}, nil, "no command"},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests, struct {
			name  string
			spec  Spec
			is    error
			names string
		}{"not executable", Spec{Path: plain}, fs.ErrPermission, "not executable"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := Command(tt.spec)
			if err == nil {
				t.Fatalf("Command(%+v) = %v, want an error", tt.spec, cmd)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.names) {
				t.Errorf("err = %q, want it to say %q", err, tt.names)
			}
		})
	}
}

// A program that forgot RunSupervisorIfAsked gets an error, not a supervisor that runs the
// whole program again.
func TestCommandNeedsRunSupervisorIfAsked(t *testing.T) {
	ready.Store(false)
	defer ready.Store(true)
	_, err := Command(Spec{Path: "sh"})
	if err == nil || !strings.Contains(err.Error(), "RunSupervisorIfAsked") {
		t.Fatalf("Command before RunSupervisorIfAsked: err = %v", err)
	}
}
