// Command mcpshare shares the MCP servers on this computer with ChatGPT,
// Claude and any MCP client that speaks OAuth 2.1.
//
// With no subcommand it opens the desktop app (window and tray). `serve` runs
// the same thing headless; the other subcommands manage users, clients,
// servers and secrets of a config directory while no instance runs on it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/childproc"
	// Before Fyne's init: no "Error parsing user locale" lines with LANG=C.UTF-8.
	_ "github.com/mcpshare/mcpshare/cmd/mcpshare/internal/fynelocale"
)

const usage = `MCP Share: share the MCP servers on this computer with ChatGPT and Claude.

Usage:
  mcpshare [flags]                       open the app (window and tray) and share
  mcpshare serve [flags]                 share without a window (servers, CI)
  mcpshare user add|list|remove|passwd|unblock
                                         manage who may sign in
  mcpshare client list|revoke            manage registered OAuth clients
  mcpshare server add|list|remove|enable|disable
                                         manage the shared MCP servers
  mcpshare server access NAME --users a,b|all
                                         who may use a server
  mcpshare server tools NAME [--allow T] [--ask T] [--hide T]
                                         list a server's tools with their state, or set them
  mcpshare audit [--follow]              the audit log: every call, sign-in and approval
  mcpshare server login|logout NAME      sign in to (or forget) a remote server that uses OAuth
  mcpshare doctor [URL]                  check the public URL the way ChatGPT and Claude reach it
  mcpshare import FILE                   import servers from Claude Desktop, Cursor or VS Code
  mcpshare ngrok set-token               store the ngrok authtoken (read from stdin)

Run "mcpshare COMMAND -h" for the flags of a command.
`

// exit codes
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	childproc.RunSupervisorIfAsked() // first: a supervisor must not start the GUI
	tuneGC()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// tuneGC trades memory the app does not need for CPU it does: every MCP call
// through the gateway is decoded and encoded twice (client side and server
// side) by the go-sdk, which allocates generously, while the live heap stays
// small. Collecting at 4x the live heap instead of 2x halves the collector's
// work; the soft limit makes it collect sooner again should memory ever
// grow. GOGC and GOMEMLIMIT in the environment still decide when set.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(512 << 20)
	}
}

// cli carries the streams of one invocation.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin, stdout, stderr}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		for i, a := range args {
			// "ngrok" after --tunnel is a flag's value, not a command.
			value := i > 0 && strings.HasPrefix(args[i-1], "-") && !strings.Contains(args[i-1], "=") &&
				strings.TrimLeft(args[i-1], "-") != "verbose"
			if isCommand(a) && !value {
				fmt.Fprintf(stderr, "mcpshare: flags go after the command: mcpshare %s [flags]\n", a)
				return exitUsage
			}
		}
		return c.gui(args)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return c.serve(rest)
	case "user":
		return c.user(rest)
	case "client":
		return c.client(rest)
	case "server":
		return c.server(rest)
	case "audit":
		return c.audit(rest)
	case "import":
		return c.importFile(rest)
	case "ngrok":
		return c.ngrok(rest)
	case "doctor":
		return c.doctorCmd(rest)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "mcpshare: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// isCommand tells whether s names a subcommand.
func isCommand(s string) bool {
	switch s {
	case "serve", "user", "client", "server", "import", "ngrok", "doctor", "help", "audit":
		return true
	}
	return false
}

// common holds the flags every subcommand accepts.
type common struct {
	configDir string
	secrets   string
	verbose   bool
}

func (c *cli) flags(name string, co *common) *flag.FlagSet {
	fs := flag.NewFlagSet("mcpshare "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&co.configDir, "config-dir", defaultConfigDir(), "configuration directory (env MCPSHARE_CONFIG_DIR)")
	fs.StringVar(&co.secrets, "secrets", app.SecretsKeychain, "where secrets live: keychain, or file (a 0600 file in the config dir)")
	fs.BoolVar(&co.verbose, "verbose", false, "log debug messages")
	return fs
}

func defaultConfigDir() string {
	if d := os.Getenv("MCPSHARE_CONFIG_DIR"); d != "" {
		return d
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return ".mcpshare"
	}
	return filepath.Join(d, "mcpshare")
}

func (c *cli) logger(co *common) *slog.Logger {
	level := slog.LevelInfo
	if co.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
}

// open opens the config directory for a management command and tells the
// first user's password while nobody has seen it (see firstPassword).
func (c *cli) open(co *common, opts app.Options) (*app.App, error) {
	a, err := c.openQuiet(co, opts)
	if err != nil {
		return nil, err
	}
	c.firstPassword(a, true)
	return a, nil
}

// openQuiet opens the config directory and prints nothing but what --folder changed.
func (c *cli) openQuiet(co *common, opts app.Options) (*app.App, error) {
	opts.ConfigDir, opts.Secrets = co.configDir, co.secrets
	if opts.Logger == nil {
		opts.Logger = c.logger(co)
	}
	a, err := app.Open(opts)
	if err != nil {
		return nil, err
	}
	if root, changed := a.FolderOverride(); changed {
		fmt.Fprintf(c.stdout, "The built-in server %q now shares %s (--folder).\n", app.BuiltinName, root)
	}
	return a, nil
}

// secretTimeout bounds a secret store call of the command line.
const secretTimeout = 15 * time.Second

// firstPassword prints the first user's generated password while nobody has
// seen it, only onto a terminal: output that is not one tends to end up in
// log files. Printed, it counts as seen when seen is set; elsewhere it stays
// in the secret store for the window (or --ready-file) to show.
func (c *cli) firstPassword(a *app.App, seen bool) {
	user, pw := a.FirstRunCredentials()
	if pw == "" {
		return
	}
	if !isTerminal(c.stdout) {
		fmt.Fprintf(c.stdout, "The user %q has a generated password that is not printed into a log: open the app's window to see it, "+
			"or set one with `mcpshare user passwd %s`.\n\n", user, user)
		return
	}
	fmt.Fprintf(c.stdout, "First start: the user %q has the password %s\n(change it with `mcpshare user passwd %s` or in the window)\n\n", user, pw, user)
	if !seen {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), secretTimeout)
	defer cancel()
	if err := a.FirstPasswordSeen(ctx); err != nil {
		fmt.Fprintf(c.stderr, "mcpshare: %v\n", err)
	}
}

// isTerminal tells whether f is an interactive terminal (a character device
// such as /dev/null is not).
func isTerminal(f any) bool {
	fd, ok := f.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(fd.Fd()))
}

// fail prints err for people and returns the exit code.
func (c *cli) fail(err error) int {
	fmt.Fprintf(c.stderr, "mcpshare: %v\n", err)
	if errors.Is(err, app.ErrInvalidConfig) {
		return exitUsage
	}
	return exitError
}

// parse parses flags; -h gives exit 0, bad flags exit 2.
func parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}
